"""What the blocking facade (natsobj.sync) and the obstore adapter cost over the async API.

    python benchmarks/sync_overhead.py [--calls 2000] [--size-mib 64]

Against one embedded nats-server: ``get_info`` of a small object ``--calls`` times (the
per-call cost of the thread hop), and a whole ``--size-mib`` object put and read back
(throughput), each through the async API, natsobj.sync, and obstore's ``get_async`` /
``SyncObstoreAdapter.get``. Best of three runs each; one line per figure on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import natsobj
import natsobj.sync
from natsobj.obstore import ObstoreAdapter, SyncObstoreAdapter

RUNS = 3


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


async def best_async(run: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return min(times)


async def measure_async(url: str, calls: int, data: bytes) -> dict[str, float]:
    async with natsobj.connect(url) as manager:
        store = await manager.create_object_store("bench_async")
        adapter = ObstoreAdapter(store)
        await store.put("small", b"x")

        async def infos() -> None:
            for _ in range(calls):
                await store.get_info("small")

        async def obstore_get() -> None:
            await (await adapter.get_async("big")).buffer_async()

        out = {"get_info_us": await best_async(infos) / calls * 1e6}
        out["put_s"] = await best_async(lambda: store.put("big", data))
        out["get_s"] = await best_async(lambda: store.get_bytes("big"))
        out["obstore_get_s"] = await best_async(obstore_get)
        await manager.delete_object_store("bench_async")
    return out


def measure_sync(url: str, calls: int, data: bytes) -> dict[str, float]:
    with natsobj.sync.connect(url) as manager:
        store = manager.create_object_store("bench_sync")
        adapter = SyncObstoreAdapter(store)
        store.put("small", b"x")

        def infos() -> None:
            for _ in range(calls):
                store.get_info("small")

        def streamed() -> None:
            with store.get("big") as result:
                for _ in result:
                    pass

        out = {"get_info_us": best(infos) / calls * 1e6}
        out["put_s"] = best(lambda: store.put("big", data))
        out["get_s"] = best(lambda: store.get_bytes("big"))
        out["get_streamed_s"] = best(streamed)
        out["obstore_get_s"] = best(lambda: adapter.get("big").buffer())
        manager.delete_object_store("bench_sync")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--size-mib", type=int, default=64)
    args = parser.parse_args()
    data = os.urandom(args.size_mib * 1024 * 1024)
    mib = len(data) / 2**20
    with natsobj.sync.EmbeddedServer() as server:
        results = {
            "async": anyio.run(measure_async, server.url, args.calls, data),
            "sync": measure_sync(server.url, args.calls, data),
        }
    for api, figures in results.items():
        for name, value in figures.items():
            shown = f"{value:.1f} us" if name.endswith("_us") else f"{mib / value:.0f} MiB/s"
            print(f"{api:5} {name.removesuffix('_us').removesuffix('_s'):15} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
