"""nats-py's built-in object store (``nats.js.object_store``), measured like natsobj.

Ops on large objects: ``put`` (bytes), ``put_file`` (an open binary file), ``get_bytes``
(``get()`` into memory: quadratic, so the suite only asks for it up to 64 MiB) and
``get_file`` (``get(writeinto=file)``). nats-py has no streaming get, so there is no ``get``.
Small objects: as ``natsobj_bench``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import nats
from nats.js import api

from ._common import OpResult, WorkerSpec, reset_peak_rss, timed
from ._small import run_small

#: nats-server 2.15 answers "maximum consumers limit reached" past this many on a stream.
CONSUMER_LIMIT = 1000


async def make_room(nc: Any, stream: str, needed: int) -> None:
    """Delete the consumers left on ``stream`` if ``needed`` more would not fit.

    Each get of nats-py's object store makes an ephemeral ordered consumer, which the
    server deletes only about 5 s after the get; nats-server refuses more than 1,000
    consumers on a stream. Untimed: it runs before a repetition starts.
    """
    names: list[str] = []
    while True:
        msg = await nc.request(
            f"$JS.API.CONSUMER.NAMES.{stream}",
            json.dumps({"offset": len(names)}).encode(),
            timeout=10,
        )
        page = json.loads(msg.data)
        names += page.get("consumers") or []
        if not page.get("consumers") or len(names) >= int(page.get("total", 0)):
            break
    if len(names) + needed <= CONSUMER_LIMIT:
        return
    for name in names:  # some may be gone already: the answer does not matter
        await nc.request(f"$JS.API.CONSUMER.DELETE.{stream}.{name}", b"", timeout=10)


async def run(spec: WorkerSpec) -> tuple[int, dict[str, OpResult]]:
    small = spec.ops[0].endswith(("_seq", "_conc"))
    data = b""
    if small:
        data = os.urandom(spec.size)
    elif "put" in spec.ops:
        data = await anyio.Path(spec.data_file).read_bytes()
    nc = await nats.connect(spec.url, max_reconnect_attempts=0)
    results: dict[str, OpResult] = {}
    try:
        js = nc.jetstream(timeout=30.0)
        obs = await js.object_store(spec.bucket)
        baseline = reset_peak_rss()

        def meta(name: str) -> Any:
            return api.ObjectMeta(
                name=name, options=api.ObjectMetaOptions(max_chunk_size=spec.chunk_size)
            )

        if small:

            async def put_one(name: str) -> None:
                await obs.put(name, data, meta=meta(name))

            async def get_one(name: str) -> None:
                got = await obs.get(name)
                size = len(got.data or b"")
                if size != len(data):
                    raise RuntimeError(f"{name}: got {size} bytes of {len(data)}")

            async def settle() -> None:
                await make_room(nc, f"OBJ_{spec.bucket}", spec.count)

            return baseline, await run_small(spec, put_one, get_one, settle)

        out = Path(spec.out_dir) / f"builtin-{os.getpid()}.out"
        for op in spec.ops:
            result = OpResult(bytes=spec.size)
            if op == "put":

                async def put(i: int) -> None:
                    await obs.put(f"obj-{i}", data, meta=meta(f"obj-{i}"))

                await timed(result, spec.repeats, put)
            elif op == "put_file":

                async def put_file(i: int) -> None:
                    with open(spec.data_file, "rb") as source:  # noqa: ASYNC230 - as users do
                        await obs.put(f"file-{i}", source, meta=meta(f"file-{i}"))

                await timed(result, spec.repeats, put_file)
            elif op == "get_bytes":

                async def get_bytes(_: int) -> None:
                    got = len((await obs.get("obj-0")).data or b"")
                    if got != spec.size:
                        raise RuntimeError(f"get read {got} bytes of {spec.size}")

                await timed(result, spec.repeats, get_bytes)
            elif op == "get_file":

                async def get_file(_: int) -> None:
                    with open(out, "wb") as sink:  # noqa: ASYNC230 - nats-py wants a file
                        await obs.get("obj-0", writeinto=sink)
                    got = out.stat().st_size
                    out.unlink()
                    if got != spec.size:
                        raise RuntimeError(f"get(writeinto=) wrote {got} bytes of {spec.size}")

                await timed(result, spec.repeats, get_file)
            else:
                raise ValueError(f"builtin: unknown op {op!r}")
            results[op] = result
    finally:
        await nc.close()
    return baseline, results
