"""Objects copied, moved, uploaded and deleted by prefix with natsobj, read by nats.js
(``@nats-io/obj`` 3.4.0) and nats-py's built-in object store.

What they see:

* a copy (same bucket or another) is an ordinary object: same bytes and digest, its own
  NUID, description/headers/metadata carried over;
* a move within a bucket is a new meta on the *same* NUID plus a tombstone (``deleted``,
  no NUID) on the old name: both peers read the new name and report the old one deleted;
  a move across buckets is a copy plus a delete;
* ``upload`` records ``Content-Type`` in the meta headers, which both peers return;
* ``delete_prefix`` leaves tombstones that both peers treat as deleted objects.
"""

from __future__ import annotations

import random

import pytest
from nats.js.errors import ObjectDeletedError, ObjectNotFoundError

import natsobj
from natsobj import ObjectMeta

from .peers import (
    JSPeer,
    builtin_get,
    builtin_info,
    builtin_list,
    builtin_store,
    digest_of,
)

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

DATA = random.Random(66).randbytes(300_001)  # three 128 KiB chunks
META = ObjectMeta(name="src.bin", description="d", headers={"X-K": ["v"]}, metadata={"k": "v"})


async def moved_and_copied(
    manager: natsobj.ObjectStoreManager, bucket: str
) -> tuple[natsobj.ObjectStore, natsobj.ObjectStore]:
    """``bucket`` with copy.bin, moved.bin and the tombstone of src.bin; ``bucket``-x with
    copy.bin and across.bin (moved there), both copies of DATA."""
    store = await manager.create_object_store(bucket)
    other = await manager.create_object_store(f"{bucket}-x")
    await store.put(META, DATA)
    await store.copy("src.bin", "copy.bin")
    await store.copy("src.bin", "copy.bin", to_store=other)
    await store.move("src.bin", "moved.bin")
    await store.put("leaving.bin", DATA)
    await store.move("leaving.bin", "across.bin", to_store=other)
    return store, other


async def test_js_reads_copies_and_moves(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await moved_and_copied(manager, bucket)
    for where, name in (
        (bucket, "copy.bin"),
        (bucket, "moved.bin"),
        (f"{bucket}-x", "copy.bin"),
        (f"{bucket}-x", "across.bin"),
    ):
        data, result = await js_peer.get(where, name)
        assert data == DATA, (where, name)
        assert result["digest"] == digest_of(DATA)
    info = await js_peer.info(bucket, "moved.bin")
    assert (info["description"], info["metadata"]) == ("d", {"k": "v"})
    assert info["headers"]["X-K"] == ["v"]
    for gone in ("src.bin", "leaving.bin"):
        assert (await js_peer.info(bucket, gone))["deleted"] is True
    assert sorted(i["name"] for i in await js_peer.list(bucket)) == ["copy.bin", "moved.bin"]
    assert sorted(i["name"] for i in await js_peer.list(f"{bucket}-x")) == [
        "across.bin",
        "copy.bin",
    ]


async def test_builtin_reads_copies_and_moves(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await moved_and_copied(manager, bucket)
    async with builtin_store(server_url, bucket) as store:
        for name in ("copy.bin", "moved.bin"):
            data, info = await builtin_get(store, name)
            assert data == DATA
            assert info.digest == digest_of(DATA)
        assert (await builtin_info(store, "src.bin", show_deleted=True)).deleted
        with pytest.raises((ObjectNotFoundError, ObjectDeletedError)):
            await builtin_get(store, "src.bin")
        listed = await builtin_list(store, ignore_deletes=True)
        assert sorted(i.name for i in listed) == ["copy.bin", "moved.bin"]
    async with builtin_store(server_url, f"{bucket}-x") as store:
        for name in ("copy.bin", "across.bin"):
            assert (await builtin_get(store, name))[0] == DATA


async def test_peers_see_content_type_and_prefix_deletes(
    js_peer: JSPeer, server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.upload("pic.png", b"png")
    await store.upload("dir/a.json", b"{}", content_type="application/json")
    await store.upload("dir/b.txt", b"b")
    results = await store.delete_prefix("dir/")
    assert [r.name for r in results] == ["dir/a.json", "dir/b.txt"]
    assert (await js_peer.info(bucket, "pic.png"))["headers"]["Content-Type"] == ["image/png"]
    assert [i["name"] for i in await js_peer.list(bucket)] == ["pic.png"]
    async with builtin_store(server_url, bucket) as builtin:
        info = await builtin_info(builtin, "pic.png")
        assert info.headers is not None
        assert info.headers["Content-Type"] == ["image/png"]
        assert (await builtin_info(builtin, "dir/a.json", show_deleted=True)).deleted
        assert [i.name for i in await builtin_list(builtin, ignore_deletes=True)] == ["pic.png"]


async def test_natsobj_moves_js_objects(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await js_peer.create(bucket)
    await js_peer.put(bucket, "js.bin", DATA, metadata={"from": "js"})
    store = await manager.object_store(bucket)
    moved = await store.move("js.bin", "renamed.bin")
    assert moved.metadata == {"from": "js"}
    data, result = await js_peer.get(bucket, "renamed.bin")
    assert data == DATA
    assert result["digest"] == digest_of(DATA)
    assert (await js_peer.info(bucket, "js.bin"))["deleted"] is True
