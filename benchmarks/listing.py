"""Listing a big bucket: ``list()``, ``list_page()`` and the live ``ListingIndex`` over N
objects (default 100,000).

    .venv/bin/python -m benchmarks.listing                # 100,000 objects, ~3-5 minutes
    .venv/bin/python -m benchmarks.listing --objects 5000  # a quick run

Fills a fresh bucket on an embedded server with N one-to-100-byte objects in 100 folders
(64 puts at a time; requests time out after 30 s, for a loaded machine), then times each
listing call (best of ``--repeats``) and, in a second pass, measures the peak of Python
allocations during the call with tracemalloc (that pass is slower; its times are not
reported). Then the index: its load (best of ``--repeats``),
its memory per object (Python allocations it holds once loaded, tracemalloc), 100 pages
of 100 at random offsets and sort orders (p50, p99, max), a staleness check alone, and
the folders. Last, times one delete_prefix of a folder (1% of the objects). Prints one
line per measurement.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio


async def fill(store: Any, count: int) -> float:
    limiter = anyio.CapacityLimiter(64)

    async def put(index: int) -> None:
        async with limiter:
            await store.put(
                f"folder-{index % 100:03d}/object-{index:07d}.txt", b"x" * (index % 100)
            )

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for index in range(count):
            tg.start_soon(put, index)
    return time.perf_counter() - started


async def measure(
    call: Callable[[], Awaitable[object]], repeats: int
) -> tuple[float, float, float]:
    """(best wall seconds, client CPU seconds of that run, peak MiB of Python allocations).

    The client's CPU time says more than wall time on a busy machine: the listing is
    bound by the client's one core (nats-py parsing each Direct Get reply).
    """
    best, best_cpu = float("inf"), 0.0
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        await call()
        wall = time.perf_counter() - started
        if wall < best:
            best, best_cpu = wall, time.process_time() - started_cpu
    tracemalloc.start()
    await call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, best_cpu, peak / 2**20


async def measure_index(store: Any, count: int, repeats: int) -> None:
    """The live index: load, memory per object, page latencies, a staleness check."""
    loads = []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        async with store.index():
            loads.append((time.perf_counter() - started, time.process_time() - started_cpu))
    seconds, cpu = min(loads)
    print(f"{'index load':48s} {seconds:6.2f} s  client CPU {cpu:6.2f} s", flush=True)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    async with store.index() as index:
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{'index memory':48s} {(held - before) / count:6.0f} B/object held"
            f"  (peak while loading {(peak - before) / count:.0f} B/object)",
            flush=True,
        )
        draw = random.Random(15)
        latencies = []
        for _ in range(100):
            sort_by = draw.choice(["name", "size", "created", "updated"])
            order = draw.choice(["asc", "desc"])
            offset = draw.randrange(max(count - 100, 1))
            started = time.perf_counter()
            await index.list_page(limit=100, offset=offset, sort_by=sort_by, order=order)
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        print(
            f"{'index list_page(limit=100), random offset/sort':48s}"
            f" p50 {latencies[49] * 1000:6.1f} ms  p99 {latencies[98] * 1000:6.1f} ms"
            f"  max {latencies[-1] * 1000:6.1f} ms",
            flush=True,
        )
        for label, call in {
            "index sync() (staleness check)": index.sync,
            "index list_page(delimiter='/') folders": lambda: index.list_page(delimiter="/"),
            "index list_page('folder-042/', search=...)": lambda: index.list_page(
                "folder-042/", search="object-00"
            ),
        }.items():
            best = float("inf")
            for _ in range(max(repeats, 5)):
                started = time.perf_counter()
                await call()
                best = min(best, time.perf_counter() - started)
            print(f"{label:48s} {best * 1000:6.1f} ms", flush=True)


async def main(count: int, repeats: int) -> None:
    import natsobj

    async with (
        natsobj.EmbeddedServer() as server,
        natsobj.connect(server.url, timeout=30) as manager,
    ):
        store = await manager.create_object_store("listing")
        print(f"filled {count:,} objects in {await fill(store, count):.1f} s", flush=True)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "list() [all ObjectInfo]": store.list,
            "list_page(limit=100) by name": lambda: store.list_page(limit=100),
            "list_page(limit=100) by updated desc": lambda: store.list_page(
                limit=100, sort_by="updated", order="desc"
            ),
            "list_page(limit=1000, offset=50000) by size": lambda: store.list_page(
                limit=1000, offset=min(50_000, count // 2), sort_by="size"
            ),
            "list_page(delimiter='/') folders": lambda: store.list_page(delimiter="/"),
            "list_page('folder-042/', search='object-00')": lambda: store.list_page(
                "folder-042/", search="object-00"
            ),
        }
        for label, call in calls.items():
            seconds, cpu, peak = await measure(call, repeats)
            print(
                f"{label:48s} {seconds:6.2f} s  {count / seconds:9,.0f} metas/s  "
                f"client CPU {cpu:6.2f} s  peak {peak:6.1f} MiB",
                flush=True,
            )
        await measure_index(store, count, repeats)
        started = time.perf_counter()
        deleted = await store.delete_prefix("folder-042/")
        print(
            f"delete_prefix('folder-042/'): {len(deleted):,} objects "
            f"in {time.perf_counter() - started:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    if not __package__:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.objects, args.repeats)
