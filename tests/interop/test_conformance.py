"""The conformance suite: every scenario for every writer x reader pair of peers.

A cell is one scenario with one peer writing and one peer (maybe the same) reading, on a
fresh bucket of a real nats-server. Each cell checks the bytes the reader gets, their digest,
size and chunk count, and that the reader sees the info fields the writer reports (object
metadata only where both have a place for it). A pair that cannot run a scenario, because one
side lacks a capability (``Peer.lacks``), is skipped with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Iterable
from dataclasses import replace

import pytest

import natsobj

from .conftest import PEERS
from .peers import (
    DEFAULT_CHUNK,
    MIB,
    Cap,
    ErrorKind,
    Info,
    Link,
    Meta,
    Peer,
    PeerError,
    chunks_for,
    digest_of,
    missing,
    same_view,
)

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.parametrize(
        ("writer", "reader"),
        [(w, r) for w in PEERS for r in PEERS],
        indirect=True,
        ids=[f"{w}-to-{r}" for w in PEERS for r in PEERS],
    ),
]

#: Two chunk sizes: each peer's default (128 KiB) and one that is not a power of two.
CHUNK_SIZES = [None, 100_000]


def sizes(chunk_size: int | None) -> list[int]:
    """Empty, one byte, around one chunk, and several MiB."""
    c = chunk_size or DEFAULT_CHUNK
    return [0, 1, c - 1, c, c + 1, 4 * MIB + 3]


SIZE_CASES = [(size, chunk) for chunk in CHUNK_SIZES for size in sizes(chunk)]
ASCII_NAMES = ["dir/sub file.txt", "a.b>c*d", "-_=.~!"]
NON_ASCII_NAMES = ["café", "日本語/ファイル.txt", "emoji 🎉 party", "ĉu"]


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def require(
    writer: Peer,
    reader: Peer,
    *,
    writer_needs: Iterable[Cap] = (),
    reader_needs: Iterable[Cap] = (),
) -> None:
    """Skip the cell, with the reason, when the pair cannot run the scenario."""
    reason = missing(writer, reader, writer_needs=writer_needs, reader_needs=reader_needs)
    if reason is not None:
        pytest.skip(reason)


async def read_back(reader: Peer, bucket: str, data: bytes, written: Info) -> Info:
    """Check what ``reader`` sees of the object ``written``: its info, and ``data``."""
    read = await reader.info(bucket, written.name)
    same_view(read, written)
    assert (read.size, read.digest) == (len(data), digest_of(data))
    assert await reader.get(bucket, written.name) == data
    return read


async def no_orphan_chunks(manager: natsobj.ObjectStoreManager, bucket: str) -> None:
    """Every chunk left in the bucket belongs to a live object (read from the stream)."""
    store = await manager.object_store(bucket)
    report = await store.sweep_orphans(grace=0, dry_run=True)
    assert (report.orphans, report.recent) == ([], 0)


async def live_names(reader: Peer, bucket: str) -> list[str]:
    return sorted(info.name for info in await reader.list(bucket))


async def not_found(call: Awaitable[object]) -> None:
    """``call`` (a verb not awaited yet) fails with NOT_FOUND."""
    with pytest.raises(PeerError) as failed:
        await call
    assert failed.value.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize(
    ("size", "chunk_size"),
    SIZE_CASES,
    ids=[f"{size}B-{chunk or 'default'}" for size, chunk in SIZE_CASES],
)
async def test_put_get(
    writer: Peer, reader: Peer, bucket: str, size: int, chunk_size: int | None
) -> None:
    data = payload(size)
    await writer.create_bucket(bucket)
    written = await writer.put(bucket, Meta("obj.bin"), data, chunk_size=chunk_size)
    assert (written.name, written.bucket, written.deleted, written.link) == (
        "obj.bin",
        bucket,
        False,
        None,
    )
    assert (written.size, written.chunks, written.digest, written.max_chunk_size) == (
        size,
        chunks_for(size, chunk_size),
        digest_of(data),
        chunk_size or DEFAULT_CHUNK,
    )
    await read_back(reader, bucket, data, written)


async def test_description_and_headers(writer: Peer, reader: Peer, bucket: str) -> None:
    headers = {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    await writer.create_bucket(bucket)
    meta = Meta("docs/report.txt", description="a report", headers=headers)
    written = await writer.put(bucket, meta, b"hello")
    assert (written.description, written.headers) == ("a report", headers)
    await read_back(reader, bucket, b"hello", written)


async def test_metadata(writer: Peer, reader: Peer, bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.METADATA}, reader_needs={Cap.METADATA})
    await writer.create_bucket(bucket)
    written = await writer.put(bucket, Meta("obj", metadata={"owner": "alice", "k": "v"}), b"x")
    assert written.metadata == {"owner": "alice", "k": "v"}
    await read_back(reader, bucket, b"x", written)

    await writer.update_meta(bucket, "obj", Meta("obj", metadata={"owner": "bob"}))
    updated = await writer.info(bucket, "obj")
    assert updated.metadata == {"owner": "bob"}
    await read_back(reader, bucket, b"x", updated)


async def names_round_trip(writer: Peer, reader: Peer, bucket: str, names: list[str]) -> None:
    await writer.create_bucket(bucket)
    for name in names:
        written = await writer.put(bucket, Meta(name), name.encode())
        assert written.name == name
        await read_back(reader, bucket, name.encode(), written)
    assert await live_names(reader, bucket) == sorted(names)


async def test_ascii_names(writer: Peer, reader: Peer, bucket: str) -> None:
    await names_round_trip(writer, reader, bucket, ASCII_NAMES)


async def test_non_ascii_names(writer: Peer, reader: Peer, bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.UTF8_NAMES}, reader_needs={Cap.UTF8_NAMES})
    await names_round_trip(writer, reader, bucket, NON_ASCII_NAMES)


async def test_object_links(writer: Peer, reader: Peer, bucket: str, other_bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.ADD_LINK})
    data = payload(150_000)
    await writer.create_bucket(bucket)
    await writer.create_bucket(other_bucket)
    await writer.put(bucket, Meta("target", description="the target"), data)
    await writer.put(other_bucket, Meta("far"), b"far away")
    await writer.add_link(bucket, "lnk", bucket, "target")
    await writer.add_link(bucket, "xlnk", other_bucket, "far")

    for name, link, content in [
        ("lnk", Link(bucket, "target"), data),
        ("xlnk", Link(other_bucket, "far"), b"far away"),
    ]:
        read = await reader.info(bucket, name)
        same_view(read, await writer.info(bucket, name))
        assert (read.name, read.link, read.deleted) == (name, link, False)
        assert await reader.get(bucket, name) == content
    assert await live_names(reader, bucket) == ["lnk", "target", "xlnk"]

    await writer.delete(bucket, "lnk")  # the link goes, its target stays
    await not_found(reader.get(bucket, "lnk"))
    assert await reader.get(bucket, "target") == data


async def test_bucket_link(writer: Peer, reader: Peer, bucket: str, other_bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.ADD_BUCKET_LINK})
    await writer.create_bucket(bucket)
    await writer.create_bucket(other_bucket)
    await writer.add_bucket_link(bucket, "blnk", other_bucket)

    read = await reader.info(bucket, "blnk")
    same_view(read, await writer.info(bucket, "blnk"))
    assert (read.link, read.deleted) == (Link(other_bucket), False)
    with pytest.raises(PeerError) as failed:
        await reader.get(bucket, "blnk")
    assert failed.value.kind is ErrorKind.LINK_IS_BUCKET
    assert await live_names(reader, bucket) == ["blnk"]


async def test_delete(
    writer: Peer, reader: Peer, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    require(writer, reader, writer_needs={Cap.DELETE})
    await writer.create_bucket(bucket)
    await writer.put(bucket, Meta("gone", description="d"), payload(300_000))
    await writer.put(bucket, Meta("kept"), b"k")
    await writer.delete(bucket, "gone")

    tombstone = await reader.info(bucket, "gone", show_deleted=True)
    same_view(tombstone, await writer.info(bucket, "gone", show_deleted=True))
    assert (tombstone.name, tombstone.description, tombstone.deleted) == ("gone", "d", True)
    assert (tombstone.size, tombstone.chunks, tombstone.digest) == (0, 0, "")
    await not_found(reader.info(bucket, "gone"))
    await not_found(reader.get(bucket, "gone"))
    assert await live_names(reader, bucket) == ["kept"]
    await no_orphan_chunks(manager, bucket)


async def test_overwrite(
    writer: Peer, reader: Peer, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    await writer.create_bucket(bucket)
    first = await writer.put(bucket, Meta("obj"), payload(400_000))
    second = await writer.put(bucket, Meta("obj"), b"short")
    assert first.nuid != second.nuid
    read = await read_back(reader, bucket, b"short", second)
    assert (read.nuid, read.chunks) == (second.nuid, 1)
    assert await live_names(reader, bucket) == ["obj"]
    await no_orphan_chunks(manager, bucket)


async def test_write_over_each_other(
    writer: Peer, reader: Peer, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    """The reader replaces and deletes the writer's object, the writer puts it again."""
    require(reader, writer, writer_needs={Cap.DELETE})  # the writer reads the reader's delete
    await writer.create_bucket(bucket)
    await writer.put(bucket, Meta("obj", description="first"), payload(300_000))
    replaced = await reader.put(bucket, Meta("obj"), b"replaced")
    await read_back(writer, bucket, b"replaced", replaced)
    await reader.delete(bucket, "obj")
    await not_found(writer.get(bucket, "obj"))
    again = await writer.put(bucket, Meta("obj"), b"again")  # over the reader's tombstone
    await read_back(reader, bucket, b"again", again)
    await no_orphan_chunks(manager, bucket)


