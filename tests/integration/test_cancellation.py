"""A failed or cancelled put leaves nothing visible and no orphan chunks."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

from natsobj import ObjectStore
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio


async def _slow_source(blocks: int, started: anyio.Event) -> AsyncIterator[bytes]:
    for i in range(blocks):
        yield os.urandom(64 * 1024)
        if i == 5:
            started.set()
        await anyio.sleep(0.01)


async def test_cancelled_put_leaves_nothing(store: ObjectStore) -> None:
    old = await store.put("obj", b"old version")
    started = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(store.put, "obj", _slow_source(1000, started))
        await started.wait()
        tg.cancel_scope.cancel()
    assert await store.get_bytes("obj") == b"old version"
    assert await chunk_counts(store) == {f"$O.{store.bucket}.C.{old.nuid}": 1}


async def test_timeout_around_put_leaves_nothing(store: ObjectStore) -> None:
    with anyio.move_on_after(0.3):
        await store.put("obj", _slow_source(1000, anyio.Event()))
    assert await store.list() == []
    assert await chunk_counts(store) == {}


class _Boom(Exception):
    pass


async def _failing_source() -> AsyncIterator[bytes]:
    for _ in range(20):
        yield os.urandom(100_000)
    raise _Boom


async def test_failing_source_leaves_nothing(store: ObjectStore) -> None:
    with pytest.raises(_Boom):
        await store.put("obj", _failing_source())
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def test_cancelled_get_releases_everything(store: ObjectStore) -> None:
    await store.put("big", os.urandom(4 * 1024 * 1024))
    with anyio.move_on_after(0.01):
        async with store.get("big") as result:
            async for _ in result:
                await anyio.sleep(1)
    assert len(await store.get_bytes("big")) == 4 * 1024 * 1024
