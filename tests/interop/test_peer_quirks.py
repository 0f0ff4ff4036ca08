"""What the peers' ``lacks`` claim, shown on the wire, and the quirks natsobj reads through.

The conformance matrix skips a cell when a peer lacks a capability; these tests keep those
claims honest (a peer that gains the capability fails here, and its ``lacks`` entry goes).
"""

from __future__ import annotations

import random

import pytest

import natsobj

from .peers import (
    BuiltinPeer,
    Cap,
    ErrorKind,
    Meta,
    NatsobjPeer,
    PeerError,
    ProcessPeer,
    digest_of,
    wait_gone,
)

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]


async def test_js_names_are_latin1(
    js_peer: ProcessPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert Cap.UTF8_NAMES in js_peer.lacks
    # nats.js builds the meta subject with btoa(name): Latin-1 code units, where natsobj
    # (like nats.go and nats-py) encodes UTF-8. So "café" from nats.js is on $O.<b>.M.Y2Fm6Q==
    # and "café" from natsobj on $O.<b>.M.Y2Fmw6k=: two objects that share a name.
    await js_peer.create_bucket(bucket)
    await js_peer.put(bucket, Meta("café"), b"from js")
    with pytest.raises(PeerError) as failed:
        await natsobj_peer.info(bucket, "café")
    assert failed.value.kind is ErrorKind.NOT_FOUND
    await natsobj_peer.put(bucket, Meta("café"), b"from natsobj")
    assert await natsobj_peer.get(bucket, "café") == b"from natsobj"
    assert await js_peer.get(bucket, "café") == b"from js"
    # list() goes by the meta messages, so it shows both objects, each named "café"
    assert [i.name for i in await natsobj_peer.list(bucket)] == ["café", "café"]

    # A character above U+00FF is not usable from nats.js at all.
    await natsobj_peer.put(bucket, Meta("ĉu"), b"esperanto")
    with pytest.raises(PeerError, match="Invalid character"):
        await js_peer.info(bucket, "ĉu")
    with pytest.raises(PeerError, match="Invalid character"):
        await js_peer.put(bucket, Meta("ĉu"), b"x")


async def test_builtin_cannot_rename(
    builtin_peer: BuiltinPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert Cap.RENAME in builtin_peer.lacks
    await natsobj_peer.create_bucket(bucket)
    await natsobj_peer.put(bucket, Meta("old"), b"data")
    with pytest.raises(PeerError, match="ObjectAlreadyExists"):
        await builtin_peer.update_meta(bucket, "old", Meta("new"))
    # nothing changed
    assert await natsobj_peer.get(bucket, "old") == b"data"
    with pytest.raises(PeerError) as failed:
        await natsobj_peer.info(bucket, "new")
    assert failed.value.kind is ErrorKind.NOT_FOUND


async def test_builtin_update_meta_drops_metadata(
    builtin_peer: BuiltinPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert Cap.METADATA in builtin_peer.lacks
    data = random.Random(1).randbytes(200_000)
    await natsobj_peer.create_bucket(bucket)
    await natsobj_peer.put(bucket, Meta("obj", description="d1", metadata={"k": "v"}), data)
    await builtin_peer.update_meta(
        bucket, "obj", Meta("obj", description="d2", metadata={"k": "v"})
    )
    # nats-py re-publishes the meta from its own ObjectInfo, which has no metadata field
    info = await natsobj_peer.info(bucket, "obj")
    assert (info.description, info.metadata, info.digest) == ("d2", {}, digest_of(data))
    assert await natsobj_peer.get(bucket, "obj") == data


async def js_link(js_peer: ProcessPeer, bucket: str) -> None:
    """A bucket with the object "target" and a nats.js link "lnk" to it (no nuid)."""
    await js_peer.create_bucket(bucket)
    await js_peer.put(bucket, Meta("target"), b"t")
    await js_peer.add_link(bucket, "lnk", bucket, "target")


async def test_builtin_cannot_read_js_links(
    builtin_peer: BuiltinPeer, js_peer: ProcessPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert js_peer.readers_need[Cap.ADD_LINK] <= builtin_peer.lacks.keys()
    await js_link(js_peer, bucket)
    # A later object: nats-py's list() never returns when the newest meta is a nats.js link.
    await js_peer.put(bucket, Meta("later"), b"l")
    link = await natsobj_peer.info(bucket, "lnk")
    assert (link.nuid, link.size, link.digest) == ("", 0, "")  # what nats.js writes for a link
    assert await natsobj_peer.get(bucket, "lnk") == b"t"
    with pytest.raises(PeerError, match="BadObjectMetaError"):
        await builtin_peer.info(bucket, "lnk")
    with pytest.raises(PeerError, match="BadObjectMetaError"):
        await builtin_peer.get(bucket, "lnk")
    assert sorted(i.name for i in await builtin_peer.list(bucket)) == ["later", "target"]


async def test_js_update_drops_the_chunk_size(
    js_peer: ProcessPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    # nats.js update() re-publishes the meta without its options, and without Nats-Rollup.
    data = random.Random(2).randbytes(200_000)
    await js_peer.create_bucket(bucket)
    written = await js_peer.put(bucket, Meta("obj"), data, chunk_size=50_000)
    assert written.max_chunk_size == 50_000
    await js_peer.update_meta(bucket, "obj", Meta("obj", description="updated"))
    info = await natsobj_peer.info(bucket, "obj")
    assert (info.description, info.max_chunk_size, info.chunks) == ("updated", None, 4)
    assert await natsobj_peer.get(bucket, "obj") == data
    assert [i.name for i in await natsobj_peer.list(bucket)] == ["obj"]


async def test_go_cannot_read_js_links(
    go_peer: ProcessPeer, js_peer: ProcessPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert js_peer.readers_need[Cap.ADD_LINK] <= go_peer.lacks.keys()
    await js_link(js_peer, bucket)
    # nats.go reads the link's meta, but its Get and Delete refuse a meta without a nuid
    assert (await go_peer.info(bucket, "lnk")).nuid == ""
    with pytest.raises(PeerError, match="meta information invalid"):
        await go_peer.get(bucket, "lnk")
    with pytest.raises(PeerError, match="meta information invalid"):
        await go_peer.delete(bucket, "lnk")
    assert await natsobj_peer.get(bucket, "lnk") == b"t"


async def test_go_cannot_read_builtin_tombstones(
    go_peer: ProcessPeer, builtin_peer: BuiltinPeer, natsobj_peer: NatsobjPeer, bucket: str
) -> None:
    assert builtin_peer.readers_need[Cap.DELETE] <= go_peer.lacks.keys()
    await builtin_peer.create_bucket(bucket)
    await builtin_peer.put(bucket, Meta("obj"), b"data")
    await builtin_peer.delete(bucket, "obj")
    # nats-py's tombstone says "mtime": "", which Go's time.Time cannot unmarshal: every
    # nats.go call that reads the meta fails, a put of the name too (it reads it first)
    for call in (
        go_peer.info(bucket, "obj", show_deleted=True),
        go_peer.get(bucket, "obj"),
        go_peer.put(bucket, Meta("obj"), b"again"),
    ):
        with pytest.raises(PeerError, match="meta information invalid"):
            await call
    assert (await natsobj_peer.info(bucket, "obj", show_deleted=True)).deleted
    await natsobj_peer.put(bucket, Meta("obj"), b"again")
    assert await go_peer.get(bucket, "obj") == b"again"


async def test_go_fails_on_expiry_markers(
    go_peer: ProcessPeer,
    natsobj_peer: NatsobjPeer,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
) -> None:
    # A bucket with per-object TTLs asks the server for subject delete markers (1 s): when a
    # TTL removes a meta, an empty message with Nats-Marker-Reason stays on its subject for
    # that second. natsobj reads it as "gone"; nats.go fails to unmarshal it (and its List
    # and Watch never end their initial values when it is the stream's newest message).
    store = await manager.create_object_store(bucket, message_ttl=True)
    await store.put("short", b"s", ttl=1)
    await wait_gone(natsobj_peer, bucket, "short")
    with pytest.raises(PeerError, match="meta information invalid"):
        await go_peer.info(bucket, "short")
    with pytest.raises(PeerError, match="meta information invalid"):
        await go_peer.put(bucket, Meta("short"), b"x")
