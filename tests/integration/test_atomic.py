"""Buckets with atomic puts (server 2.12+ atomic batch): all-or-nothing objects."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

import natsobj
from natsobj import ObjectStoreManager
from tests.conftest import chunk_counts, unique_bucket

pytestmark = pytest.mark.anyio


@pytest.fixture
async def atomic_store(manager: ObjectStoreManager) -> AsyncIterator[natsobj.ObjectStore]:
    store = await manager.create_object_store(unique_bucket(), atomic_puts=True)
    yield store
    await manager.delete_object_store(store.bucket)


async def test_bucket_reports_atomic_puts(atomic_store: natsobj.ObjectStore) -> None:
    status = await atomic_store.status()
    assert status.atomic_puts
    assert status.stream_info["config"]["allow_atomic"] is True


@pytest.mark.parametrize("size", [0, 1, 1000, 300_000, 3_000_000])
async def test_atomic_round_trip(atomic_store: natsobj.ObjectStore, size: int) -> None:
    data = os.urandom(size)
    info = await atomic_store.put("a", data, chunk_size=100_000)
    assert info.chunks == -(-size // 100_000)
    assert await atomic_store.get_bytes("a") == data
    assert await atomic_store.get_bytes("a", start=size // 2) == data[size // 2 :]


async def test_many_concurrent_atomic_puts(atomic_store: natsobj.ObjectStore) -> None:
    # More than the server's 50 atomic batches in flight per stream.
    async with anyio.create_task_group() as tg:
        for i in range(80):
            tg.start_soon(atomic_store.put, f"o{i}", b"x" * 2000)
    assert len(await atomic_store.list()) == 80


async def test_atomic_overwrite_purges_old(atomic_store: natsobj.ObjectStore) -> None:
    await atomic_store.put("a", os.urandom(500_000))
    new = await atomic_store.put("a", b"new")
    assert await chunk_counts(atomic_store) == {f"$O.{atomic_store.bucket}.C.{new.nuid}": 1}


async def test_too_big_for_one_batch_falls_back(atomic_store: natsobj.ObjectStore) -> None:
    data = os.urandom(1200 * 100)  # 1200 chunks of 100 bytes: more than one batch holds
    info = await atomic_store.put("big", data, chunk_size=100)
    assert info.chunks == 1200
    assert await atomic_store.get_bytes("big") == data


async def _stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_streamed_input_falls_back(atomic_store: natsobj.ObjectStore) -> None:
    data = os.urandom(250_000)
    await atomic_store.put("s", _stream(data), chunk_size=100_000)
    assert await atomic_store.get_bytes("s") == data


async def test_atomic_put_over_quota_stores_nothing(manager: ObjectStoreManager) -> None:
    store = await manager.create_object_store(
        unique_bucket(), atomic_puts=True, max_bytes=1024 * 1024
    )
    await store.put("small", b"fits")
    before = (await store.status()).stream_info["state"]["messages"]
    with pytest.raises(natsobj.ObjectStoreError):
        await store.put("big", os.urandom(2 * 1024 * 1024))
    assert (await store.status()).stream_info["state"]["messages"] == before
    assert [i.name for i in await store.list()] == ["small"]
    await manager.delete_object_store(store.bucket)


async def test_update_turns_atomic_puts_on_and_off(manager: ObjectStoreManager) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    store = await manager.update_object_store(
        natsobj.ObjectStoreConfig(bucket=bucket, atomic_puts=True)
    )
    assert (await store.status()).atomic_puts
    await store.put("x", b"atomic")
    store = await manager.update_object_store(natsobj.ObjectStoreConfig(bucket=bucket))
    assert not (await store.status()).atomic_puts
    assert await store.get_bytes("x") == b"atomic"
    await manager.delete_object_store(bucket)
