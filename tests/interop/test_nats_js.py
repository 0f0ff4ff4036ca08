"""Interop with nats.js (``@nats-io/obj`` 3.4.0 on Node 20), both directions, on a real server.

The peer is ``js/peer.mjs`` run as a subprocess (see ``peers.JSPeer``).

What the nats.js object store can do with natsobj:

* put/get in both directions: 0, 1, 131071, 131072, 131073 and ~5 MiB objects at the default
  128 KiB chunk size, and a non-default chunk size; bytes and ``SHA-256=`` digests identical.
* description, headers (multi-valued) and object ``metadata``, both directions.
* delete both directions (JS writes ``deleted: true`` + ``revision``, keeps the old mtime;
  JS ``info()`` still returns the delete marker, ``get()`` resolves null).
* rename with ``update()``: natsobj reads it. JS ``update()`` drops ``options`` (the chunk
  size) and ``metadata``, resets ``description`` to ``""`` unless given, adds ``revision``
  and publishes without ``Nats-Rollup``. natsobj's ``update_meta`` rename is read by JS.
* links: JS ``link()`` writes a meta with no ``nuid``/``size``/``digest``/``mtime`` (and the
  *target's* bucket as ``bucket`` for a cross-bucket link); natsobj follows it.
  JS ``linkStore()`` bucket links are read by natsobj. JS follows natsobj's object links and
  reports natsobj's bucket links as "link is a bucket", as natsobj does for its own.
* ``list()`` both ways; ASCII names with ``/``, spaces, ``.``, ``>``, ``*``.

What it cannot do:

* Non-ASCII names: JS encodes the meta subject with ``btoa(name)`` (Latin-1 code units, not
  UTF-8). ``café`` put by JS lives on ``$O.b.M.Y2Fm6Q==``, natsobj's (and nats-py's, nats.go's)
  ``café`` on ``$O.b.M.Y2Fmw6k=``: two different objects with the same name. A name with a
  character above U+00FF cannot be used by JS at all (``InvalidCharacterError``).
* JS ``delete()`` of a missing name resolves ``{success: false}`` instead of failing.
"""

from __future__ import annotations

import random

import anyio
import pytest

import natsobj
from natsobj import ObjectMeta

from .peers import JSPeer, JSPeerError, digest_of

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

KIB = 1024
MIB = 1024 * KIB
DEFAULT_CHUNK = 128 * KIB

