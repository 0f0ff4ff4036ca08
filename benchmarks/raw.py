"""The raw ceiling: JetStream publish and read of the same bytes with nats-py, no object store.

The messages go to a chunk subject of an object-store bucket, so the stream (its config,
storage and subjects) is the one the object stores use. Ops:

- ``pub_pipelined``: ``nc.publish`` with a reply inbox per message and one wildcard
  subscription counting the acks, at most ``RAW_WINDOW_BYTES`` unacknowledged;
- ``pub_sequential``: ``js.publish``, each ack awaited before the next message (reference);
- ``read_direct``: batched Direct Get (``no_hdr``) in runs of ``RAW_RUN_BYTES``, the next run
  asked for at the end of the current one (EOB, status 204), done when the expected bytes
  are in (with ``no_hdr`` the EOB's ``Nats-Num-Pending`` is not the remaining count);
- ``read_direct_hdrs``: the same with the per-message headers the server adds;
- ``read_ordered``: an ordered push consumer (``js.subscribe(..., ordered_consumer=True)``).

nats-py reads its socket ``DEFAULT_BUFFER_SIZE`` bytes at a time; it is raised to 1 MiB here,
as natsobj does for itself, so the ceiling is what nats-py can do at its best.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import nats
import nats.aio.client

from ._common import (
    RAW_RUN_BYTES,
    RAW_WINDOW_BYTES,
    OpResult,
    WorkerSpec,
    reset_peak_rss,
    timed,
)

READ_BUFFER_SIZE = 1024 * 1024
ACK_TIMEOUT = 30.0


def _subject(bucket: str, token: str) -> str:
    return f"$O.{bucket}.C.{token}"


def _stream(bucket: str) -> str:
    return f"OBJ_{bucket}"


async def pub_pipelined(nc: Any, subject: str, data: bytes, chunk_size: int) -> None:
    """Publish ``data`` in ``chunk_size`` messages, pipelined, acks awaited at the end."""
    inbox = nc.new_inbox()
    sizes: dict[int, int] = {}
    state = {"pending": 0}
    errors: list[bytes] = []
    progress = asyncio.Event()

    async def on_ack(msg: Any) -> None:
        token = int(msg.subject.rsplit(".", 1)[1])
        state["pending"] -= sizes.pop(token, 0)
        if msg.headers or b'"error"' in msg.data:
            errors.append(bytes(msg.data[:200]) or str(msg.headers).encode())
        progress.set()

    sub = await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=0, pending_bytes_limit=0)
    try:
        view = memoryview(data)
        for token, offset in enumerate(range(0, len(data), chunk_size)):
            n = min(chunk_size, len(data) - offset)
            while state["pending"] and state["pending"] + n > RAW_WINDOW_BYTES:
                progress.clear()
                await asyncio.wait_for(progress.wait(), ACK_TIMEOUT)
            sizes[token] = n
            state["pending"] += n
            await nc.publish(subject, view[offset : offset + n], reply=f"{inbox}.{token}")
        while state["pending"]:
            progress.clear()
            await asyncio.wait_for(progress.wait(), ACK_TIMEOUT)
    finally:
        await sub.unsubscribe()
    if errors:
        raise RuntimeError(f"publish failed: {errors[0]!r}")


async def pub_sequential(js: Any, subject: str, data: bytes, chunk_size: int) -> None:
    """Publish ``data`` in ``chunk_size`` messages, awaiting each ack."""
    view = memoryview(data)
    for offset in range(0, len(data), chunk_size):
        await js.publish(subject, view[offset : offset + chunk_size], timeout=ACK_TIMEOUT)


async def read_direct(
    nc: Any, stream: str, subject: str, size: int, chunk_size: int, *, headers: bool
) -> int:
    """Read every message on ``subject`` by batched Direct Get; returns the bytes read."""
    inbox = nc.new_inbox()
    batch = max(RAW_RUN_BYTES // chunk_size, 1)
    state = {"bytes": 0}
    done = asyncio.Event()
    failure: list[str] = []

    async def ask(seq: int) -> None:
        request: dict[str, Any] = {
            "seq": seq,
            "next_by_subj": subject,
            "batch": batch,
            "max_bytes": RAW_RUN_BYTES,
        }
        if not headers:
            request["no_hdr"] = True
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(request).encode(), reply=inbox)

    async def on_msg(msg: Any) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            state["bytes"] += len(msg.data)
            if state["bytes"] >= size:
                done.set()  # all there: no need to wait for the run's end
            return
        if done.is_set():
            return
        if status == "204":
            last = msg.headers.get("Nats-Last-Sequence")
            if msg.headers.get("Nats-Num-Pending", "0") == "0" or not last:
                done.set()
            else:
                await ask(int(last) + 1)
            return
        if status == "404":  # nothing after the last run: the end
            done.set()
            return
        failure.append(f"direct get answered {status} {msg.headers.get('Description', '')}")
        done.set()

    sub = await nc.subscribe(inbox, cb=on_msg, pending_msgs_limit=0, pending_bytes_limit=0)
    try:
        await ask(1)
        await asyncio.wait_for(done.wait(), max(60.0, size / 20e6))
    finally:
        await sub.unsubscribe()
    if failure:
        raise RuntimeError(failure[0])
    return state["bytes"]


async def read_ordered(js: Any, stream: str, subject: str, size: int) -> int:
    """Read every message on ``subject`` through an ordered push consumer."""
    state = {"bytes": 0}
    done = asyncio.Event()

    async def on_msg(msg: Any) -> None:
        state["bytes"] += len(msg.data)
        if state["bytes"] >= size:
            done.set()

    sub = await js.subscribe(
        subject,
        stream=stream,
        ordered_consumer=True,
        cb=on_msg,
        pending_msgs_limit=-1,
        pending_bytes_limit=-1,
    )
    try:
        await asyncio.wait_for(done.wait(), max(60.0, size / 20e6))
    finally:
        await sub.unsubscribe()
    return state["bytes"]


async def run(spec: WorkerSpec) -> tuple[int, dict[str, OpResult]]:
    if nats.aio.client.DEFAULT_BUFFER_SIZE < READ_BUFFER_SIZE:
        nats.aio.client.DEFAULT_BUFFER_SIZE = READ_BUFFER_SIZE
    data = await anyio.Path(spec.data_file).read_bytes()
    nc = await nats.connect(spec.url, max_reconnect_attempts=0)
    js = nc.jetstream(timeout=ACK_TIMEOUT)
    stream = _stream(spec.bucket)
    baseline = reset_peak_rss()
    results: dict[str, OpResult] = {}
    try:
        for op in spec.ops:
            result = OpResult(bytes=spec.size)
            if op == "pub_pipelined":

                async def pipelined(i: int) -> None:
                    await pub_pipelined(nc, _subject(spec.bucket, f"raw{i}"), data, spec.chunk_size)

                await timed(result, spec.repeats, pipelined)
            elif op == "pub_sequential":

                async def sequential(i: int) -> None:
                    await pub_sequential(
                        js, _subject(spec.bucket, f"seq{i}"), data, spec.chunk_size
                    )

                await timed(result, spec.repeats, sequential)
            elif op in ("read_direct", "read_direct_hdrs"):
                with_headers = op == "read_direct_hdrs"

                async def direct(_: int, with_headers: bool = with_headers) -> None:
                    got = await read_direct(
                        nc,
                        stream,
                        _subject(spec.bucket, "raw0"),
                        spec.size,
                        spec.chunk_size,
                        headers=with_headers,
                    )
                    if got != spec.size:
                        raise RuntimeError(f"direct get read {got} bytes of {spec.size}")

                await timed(result, spec.repeats, direct)
            elif op == "read_ordered":

                async def ordered(_: int) -> None:
                    got = await read_ordered(js, stream, _subject(spec.bucket, "raw0"), spec.size)
                    if got != spec.size:
                        raise RuntimeError(f"ordered consumer read {got} bytes of {spec.size}")

                await timed(result, spec.repeats, ordered)
            else:
                raise ValueError(f"raw: unknown op {op!r}")
            results[op] = result
    finally:
        await nc.close()
    return baseline, results
