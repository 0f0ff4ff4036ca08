"""Every public call, given a wrong value for each of its arguments in turn, raises a natsobj
error (never pydantic's ValidationError or a bare TypeError) before anything is written.

The test walks the signatures: each parameter of each public method gets an ``object()``
(which no argument accepts) and, where the name says what it takes, a plausible mistake
(``"no"`` for a bool, ``"1"`` for an int, ``{"k": 1}`` for metadata, ...). A public method
without a valid call in ``CALLS`` fails the test, so new methods are walked too.
"""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager

pytestmark = pytest.mark.anyio

TYPED = (
    natsobj.InvalidArgumentError,
    natsobj.InvalidObjectNameError,
    natsobj.InvalidBucketNameError,
)
BOOL = "no"  # truthy, and not a bool


def _each(names: str, mistakes: list[Any]) -> dict[str, list[Any]]:
    return {name: mistakes for name in names.split()}


# A plausible mistake per parameter name (besides object(), which every parameter gets).
MISTAKES: dict[str, list[Any]] = {
    **_each(
        "show_deleted renewable upsert dry_run force include_history ignore_deletes"
        " updates_only decompress atomic_puts batched_puts message_ttl public coalesce exclusive",
        [BOOL],
    ),
    **_each("name source destination key bucket", [1, ""]),
    **_each(
        "chunk_size max_inflight_bytes if_revision start end limit offset replicas max_bytes"
        " max_concurrency many_concurrency ttl tombstone_ttl grace timeout from_creation from_now",
        ["1", True],
    ),
    **_each("prefix search delimiter content_type description", [1]),
    **_each("origin filename", [""]),
    **_each("data contents", [1, [b"x"]]),
    **_each("names keys", ["abc"]),
    "metadata": [{"k": 1}, {1: "v"}, ["k"]],
    "encoding": ["no-such-codec", 8],
    "path": [b"/tmp/bytes-path", "nul\x00path"],
    "progress": ["print"],
    "on_dead_letter": ["print"],
    "deliver": ["newest", -1, True],
    "kinds": ["put", ["rename"]],
    "ack_wait": ["1", -1],
    "max_deliver": ["1", 0],
    "to": ["yesterday", -1, True],
    "max_staleness": ["1", -1, True],
    "at": ["tomorrow", 1],
    "meta": [{"name": "x"}],
    "target": ["x"],
    "store": ["a.b"],
    "to_store": ["other"],
    "config": [{"bucket": "x"}],
    "file_size_limit": ["lots", -1],
    "allowed_mime_types": ["text/plain", [1]],
    "expiration_policy": ["ttl:5s"],
    "compression": ["gzip"],
    "accept_encoding": ["gzip"],
    "placement": ["here"],
    "storage": ["disk"],
    "sort_by": ["mtime"],
    "order": ["up"],
    "cursor": ["garbage"],
    "servers": [5, ["nats://a", 5]],
    "api_prefix": [""],
    "origin_domain": ["a.b"],
    "origin_api_prefix": ["$JS.*.API", ""],
    "scope": ["org=1"],
    "manager": ["nats://127.0.0.1:4222"],
    "nc": ["nats://127.0.0.1:4222"],
}


@dataclass
class World:
    """What the calls work on; every call here is valid as written in CALLS."""

    manager: ObjectStoreManager
    store: ObjectStore
    info: natsobj.ObjectInfo
    usecase: natsobj.Usecase
    session: natsobj.Session
    file: Path


