"""Reads, before and after: this working tree against a git ref, in alternating rounds.

    .venv/bin/python -m benchmarks.reads_ab --base main --rounds 4
    .venv/bin/python -m benchmarks.reads_ab --base main --big 1GiB --ops getbytes,range

One embedded nats-server holds a ``--big`` object and a 1 MiB one (128 KiB chunks) and four
64 MiB objects. Each measurement runs in a process of its own, importing natsobj from the
tree measured (the ref is unpacked with ``git archive``); rounds alternate which tree goes
first. Medians over the rounds:

- ``getbytes``: ``get_bytes`` of the big object, seconds and peak RSS growth (VmHWM, Linux);
- ``range``: the last MiB of the big object against the whole 1 MiB object (15 each,
  interleaved, median ms) and their ratio;
- ``conc1``/``conc4``: 1 or 4 concurrent streamed gets of 64 MiB objects on one connection:
  aggregate MB/s, client CPU s/GB, and the event loop thread's CPU s/GB.

On a shared machine compare the two trees' figures within one run, never across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

import natsobj

MiB = 1024 * 1024
CHUNK = 128 * 1024
ROOT = Path(__file__).resolve().parent.parent
SERVER_CONFIG = "max_payload: 8MB\n"
OPS = ("getbytes", "range", "conc1", "conc4")
DESCRIPTION = "Reads, before and after: this working tree against a git ref."


def _kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> int:
    """Set the peak RSS (VmHWM) back to the current RSS, which is returned (KiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return _kib("VmRSS")


async def _get_bytes(store: natsobj.ObjectStore) -> dict[str, float]:
    baseline = _reset_peak_rss()
    start = time.perf_counter()
    data = await store.get_bytes("big")
    seconds = time.perf_counter() - start
    return {"s": seconds, "peak_growth_mib": (_kib("VmHWM") - baseline) / 1024, "size": len(data)}


async def _range(store: natsobj.ObjectStore) -> dict[str, float]:
    size = (await store.get_info("big")).size
    tails: list[float] = []
    wholes: list[float] = []
    await store.get_bytes("one")
    for _ in range(15):
        start = time.perf_counter()
        assert len(await store.get_bytes("big", start=size - MiB)) == MiB
        tails.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert len(await store.get_bytes("one")) == MiB
        wholes.append(time.perf_counter() - start)
    tail, whole = statistics.median(tails) * 1e3, statistics.median(wholes) * 1e3
    return {"tail_ms": tail, "whole_ms": whole, "ratio": tail / whole}


async def _concurrent(store: natsobj.ObjectStore, count: int) -> dict[str, float]:
    rates: list[float] = []
    moved = 0
    cpu, loop = _cpu_s(), time.thread_time()

    async def one(name: str) -> None:
        nonlocal moved
        async with store.get(name) as result:
            async for chunk in result:
                moved += len(chunk)

    for _ in range(3):
        before, start = moved, time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(count):
                tg.start_soon(one, f"c{i}")
        rates.append((moved - before) / (time.perf_counter() - start) / 1e6)
    return {
        "mb_s": statistics.median(rates),
        "cpu_s_per_gb": (_cpu_s() - cpu) / moved * 1e9,
        "loop_cpu_s_per_gb": (time.thread_time() - loop) / moved * 1e9,
    }


async def _worker(url: str, op: str) -> dict[str, float]:
    async with natsobj.connect(url, timeout=60.0) as manager:
        store = await manager.object_store("bench")
        if op == "getbytes":
            return await _get_bytes(store)
        if op == "range":
            return await _range(store)
        return await _concurrent(store, int(op.removeprefix("conc")))


def _measure(tree: Path, url: str, op: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, __file__, "--worker", url, op],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{op} on {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _unpack(ref: str, into: Path) -> Path:
    archive = into / "base.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "base", filter="data")
    return into / "base"


async def _run(args: argparse.Namespace, base: Path) -> dict[tuple[str, str, str], list[float]]:
    trees = {"base": base, "new": ROOT}
    figures: dict[tuple[str, str, str], list[float]] = {}
    async with natsobj.EmbeddedServer(config=SERVER_CONFIG) as server:
        async with natsobj.connect(server.url, timeout=60.0) as manager:
            store = await manager.create_object_store("bench")
            await store.put("big", os.urandom(args.big), chunk_size=CHUNK)
            await store.put("one", os.urandom(MiB), chunk_size=CHUNK)
            for i in range(4):
                await store.put(f"c{i}", os.urandom(64 * MiB), chunk_size=CHUNK)
        for round_ in range(args.rounds):
            order = ("base", "new") if round_ % 2 == 0 else ("new", "base")
            for tree in order:
                for op in args.ops:
                    result = await anyio.to_thread.run_sync(_measure, trees[tree], server.url, op)
                    for key, value in result.items():
                        figures.setdefault((op, key, tree), []).append(value)
                    print(f"round {round_ + 1} {tree} {op} {result}", file=sys.stderr)
    return figures


def _report(figures: dict[tuple[str, str, str], list[float]], args: argparse.Namespace) -> str:
    lines = [
        f"big object {args.big // MiB} MiB, {args.rounds} rounds, base {args.base}",
        "",
        "| op | figure | base (median) | new (median) | new / base |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for op in args.ops:
        keys = sorted({key for o, key, _ in figures if o == op and key != "size"})
        for key in keys:
            base = statistics.median(figures[(op, key, "base")])
            new = statistics.median(figures[(op, key, "new")])
            ratio = f"{new / base:.2f}" if base else "-"
            lines.append(f"| {op} | {key} | {base:.3f} | {new:.3f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--worker", nargs=2, metavar=("URL", "OP"), help=argparse.SUPPRESS)
    parser.add_argument("--base", default="main", help="git ref to compare with (main)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (4)")
    parser.add_argument("--big", default="256MiB", help="the big object's size (256MiB)")
    parser.add_argument("--ops", default=",".join(OPS), help=f"some of {','.join(OPS)}")
    args = parser.parse_args(argv)
    if args.worker:
        url, op = args.worker
        result: Any = anyio.run(_worker, url, op)
        print(json.dumps(result))
        return 0
    # Here, not at the top: a worker runs this file as a script, outside the package.
    from benchmarks._common import parse_size

    args.big = parse_size(args.big)
    args.ops = [op for op in args.ops.split(",") if op]
    if unknown := set(args.ops) - set(OPS):
        parser.error(f"unknown ops: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="natsobj-reads-ab-") as tmp:
        base = _unpack(args.base, Path(tmp))
        figures = anyio.run(_run, args, base)
    print(_report(figures, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
