"""Objects written through natsobj's own features (per-object TTLs, tombstone TTLs, usecase
expiration policies and custom metadata, bucket policies) read by every other peer.

What they see: ordinary objects. The TTLs are ``Nats-TTL`` message headers the server acts
on by itself, the policies live in the stream's metadata and the usecase fields in the meta
headers and metadata, so a reader that knows none of it still reads the bytes and the meta,
and an object the server has expired is simply gone for it too.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

import natsobj
from natsobj import ExpirationPolicy, ObjectMeta, Usecase

from .conftest import OTHER_PEERS
from .peers import ErrorKind, NatsobjPeer, Peer, PeerError, same_view, wait_gone

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

DATA = random.Random(77).randbytes(300_001)  # three 128 KiB chunks


async def same_object(reader: Peer, natsobj_peer: NatsobjPeer, bucket: str, name: str) -> bytes:
    """The reader sees the info natsobj sees; returns the bytes it reads."""
    same_view(await reader.info(bucket, name), await natsobj_peer.info(bucket, name))
    return await reader.get(bucket, name)


@pytest.mark.parametrize("reader", OTHER_PEERS, indirect=True)
async def test_peer_reads_ttl_objects(
    reader: Peer, natsobj_peer: NatsobjPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket, message_ttl=True)
    await store.put("short", b"soon gone", ttl=1)
    await store.put(
        ObjectMeta(name="long", description="d", headers={"X-K": ["v"]}), DATA, ttl=3600
    )
    await store.put("gone", b"g")
    await store.delete("gone", tombstone_ttl=3600)
    assert await same_object(reader, natsobj_peer, bucket, "long") == DATA
    assert (await reader.info(bucket, "gone", show_deleted=True)).deleted

    # natsobj reads the server's delete marker (an empty message the server leaves on the
    # meta subject for 1 s) as gone at once, the other peers fail on it until it expires
    await wait_gone(natsobj_peer, bucket, "short")
    await wait_gone(reader, bucket, "short")
    with pytest.raises(PeerError) as failed:
        await reader.get(bucket, "short")
    assert failed.value.kind is ErrorKind.NOT_FOUND
    assert [i.name for i in await reader.list(bucket)] == ["long"]


@pytest.mark.parametrize("reader", OTHER_PEERS, indirect=True)
async def test_peer_reads_usecase_objects(
    reader: Peer, natsobj_peer: NatsobjPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    usecase = Usecase(
        bucket,
        compression="none",
        expiration_policy=ExpirationPolicy.time_to_idle(timedelta(hours=1)),
    )
    session = usecase.for_project(42, 1337).session(manager)
    await session.put(
        DATA,
        key="logs/a.txt",
        origin="203.0.113.7",
        content_type="text/plain",
        metadata={"kind": "log"},
    )
    name = session.object_name("logs/a.txt")
    assert await same_object(reader, natsobj_peer, bucket, name) == DATA
    info = await reader.info(bucket, name)
    assert info.headers["Content-Type"] == ["text/plain"]
    assert info.metadata in ({"kind": "log"}, None)  # None: the reader has no metadata
    assert [i.name for i in await reader.list(bucket)] == [name]


@pytest.mark.parametrize("reader", OTHER_PEERS, indirect=True)
async def test_peer_reads_a_policy_bucket(
    reader: Peer, natsobj_peer: NatsobjPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(
        bucket, public=True, file_size_limit="1MB", allowed_mime_types=["image/*"]
    )
    await store.upload("u1/me.png", DATA)
    assert await same_object(reader, natsobj_peer, bucket, "u1/me.png") == DATA
    assert (await reader.info(bucket, "u1/me.png")).headers["Content-Type"] == ["image/png"]
    assert await reader.status(bucket) == await natsobj_peer.status(bucket)
