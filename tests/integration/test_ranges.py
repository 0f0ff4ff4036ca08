"""Byte-range reads: every boundary, uniform and non-uniform chunk layouts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj import ObjectStore
from natsobj._bucket._get import ChunkReader
from natsobj._jetstream import JetStream

pytestmark = pytest.mark.anyio

CHUNK = 1000
SIZE = 10 * CHUNK + 37


@pytest.fixture
async def data(store: ObjectStore) -> bytes:
    payload = os.urandom(SIZE)
    await store.put("r", payload, chunk_size=CHUNK)
    return payload


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 1),
        (0, CHUNK),
        (0, CHUNK + 1),
        (CHUNK - 1, CHUNK + 1),
        (CHUNK, 2 * CHUNK),
        (CHUNK + 1, 2 * CHUNK - 1),
        (5 * CHUNK + 3, 9 * CHUNK + 999),
        (SIZE - 1, SIZE),
        (10 * CHUNK + 1, 10 * CHUNK + 5),  # inside the last chunk, which the lookup brings
        (SIZE - 37, SIZE),
        (10 * CHUNK, SIZE + 100),
        (0, SIZE),
        (123, None),
        (7, 7),
    ],
)
async def test_range(store: ObjectStore, data: bytes, start: int, end: int | None) -> None:
    async with store.get("r", start=start, end=end) as result:
        got = await result.read()
    assert got == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(SIZE, None), (SIZE, SIZE + 5), (SIZE + 10, SIZE + 20)])
async def test_range_starting_past_the_end_is_refused(
    store: ObjectStore, data: bytes, start: int, end: int | None, tmp_path: Path
) -> None:
    # HTTP's 416: the error carries the size for ``Content-Range: bytes */<size>``.
    with pytest.raises(natsobj.RangeNotSatisfiableError) as caught:
        await store.get_bytes("r", start=start, end=end)
    assert (caught.value.size, caught.value.name) == (SIZE, "r")
    with pytest.raises(natsobj.RangeNotSatisfiableError):
        async with store.get("r", start=start, end=end):
            pass
    with pytest.raises(natsobj.RangeNotSatisfiableError):
        await store.get_file("r", tmp_path / "out", start=start, end=end)
    assert list(tmp_path.iterdir()) == []  # no file, no temp file
    assert await store.get_bytes("r", start=SIZE - 1, end=end) == data[-1:]


async def test_empty_object_reads_from_zero_only(store: ObjectStore) -> None:
    await store.put("empty", b"")
    assert await store.get_bytes("empty", start=0) == b""
    assert await store.get_bytes("empty", start=0, end=10) == b""
    with pytest.raises(natsobj.RangeNotSatisfiableError) as caught:
        await store.get_bytes("empty", start=1)
    assert caught.value.size == 0


async def test_range_with_only_end(store: ObjectStore, data: bytes) -> None:
    assert await store.get_bytes("r", end=2500) == data[:2500]


async def test_range_reads_only_needed_chunks(store: ObjectStore, data: bytes) -> None:
    # The last byte lives in the last chunk: exactly one chunk comes back.
    async with store.get("r", start=SIZE - 1) as result:
        parts = [chunk async for chunk in result]
    assert parts == [data[-1:]]


async def test_range_when_chunks_interleave(store: ObjectStore) -> None:
    # Two concurrent puts interleave their chunks in the stream; offsets cannot be computed
    # from sequences, so the reader must skip chunks instead.
    import anyio

    one, two = os.urandom(20 * 100), os.urandom(20 * 100)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: store.put("one", one, chunk_size=100))
        tg.start_soon(lambda: store.put("two", two, chunk_size=100))
    for name, payload in (("one", one), ("two", two)):
        for start, end in ((0, 50), (150, 1234), (1999, 2000)):
            assert await store.get_bytes(name, start=start, end=end) == payload[start:end]


async def test_a_range_locates_its_chunk_with_one_lookup(
    store: ObjectStore, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks stored next to each other: the last chunk's sequence places every other one,
    # and the first chunk read confirms it; the first chunk is never looked up.
    async def no_lookup(*args: object) -> int | None:
        raise AssertionError("the first chunk was looked up")

    monkeypatch.setattr(ChunkReader, "_first_seq", no_lookup)
    for start, end in ((1, 2), (5 * CHUNK + 3, 9 * CHUNK + 999), (123, None)):
        assert await store.get_bytes("r", start=start, end=end) == data[start:end]


async def test_a_range_asks_for_no_chunk_past_its_last_byte(
    store: ObjectStore, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, int | None]] = []
    next_msgs = JetStream.next_msgs

    def spy(self: JetStream, *args: Any, **kwargs: Any) -> Any:
        asked.append((kwargs["start_seq"], kwargs.get("last_seq")))
        return next_msgs(self, *args, **kwargs)

    monkeypatch.setattr(JetStream, "next_msgs", spy)
    assert await store.get_bytes("r", start=1500, end=2500) == data[1500:2500]
    (start_seq, last_seq), *_ = asked
    assert last_seq == start_seq + 1  # the chunks holding bytes 1500 and 2499


@pytest.mark.parametrize("start", [0, 500, 1500, 2500])
async def test_a_range_past_a_foreign_message_between_chunks(
    store: ObjectStore, peer: JetStreamContext, start: int
) -> None:
    # Another subject's message sits between the second and third chunk: a position
    # computed from the last chunk's sequence is wrong, and the read must notice.
    chunks = [os.urandom(1000) for _ in range(3)]
    info = await store.put("x", b"".join(chunks), chunk_size=1000)
    subject = f"$O.{store.bucket}.C.{info.nuid}"
    await peer.purge_stream(store.stream, subject=subject)
    for chunk in chunks[:2]:
        await peer.publish(subject, chunk)
    await peer.publish(f"$O.{store.bucket}.C.foreign", b"not x")
    await peer.publish(subject, chunks[2])
    for end in (None, start + 700):
        assert await store.get_bytes("x", start=start, end=end) == b"".join(chunks)[start:end]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (None, -5), (10, 5)])
async def test_bad_ranges(store: ObjectStore, start: int | None, end: int | None) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        store.get("r", start=start, end=end)
