"""Buckets with batched puts (server 2.14+ fast ingest): flow-controlled chunk batches."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import natsobj
from natsobj import ObjectStoreManager
from tests.conftest import chunk_counts, unique_bucket

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


@pytest.fixture
async def batched_store(manager: ObjectStoreManager) -> AsyncIterator[natsobj.ObjectStore]:
    store = await manager.create_object_store(unique_bucket(), batched_puts=True)
    yield store
    await manager.delete_object_store(store.bucket)


async def test_bucket_reports_batched_puts(batched_store: natsobj.ObjectStore) -> None:
    status = await batched_store.status()
    assert status.batched_puts
    assert status.stream_info["config"]["allow_batched"] is True


@pytest.mark.parametrize("size", [0, 1, 100_000, 100_001, 3_000_000])
async def test_batched_round_trip(batched_store: natsobj.ObjectStore, size: int) -> None:
    data = os.urandom(size)
    info = await batched_store.put("a", data, chunk_size=100_000)
    assert info.chunks == -(-size // 100_000)
    assert await batched_store.get_bytes("a") == data
    # Only the chunks and the meta are stored: the end-of-batch marker is not.
    assert await chunk_counts(batched_store) == (
        {f"$O.{batched_store.bucket}.C.{info.nuid}": info.chunks} if size else {}
    )


async def test_batched_put_file(batched_store: natsobj.ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(9 * MiB + 3)
    source = tmp_path / "f.bin"
    source.write_bytes(data)
    seen: list[int] = []
    info = await batched_store.put_file(source, progress=seen.append, chunk_size=256 * 1024)
    assert sum(seen) == len(data)
    assert info.chunks == -(-len(data) // (256 * 1024))
    assert await batched_store.get_bytes("f.bin") == data


async def test_concurrent_batched_puts(batched_store: natsobj.ObjectStore) -> None:
    blobs = {f"o{i}": os.urandom(2 * MiB + i) for i in range(12)}
    async with anyio.create_task_group() as tg:
        for name, data in blobs.items():
            tg.start_soon(batched_store.put, name, data)
    for name, data in blobs.items():
        assert await batched_store.get_bytes(name) == data
    assert sum((await chunk_counts(batched_store)).values()) == sum(
        -(-len(d) // (128 * 1024)) for d in blobs.values()
    )


async def test_cancelled_batched_put_leaves_nothing(batched_store: natsobj.ObjectStore) -> None:
    old = await batched_store.put("a", b"old")
    with anyio.move_on_after(0.05):
        await batched_store.put("a", os.urandom(64 * MiB))
    assert await batched_store.get_bytes("a") == b"old"
    assert await chunk_counts(batched_store) == {f"$O.{batched_store.bucket}.C.{old.nuid}": 1}


async def test_batched_put_over_quota_leaves_nothing(manager: ObjectStoreManager) -> None:
    store = await manager.create_object_store(unique_bucket(), batched_puts=True, max_bytes=MiB)
    await store.put("small", b"fits")
    with pytest.raises(natsobj.ObjectStoreError):
        await store.put("big", os.urandom(2 * MiB))
    assert [i.name for i in await store.list()] == ["small"]
    assert sum((await chunk_counts(store)).values()) == 1
    await manager.delete_object_store(store.bucket)


async def _stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_streamed_input_uses_acknowledged_publishes(
    batched_store: natsobj.ObjectStore,
) -> None:
    # A stream may stall longer than the server keeps a batch open: it is not batched.
    data = os.urandom(250_000)
    await batched_store.put("s", _stream(data), chunk_size=100_000)
    assert await batched_store.get_bytes("s") == data


async def test_update_turns_batched_puts_on_and_off(manager: ObjectStoreManager) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    store = await manager.update_object_store(
        natsobj.ObjectStoreConfig(bucket=bucket, batched_puts=True)
    )
    assert (await store.status()).batched_puts
    data = os.urandom(MiB)
    await store.put("x", data)
    store = await manager.update_object_store(natsobj.ObjectStoreConfig(bucket=bucket))
    assert not (await store.status()).batched_puts
    assert await store.get_bytes("x") == data
    await store.put("x", b"plain")
    assert await store.get_bytes("x") == b"plain"
    await manager.delete_object_store(bucket)