@pytest.fixture(scope="module")
async def world(
    server: natsobj.EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    async with natsobj.connect(server.url) as manager:
        store = await manager.create_object_store(f"t{uuid.uuid4().hex[:12]}")
        info = await store.put("x.txt", b"kept")
        usecase = natsobj.Usecase(f"u{uuid.uuid4().hex[:12]}", compression="none")
        session = usecase.for_project(1, 2).session(manager)
        await session.put(b"kept", "k")
        file = tmp_path_factory.mktemp("walk") / "local.txt"
        file.write_bytes(b"local")
        yield World(manager, store, info, usecase, session, file)
        for bucket in (store.bucket, usecase.name):
            await manager.delete_object_store(bucket)


Args = tuple[tuple[Any, ...], dict[str, Any]]


def args(*positional: Any, **keywords: Any) -> Args:
    return positional, keywords


# A valid call of every public method, by owner: (the object, or a class for its
# constructor) and method name -> how to build valid arguments.
OWNERS: dict[str, Callable[[World], Any]] = {
    "store": lambda w: w.store,
    "manager": lambda w: w.manager,
    "session": lambda w: w.session,
    "many": lambda w: w.session.many(),
    "scope": lambda w: w.usecase.scope(),
}
CALLS: dict[tuple[str, str], Callable[[World], Args]] = {
    ("store", "get_info"): lambda w: args("x.txt", show_deleted=False),
    ("store", "put"): lambda w: args(
        "y.txt",
        b"new",
        chunk_size=4,
        max_inflight_bytes=1024,
        ttl=None,
        renewable=False,
        content_type="text/plain",
        if_revision=0,
    ),
    ("store", "put_bytes"): lambda w: args("y.txt", b"new"),
    ("store", "put_string"): lambda w: args("y.txt", "new"),
    ("store", "put_file"): lambda w: args(w.file, "y.txt", progress=print),
    ("store", "update_meta"): lambda w: args("x.txt", natsobj.ObjectMeta(name="x.txt")),
    ("store", "delete"): lambda w: args("x.txt", if_revision=1, tombstone_ttl=None),
    ("store", "add_link"): lambda w: args("link", w.info),
    ("store", "add_bucket_link"): lambda w: args("blink", w.store),
    ("store", "seal"): lambda w: args(),
    ("store", "get"): lambda w: args("x.txt", start=0, end=2, show_deleted=False),
    ("store", "get_bytes"): lambda w: args("x.txt"),
    ("store", "get_string"): lambda w: args("x.txt", "utf-8"),
    ("store", "get_file"): lambda w: args("x.txt", w.file.parent / "out.txt", progress=print),
    ("store", "list"): lambda w: args(prefix="x", show_deleted=False),
    ("store", "sweep_orphans"): lambda w: args(grace=60, dry_run=True),
    ("store", "watch"): lambda w: args(include_history=False, ignore_deletes=False),
    ("store", "status"): lambda w: args(),
    ("store", "changes"): lambda w: args(
        "feed",
        deliver="new",
        kinds=None,
        prefix="",
        ack_wait=30,
        max_deliver=5,
        coalesce=False,
        on_dead_letter=None,
        exclusive=False,
    ),
    ("store", "index"): lambda w: args(max_staleness=1.0),
    ("store", "feeds"): lambda w: args(),
    ("store", "feed_info"): lambda w: args("feed"),
    ("store", "reset_feed"): lambda w: args("feed", 1),
    ("store", "delete_feed"): lambda w: args("feed"),
    ("store", "upload"): lambda w: args("y.txt", b"new", upsert=False, content_type="text/plain"),
    ("store", "update"): lambda w: args("x.txt", b"new", content_type="text/plain"),
    ("store", "copy"): lambda w: args(
        "x.txt", "y.txt", to_store=w.store, metadata={"k": "v"}, upsert=False
    ),
    ("store", "move"): lambda w: args("x.txt", "y.txt", to_store=w.store, upsert=False),
    ("store", "list_page"): lambda w: args(
        "",
        delimiter="/",
        search="x",
        sort_by="name",
        order="asc",
        limit=10,
        offset=0,
        cursor=None,
        show_deleted=False,
    ),
    ("store", "delete_many"): lambda w: args(["x.txt"]),
    ("store", "delete_prefix"): lambda w: args("x"),
    ("store", "empty"): lambda w: args(),
    ("manager", "create_object_store"): lambda w: args(
        f"fresh{w.store.bucket}",
        description="d",
        ttl=60,
        max_bytes=10**6,
        storage="memory",
        replicas=1,
        placement={"tags": []},
        compression=False,
        metadata={"k": "v"},
        atomic_puts=False,
        batched_puts=False,
        message_ttl=False,
        public=False,
        file_size_limit="1MB",
        allowed_mime_types=["text/*"],
    ),
    ("manager", "create_object_store_mirror"): lambda w: args(
        f"mirror{w.store.bucket}",
        origin_api_prefix="$JS.elsewhere.API",  # none there: the server keeps trying
        description="d",
        ttl=60,
        max_bytes=10**6,
        storage="memory",
        replicas=1,
        placement={"tags": []},
    ),
    ("manager", "update_object_store"): lambda w: args(
        natsobj.ObjectStoreConfig(bucket=w.store.bucket)
    ),
    ("manager", "object_store"): lambda w: args(w.store.bucket),
    ("manager", "object_store_names"): lambda w: args(),
    ("manager", "object_store_statuses"): lambda w: args(),
    ("manager", "delete_object_store"): lambda w: args(w.store.bucket),
    ("manager", "get_bucket"): lambda w: args(w.store.bucket),
    ("manager", "update_bucket"): lambda w: args(
        w.store.bucket, public=False, file_size_limit=None, allowed_mime_types=None
    ),
    ("manager", "empty_bucket"): lambda w: args(w.store.bucket),
    ("manager", "delete_bucket"): lambda w: args(w.store.bucket, force=False),
    ("manager", "close"): lambda w: args(),
    ("session", "object_name"): lambda w: args("k"),
    ("session", "bucket"): lambda w: args(),
    ("session", "put"): lambda w: args(
        b"new",
        "k2",
        compression="none",
        content_type="text/plain",
        metadata={"k": "v"},
        expiration_policy=natsobj.ExpirationPolicy.manual(),
        origin="here",
        filename="f.txt",
    ),
    ("session", "prefetch"): lambda w: args(["k"]),
    ("session", "get"): lambda w: args("k", decompress=True, accept_encoding=None),
    ("session", "get_bytes"): lambda w: args("k"),
    ("session", "head"): lambda w: args("k"),
    ("session", "list"): lambda w: args(),
    ("session", "delete"): lambda w: args("k"),
    ("session", "watch"): lambda w: args(include_history=False, updates_only=False),
    ("session", "many"): lambda w: args(max_concurrency=2),
    ("session", "extend_expiry"): lambda w: args("k", from_now=60),
    ("session", "changes"): lambda w: args(
        "feed", deliver="new", ack_wait=30, max_deliver=5, coalesce=False, on_dead_letter=None
    ),
    ("many", "put"): lambda w: args(b"new", "k2", metadata={"k": "v"}),
    ("many", "get"): lambda w: args("k", decompress=True),
    ("many", "head"): lambda w: args("k"),
    ("many", "delete"): lambda w: args("k"),
    ("many", "send"): lambda w: args(),
    ("many", "error_for_failures"): lambda w: args(),
    ("scope", "push"): lambda w: args("org", 1),
    ("scope", "session"): lambda w: args(w.manager),
}
# Constructors and functions: what they are, and a valid call.
FUNCTIONS: dict[str, tuple[Callable[..., Any], Callable[[World], Args]]] = {
    "connect": (
        natsobj.connect,
        lambda w: args("nats://127.0.0.1:4222", timeout=1, many_concurrency=2),
    ),
    "ObjectStoreManager": (
        natsobj.ObjectStoreManager,
        lambda w: args(w.manager.nc, timeout=1, api_prefix="$JS.API", many_concurrency=2),
    ),
    "Usecase": (natsobj.Usecase, lambda w: args("u", expiration_policy=None, compression="zstd")),
    "Session": (natsobj.Session, lambda w: args(w.manager, w.usecase.scope())),
    "bucket_permissions": (natsobj.bucket_permissions, lambda w: args("b")),
}
CLASSES = {
    "store": ObjectStore,
    "manager": ObjectStoreManager,
    "session": natsobj.Session,
    "many": natsobj.Many,
    "scope": natsobj.Scope,
}


def _public_methods(cls: type) -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    ]


