"""Objects copied, moved, uploaded and deleted by prefix with natsobj, read by every peer.

What they see:

* a copy (same bucket or another) is an ordinary object: same bytes and digest, its own
  NUID, description/headers/metadata carried over;
* a move within a bucket is a new meta on the *same* NUID plus a tombstone (``deleted``,
  no NUID) on the old name: peers read the new name and report the old one deleted;
  a move across buckets is a copy plus a delete;
* ``upload`` records ``Content-Type`` in the meta headers, which every peer returns;
* ``delete_prefix`` leaves tombstones that every peer treats as deleted objects.
"""

from __future__ import annotations

import random

import pytest

import natsobj
from natsobj import ObjectMeta

from .conftest import OTHER_PEERS, PEERS
from .peers import ErrorKind, Meta, NatsobjPeer, Peer, PeerError, digest_of, same_view

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

DATA = random.Random(66).randbytes(300_001)  # three 128 KiB chunks
META = ObjectMeta(name="src.bin", description="d", headers={"X-K": ["v"]}, metadata={"k": "v"})


async def moved_and_copied(
    manager: natsobj.ObjectStoreManager, bucket: str, other_bucket: str
) -> None:
    """``bucket`` with copy.bin, moved.bin and the tombstones of src.bin and leaving.bin;
    ``other_bucket`` with copy.bin and across.bin (moved there), all copies of DATA."""
    store = await manager.create_object_store(bucket)
    other = await manager.create_object_store(other_bucket)
    await store.put(META, DATA)
    await store.copy("src.bin", "copy.bin")
    await store.copy("src.bin", "copy.bin", to_store=other)
    await store.move("src.bin", "moved.bin")
    await store.put("leaving.bin", DATA)
    await store.move("leaving.bin", "across.bin", to_store=other)


@pytest.mark.parametrize("reader", PEERS, indirect=True)
async def test_peers_read_copies_and_moves(
    reader: Peer,
    natsobj_peer: NatsobjPeer,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
    other_bucket: str,
) -> None:
    await moved_and_copied(manager, bucket, other_bucket)
    for where, name in [
        (bucket, "copy.bin"),
        (bucket, "moved.bin"),
        (other_bucket, "copy.bin"),
        (other_bucket, "across.bin"),
    ]:
        info = await reader.info(where, name)
        same_view(info, await natsobj_peer.info(where, name))
        assert info.digest == digest_of(DATA)
        assert await reader.get(where, name) == DATA, (where, name)
    moved = await reader.info(bucket, "moved.bin")
    assert (moved.description, moved.headers["X-K"]) == ("d", ["v"])
    for gone in ("src.bin", "leaving.bin"):
        assert (await reader.info(bucket, gone, show_deleted=True)).deleted
        with pytest.raises(PeerError) as failed:
            await reader.get(bucket, gone)
        assert failed.value.kind is ErrorKind.NOT_FOUND
    assert sorted(i.name for i in await reader.list(bucket)) == ["copy.bin", "moved.bin"]
    assert sorted(i.name for i in await reader.list(other_bucket)) == ["across.bin", "copy.bin"]


@pytest.mark.parametrize("reader", OTHER_PEERS, indirect=True)
async def test_peers_see_content_type_and_prefix_deletes(
    reader: Peer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.upload("pic.png", b"png")
    await store.upload("dir/a.json", b"{}", content_type="application/json")
    await store.upload("dir/b.txt", b"b")
    results = await store.delete_prefix("dir/")
    assert [r.name for r in results] == ["dir/a.json", "dir/b.txt"]
    assert (await reader.info(bucket, "pic.png")).headers["Content-Type"] == ["image/png"]
    assert (await reader.info(bucket, "dir/a.json", show_deleted=True)).deleted
    assert [i.name for i in await reader.list(bucket)] == ["pic.png"]


@pytest.mark.parametrize("writer", OTHER_PEERS, indirect=True)
async def test_natsobj_moves_peer_objects(
    writer: Peer, natsobj_peer: NatsobjPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    meta = Meta("peer.bin", description="d", headers={"X-K": ["v"]}, metadata={"k": "v"})
    await writer.create_bucket(bucket)
    written = await writer.put(bucket, meta, DATA)
    moved = await (await manager.object_store(bucket)).move("peer.bin", "renamed.bin")
    # the same chunks, and what the writer wrote (nats-py writes no metadata)
    assert (moved.nuid, moved.description, moved.headers["X-K"]) == (written.nuid, "d", ["v"])
    assert moved.metadata == (written.metadata or {})
    same_view(
        await writer.info(bucket, "renamed.bin"), await natsobj_peer.info(bucket, "renamed.bin")
    )
    assert await writer.get(bucket, "renamed.bin") == DATA
    assert (await writer.info(bucket, "peer.bin", show_deleted=True)).deleted
