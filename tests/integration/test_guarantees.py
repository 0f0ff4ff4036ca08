"""Guarantees that only a deliberate fault shows: a corrupted one-chunk object is refused,
a put whose committed meta lost its acknowledgement keeps its chunks, and a delete purges
only after its tombstone is stored. Faults go through the JetStream seam; the server is
real."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj import ObjectStore
from tests.conftest import chunk_counts, replace_chunks, unique_bucket

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------- one chunk


async def test_a_corrupted_one_chunk_object_is_refused(
    store: ObjectStore, peer: JetStreamContext, tmp_path: Any
) -> None:
    data = os.urandom(1000)
    info = await store.put("one", data)
    assert info.chunks == 1
    # Same size, other bytes: only the digest can tell.
    await replace_chunks(peer, store, info.nuid, [bytes(b ^ 1 for b in data)])
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_bytes("one")
    with pytest.raises(natsobj.DigestMismatchError):
        async with store.get("one") as result:
            await result.read()
    with pytest.raises(natsobj.DigestMismatchError):
        async with store.get("one", start=10, end=20) as result:
            await result.read()
    target = tmp_path / "one.bin"
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_file("one", target)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- lost meta ack


@pytest.fixture(params=["plain", "atomic"])
async def any_store(
    request: pytest.FixtureRequest, manager: natsobj.ObjectStoreManager
) -> AsyncIterator[ObjectStore]:
    bucket = unique_bucket()
    yield await manager.create_object_store(bucket, atomic_puts=request.param == "atomic")
    await manager.delete_object_store(bucket)


def _lose_meta_acks(
    monkeypatch: pytest.MonkeyPatch, store: ObjectStore, error: type[natsobj.ObjectStoreError]
) -> list[str]:
    """Metas published from now on are stored, and their acknowledgement lost."""
    publish = store._core.js.publish
    lost: list[str] = []

    async def stored_then_lost(subject: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        ack = await publish(subject, *args, **kwargs)
        if subject.startswith(f"$O.{store.bucket}.M."):
            lost.append(subject)
            raise error("the acknowledgement was lost", bucket=store.bucket)
        return ack

    monkeypatch.setattr(store._core.js, "publish", stored_then_lost)
    return lost


@pytest.mark.parametrize("error", [natsobj.ObjectStoreTimeoutError, natsobj.ServerUnavailableError])
@pytest.mark.parametrize("size", [500, 5000], ids=["one chunk", "five chunks"])
@pytest.mark.parametrize("overwrite", [False, True], ids=["new", "overwrite"])
async def test_a_put_whose_meta_ack_is_lost_keeps_the_committed_chunks(
    any_store: ObjectStore,
    monkeypatch: pytest.MonkeyPatch,
    error: type[natsobj.ObjectStoreError],
    size: int,
    overwrite: bool,
) -> None:
    store = any_store
    if overwrite:
        await store.put("x", b"old")
    data = os.urandom(size)
    lost = _lose_meta_acks(monkeypatch, store, error)
    with pytest.raises(error):
        await store.put("x", data, chunk_size=1000)
    assert lost  # the meta was stored, only its answer went missing
    monkeypatch.undo()
    # The meta committed: the object is the new one, whole, its chunks all there.
    info = await store.get_info("x")
    assert await store.get_bytes("x") == data
    assert (await chunk_counts(store))[f"$O.{store.bucket}.C.{info.nuid}"] == info.chunks


# --------------------------------------------------------------------------- delete order


async def test_a_delete_purges_only_after_its_tombstone_is_stored(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3000)
    info = await store.put("d", data, chunk_size=1000)
    publish, purge = store._core.js.publish, store._core.js.purge
    events: list[str] = []

    async def recorded_publish(subject: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        events.append(f"publish {subject}")
        ack = await publish(subject, *args, **kwargs)
        events.append("acknowledged")
        return ack

    async def recorded_purge(stream: str, subject: str, **kwargs: Any) -> int:
        events.append(f"purge {subject}")
        return await purge(stream, subject, **kwargs)

    monkeypatch.setattr(store._core.js, "publish", recorded_publish)
    monkeypatch.setattr(store._core.js, "purge", recorded_purge)
    await store.delete("d")
    assert events == [
        f"publish $O.{store.bucket}.M.{natsobj._wire.encode_name('d')}",
        "acknowledged",
        f"purge $O.{store.bucket}.C.{info.nuid}",
    ]
    assert await chunk_counts(store) == {}


async def test_a_delete_whose_tombstone_fails_keeps_the_object(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3000)
    await store.put("d", data, chunk_size=1000)

    async def refused(subject: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise natsobj.ServerUnavailableError("no connection", bucket=store.bucket)

    monkeypatch.setattr(store._core.js, "publish", refused)
    with pytest.raises(natsobj.ServerUnavailableError):
        await store.delete("d")
    monkeypatch.undo()
    assert await store.get_bytes("d") == data