def test_every_public_method_is_walked() -> None:
    walked = {(owner, name) for owner, name in CALLS}
    for owner, cls in CLASSES.items():
        missing = [m for m in _public_methods(cls) if (owner, m) not in walked]
        assert not missing, f"{cls.__name__} methods without a valid call in CALLS: {missing}"


def _parameter_names(function: Callable[..., Any]) -> list[str]:
    """The arguments a call takes by name: its parameters, with ``**options:
    Unpack[SomeOptions]`` spelled out as the TypedDict's keys (a plain ``**kwargs`` adds none)."""
    names = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is not parameter.VAR_KEYWORD:
            names.append(parameter.name)
            continue
        hint = typing.get_type_hints(function, include_extras=True).get(parameter.name)
        if typing.get_origin(hint) is typing.Unpack:
            names += list(typing.get_args(hint)[0].__annotations__)
    return [name for name in names if name != "self"]


def _cases() -> list[Any]:
    cases = []
    targets: list[tuple[str, Callable[..., Any]]] = [
        (f"{owner}.{name}", getattr(CLASSES[owner], name)) for owner, name in CALLS
    ]
    targets += [(label, function) for label, (function, _) in FUNCTIONS.items()]
    for label, function in targets:
        for name in _parameter_names(function):
            for index, wrong in enumerate([object(), *MISTAKES.get(name, [])]):
                case_id = f"{label}-{name}-{index}"
                cases.append(pytest.param(label, name, wrong, id=case_id))
    return cases