SIZES = [0, 1, DEFAULT_CHUNK - 1, DEFAULT_CHUNK, DEFAULT_CHUNK + 1, 5 * MIB + 3]
# (size, chunk size): the default, and a chunk size that is not a power of two
SIZE_CHUNKS = [(size, None) for size in SIZES] + [(5 * MIB + 3, 100_000), (300_001, 65_536)]


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def chunk_count(size: int, chunk_size: int | None) -> int:
    chunk = chunk_size or DEFAULT_CHUNK
    return -(-size // chunk)


# ------------------------------------------------------------------ nats.js -> natsobj


@pytest.mark.parametrize(("size", "chunk_size"), SIZE_CHUNKS)
async def test_js_put_natsobj_get(
    js_peer: JSPeer,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
    size: int,
    chunk_size: int | None,
) -> None:
    data = payload(size)
    await js_peer.create(bucket)
    put = await js_peer.put(bucket, "obj.bin", data, chunk_size=chunk_size)
    assert put["digest"] == digest_of(data)
    assert put["chunks"] == chunk_count(size, chunk_size)

    store = await manager.object_store(bucket)
    info = await store.get_info("obj.bin")
    assert info.name == "obj.bin"
    assert info.bucket == bucket
    assert info.nuid == put["nuid"]
    assert info.size == size
    assert info.chunks == put["chunks"]
    assert info.digest == digest_of(data)
    assert info.options is not None
    assert info.options.max_chunk_size == (chunk_size or DEFAULT_CHUNK)
    assert not info.deleted
    assert not info.is_link
    assert info.mtime is not None

    assert await store.get_bytes("obj.bin") == data
    async with store.get("obj.bin") as result:
        assert result.info.digest == digest_of(data)
        assert await result.read() == data


async def test_js_meta_fields_seen_by_natsobj(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await js_peer.create(bucket)
    await js_peer.put(
        bucket,
        "docs/report.txt",
        b"hello",
        description="a report",
        headers={"Content-Type": "text/plain", "X-Multi": ["1", "2"]},
        metadata={"owner": "alice", "team": "x"},
    )
    store = await manager.object_store(bucket)
    info = await store.get_info("docs/report.txt")
    assert info.description == "a report"
    assert info.headers == {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    assert info.metadata == {"owner": "alice", "team": "x"}
    assert await store.get_bytes("docs/report.txt") == b"hello"


async def test_js_delete_seen_by_natsobj(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await js_peer.create(bucket)
    await js_peer.put(bucket, "gone", payload(300_000), description="d")
    await js_peer.put(bucket, "kept", b"k")
    assert (await js_peer.delete(bucket, "gone"))["success"] is True

    store = await manager.object_store(bucket)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("gone")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_bytes("gone")
    marker = await store.get_info("gone", show_deleted=True)
    assert marker.deleted
    assert marker.name == "gone"
    assert marker.size == 0
    assert marker.chunks == 0
    assert [i.name for i in await store.list()] == ["kept"]


async def test_js_rename_seen_by_natsobj(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    data = payload(200_000)
    await js_peer.create(bucket)
    await js_peer.put(bucket, "old", data, chunk_size=50_000, description="d", metadata={"k": "v"})
    renamed = await js_peer.rename(bucket, "old", "new")
    assert renamed["name"] == "new"

    store = await manager.object_store(bucket)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("old")
    info = await store.get_info("new")
    assert info.name == "new"
    assert info.size == len(data)
    assert info.chunks == 4
    assert info.digest == digest_of(data)
    # JS update() re-publishes the meta without options (the chunk size is lost) and without
    # metadata, and resets the description to "" because none was given.
    assert info.options is None or info.options.max_chunk_size is None
    assert info.description == ""
    assert info.metadata == {}
    assert await store.get_bytes("new") == data
    assert [i.name for i in await store.list()] == ["new"]

    # A same-name update() (published without Nats-Rollup, so the old meta stays in the stream)
    await js_peer.update(bucket, "new", description="second")
    info = await store.get_info("new")
    assert info.description == "second"
    assert await store.get_bytes("new") == data
    assert [i.name for i in await store.list()] == ["new"]


async def test_js_object_link_read_by_natsobj(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    other = bucket + "x"
    data = payload(150_000)
    await js_peer.create(bucket)
    await js_peer.create(other)
    await js_peer.put(bucket, "target", data, description="the target")
    await js_peer.put(other, "far", b"far away")
    same = await js_peer.link(bucket, "lnk", bucket, "target")
    cross = await js_peer.link(bucket, "xlnk", other, "far")
    # what JS writes for link(): no nuid, size, digest, mtime or deleted
    assert same["nuid"] is None
    assert same["digest"] is None
    # a cross-bucket JS link records the target's bucket, not the one holding the link
    assert cross["bucket"] == other

    store = await manager.object_store(bucket)
    info = await store.get_info("lnk")
    assert info.is_link
    assert info.options is not None
    assert info.options.link is not None
    assert info.options.link.bucket == bucket
    assert info.options.link.name == "target"
    assert not info.deleted
    assert await store.get_bytes("lnk") == data

    xinfo = await store.get_info("xlnk")
    assert xinfo.is_link
    assert xinfo.options is not None
    assert xinfo.options.link is not None
    assert (xinfo.options.link.bucket, xinfo.options.link.name) == (other, "far")
    assert await store.get_bytes("xlnk") == b"far away"

    assert sorted(i.name for i in await store.list()) == ["lnk", "target", "xlnk"]


async def test_js_bucket_link_read_by_natsobj(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    other = bucket + "x"
    await js_peer.create(bucket)
    await js_peer.create(other)
    await js_peer.link_bucket(bucket, "blnk", other)

    store = await manager.object_store(bucket)
    info = await store.get_info("blnk")
    assert info.is_link
    assert info.options is not None
    assert info.options.link is not None
    assert info.options.link.bucket == other
    assert not info.options.link.name
    # Neither JS ("link is a bucket") nor nats-py (LinkIsABucketError) can get a bucket link.
    with pytest.raises(natsobj.LinkIsBucketError):
        await store.get_bytes("blnk")
    assert [i.name for i in await store.list()] == ["blnk"]


async def test_list_shows_js_objects(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await js_peer.create(bucket)
    names = ["a", "dir/sub file.txt", "z.b>c*d"]
    for name in names:
        await js_peer.put(bucket, name, name.encode(), description=f"about {name}")
    await js_peer.put(bucket, "deleted", b"x")
    await js_peer.delete(bucket, "deleted")

    store = await manager.object_store(bucket)
    infos = await store.list()
    assert sorted(i.name for i in infos) == names
    for info in infos:
        assert info.description == f"about {info.name}"
        assert info.size == len(info.name)
        assert await store.get_bytes(info.name) == info.name.encode()


async def test_non_ascii_names_do_not_interoperate_with_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    # nats.js builds the meta subject with btoa(name): Latin-1 code units, where natsobj
    # (like nats.go and nats-py) encodes UTF-8. So "café" from JS is on $O.<b>.M.Y2Fm6Q==
    # and "café" from natsobj on $O.<b>.M.Y2Fmw6k=: two objects that share a name.
    await js_peer.create(bucket)
    await js_peer.put(bucket, "café", b"from js")
    store = await manager.object_store(bucket)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("café")

    await store.put("café", b"from natsobj")
    assert await store.get_bytes("café") == b"from natsobj"
    js_data, _ = await js_peer.get(bucket, "café")
    assert js_data == b"from js"
    # The subject is the truth about a name: JS's subject is not UTF-8 base64, so its meta
    # names no object natsobj can reach, and list() shows "café" once.
    assert [i.name for i in await store.list()] == ["café"]

    # A character above U+00FF is not usable from JS at all.
    await store.put("ĉu", b"esperanto")
    with pytest.raises(JSPeerError, match="Invalid character"):
        await js_peer.info(bucket, "ĉu")
    with pytest.raises(JSPeerError, match="Invalid character"):
        await js_peer.put(bucket, "ĉu", b"x")


# ------------------------------------------------------------------ natsobj -> nats.js


@pytest.mark.parametrize(("size", "chunk_size"), SIZE_CHUNKS)
async def test_natsobj_put_js_get(
    js_peer: JSPeer,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
    size: int,
    chunk_size: int | None,
) -> None:
    data = payload(size)
    store = await manager.create_object_store(bucket)
    if chunk_size is None:
        info = await store.put("obj.bin", data)
    else:
        info = await store.put("obj.bin", data, chunk_size=chunk_size)
    assert info.digest == digest_of(data)
    assert info.chunks == chunk_count(size, chunk_size)

    got, result = await js_peer.get(bucket, "obj.bin")
    assert got == data
    assert result["size"] == size
    assert result["digest"] == digest_of(data)
    js_info = result["info"]
    assert js_info["digest"] == info.digest
    assert js_info["nuid"] == info.nuid
    assert js_info["size"] == size
    assert js_info["chunks"] == info.chunks
    assert not js_info["deleted"]  # natsobj omits "deleted" when false, as nats.go does
    assert js_info["options"]["max_chunk_size"] == (chunk_size or DEFAULT_CHUNK)


async def test_natsobj_meta_fields_seen_by_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    meta = ObjectMeta(
        name="docs/report.txt",
        description="a report",
        headers={"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]},
        metadata={"owner": "alice"},
    )
    await store.put(meta, b"hello")
    js_info = await js_peer.info(bucket, "docs/report.txt")
    assert js_info["name"] == "docs/report.txt"
    assert js_info["bucket"] == bucket
    assert js_info["description"] == "a report"
    assert js_info["headers"] == {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    assert js_info["metadata"] == {"owner": "alice"}
    got, _ = await js_peer.get(bucket, "docs/report.txt")
    assert got == b"hello"


async def test_natsobj_overwrite_seen_by_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    first = await store.put("obj", payload(400_000))
    second = await store.put("obj", b"short")
    assert first.nuid != second.nuid
    got, result = await js_peer.get(bucket, "obj")
    assert got == b"short"
    assert result["info"]["nuid"] == second.nuid
    assert [i["name"] for i in await js_peer.list(bucket)] == ["obj"]


async def test_natsobj_links_read_by_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    data = payload(250_000)
    store = await manager.create_object_store(bucket)
    other = await manager.create_object_store(bucket + "x")
    target = await store.put("target", data)
    far = await other.put("far", b"far away")
    await store.add_link("lnk", target)
    await store.add_link("xlnk", far)
    await store.add_bucket_link("blnk", other)

    js_link = await js_peer.info(bucket, "lnk")
    assert js_link["is_link"] is True
    assert js_link["options"]["link"] == {"bucket": bucket, "name": "target"}
    got, result = await js_peer.get(bucket, "lnk")
    assert got == data
    assert result["digest"] == digest_of(data)

    js_xlink = await js_peer.info(bucket, "xlnk")
    assert js_xlink["options"]["link"] == {"bucket": bucket + "x", "name": "far"}
    got, _ = await js_peer.get(bucket, "xlnk")
    assert got == b"far away"

    js_blink = await js_peer.info(bucket, "blnk")
    assert js_blink["is_link"] is True
    assert js_blink["options"]["link"]["bucket"] == bucket + "x"
    assert not js_blink["options"]["link"].get("name")
    with pytest.raises(JSPeerError, match="link is a bucket"):
        await js_peer.get(bucket, "blnk")

    assert sorted(i["name"] for i in await js_peer.list(bucket)) == [
        "blnk",
        "lnk",
        "target",
        "xlnk",
    ]


async def test_natsobj_delete_seen_by_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.put("gone", payload(300_000))
    await store.put("kept", b"k")
    await store.delete("gone")

    marker = await js_peer.info(bucket, "gone")  # JS info() returns delete markers
    assert marker["deleted"] is True
    assert marker["size"] == 0
    with pytest.raises(JSPeerError) as excinfo:
        await js_peer.get(bucket, "gone")
    assert excinfo.value.not_found
    assert [i["name"] for i in await js_peer.list(bucket)] == ["kept"]


async def test_natsobj_rename_seen_by_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    data = payload(140_000)
    store = await manager.create_object_store(bucket)
    await store.put(ObjectMeta(name="old", description="d1", metadata={"k": "v"}), data)
    await store.update_meta(
        "old", ObjectMeta(name="new", description="d2", headers={"H": ["1"]}, metadata={"k": "w"})
    )

    old = await js_peer.info(bucket, "old")
    assert old is None or old["deleted"] is True
    with pytest.raises(JSPeerError) as excinfo:
        await js_peer.get(bucket, "old")
    assert excinfo.value.not_found

    new = await js_peer.info(bucket, "new")
    assert new["name"] == "new"
    assert new["description"] == "d2"
    assert new["headers"] == {"H": ["1"]}
    assert new["metadata"] == {"k": "w"}
    assert new["digest"] == digest_of(data)
    got, _ = await js_peer.get(bucket, "new")
    assert got == data
    assert [i["name"] for i in await js_peer.list(bucket)] == ["new"]


async def test_ascii_names_interoperate_with_js(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    names = ["dir/sub file.txt", "a.b>c*d", "-_=.~!"]
    for name in names:
        await store.put(name, f"natsobj {name}".encode())
        await js_peer.put(bucket, name + "+js", f"js {name}".encode())
    for name in names:
        got, _ = await js_peer.get(bucket, name)
        assert got == f"natsobj {name}".encode()
        assert await store.get_bytes(name + "+js") == f"js {name}".encode()


# ------------------------------------------------------------------------------ watch


async def test_natsobj_watch_sees_js_changes(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await js_peer.create(bucket)
    await js_peer.put(bucket, "a", b"first")
    store = await manager.object_store(bucket)
    async with store.watch() as watcher:
        events = aiter(watcher)
        with anyio.fail_after(10):
            initial = await anext(events)
            assert initial is not None
            assert initial.name == "a"
            assert await anext(events) is None  # end of the initial values

            await js_peer.put(bucket, "b", b"second", metadata={"k": "v"})
            put = await anext(events)
            assert put is not None
            assert (put.name, put.size, put.metadata) == ("b", 6, {"k": "v"})

            await js_peer.delete(bucket, "a")
            deleted = await anext(events)
            assert deleted is not None
            assert (deleted.name, deleted.deleted) == ("a", True)

            await js_peer.link(bucket, "l", bucket, "b")  # a JS link: no nuid, no digest
            link = await anext(events)
            assert link is not None
            assert link.name == "l"
            assert link.is_link


async def test_js_watch_sees_natsobj_changes(
    js_peer: JSPeer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.put("x", b"x")
    await store.put("y", b"yy")
    await store.put("y", b"yyy")
    await store.delete("x")
    # JS includeHistory delivers the last meta per subject (nats-py/nats.go: every change)
    entries = await js_peer.watch(bucket, 2, include_history=True)
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == {"x", "y"}
    assert by_name["x"]["deleted"] is True
    assert by_name["y"]["size"] == 3
    assert not by_name["y"]["deleted"]
