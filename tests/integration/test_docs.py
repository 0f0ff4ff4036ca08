"""The docs as a newcomer meets them: the README tour and the examples run as written, the
links lead somewhere, and every measured figure they quote is in the measurement it cites."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MEASUREMENTS = ("BENCHMARKS.md", "RELIABILITY.md")
RUN_TIMEOUT = 60


def run_python(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    tour = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert tour is not None
    assert len(tour[1].splitlines()) <= 30  # a tour, not a manual
    ran = run_python(["-c", tour[1]], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "put hello.txt 20 bytes SHA-256=KnyCb9jD9g_uHQFvNuqG0dWNBkvDQPcLZ329H_Pekv4=",
        "get buy milk",
        "list ['hello.txt', 'notes/todo.txt']",
        "watch hello.txt",
        "watch notes/todo.txt",
        "copy hello, object store",
    ]
    assert list(tmp_path.iterdir()) == []  # it cleaned up after itself


@pytest.mark.parametrize(
    "example", ["quickstart.py", "usecase.py", "bucket_permissions.py", "thumbnailer.py"]
)
def test_examples_run(example: str, tmp_path: Path) -> None:
    """`make demo` runs quickstart.py; the others are named in the docs."""
    ran = run_python([str(ROOT / "examples" / example)], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip()


def test_links_between_pages_resolve() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+://", target):
                assert (page.parent / target).exists(), (page.name, target)


def numbers(text: str) -> set[str]:
    """The numbers in ``text``; ratios and percentages keep their ``x`` or ``%``, as the
    measurements write them, so that a ratio matches only a ratio."""
    return set(re.findall(r"\d+(?:[.,]\d+)*(?:x\b|%)?", text))


def test_quoted_figures_come_from_the_measurements() -> None:
    """A line that cites BENCHMARKS.md or RELIABILITY.md quotes only numbers found there.

    Necessary, not sufficient: a number is looked for anywhere in the cited file."""
    measured = {name: numbers((ROOT / name).read_text()) for name in MEASUREMENTS}
    quoting = 0
    for page in PAGES:
        for line in page.read_text().splitlines():
            cited = [name for name in MEASUREMENTS if name in line]
            if not cited:
                continue
            found = set().union(*(measured[name] for name in cited))
            missing = numbers(line) - found
            assert not missing, (page.name, line, missing)
            quoting += bool(numbers(line))
    assert quoting >= 10  # the check checks something
