"""Interop with nats-py 2.16's built-in object store (``nats.js.object_store``), both ways.

What nats-py's object store can do with natsobj:

* put/get in both directions: 0, 1, 131071, 131072, 131073 and ~5 MiB objects at the default
  128 KiB chunk size, and non-default chunk sizes; bytes and ``SHA-256=`` digests identical.
* description and headers, both directions.
* non-ASCII names, both directions: nats-py encodes names as UTF-8 like natsobj and nats.go.
* delete both directions (nats-py's delete marker has ``"mtime": ""``, which natsobj reads).
* same-name ``update_meta`` (description, headers) read by natsobj; natsobj's rename read by
  nats-py.
* links made by natsobj (they carry a nuid, as nats.go's do): nats-py ``get`` follows object
  links, also across buckets, and raises ``LinkIsABucketError`` on a bucket link.
* ``list()`` both ways (nats-py raises NotFoundError for an empty bucket; the helper maps
  that to ``[]``).

What it cannot do:

* Object ``metadata``: nats-py's ``ObjectMeta``/``ObjectInfo`` have no such field. It cannot
  write it, does not show it, and drops it whenever it re-publishes a meta (``update_meta``,
  ``delete``).
* Rename: ``update_meta(old, ObjectMeta(name=new))`` always raises ``ObjectAlreadyExists``
  (it looks the old name up with ``show_deleted=True`` and refuses unless it is deleted).
* Create links: there is no ``add_link``/``add_bucket_link``.
* Read nats.js object links (they have no nuid): ``get_info``/``get`` raise
  ``BadObjectMetaError``, and ``list()``/``watch()`` drop them (``list()`` hangs if one is the
  newest meta). natsobj's links carry a nuid, so this does not affect natsobj's links.
"""

from __future__ import annotations

import random

import pytest
from nats.js.errors import LinkIsABucketError, ObjectAlreadyExists
from nats.js.errors import ObjectNotFoundError as BuiltinObjectNotFoundError

import natsobj
from natsobj import ObjectMeta

from .peers import (
    builtin_delete,
    builtin_get,
    builtin_info,
    builtin_list,
    builtin_put,
    builtin_store,
    builtin_update_meta,
    digest_of,
)

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

KIB = 1024
MIB = 1024 * KIB
DEFAULT_CHUNK = 128 * KIB

SIZES = [0, 1, DEFAULT_CHUNK - 1, DEFAULT_CHUNK, DEFAULT_CHUNK + 1, 5 * MIB + 3]
SIZE_CHUNKS = [(size, None) for size in SIZES] + [(5 * MIB + 3, 65_536), (300_001, 100_000)]

