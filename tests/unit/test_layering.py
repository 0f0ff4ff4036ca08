"""The layers of natsobj (docs/ARCHITECTURE.md), checked on the source with ast:

- only ``natsobj/_jetstream/`` imports ``nats`` (anywhere in a module: at module level, in
  a function, under ``TYPE_CHECKING``);
- the bucket parts (``natsobj/_bucket/``) never import what sits above them (the facade,
  the manager, the sessions), not even for type checking;
- the sessions (``natsobj/_sessions/``) use the public API and the bucket core: never the
  JetStream layer, and of the bucket parts only ``SESSIONS_MAY_USE``;
- no import cycle between natsobj modules (imports under ``TYPE_CHECKING`` aside);
- no library file over MAX_LINES lines, no function over MAX_FUNCTION_LINES;
- ``natsobj/py.typed`` exists.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import natsobj

ROOT = Path(natsobj.__file__).parent
MAX_LINES = 700
MAX_FUNCTION_LINES = 80
BUCKET_MAY_NOT_USE = ("natsobj._store", "natsobj._manager", "natsobj._sessions")
# The bucket parts the sessions build on: the core, the reads (ReadResult), the watcher,
# the change feeds.
SESSIONS_MAY_USE = {
    "natsobj._bucket._core",
    "natsobj._bucket._get",
    "natsobj._bucket._watch",
    "natsobj._bucket._feed",
    "natsobj._bucket._feeds",
}


@dataclass(frozen=True)
class Import:
    module: str  # natsobj.x.y or nats.z, relative imports resolved
    type_checking: bool  # under ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import in ``source`` (of ``module``), each with what it names: ``from a
    import b`` gives ``a`` and ``a.b``."""
    tree = ast.parse(source)
    guarded = {
        id(sub) for node in ast.walk(tree) if _is_type_checking(node) for sub in ast.walk(node)
    }
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[Import] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        found.extend(Import(name, id(node) in guarded) for name in names)
    return found


def library() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        yield module_name(path), path


MODULES = dict(library())


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    return imports(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def nats_importers() -> set[str]:
    return {
        module
        for module in MODULES
        if any(_within(i.module, "nats") for i in imports_of(module))
        and not _within(module, "natsobj._jetstream")
    }


def test_only_the_jetstream_package_imports_nats() -> None:
    assert nats_importers() == set()


def test_the_checks_see_every_kind_of_import() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from nats.aio.msg import Msg\n"
        "def f():\n    import nats.errors\n"
        "from .._store import ObjectStore\n"
    )
    found = imports(source, "natsobj._bucket._x")
    assert Import("nats.aio.msg", True) in found
    assert Import("nats.errors", False) in found
    assert Import("natsobj._store", False) in found
    assert Import("natsobj._store.ObjectStore", False) in found
    assert not imports("import natsobj_extra\n", "natsobj._x")[0].module.startswith("natsobj.")


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if _within(m, "natsobj._bucket")), ids=str
)
def test_bucket_parts_never_import_the_layers_above(module: str) -> None:
    above = {i.module for i in imports_of(module) if i.module.startswith(BUCKET_MAY_NOT_USE)}
    assert not above, f"{module} imports {sorted(above)}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if _within(m, "natsobj._sessions")), ids=str
)
def test_sessions_use_the_public_api_and_the_bucket_core_only(module: str) -> None:
    names = {i.module for i in imports_of(module)}
    jetstream = {n for n in names if _within(n, "natsobj._jetstream")}
    assert not jetstream, f"{module} imports the JetStream layer: {sorted(jetstream)}"
    parts = {".".join(n.split(".")[:3]) for n in names if _within(n, "natsobj._bucket")}
    assert parts <= SESSIONS_MAY_USE, f"{module} imports {sorted(parts - SESSIONS_MAY_USE)}"


def _graph() -> dict[str, set[str]]:
    """Module -> the natsobj modules it imports outside TYPE_CHECKING (a package's own
    modules importing the package, which they are part of, do not count)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module in MODULES:
        for imported in imports_of(module):
            if imported.type_checking:
                continue
            target = imported.module
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(f"{target}."):
                graph[module].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_search_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_file_too_long() -> None:
    long = {
        str(path): n
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long


def test_no_function_too_long() -> None:
    long: list[str] = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path}:{node.lineno} {node.name} ({lines})")
    assert not long


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "py.typed").is_file()
