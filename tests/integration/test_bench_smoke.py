"""The benchmark suite's quick mode runs end to end and every figure it reports is sane.

Benchmarks are not timed tests: this only checks that ``python -m benchmarks.run --quick``
measures every scenario (each with a positive MB/s or ops/s) and computes the ratios. The
nats.js peer is used when Node and ``tests/interop/js/node_modules`` are there, the nats.go
peer when ``make`` has built it; with ``CI`` set they must be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks._common import PUT_PATHS
from benchmarks.suite import GO_BENCH

ROOT = Path(__file__).resolve().parents[2]
JS_OBJ = ROOT / "tests" / "interop" / "js" / "node_modules" / "@nats-io" / "obj" / "package.json"
RUN_TIMEOUT = 150.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _node_ready() -> bool:
    return shutil.which("node") is not None and JS_OBJ.is_file()


def _go_peer() -> list[str]:
    """["go"] when the nats.go bench peer is built, else []."""
    return ["go"] if GO_BENCH.is_file() else []


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str, bool]:
    """One quick run of the suite: (JSON results, Markdown report, stderr, node used)."""
    node = _node_ready()
    if not node and _in_ci():
        pytest.fail("CI is set but node or tests/interop/js/node_modules is missing (npm ci)")
    if not GO_BENCH.is_file() and _in_ci():
        pytest.fail(f"CI is set but {GO_BENCH} is missing (make)")
    out = tmp_path_factory.mktemp("bench")
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--quick",
        "--output",
        str(out / "BENCHMARKS.md"),
        "--json",
        str(out / "results.json"),
    ]
    peers = ["raw", "natsobj", "builtin", *(["js"] if node else []), *_go_peer()]
    cmd += ["--peers", ",".join(peers), *(["--require-node"] if node else [])]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"benchmark run failed:\n{proc.stderr[-4000:]}"
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results, (out / "BENCHMARKS.md").read_text(), proc.stderr, node


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_every_scenario_has_a_positive_figure(
    quick_run: tuple[dict[str, Any], str, str, bool],
) -> None:
    results, _, stderr, node = quick_run
    assert results["errors"] == []
    figures = results["figures"]
    expected = {"raw", "natsobj", "builtin", *_go_peer()} | ({"js"} if node else set())
    assert {f["peer"] for f in figures} == expected
    for fig in figures:
        assert fig["seconds"], fig
        assert all(t > 0 for t in fig["seconds"]), fig
        assert fig["value"] > 0, fig
        assert fig["unit"] in ("MB/s", "ops/s")
    sizes = results["config"]["sizes"]
    chunks = results["config"]["chunk_sizes"]
    for chunk in chunks:
        for size in sizes:
            for peer, ops in (
                ("raw", ["pub_pipelined", "pub_sequential", "read_direct", "read_ordered"]),
                ("natsobj", ["put", "get", "get_bytes"]),
                ("builtin", ["put", "get_bytes"]),
            ):
                for op in ops:
                    assert any(
                        f["peer"] == peer
                        and f["op"] == op
                        and f["chunk_size"] == chunk
                        and f["size"] == size
                        for f in figures
                    ), (peer, op, chunk, size)
    paths = {(f["op"], f["chunk_size"]) for f in figures if f["op"] in PUT_PATHS}
    assert paths == {(op, chunk) for op in PUT_PATHS for chunk in chunks}
    small = {(f["peer"], f["op"]) for f in figures if f["unit"] == "ops/s"}
    for peer in expected - {"raw"}:
        for op in ("put_seq", "get_seq", "put_conc", "get_conc"):
            assert (peer, op) in small
    # one progress line per figure on stderr
    assert stderr.count(" MB/s") + stderr.count(" ops/s") >= len(figures)


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_ratios_and_targets_are_computed(
    quick_run: tuple[dict[str, Any], str, str, bool],
) -> None:
    results, markdown, _, node = quick_run
    ratios = results["ratios"]
    largest = max(results["config"]["sizes"])
    ops = {r["op"] for r in ratios if r["size"] == largest}
    assert ops == {"put", "put_file", "get", "get_bytes", "get_file"}
    for r in ratios:
        assert (r["vs_ceiling"] or 0) > 0, r
        if r["op"] != "get":  # nats-py has no streaming get
            assert (r["vs_builtin"] or 0) > 0, r
        if node:
            assert (r["vs_js"] or 0) > 0, r
        if _go_peer():
            assert (r["vs_go"] or 0) > 0, r
    assert len(results["small_ratios"]) == 4
    for r in results["small_ratios"]:
        assert r["natsobj"] > 0, r
        assert (r["vs_builtin"] or 0) > 0, r
        if node:
            assert (r["vs_js"] or 0) > 0, r
    assert len(results["range_read"]) == len(results["config"]["chunk_sizes"])
    assert all(r["ratio"] > 0 for r in results["range_read"])
    assert results["targets"]
    assert all(t["ok"] is not None for t in results["targets"] if "nats.js" not in t["what"])
    for heading in (
        "# natsobj benchmarks",
        "## Targets",
        "## Large objects",
        "## Put paths",
        "## Small objects",
    ):
        assert heading in markdown
    assert "nproc" in markdown
    assert results["machine"]["server"] in markdown