def _set_argument(bound: inspect.BoundArguments, name: str, value: Any) -> None:
    """Give ``bound`` the argument ``name``, a parameter or a key of its ``**options``."""
    parameters = bound.signature.parameters
    if name in parameters and parameters[name].kind is not inspect.Parameter.VAR_KEYWORD:
        bound.arguments[name] = value
        return
    (options,) = [p.name for p in parameters.values() if p.kind is p.VAR_KEYWORD]
    bound.arguments.setdefault(options, {})[name] = value


async def _written(world: World) -> tuple[object, ...]:
    """What a call that sends nothing leaves as it was: the buckets, their streams' last
    sequences and configs."""
    streams = []
    for bucket in (world.store.bucket, world.usecase.name):
        info = await world.manager.js.stream_info(f"OBJ_{bucket}")
        streams.append((info["state"]["last_seq"], info["config"]))
    return (await world.manager.object_store_names(), streams)


def _bind(world: World, label: str) -> tuple[Callable[..., Any], Args]:
    if label in FUNCTIONS:
        function, valid = FUNCTIONS[label]
        return function, valid(world)
    owner, name = label.split(".")
    return getattr(OWNERS[owner](world), name), CALLS[(owner, name)](world)


async def _run(call: Callable[..., Any], bound: inspect.BoundArguments) -> None:
    result = call(*bound.args, **bound.kwargs)
    if inspect.iscoroutine(result):
        await result


@pytest.mark.parametrize(("label", "parameter", "wrong"), _cases())
async def test_wrong_value_gets_a_typed_error_and_sends_nothing(
    world: World, label: str, parameter: str, wrong: Any
) -> None:
    call, (positional, keywords) = _bind(world, label)
    bound = inspect.signature(call).bind_partial(*positional, **keywords)
    _set_argument(bound, parameter, wrong)
    before = await _written(world)
    with pytest.raises(TYPED) as caught:
        await _run(call, bound)
    assert isinstance(caught.value, ValueError | TypeError)
    assert await _written(world) == before
