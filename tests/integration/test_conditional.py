"""Conditional puts and deletes (compare-and-set on the meta), upload and update."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import pytest

import natsobj

from ..conftest import chunk_counts, unique_bucket

pytestmark = pytest.mark.anyio

CHUNK = 1024


async def slow(data: bytes, gate: anyio.Event) -> AsyncIterator[bytes]:
    """Yield half of ``data``, wait for ``gate``, then the rest: holds a put mid-upload."""
    half = len(data) // 2
    yield data[:half]
    await gate.wait()
    yield data[half:]


@pytest.fixture(params=[False, True], ids=["plain", "atomic"])
async def any_store(
    request: pytest.FixtureRequest, manager: natsobj.ObjectStoreManager
) -> AsyncIterator[natsobj.ObjectStore]:
    bucket = unique_bucket()
    store = await manager.create_object_store(bucket, atomic_puts=request.param)
    yield store
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(bucket)


async def test_put_if_revision(any_store: natsobj.ObjectStore) -> None:
    store = any_store
    first = await store.put("a", b"one", if_revision=0)
    with pytest.raises(natsobj.PreconditionFailedError):
        await store.put("a", b"two", if_revision=0)
    with pytest.raises(natsobj.PreconditionFailedError):
        await store.put("a", b"two", if_revision=first.revision + 100)
    second = await store.put("a", b"two", if_revision=first.revision)
    assert second.revision > first.revision
    assert await store.get_bytes("a") == b"two"
    # Only the committed object's chunks are left.
    assert list(await chunk_counts(store)) == [f"$O.{store.bucket}.C.{second.nuid}"]


async def test_two_concurrent_conditional_writers(store: natsobj.ObjectStore) -> None:
    base = await store.put("doc", b"base")
    gate = anyio.Event()
    outcomes: dict[str, BaseException | natsobj.ObjectInfo] = {}

    async def writer(label: str, data: bytes) -> None:
        try:
            outcomes[label] = await store.put(
                "doc", slow(data, gate), chunk_size=CHUNK, if_revision=base.revision
            )
        except natsobj.PreconditionFailedError as exc:
            outcomes[label] = exc

    data = {"a": b"a" * 5000, "b": b"b" * 5000}
    async with anyio.create_task_group() as tg:
        for label, payload in data.items():
            tg.start_soon(writer, label, payload)
        await anyio.sleep(0.1)  # both have looked the object up and sent half their data
        gate.set()
    winners = [k for k, v in outcomes.items() if isinstance(v, natsobj.ObjectInfo)]
    losers = [k for k, v in outcomes.items() if isinstance(v, natsobj.PreconditionFailedError)]
    assert len(winners) == 1
    assert len(losers) == 1
    winner = outcomes[winners[0]]
    assert isinstance(winner, natsobj.ObjectInfo)
    # The winner is whole and readable; the loser left no chunks; the base was purged.
    assert await store.get_bytes("doc") == data[winners[0]]
    assert list(await chunk_counts(store)) == [f"$O.{store.bucket}.C.{winner.nuid}"]


async def test_racing_uploads_one_creates(store: natsobj.ObjectStore) -> None:
    gate = anyio.Event()
    results: list[str] = []

    async def upload(data: bytes) -> None:
        try:
            await store.upload("new.bin", slow(data, gate), chunk_size=CHUNK)
            results.append("created")
        except natsobj.ObjectExistsError:
            results.append("exists")

    async with anyio.create_task_group() as tg:
        tg.start_soon(upload, b"1" * 3000)
        tg.start_soon(upload, b"2" * 3000)
        await anyio.sleep(0.1)
        gate.set()
    assert sorted(results) == ["created", "exists"]
    assert len(await chunk_counts(store)) == 1


async def test_upload_and_update(store: natsobj.ObjectStore) -> None:
    created = await store.upload("a.txt", b"v1")
    assert created.headers["Content-Type"] == ["text/plain"]
    with pytest.raises(natsobj.ObjectExistsError):
        await store.upload("a.txt", b"v2")
    assert (await store.upload("a.txt", b"v2", upsert=True)).size == 2
    assert (await store.update("a.txt", b"v3!")).size == 3
    assert await store.get_bytes("a.txt") == b"v3!"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.update("missing", b"x")
    await store.delete("a.txt")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.update("a.txt", b"x")
    # A deleted name can be uploaded again without upsert.
    assert (await store.upload("a.txt", b"again")).size == 5


async def test_update_loses_to_a_concurrent_delete(store: natsobj.ObjectStore) -> None:
    await store.put("a", b"v1")
    gate = anyio.Event()
    async with anyio.create_task_group() as tg:

        async def update() -> None:
            with pytest.raises(natsobj.PreconditionFailedError):
                await store.update("a", slow(b"x" * 3000, gate), chunk_size=CHUNK)

        tg.start_soon(update)
        await anyio.sleep(0.1)
        await store.delete("a")
        gate.set()
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def test_delete_if_revision(store: natsobj.ObjectStore) -> None:
    first = await store.put("a", b"1")
    second = await store.put("a", b"2")
    with pytest.raises(natsobj.PreconditionFailedError):
        await store.delete("a", if_revision=first.revision)
    assert await store.get_bytes("a") == b"2"
    tombstone = await store.delete("a", if_revision=second.revision)
    assert tombstone.deleted
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.delete("a", if_revision=-1)


async def test_created_time_survives_overwrites(store: natsobj.ObjectStore) -> None:
    first = await store.put("a", b"1")
    assert first.created is None or first.created == first.mtime
    first = await store.get_info("a")
    assert first.created == first.mtime
    await anyio.sleep(0.01)
    second = await store.put("a", b"22")
    info = await store.get_info("a")
    assert info.mtime is not None
    assert first.mtime is not None
    assert info.mtime > first.mtime
    assert info.created == first.created
    assert second.headers["Natsobj-Created"]
    await store.delete("a")
    third = await store.get_info((await store.put("a", b"3")).name)
    assert third.created == third.mtime  # a new object after a delete
