"""natsobj's side of the benchmark: large objects, the range read and small objects.

Ops on large objects (``spec.size`` bytes, ``spec.chunk_size`` chunks):

- ``put``: ``store.put(name, data)`` from bytes already in memory;
- ``put_pipelined``/``put_batched``/``put_atomic``: the same, in a bucket made for that
  put path (see ``PUT_PATHS``);
- ``put_file``: ``store.put_file(path)`` from the data file on disk;
- ``get``: ``store.get(name)`` streamed, the chunks only counted;
- ``get_bytes``: ``store.get_bytes(name)``;
- ``get_file``: ``store.get_file(name, path)``;
- ``profile_put``/``profile_get``: one ``put``/streamed ``get`` under cProfile (the text of
  the top functions by own time goes into the result's ``profile``);
- ``range``: ``get_bytes(name, start=size - 1 MiB)`` on the object ``put`` stored, against
  ``get_bytes`` of a whole 1 MiB object (stored untimed first); reported as ``range_tail``
  and ``range_whole_1mib``.

Small objects (``spec.count`` objects of ``spec.size`` bytes): ``put_seq``/``get_seq`` one at a
time, ``put_conc``/``get_conc`` with ``spec.concurrency`` tasks working through the names.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from pathlib import Path

import anyio

import natsobj

from ._common import PUT_PATHS, RANGE_BYTES, OpResult, WorkerSpec, reset_peak_rss, timed
from ._small import run_small


async def run(spec: WorkerSpec) -> tuple[int, dict[str, OpResult]]:
    small = spec.ops[0].endswith(("_seq", "_conc"))
    needs_bytes = small or any(op in ("put", "profile_put", *PUT_PATHS) for op in spec.ops)
    data = b""
    if needs_bytes:
        data = os.urandom(spec.size) if small else await anyio.Path(spec.data_file).read_bytes()
    results: dict[str, OpResult] = {}
    async with natsobj.connect(spec.url, timeout=30.0) as manager:
        store = await manager.object_store(spec.bucket)
        baseline = reset_peak_rss()
        if small:

            async def put_one(name: str) -> None:
                await store.put(name, data)

            async def get_one(name: str) -> None:
                got = await store.get_bytes(name)
                if len(got) != len(data):
                    raise RuntimeError(f"{name}: got {len(got)} bytes of {len(data)}")

            results = await run_small(spec, put_one, get_one)
            return baseline, results
        out = Path(spec.out_dir) / f"natsobj-{os.getpid()}.out"
        for op in spec.ops:
            result = OpResult(bytes=spec.size)
            if op == "put" or op in PUT_PATHS:

                async def put(i: int) -> None:
                    await store.put(f"obj-{i}", data, chunk_size=spec.chunk_size)

                await timed(result, spec.repeats, put)
            elif op == "put_file":

                async def put_file(i: int) -> None:
                    await store.put_file(spec.data_file, f"file-{i}", chunk_size=spec.chunk_size)

                await timed(result, spec.repeats, put_file)
            elif op == "get":

                async def get(_: int) -> None:
                    got = 0
                    async with store.get("obj-0") as stream:
                        async for chunk in stream:
                            got += len(chunk)
                    if got != spec.size:
                        raise RuntimeError(f"get read {got} bytes of {spec.size}")

                await timed(result, spec.repeats, get)
            elif op == "get_bytes":

                async def get_bytes(_: int) -> None:
                    got = len(await store.get_bytes("obj-0"))
                    if got != spec.size:
                        raise RuntimeError(f"get_bytes read {got} bytes of {spec.size}")

                await timed(result, spec.repeats, get_bytes)
            elif op == "get_file":

                async def get_file(_: int) -> None:
                    await store.get_file("obj-0", out)
                    got = out.stat().st_size
                    out.unlink()
                    if got != spec.size:
                        raise RuntimeError(f"get_file wrote {got} bytes of {spec.size}")

                await timed(result, spec.repeats, get_file)
            elif op == "range":
                results.update(await _range(store, spec))
                continue
            elif op in ("profile_put", "profile_get"):
                results[op] = await _profile(store, spec, data, op)
                continue
            else:
                raise ValueError(f"natsobj: unknown op {op!r}")
            results[op] = result
    return baseline, results


async def _range(store: natsobj.ObjectStore, spec: WorkerSpec) -> dict[str, OpResult]:
    """The last RANGE_BYTES of the big object vs a whole RANGE_BYTES object, interleaved."""
    await store.put("ref-1mib", os.urandom(RANGE_BYTES), chunk_size=spec.chunk_size)
    start = max(spec.size - RANGE_BYTES, 0)
    tail = OpResult(bytes=spec.size - start)
    whole = OpResult(bytes=RANGE_BYTES)

    async def read_tail(_: int) -> None:
        got = len(await store.get_bytes("obj-0", start=start))
        if got != spec.size - start:
            raise RuntimeError(f"range read {got} bytes of {spec.size - start}")

    async def read_whole(_: int) -> None:
        got = len(await store.get_bytes("ref-1mib"))
        if got != RANGE_BYTES:
            raise RuntimeError(f"get_bytes read {got} bytes of {RANGE_BYTES}")

    await read_tail(0)  # warm-up, untimed
    await read_whole(0)
    for _ in range(spec.range_repeats):
        await timed(tail, 1, read_tail)
        await timed(whole, 1, read_whole)
    return {"range_tail": tail, "range_whole_1mib": whole}


PROFILE_LINES = 18


async def _profile(store: natsobj.ObjectStore, spec: WorkerSpec, data: bytes, op: str) -> OpResult:
    """One put (``profile_put``) or streamed get (``profile_get``) of obj-0 under cProfile."""
    profiler = cProfile.Profile()
    result = OpResult(bytes=spec.size)

    async def body(_: int) -> None:
        got = 0
        profiler.enable()
        try:
            if op == "profile_put":
                await store.put("obj-0", data, chunk_size=spec.chunk_size)
                got = spec.size
            else:
                async with store.get("obj-0") as stream:
                    async for chunk in stream:
                        got += len(chunk)
        finally:
            profiler.disable()
        if got != spec.size:
            raise RuntimeError(f"{op}: {got} bytes of {spec.size}")

    await timed(result, 1, body)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("tottime")
    stats.print_stats(PROFILE_LINES)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    result.profile = "\n".join([total, "", *lines[start:]]).rstrip()
    return result
