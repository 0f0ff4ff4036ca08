"""Put and get round trips: every input kind, sizes around chunk boundaries, streaming."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import anyio
import pytest

import natsobj
from natsobj import ObjectMeta, ObjectStore
from natsobj._source import FILE_BLOCK_BYTES
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio

CHUNK = 128 * 1024


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * 1024 * 1024 + 7]
)
async def test_round_trip_default_chunk(store: ObjectStore, size: int) -> None:
    data = os.urandom(size)
    info = await store.put("obj.bin", data)
    assert info.size == size
    assert info.chunks == -(-size // CHUNK)
    assert info.digest == natsobj._wire.encode_digest(hashlib.sha256(data).digest())
    assert info.options is not None
    assert info.options.max_chunk_size == CHUNK
    assert await store.get_bytes("obj.bin") == data
    stored = await store.get_info("obj.bin")
    assert (stored.size, stored.chunks, stored.digest, stored.nuid) == (
        info.size,
        info.chunks,
        info.digest,
        info.nuid,
    )
    assert stored.mtime is not None
    assert stored.mtime.year >= 2025


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 64 * 1024, 256 * 1024, 1024 * 1024])
@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 300_001])
async def test_round_trip_chunk_sizes(store: ObjectStore, chunk_size: int, size: int) -> None:
    if chunk_size < 1000 and size > 1001:
        size = 5000  # keep the message count of tiny chunks small
    data = os.urandom(size)
    info = await store.put("x", data, chunk_size=chunk_size)
    assert info.chunks == -(-size // chunk_size)
    assert await store.get_bytes("x") == data


async def test_chunk_size_from_meta_options(store: ObjectStore) -> None:
    meta = ObjectMeta(name="m", options=natsobj.ObjectMetaOptions(max_chunk_size=10))
    info = await store.put(meta, b"a" * 25)
    assert info.chunks == 3
    assert info.options is not None
    assert info.options.max_chunk_size == 10


async def _agen(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_every_input_kind(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 5)
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    send, receive = anyio.create_memory_object_stream[bytes](10)
    async with send:
        for offset in range(0, len(data), 70_000):
            await send.send(data[offset : offset + 70_000])
    sources: dict[str, natsobj._source.PutData] = {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "file": io.BytesIO(data),
        "async-iterable": _agen([data[:1], data[1:200_000], b"", data[200_000:]]),
        "anyio-receive-stream": receive,
    }
    for kind, source in sources.items():
        await store.put(kind, source)
        assert await store.get_bytes(kind) == data, kind
    receive.close()
    with path.open("rb") as handle:
        await store.put("open-file", handle)
    async with await anyio.open_file(path, "rb") as async_handle:
        await store.put("async-file", async_handle)
    for kind in ("open-file", "async-file"):
        assert await store.get_bytes(kind) == data, kind


async def test_str_is_utf8(store: ObjectStore) -> None:
    await store.put("s", "héllo ✓")
    assert await store.get_bytes("s") == "héllo ✓".encode()
    await store.put_string("s2", "wörld")
    assert await store.get_string("s2") == "wörld"
    await store.put_bytes("b", b"\x00\xff")
    assert await store.get_bytes("b") == b"\x00\xff"


async def test_put_file_and_get_file(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 3)
    source = tmp_path / "report.pdf"
    source.write_bytes(data)
    info = await store.put_file(source)
    assert info.name == "report.pdf"
    named = await store.put_file(source, name="docs/r.pdf")
    assert named.name == "docs/r.pdf"
    target = tmp_path / "out.pdf"
    got = await store.get_file("docs/r.pdf", target)
    assert target.read_bytes() == data
    assert got.digest == named.digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf", "report.pdf"]


async def test_put_file_reports_progress(store: ObjectStore, tmp_path: Path) -> None:
    # More than one file block, so progress is reported more than once.
    data = os.urandom(FILE_BLOCK_BYTES + 5)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    reported: list[int] = []
    info = await store.put_file(source, progress=reported.append, chunk_size=CHUNK)
    assert reported == [FILE_BLOCK_BYTES, 5]
    assert info.size == len(data)
    assert await store.get_bytes("big.bin") == data


async def test_get_file_mode_follows_umask(store: ObjectStore, tmp_path: Path) -> None:
    await store.put("m", b"x")
    old = os.umask(0o022)
    try:
        await store.get_file("m", tmp_path / "m.out")
    finally:
        os.umask(old)
    assert (tmp_path / "m.out").stat().st_mode & 0o777 == 0o644


async def test_get_file_of_missing_object_leaves_nothing(
    store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_file("nope", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


async def test_streaming_result(store: ObjectStore) -> None:
    data = os.urandom(5 * CHUNK + 11)
    await store.put("big", data)
    async with store.get("big") as result:
        assert result.info.size == len(data)
        parts = [chunk async for chunk in result]
    assert len(parts) == 6
    assert b"".join(parts) == data


async def test_leaving_a_read_early_releases_it(store: ObjectStore) -> None:
    await store.put("big", os.urandom(10 * CHUNK))
    async with store.get("big") as result:
        async for _ in result:
            break
    assert await store.get_bytes("big")  # the connection still works


async def test_overwrite_purges_old_chunks(store: ObjectStore) -> None:
    first = await store.put("same", os.urandom(3 * CHUNK))
    second = await store.put("same", b"new")
    assert first.nuid != second.nuid
    assert await store.get_bytes("same") == b"new"
    counts = await chunk_counts(store)
    assert counts == {f"$O.{store.bucket}.C.{second.nuid}": 1}


async def test_overwrites_and_new_names_mixed_leave_only_live_chunks(store: ObjectStore) -> None:
    # Puts bet that a name is new until overwrites become common, then look first: both
    # ways, every overwrite must keep the creation time and purge what it replaced.
    created: dict[int, datetime] = {}
    for round_ in range(3):
        for index in range(12):
            await store.put(f"o{index}", f"{round_}-{index}".encode() * 1000)
            info = await store.get_info(f"o{index}")
            assert info.created is not None
            assert created.setdefault(index, info.created) == info.created
        for index in range(12):
            await store.put(f"new-{round_}-{index}", b"x" * 2000)
    live = {info.nuid for info in await store.list()}
    assert len(live) == 12 + 36
    assert set(await chunk_counts(store)) == {f"$O.{store.bucket}.C.{nuid}" for nuid in live}
    assert await store.get_bytes("o5") == b"2-5" * 1000


async def test_put_over_deleted_object(store: ObjectStore) -> None:
    await store.put("d", b"one")
    await store.delete("d")
    await store.put("d", b"two")
    assert await store.get_bytes("d") == b"two"


async def test_meta_fields_round_trip(store: ObjectStore) -> None:
    meta = ObjectMeta(
        name="a/b.bin",
        description="a description",
        headers={"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]},
        metadata={"owner": "alice", "ünï": "cödé"},
    )
    await store.put(meta, b"abc")
    info = await store.get_info("a/b.bin")
    assert info.description == "a description"
    assert info.headers == {"Content-Type": ["text/plain"], "X-Multi": ["1", "2"]}
    assert info.metadata == {"owner": "alice", "ünï": "cödé"}
    assert info.bucket == store.bucket


@pytest.mark.parametrize(
    "name", ["dir/sub file.txt", "a.b>c*d", "café", "名前/ファイル", "emoji-🎉", "x" * 1000]
)
async def test_unusual_names(store: ObjectStore, name: str) -> None:
    await store.put(name, name.encode())
    assert await store.get_bytes(name) == name.encode()
    assert [info.name for info in await store.list()] == [name]


async def test_concurrent_puts_of_different_objects(store: ObjectStore) -> None:
    blobs = {f"o{i}": os.urandom(i * 10_000 + 1) for i in range(20)}
    async with anyio.create_task_group() as tg:
        for name, data in blobs.items():
            tg.start_soon(store.put, name, data)
    for name, data in blobs.items():
        assert await store.get_bytes(name) == data