async def test_update_meta(writer: Peer, reader: Peer, bucket: str) -> None:
    data = payload(200_000)
    await writer.create_bucket(bucket)
    written = await writer.put(bucket, Meta("obj", description="d1", headers={"H": ["0"]}), data)
    await writer.update_meta(
        bucket, "obj", Meta("obj", description="d2", headers={"H": ["1", "2"]})
    )

    updated = await writer.info(bucket, "obj")
    assert (updated.description, updated.headers) == ("d2", {"H": ["1", "2"]})
    assert (updated.nuid, updated.size, updated.chunks, updated.digest) == (
        written.nuid,
        written.size,
        written.chunks,
        written.digest,
    )
    await read_back(reader, bucket, data, updated)
    assert await live_names(reader, bucket) == ["obj"]


async def test_rename(
    writer: Peer, reader: Peer, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    require(writer, reader, writer_needs={Cap.RENAME})
    data = payload(200_000)
    await writer.create_bucket(bucket)
    written = await writer.put(bucket, Meta("old", description="d1"), data, chunk_size=50_000)
    await writer.update_meta(bucket, "old", Meta("new", description="d2", headers={"H": ["1"]}))

    renamed = await writer.info(bucket, "new")
    assert (renamed.name, renamed.description, renamed.headers) == ("new", "d2", {"H": ["1"]})
    assert (renamed.nuid, renamed.size, renamed.chunks, renamed.digest) == (
        written.nuid,
        len(data),
        4,
        digest_of(data),
    )
    await read_back(reader, bucket, data, renamed)
    await not_found(reader.info(bucket, "old"))
    assert await live_names(reader, bucket) == ["new"]
    await no_orphan_chunks(manager, bucket)


async def test_seal(writer: Peer, reader: Peer, bucket: str) -> None:
    await writer.create_bucket(bucket, description="sealed soon")
    await writer.put(bucket, Meta("obj"), b"kept")
    before = await reader.status(bucket)
    assert before == await writer.status(bucket)
    assert (before.bucket, before.description, before.sealed) == (bucket, "sealed soon", False)

    await writer.seal(bucket)
    after = await reader.status(bucket)
    assert after == await writer.status(bucket)
    assert after == replace(before, sealed=True)
    assert await reader.get(bucket, "obj") == b"kept"
    with pytest.raises(PeerError) as failed:
        await reader.put(bucket, Meta("more"), b"x")
    assert failed.value.kind is ErrorKind.SEALED


async def test_watch(writer: Peer, reader: Peer, bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.DELETE})
    await writer.create_bucket(bucket)
    first = await writer.put(bucket, Meta("a"), b"1")
    await writer.put(bucket, Meta("x"), b"x")
    await writer.delete(bucket, "x")
    async with reader.watch(bucket) as watcher:
        # the newest entry of each object, tombstones included, in the order written
        initial = await watcher.take(2)
        same_view(initial[0], first)
        same_view(initial[1], await writer.info(bucket, "x", show_deleted=True))
        assert initial[1].deleted
        put_b = await writer.put(bucket, Meta("b", description="new"), b"22")
        put_a = await writer.put(bucket, Meta("a"), b"333")
        await writer.delete(bucket, "b")
        events = await watcher.take(3)

    assert [(e.name, e.size, e.deleted) for e in events] == [
        ("b", 2, False),
        ("a", 3, False),
        ("b", 0, True),
    ]
    same_view(events[0], put_b)
    same_view(events[1], put_a)
    same_view(events[2], await writer.info(bucket, "b", show_deleted=True))


async def test_watch_links(writer: Peer, reader: Peer, bucket: str, other_bucket: str) -> None:
    require(writer, reader, writer_needs={Cap.ADD_LINK, Cap.ADD_BUCKET_LINK})
    await writer.create_bucket(bucket)
    await writer.create_bucket(other_bucket)
    await writer.put(bucket, Meta("target"), b"t")
    async with reader.watch(bucket) as watcher:
        await watcher.take(1)
        await writer.add_link(bucket, "lnk", bucket, "target")
        await writer.add_bucket_link(bucket, "blnk", other_bucket)
        events = await watcher.take(2)

    assert [(e.name, e.link) for e in events] == [
        ("lnk", Link(bucket, "target")),
        ("blnk", Link(other_bucket)),
    ]
    same_view(events[0], await writer.info(bucket, "lnk"))
    same_view(events[1], await writer.info(bucket, "blnk"))