NON_ASCII = ["café", "日本語/ファイル.txt", "emoji 🎉 party", "ĉu"]


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def chunk_count(size: int, chunk_size: int | None) -> int:
    return -(-size // (chunk_size or DEFAULT_CHUNK))


# ------------------------------------------------------------------ nats-py -> natsobj


@pytest.mark.parametrize(("size", "chunk_size"), SIZE_CHUNKS)
async def test_builtin_put_natsobj_get(
    server_url: str,
    manager: natsobj.ObjectStoreManager,
    bucket: str,
    size: int,
    chunk_size: int | None,
) -> None:
    data = payload(size)
    async with builtin_store(server_url, bucket, create=True) as py:
        put = await builtin_put(py, "obj.bin", data, chunk_size=chunk_size)
    assert put.digest == digest_of(data)
    assert put.chunks == chunk_count(size, chunk_size)

    store = await manager.object_store(bucket)
    info = await store.get_info("obj.bin")
    assert info.name == "obj.bin"
    assert info.bucket == bucket
    assert info.nuid == put.nuid
    assert info.size == size
    assert info.chunks == put.chunks
    assert info.digest == digest_of(data)
    assert info.options is not None
    assert info.options.max_chunk_size == (chunk_size or DEFAULT_CHUNK)
    assert not info.deleted
    assert info.mtime is not None
    assert await store.get_bytes("obj.bin") == data
    async with store.get("obj.bin") as result:
        assert await result.read() == data


async def test_builtin_meta_fields_seen_by_natsobj(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    async with builtin_store(server_url, bucket, create=True) as py:
        await builtin_put(
            py,
            "docs/report.txt",
            b"hello",
            description="a report",
            headers={"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]},
        )
    store = await manager.object_store(bucket)
    info = await store.get_info("docs/report.txt")
    assert info.description == "a report"
    assert info.headers == {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    assert info.metadata == {}  # nats-py cannot write object metadata
    assert await store.get_bytes("docs/report.txt") == b"hello"


async def test_builtin_delete_seen_by_natsobj(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    async with builtin_store(server_url, bucket, create=True) as py:
        await builtin_put(py, "gone", payload(300_000), description="d")
        await builtin_put(py, "kept", b"k")
        await builtin_delete(py, "gone")  # writes "mtime": "", "digest": ""

    store = await manager.object_store(bucket)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("gone")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_bytes("gone")
    marker = await store.get_info("gone", show_deleted=True)
    assert marker.deleted
    assert marker.size == 0
    assert marker.description == "d"
    assert marker.mtime is not None  # natsobj takes mtime from the message, not the ""
    assert [i.name for i in await store.list()] == ["kept"]


async def test_builtin_cannot_rename(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.put("old", b"data")
    async with builtin_store(server_url, bucket) as py:
        with pytest.raises(ObjectAlreadyExists):
            await builtin_update_meta(py, "old", new_name="new")
    # nothing changed
    assert await store.get_bytes("old") == b"data"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("new")


async def test_builtin_update_meta_drops_metadata(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    data = payload(200_000)
    await store.put(ObjectMeta(name="obj", description="d1", metadata={"owner": "alice"}), data)
    async with builtin_store(server_url, bucket) as py:
        await builtin_update_meta(py, "obj", description="d2", headers={"H": ["v"]})

    info = await store.get_info("obj")
    assert info.description == "d2"
    assert info.headers == {"H": ["v"]}
    # nats-py re-publishes the meta from its own ObjectInfo, which has no metadata field
    assert info.metadata == {}
    assert info.digest == digest_of(data)
    assert await store.get_bytes("obj") == data


async def test_list_shows_builtin_objects(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    names = ["a", "dir/sub file.txt", "z.b>c*d"]
    async with builtin_store(server_url, bucket, create=True) as py:
        for name in names:
            await builtin_put(py, name, name.encode(), description=f"about {name}")
        await builtin_put(py, "deleted", b"x")
        await builtin_delete(py, "deleted")

    store = await manager.object_store(bucket)
    infos = await store.list()
    assert sorted(i.name for i in infos) == names
    for info in infos:
        assert info.description == f"about {info.name}"
        assert await store.get_bytes(info.name) == info.name.encode()


async def test_non_ascii_names_interoperate_with_builtin(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    async with builtin_store(server_url, bucket) as py:
        for name in NON_ASCII:
            await builtin_put(py, name, f"py {name}".encode())
            await store.put(name + " (natsobj)", f"natsobj {name}".encode())
        for name in NON_ASCII:
            assert await store.get_bytes(name) == f"py {name}".encode()
            assert (await store.get_info(name)).name == name
            data, info = await builtin_get(py, name + " (natsobj)")
            assert data == f"natsobj {name}".encode()
            assert info.name == name + " (natsobj)"
        # natsobj overwrites and deletes nats-py's objects by the same name
        await store.put(NON_ASCII[0], b"replaced")
        data, _ = await builtin_get(py, NON_ASCII[0])
        assert data == b"replaced"
        await store.delete(NON_ASCII[1])
        with pytest.raises(BuiltinObjectNotFoundError):
            await builtin_info(py, NON_ASCII[1])
    assert len(await store.list()) == 2 * len(NON_ASCII) - 1


# ------------------------------------------------------------------ natsobj -> nats-py


@pytest.mark.parametrize(("size", "chunk_size"), SIZE_CHUNKS)
async def test_natsobj_put_builtin_get(
    server_url: str,
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

    async with builtin_store(server_url, bucket) as py:
        got, py_info = await builtin_get(py, "obj.bin")
    assert got == data
    assert py_info.digest == info.digest
    assert py_info.nuid == info.nuid
    assert py_info.size == size
    assert py_info.chunks == chunk_count(size, chunk_size)
    assert not py_info.deleted
    assert py_info.options is not None
    assert py_info.options.max_chunk_size == (chunk_size or DEFAULT_CHUNK)


async def test_natsobj_meta_fields_seen_by_builtin(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    meta = ObjectMeta(
        name="docs/report.txt",
        description="a report",
        headers={"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]},
        metadata={"owner": "alice"},
    )
    await store.put(meta, b"hello")
    async with builtin_store(server_url, bucket) as py:
        info = await builtin_info(py, "docs/report.txt")
        data, _ = await builtin_get(py, "docs/report.txt")
    assert data == b"hello"
    assert info.name == "docs/report.txt"
    assert info.bucket == bucket
    assert info.description == "a report"
    assert info.headers == {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    assert not hasattr(info, "metadata")  # nats-py has no place for object metadata


async def test_natsobj_links_followed_by_builtin(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    data = payload(260_000)
    store = await manager.create_object_store(bucket)
    other = await manager.create_object_store(bucket + "x")
    target = await store.put("target", data)
    far = await other.put("far", b"far away")
    await store.add_link("lnk", target)
    await store.add_link("xlnk", far)
    await store.add_bucket_link("blnk", other)

    async with builtin_store(server_url, bucket) as py:
        link = await builtin_info(py, "lnk")
        assert link.is_link()
        assert link.nuid  # nats-py (like nats.go) needs a nuid even on a link
        got, got_info = await builtin_get(py, "lnk")
        assert got == data
        assert got_info.name == "target"

        got, _ = await builtin_get(py, "xlnk")
        assert got == b"far away"

        blink = await builtin_info(py, "blnk")
        assert blink.is_link()
        assert blink.options is not None
        assert blink.options.link is not None
        assert blink.options.link.bucket == bucket + "x"
        assert not blink.options.link.name
        with pytest.raises(LinkIsABucketError):
            await builtin_get(py, "blnk")

        infos = await builtin_list(py)
    assert sorted(i.name for i in infos) == ["blnk", "lnk", "target", "xlnk"]


async def test_natsobj_delete_seen_by_builtin(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    await store.put("gone", payload(300_000))
    await store.put("kept", b"k")
    await store.delete("gone")

    async with builtin_store(server_url, bucket) as py:
        with pytest.raises(BuiltinObjectNotFoundError):
            await builtin_info(py, "gone")
        with pytest.raises(BuiltinObjectNotFoundError):
            await builtin_get(py, "gone")
        marker = await builtin_info(py, "gone", show_deleted=True)
        assert marker.deleted
        assert marker.size == 0
        infos = await builtin_list(py, ignore_deletes=True)
    assert [i.name for i in infos] == ["kept"]


async def test_natsobj_rename_seen_by_builtin(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    data = payload(140_000)
    store = await manager.create_object_store(bucket)
    await store.put(ObjectMeta(name="old", description="d1"), data)
    await store.update_meta("old", ObjectMeta(name="new", description="d2", headers={"H": ["1"]}))

    async with builtin_store(server_url, bucket) as py:
        with pytest.raises(BuiltinObjectNotFoundError):
            await builtin_info(py, "old")
        info = await builtin_info(py, "new")
        assert info.name == "new"
        assert info.description == "d2"
        assert info.headers == {"H": ["1"]}
        assert info.digest == digest_of(data)
        got, _ = await builtin_get(py, "new")
        assert got == data
        infos = await builtin_list(py, ignore_deletes=True)
    assert [i.name for i in infos] == ["new"]


async def test_builtin_lists_natsobj_objects(
    server_url: str, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await manager.create_object_store(bucket)
    async with builtin_store(server_url, bucket) as py:
        assert await builtin_list(py) == []
        for name in ["b", "a/x", "c d"]:
            await store.put(name, name.encode())
        infos = await builtin_list(py)
    assert sorted(i.name for i in infos) == ["a/x", "b", "c d"]
    assert {i.name: i.size for i in infos} == {"a/x": 3, "b": 1, "c d": 3}
