"""Session.many(): gets and heads of 1000 small objects with and without the batched meta
prefetch (one multi_last Direct Get for the batch instead of a meta request per key).

    .venv/bin/python -m benchmarks.many_prefetch [--repeats 7]

Prints the median ops/s of each mode; the modes alternate so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Iterable
from typing import Any
from unittest import mock

import anyio

import natsobj
from natsobj import ObjectInfo, Usecase

OBJECTS = 1000
CONCURRENCY = 5


# What a batch calls to prefetch its metas; the individual mode swaps it for _no_prefetch.
PREFETCH = "natsobj._sessions._many.prefetch"


async def _no_prefetch(context: Any, keys: Iterable[str]) -> dict[str, ObjectInfo]:
    return {}


async def run(repeats: int) -> None:
    async with natsobj.EmbeddedServer() as server, natsobj.connect(server.url) as manager:
        session = Usecase("bench", compression="none").scope().session(manager)
        many = session.many(max_concurrency=32)
        for i in range(OBJECTS):
            many.put(b"x" * 1024, key=f"k{i}")
        await many.error_for_failures()
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(repeats):
            for mode in ("batched", "individual"):
                batched = mode == "batched"
                with contextlib.nullcontext() if batched else mock.patch(PREFETCH, _no_prefetch):
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
