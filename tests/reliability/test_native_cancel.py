"""Native asyncio cancellation (``Task.cancel()``, ``asyncio.timeout``) of every operation, at
seeded random points: the CancelledError (or the timeout) comes out, nothing hangs, no task
is left behind, no chunk outlives its put, and the store still works.

anyio cancel scopes cancel again at every checkpoint; a native cancellation comes once, so
code that swallows one CancelledError (nats-py does, in its publish) loses it for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
CHUNK = 128 * 1024
HANG = 10.0  # no cancelled operation may take longer than this to end
TRIES = 3  # random cancellation points per operation and way of cancelling

Op = Callable[[], Coroutine[Any, Any, object]]


# --------------------------------------------------------------------------- helpers


async def _stray_tasks(before: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    """Tasks started since ``before`` still running after a short grace (a subscription's
    reader ends one loop turn after its unsubscribe)."""
    with anyio.move_on_after(2):
        while True:
            left = {t for t in asyncio.all_tasks() - before if not t.done()}
            if not left:
                return left
            await asyncio.sleep(0.02)
    return left


WAYS = ("Task.cancel", "asyncio.timeout", "asyncio.wait_for")


async def _cancel_at(op: Op, delay: float, way: str) -> bool:
    """Run ``op`` in a task and cancel it natively after ``delay`` seconds, one of WAYS.
    True if it was cancelled, False if it finished first. Fails on a hang, a swallowed
    cancellation, any other error, or a task left running."""
    before = asyncio.all_tasks()

    async def under_timeout() -> object:
        async with asyncio.timeout(delay):
            return await op()

    async def under_wait_for() -> object:
        return await asyncio.wait_for(op(), delay)

    runs = {"Task.cancel": op, "asyncio.timeout": under_timeout, "asyncio.wait_for": under_wait_for}
    task: asyncio.Task[object] = asyncio.create_task(runs[way]())
    await asyncio.sleep(delay)
    finished_first = task.done()
    if way == "Task.cancel":
        task.cancel()
    done, _ = await asyncio.wait({task}, timeout=HANG)
    if not done:
        task.cancel()
        pytest.fail(f"a cancelled operation hangs ({way}): {task!r}")
    assert not await _stray_tasks(before), f"tasks left running ({way})"
    if way != "Task.cancel":
        error = task.exception()
        assert error is None or isinstance(error, TimeoutError), f"{way}: {error!r}"
        return error is not None
    if finished_first:
        task.result()
        return False
    # A task whose coroutine ended normally after cancel() swallowed the cancellation.
    assert task.cancelled(), f"the cancellation was lost: {task!r} returned {task.result()!r}"
    return True


async def _sweep(op: Op, seed: int, *, check: Callable[[], Awaitable[None]]) -> int:
    """Cancel ``op`` at TRIES seeded random points each of WAYS; ``check`` after each.
    Returns how many were cancelled."""
    rng = random.Random(seed)
    started = anyio.current_time()
    await op()  # once whole: how long it takes bounds the cancellation points
    took = anyio.current_time() - started
    cancelled = 0
    for index in range(len(WAYS) * TRIES):
        delay = rng.uniform(0, took * 1.2)
        cancelled += await _cancel_at(op, delay, WAYS[index % len(WAYS)])
        await check()
    return cancelled


async def _no_orphans(store: ObjectStore) -> None:
    """Every chunk in the bucket belongs to a live object."""
    live = {f"$O.{store.bucket}.C.{info.nuid}" for info in await store.list() if info.size}
    assert set(await chunk_counts(store)) <= live


def _checked(store: ObjectStore) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await _no_orphans(store)

    return check


async def _usable(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    await store.put("after", data, chunk_size=CHUNK)
    assert await store.get_bytes("after") == data


# --------------------------------------------------------------------------- the report


async def test_put_from_a_zero_buffer_memory_stream_ends_when_cancelled(
    store: ObjectStore,
) -> None:
    """The report: two 6 MB blocks through a 0-buffer memory object stream, then
    ``task.cancel()`` just after the source handed one over: the put must end cancelled
    (it went on as if never cancelled, waiting for good on a source nobody fed)."""
    for attempt in range(4):
        await _cancel_after_a_handed_block(store, f"big-{attempt}", attempt * 0.002)
        await _no_orphans(store)
    assert await store.list() == []
    await _usable(store)


async def _cancel_after_a_handed_block(store: ObjectStore, name: str, delay: float) -> None:
    send, receive = anyio.create_memory_object_stream[bytes](0)
    handed = asyncio.Event()

    async def feed() -> None:
        async with send:
            await send.send(os.urandom(6 * MiB))
            handed.set()
            await send.send(os.urandom(6 * MiB))
            await anyio.sleep_forever()  # the source stalls: only a cancel ends the put

    async def put() -> object:
        async with receive:
            return await store.put(name, receive)

    feeder = asyncio.create_task(feed())
    task = asyncio.create_task(put())
    await handed.wait()
    await asyncio.sleep(delay)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=HANG)
    if not done:
        task.cancel()  # once more, not to leave it behind; the test fails below
    feeder.cancel()
    with contextlib.suppress(asyncio.CancelledError, anyio.BrokenResourceError):
        await feeder  # the put closed its end
    assert done, "the cancelled put hangs"
    assert task.cancelled(), f"the cancellation was lost: {task!r}"


# --------------------------------------------------------------------------- puts


async def test_puts_of_every_source_kind_cancelled_natively(
    store: ObjectStore, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB)
    path = tmp_path / "source.bin"
    path.write_bytes(data)

    async def from_bytes() -> object:
        return await store.put("bytes", data, chunk_size=CHUNK)

    async def from_file() -> object:
        return await store.put_file(path, "file", chunk_size=CHUNK)

    async def from_open_file() -> object:
        with path.open("rb") as handle:
            return await store.put("open-file", handle, chunk_size=CHUNK)

    async def from_iterator() -> object:
        async def blocks() -> AsyncIterator[bytes]:
            for offset in range(0, len(data), MiB):
                await anyio.lowlevel.checkpoint()
                yield data[offset : offset + MiB]

        return await store.put("iterator", blocks(), chunk_size=CHUNK)

    async def from_stream() -> object:
        send, receive = anyio.create_memory_object_stream[bytes](0)
        async with anyio.create_task_group() as tg, receive:

            async def feed() -> None:
                # A cancelled put closes its end: the feeder stops (or its error would
                # replace the cancellation in the task group's).
                with contextlib.suppress(anyio.BrokenResourceError):
                    async with send:
                        for offset in range(0, len(data), MiB):
                            await send.send(data[offset : offset + MiB])

            tg.start_soon(feed)
            info = await store.put("stream", receive, chunk_size=CHUNK)
        return info

    cancelled = 0
    for seed, op in enumerate((from_bytes, from_file, from_open_file, from_iterator, from_stream)):
        cancelled += await _sweep(op, seed, check=_checked(store))
    assert cancelled  # the sweep did cancel puts midway, not only after they ended
    for info in await store.list():
        assert await store.get_bytes(info.name) == data  # whatever is visible is whole
    await _usable(store)


# --------------------------------------------------------------------------- reads


async def test_gets_watch_and_list_cancelled_natively(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(4 * MiB)
    await store.put("obj", data, chunk_size=CHUNK)
    for index in range(20):
        await store.put(f"small-{index}", b"x" * index)
    target = tmp_path / "out.bin"

    async def streamed() -> object:
        async with store.get("obj") as reader:
            return sum([len(chunk) async for chunk in reader])

    async def whole() -> object:
        return len(await store.get_bytes("obj"))

    async def to_file() -> object:
        return await store.get_file("obj", target)

    async def listed() -> object:
        return len(await store.list())

    async def watched() -> object:
        with anyio.move_on_after(0.1):  # a watch ends only when cancelled: bounded here
            async with store.watch(include_history=True) as watcher:
                async for _ in watcher:
                    pass
        return None

    async def check() -> None:
        assert [p.name for p in tmp_path.iterdir()] in ([], ["out.bin"])  # no partial file
        if target.exists():
            assert target.read_bytes() == data

    for seed, op in enumerate((streamed, whole, to_file, listed, watched), start=10):
        await _sweep(op, seed, check=check)
    assert await store.get_bytes("obj") == data
    await _usable(store)


# --------------------------------------------------------------------------- sessions


@pytest.fixture
async def session_store(
    manager: ObjectStoreManager,
) -> AsyncIterator[tuple[natsobj.Session, ObjectStore]]:
    name = f"n{uuid.uuid4().hex[:12]}"
    session = natsobj.Usecase(name, compression="none").for_project(1, 2).session(manager)
    await session.put(b"warm", key="warm")  # creates the usecase's bucket
    yield session, await manager.object_store(name)
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def test_session_calls_and_many_cancelled_natively(
    session_store: tuple[natsobj.Session, ObjectStore],
) -> None:
    session, store = session_store
    data = os.urandom(2 * MiB)
    await session.put(data, key="there")

    async def put() -> object:
        return await session.put(data, key="put")

    async def get() -> object:
        return len(await session.get_bytes("there"))

    async def many() -> object:
        batch = session.many(max_concurrency=3)
        for index in range(4):
            batch = batch.put(data, key=f"many-{index}").get("there")
        await batch.error_for_failures()
        return None

    for seed, op in enumerate((put, get, many), start=20):
        await _sweep(op, seed, check=_checked(store))
    assert await session.get_bytes("there") == data
    await _usable(store)
