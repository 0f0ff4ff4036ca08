"""Expiration policies against a real server, with short durations (a few seconds each)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import anyio
import pytest

import natsobj
from natsobj import ExpirationPolicy, Usecase
from natsobj._sessions._ops import renew
from natsobj._wire import chunk_subject, meta_subject
from tests.conftest import SERVER_GRACE, chunk_counts, wait_until_removed

pytestmark = pytest.mark.anyio


async def ttl_headers(store: natsobj.ObjectStore, info: natsobj.ObjectInfo) -> tuple[str, str]:
    """The Nats-TTL headers of the object's meta and of its (last) chunk ('' if none)."""
    js, stream = store._core.js, store.stream
    meta = await js.last_msg(stream, meta_subject(store.bucket, info.name), direct=True)
    chunk = await js.last_msg(stream, chunk_subject(store.bucket, info.nuid), direct=True)
    assert meta is not None
    assert chunk is not None
    return meta.headers.get("Nats-TTL", ""), chunk.headers.get("Nats-TTL", "")


async def test_time_to_live_hides_then_the_server_removes(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    # 2.1 s: the deadline passes 0.9 s before the server's whole-second TTL (3 s) does.
    policy = ExpirationPolicy.time_to_live(2.1)
    await session.put(b"short lived", key="k", expiration_policy=policy)
    head = await session.head("k")
    assert head.expiration_policy == policy
    assert head.time_expires is not None
    assert head.time_created is not None
    assert head.time_expires - head.time_created == policy.duration
    store = await manager.object_store(usecase.name)
    meta_ttl, chunk_ttl = await ttl_headers(store, head.info)
    assert meta_ttl == "3s"
    assert chunk_ttl == "8s"  # chunks outlive their meta

    async with store.watch(updates_only=True) as watcher:
        await anyio.sleep(max((head.time_expires - datetime.now(UTC)).total_seconds(), 0) + 0.1)
        # Expired: never returned, although the server still has the meta.
        assert (await store.get_info(head.info.name)).name == head.info.name
        with pytest.raises(natsobj.ObjectNotFoundError):
            await session.head("k")
        with pytest.raises(natsobj.ObjectNotFoundError):
            await session.get_bytes("k")
        assert await session.list() == []

        # The server removes it, and watchers see a deletion.
        with anyio.fail_after(SERVER_GRACE):
            change = await anext(aiter(watcher))
        assert change is not None
        assert change.name == head.info.name
        assert change.deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info(head.info.name, show_deleted=True)


async def test_time_to_idle_lives_while_read_then_expires(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    policy = ExpirationPolicy.time_to_idle(3)
    await session.put(b"cache entry", key="c", expiration_policy=policy)
    store = await manager.object_store(usecase.name)
    first = await session.head("c")
    meta_ttl, chunk_ttl = await ttl_headers(store, first.info)
    assert (meta_ttl, chunk_ttl) == ("3s", "")  # chunks of TTI objects carry no TTL
    nuid = first.info.nuid

    # Read for longer than the TTI: every read past the debounce (0.75 s) moves the deadline.
    started = anyio.current_time()
    while anyio.current_time() - started < 4.5:
        await anyio.sleep(0.6)
        assert await session.get_bytes("c") == b"cache entry"
    renewed = await session.head("c")
    assert renewed.time_expires is not None
    assert first.time_expires is not None
    assert renewed.time_expires > first.time_expires + policy.tti_debounce()
    assert renewed.info.nuid == nuid  # the data was not rewritten

    # Reads stop: it expires, the server removes the meta; the chunks wait for the sweep.
    await anyio.sleep(3.1)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.get_bytes("c")
    await wait_until_removed(store, renewed.info.name)
    # The chunks of a time-to-idle object carry no TTL: once its meta has expired they
    # are orphans, and the sweep reclaims them.
    assert (await chunk_counts(store)).get(chunk_subject(store.bucket, nuid), 0) == 1
    report = await store.sweep_orphans(grace=0)
    assert chunk_subject(store.bucket, nuid) in {o.subject for o in report.orphans}
    assert chunk_subject(store.bucket, nuid) not in await chunk_counts(store)


async def test_time_to_idle_renewal_never_resurrects_a_replaced_object(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    policy = ExpirationPolicy.time_to_idle(60)
    await session.put(b"old", key="k", expiration_policy=policy)
    old = await session.head("k")
    await session.put(b"new", key="k", expiration_policy=policy)
    store = await manager.object_store(usecase.name)
    # A reader that saw the old meta renews it late: the newer object wins.
    assert await renew(store._core, old, datetime.now(UTC)) == old
    assert await session.get_bytes("k") == b"new"


async def test_manual_objects_carry_no_ttl(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = (
        Usecase(
            usecase.name, compression="none", expiration_policy=ExpirationPolicy.time_to_live(1)
        )
        .scope()
        .session(manager)
    )
    await session.put(b"kept", key="m", expiration_policy=ExpirationPolicy.manual())
    head = await session.head("m")
    assert head.time_expires is None
    store = await manager.object_store(usecase.name)
    assert await ttl_headers(store, head.info) == ("", "")


async def test_plain_store_put_with_ttl(manager: natsobj.ObjectStoreManager) -> None:
    bucket = f"p{uuid.uuid4().hex[:12]}"
    store = await manager.create_object_store(bucket, message_ttl=True)
    try:
        info = await store.put("obj", b"data", ttl=1)
        assert await ttl_headers(store, info) == ("1s", "6s")
        with pytest.raises(natsobj.InvalidArgumentError):
            await store.put("obj", b"data", ttl=0.5)
        await wait_until_removed(store, "obj")
        assert (await store.status()).message_ttl
    finally:
        await manager.delete_object_store(bucket)


async def test_tombstone_ttl_removes_the_deleted_name(manager: natsobj.ObjectStoreManager) -> None:
    bucket = f"p{uuid.uuid4().hex[:12]}"
    store = await manager.create_object_store(bucket, message_ttl=True)
    try:
        await store.put("gone", b"data")
        tombstone = await store.delete("gone", tombstone_ttl=1)
        assert tombstone.deleted
        assert (await store.get_info("gone", show_deleted=True)).deleted
        await wait_until_removed(store, "gone")
        assert await store.list(show_deleted=True) == []
        assert await chunk_counts(store) == {}
        # The name is free again, for a put that bets it is new as well as for one that looks.
        await store.put("gone", b"back")
        assert await store.get_bytes("gone") == b"back"
    finally:
        await manager.delete_object_store(bucket)


async def test_tombstone_ttl_needs_message_ttl(store: natsobj.ObjectStore) -> None:
    await store.put("kept", b"data")
    with pytest.raises(natsobj.UnsupportedFeatureError):
        await store.delete("kept", tombstone_ttl=60)
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.delete("kept", tombstone_ttl=0)
    assert await store.get_bytes("kept") == b"data"


async def test_session_delete_leaves_an_expiring_tombstone(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"data", key="k")
    await session.delete("k")
    store = await manager.object_store(usecase.name)
    name = session.object_name("k")
    meta = await store._core.js.last_msg(
        store.stream, meta_subject(store.bucket, name), direct=True
    )
    assert meta is not None
    assert meta.headers.get("Nats-TTL") == "3600s"
    assert (await store.get_info(name, show_deleted=True)).deleted
