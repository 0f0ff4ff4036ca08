"""Session.many(): gets and heads of 1000 small objects with and without the batched meta
prefetch (one multi_last Direct Get for the batch instead of a meta request per key).

    .venv/bin/python -m benchmarks.many_prefetch [--repeats 7]

Prints the median ops/s of each mode; the modes alternate so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterable

import anyio

import natsobj
from natsobj import ObjectInfo, Usecase

OBJECTS = 1000
CONCURRENCY = 5


async def _no_prefetch(keys: Iterable[str]) -> dict[str, ObjectInfo]:
    return {}


async def run(repeats: int) -> None:
    async with natsobj.EmbeddedServer() as server, natsobj.connect(server.url) as manager:
        session = Usecase("bench", compression="none").scope().session(manager)
        many = session.many(max_concurrency=32)
        for i in range(OBJECTS):
            many.put(b"x" * 1024, key=f"k{i}")
        await many.error_for_failures()
        prefetch = session.prefetch
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(repeats):
            for mode in ("batched", "individual"):
                session.prefetch = prefetch if mode == "batched" else _no_prefetch  # type: ignore[method-assign]
                for operation in ("get", "head"):
                    many = session.many(max_concurrency=CONCURRENCY)
                    for i in range(OBJECTS):
                        getattr(many, operation)(f"k{i}")
                    started = time.perf_counter()
                    await many.error_for_failures()
                    elapsed = time.perf_counter() - started
                    rates.setdefault((operation, mode), []).append(OBJECTS / elapsed)
        for (operation, mode), values in sorted(rates.items()):
            print(f"{operation:4} {mode:10} median {statistics.median(values):6.0f} ops/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    anyio.run(run, parser.parse_args().repeats)


if __name__ == "__main__":
    main()
