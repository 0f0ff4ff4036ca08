"""Reads of one bucket's objects: ``ChunkReader`` fetches and verifies an object's bytes
(or a byte range), ``ObjectResult`` streams them to the caller (an anyio byte stream),
``save`` writes them to a local file.

Chunks come from batched Direct Get (no consumer), at most two runs buffered, each chunk
with its own deadline; size, chunk count and SHA-256 digest are checked at the end.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import anyio
from anyio.abc import ByteReceiveStream

from .._cancellation import closing, finish_first, in_thread, open_file
from .._checks import Resource, check_bool, check_int
from .._errors import (
    BadObjectMetaError,
    DigestMismatchError,
    IncompleteObjectError,
    InvalidArgumentError,
    ObjectStoreError,
    RangeNotSatisfiableError,
    local_file_error,
    unwrap_single_error,
)
from .._jetstream import JetStream, StoredMsg, new_nuid
from .._models import ObjectInfo
from .._source import FILE_BLOCK_BYTES
from .._wire import chunk_subject, decode_digest, stream_name, validate_object_name
from ._hash import StreamingHash

if TYPE_CHECKING:
    from ._core import BucketCore

__all__ = ["ChunkReader", "GetOptions", "ObjectResult", "ReadResult", "open_result", "save"]

# Bytes per Direct Get run on reads.
DEFAULT_READ_RUN_BYTES = 8 * 1024 * 1024
# Chunks a whole-object read hands to the hashing thread ahead of it: they are held twice
# while get_bytes gathers them (in the backlog and in its buffer), so keep it small.
READ_HASH_BACKLOG = 4 * 1024 * 1024
# What ``ReadResult.receive`` returns at most, unless asked for another size (anyio's).
RECEIVE_BYTES = 65536
# ``read()`` of a known size allocates its buffer up front, at most this much: the size
# comes from the meta, which is untrusted, so a bigger claim gets memory as bytes arrive.
PREALLOCATE_BYTES = 1024 * 1024 * 1024


class GetOptions(TypedDict, total=False):
    """What a read takes besides the name (see ``ObjectStore.get``)."""

    start: int | None
    end: int | None
    show_deleted: bool


@asynccontextmanager
async def _closing(digest: StreamingHash | None) -> AsyncIterator[None]:
    try:
        yield
    finally:
        if digest is not None:
            await digest.close()


class _Misplaced(Exception):
    """The chunks are not where a guessed position put them."""


@dataclass(frozen=True)
class _Position:
    """Where a read starts: stream sequence, the last chunk's sequence (None: unknown),
    byte offset and chunk index; ``guessed``: by arithmetic, to be confirmed."""

    seq: int = 0
    last_seq: int | None = None
    offset: int = 0
    index: int = 0
    guessed: bool = False


@dataclass
class ChunkReader:
    """Reads one object's bytes ``[start, end)`` and verifies them."""

    js: JetStream
    bucket: str
    info: ObjectInfo
    direct: bool
    start: int = 0
    end: int | None = None
    run_bytes: int = DEFAULT_READ_RUN_BYTES
    # A replicated bucket: chunks a Direct Get replica lacks are asked of the leader.
    replicated: bool = False
    # The object's last chunk, when looking up where a range starts brought it.
    _tail: StoredMsg | None = field(default=None, init=False, repr=False)

    def _error(self, cls: type[ObjectStoreError], detail: str) -> ObjectStoreError:
        return cls(
            f"object {self.info.name!r} in bucket {self.info.bucket!r}: {detail}",
            bucket=self.bucket,
            name=self.info.name,
        )

    @property
    def whole(self) -> bool:
        return self.start == 0 and (self.end is None or self.end >= self.info.size)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """Yield the requested bytes chunk by chunk; raise at the end if they do not verify.

        A whole-object read checks total size, chunk count and the SHA-256 digest. A range
        read checks that every chunk it needed arrived (a digest covers only whole objects).
        """
        info = self.info
        end = info.size if self.end is None else min(self.end, info.size)
        if self.start >= end or info.size == 0:
            if self.whole:
                self._verify(hashlib.sha256().digest(), 0, 0)
            return
        only = await self.single_chunk()
        if only is not None:
            yield only[self.start : end] if not self.whole else only
            return
        where = await self._locate()
        tail = self._tail
        if not self.whole and tail is not None and tail.seq == where.seq:
            # The range starts in the last chunk, which the lookup already brought.
            if where.offset + len(tail.data) != info.size:
                raise self._error(IncompleteObjectError, "the last chunk has the wrong size")
            yield tail.data[self.start - where.offset : end - where.offset]
            return
        for _ in range(2):
            try:
                async with aclosing(self._read(where, end)) as pieces:
                    async for piece in pieces:
                        yield piece
                return
            except _Misplaced:
                # The chunks are not where the arithmetic put them (raised before any
                # byte was yielded): look up where they start.
                where = await self._locate_by_first_seq()

    async def _read(self, where: _Position, end: int) -> AsyncGenerator[bytes, None]:
        """The bytes ``[start, end)`` read from ``where`` on, verified (see ``chunks``).

        Raises:
            _Misplaced: ``where`` was a guess and the first chunk is not the one it
                expected (before anything is yielded).
        """
        info = self.info
        offset, index, guessed = where.offset, where.index, where.guessed
        digest = StreamingHash(READ_HASH_BACKLOG) if self.whole else None
        received = 0
        async with _closing(digest), aclosing(self._messages(where, end)) as msgs:
            async for msg in msgs:
                if guessed:
                    self._check_guess(msg, where)
                    guessed = False
                data = msg.data
                if not data:
                    continue  # nats.net writes an empty trailing chunk, not counted
                index += 1
                if digest is None and where.last_seq is not None and msg.seq < where.last_seq:
                    self._check_located(data)
                if digest is not None:
                    await digest.update(data)
                received += len(data)
                chunk_start, offset = offset, offset + len(data)
                if offset > info.size:
                    raise self._error(IncompleteObjectError, "more bytes stored than its size")
                lo = max(self.start - chunk_start, 0)
                hi = min(end - chunk_start, len(data))
                if lo < hi:
                    yield data if (lo == 0 and hi == len(data)) else data[lo:hi]
                if offset >= end:
                    break
            if digest is not None:
                self._verify(await digest.digest(), received, index)
        if digest is None and offset < end:
            raise self._error(
                IncompleteObjectError, f"chunks missing after byte {offset} of {info.size}"
            )

    async def _messages(self, where: _Position, end: int) -> AsyncGenerator[StoredMsg, None]:
        """The object's chunks from ``where`` on, in stream order, up to the one holding
        byte ``end - 1`` when known; the last chunk from the look-up that brought it."""
        plan_last = self._plan_last(where, end)
        tail = self._tail if plan_last is not None else None
        if tail is not None and tail.seq != plan_last:
            tail = None
        start_seq = where.seq
        # On a replicated bucket a replica serving Direct Get may not have the newest
        # chunks yet (Direct Get is not read-after-write): what it lacks comes from the
        # stream leader, which has every acknowledged chunk.
        sources = (self.direct, False) if self.direct and self.replicated else (self.direct,)
        for direct in sources:
            last_seq = plan_last if direct else None
            if tail is not None and last_seq is not None:
                last_seq = tail.seq - 1
            if last_seq is None or start_seq <= last_seq:
                msgs = self.js.next_msgs(
                    stream_name(self.bucket),
                    chunk_subject(self.bucket, self.info.nuid),
                    start_seq=start_seq,
                    batch=self._batch,
                    max_bytes=self.run_bytes,
                    direct=direct,
                    bucket=self.bucket,
                    last_seq=last_seq,
                )
                async with aclosing(msgs):
                    async for msg in msgs:
                        start_seq = msg.seq + 1
                        yield msg
            if tail is not None and start_seq == tail.seq:
                yield tail
                return

    def _plan_last(self, where: _Position, end: int) -> int | None:
        """The last sequence to ask for: a range needs the chunks up to the one holding its
        last byte, and runs planned past it would fetch bytes nobody reads (a parquet
        column chunk mid-file)."""
        chunk_size = self.info.chunk_size
        if where.last_seq is None or self.whole or not chunk_size:
            return where.last_seq
        return min(where.last_seq, where.seq + (end - 1) // chunk_size - where.index)

    def _check_guess(self, msg: StoredMsg, where: _Position) -> None:
        """A guessed position holds if the first chunk read is at the guessed sequence and
        the server counts exactly the sequences up to the last chunk after it (so every
        one of them is a chunk of this object, and the chunk is the one ``where`` names)."""
        pending = msg.headers.get("Nats-Num-Pending", "")
        assert where.last_seq is not None
        if (
            msg.seq != where.seq
            or not pending.isdigit()
            or int(pending) != where.last_seq - msg.seq
            or not self._from_stream(msg)
        ):
            raise _Misplaced

    def _from_stream(self, msg: StoredMsg) -> bool:
        """Whether the bucket's stream itself answered, not a mirror serving its Direct
        Gets (``mirror_direct``), which may lag behind it."""
        return msg.headers.get("Nats-Stream") == stream_name(self.bucket)

    @property
    def _batch(self) -> int:
        """Chunks per Direct Get run."""
        return max(self.run_bytes // max(self.info.chunk_size or 1, 1), 1)

    def _check_located(self, data: bytes) -> None:
        """A range's offsets came from the meta's chunk size: a chunk other than the last
        of another size makes them, and so the bytes returned, wrong."""
        if len(data) != self.info.chunk_size:
            raise self._error(IncompleteObjectError, "a chunk is not of the meta's chunk size")

    async def single_chunk(self) -> bytes | None:
        """The bytes of a one-chunk object in one request (verified), or None if the
        object is not stored that way."""
        info = self.info
        if info.chunks != 1 or not self.direct:
            return None
        only = await self.js.last_msg(
            stream_name(self.bucket),
            chunk_subject(self.bucket, info.nuid),
            direct=True,
            bucket=self.bucket,
        )
        if only is None or len(only.data) != info.size:
            return None  # let the general path say what is wrong
        self._verify(hashlib.sha256(only.data).digest(), info.size, 1)
        return only.data

    def _verify(self, digest: bytes, size: int, chunks: int) -> None:
        info = self.info
        if size != info.size:
            raise self._error(
                IncompleteObjectError, f"read {size} bytes, the meta says {info.size}"
            )
        if chunks != info.chunks:
            raise self._error(
                IncompleteObjectError, f"read {chunks} chunks, the meta says {info.chunks}"
            )
        expected = decode_digest(info.digest)
        if expected is None and (info.digest or size):
            # Never "nothing to check": a meta whose digest is missing or unreadable is bad.
            raise self._error(BadObjectMetaError, f"no SHA-256 digest in {info.digest!r}")
        if expected is not None and digest != expected:
            raise self._error(
                DigestMismatchError, "received a corrupt object, digests do not match"
            )

    async def _locate(self) -> _Position:
        """Where to start reading.

        When the object was written in uniform chunks, the chunk holding ``start`` is found
        by arithmetic and the last sequence is known, so reads of more than one run can ask
        for runs ahead. By Direct Get that takes one look-up, of the last chunk, and a guess
        that the chunks sit next to each other in the stream, which the first chunk read
        confirms (see ``_check_guess``); otherwise (a replicated bucket, a last chunk of
        another size than the meta implies) a look-up of the first chunk too. When the
        chunks do not sit next to each other, the read starts at the first chunk and skips
        what it does not need. Reads that fit in one run from the start need no look-up.

        The guess, like the look-ups, takes the chunk subject to hold the put's chunks and
        nothing else: a whole read verifies that (digest), a range checks chunk sizes.
        """
        info = self.info
        chunk_size = info.chunk_size
        if (
            not chunk_size
            or info.chunks != -(-info.size // chunk_size)
            or (self.start == 0 and (info.chunks <= self._batch or not self.direct))
        ):
            return _Position()
        if not self.direct or self.replicated:
            # A follower may lack the newest chunks: its last one is no anchor.
            return await self._locate_by_first_seq()
        last, tail = await self._last_seq(), self._tail
        if last is None or last < info.chunks or tail is None:
            return _Position()
        tail_size = info.size - (info.chunks - 1) * chunk_size
        if len(tail.data) != tail_size or not self._from_stream(tail):
            return await self._locate_by_first_seq()
        index = self.start // chunk_size
        return _Position(last - info.chunks + 1 + index, last, index * chunk_size, index, True)

    async def _locate_by_first_seq(self) -> _Position:
        """Where to start reading, from the look-up of the first and the last chunk: the
        chunk holding ``start`` if every sequence between them is a chunk of the object,
        else the first chunk."""
        info = self.info
        stream, subject = stream_name(self.bucket), chunk_subject(self.bucket, info.nuid)
        found: dict[str, int | None] = {}

        async def first_seq() -> None:
            found["first"] = await self._first_seq(stream, subject)

        async def last_seq() -> None:
            found["last"] = await self._last_seq()

        with unwrap_single_error():
            async with anyio.create_task_group() as tg:  # both in one round trip
                tg.start_soon(first_seq)
                tg.start_soon(last_seq)
        first, last, chunk_size = found["first"], found["last"], info.chunk_size
        if first is None or last is None or last - first + 1 != info.chunks or not chunk_size:
            return _Position()
        index = self.start // chunk_size
        return _Position(first + index, last, index * chunk_size, index)

    async def _last_seq(self) -> int | None:
        """The sequence of the object's last chunk (kept in ``_tail``), None if none."""
        self._tail = await self.js.last_msg(
            stream_name(self.bucket),
            chunk_subject(self.bucket, self.info.nuid),
            direct=self.direct,
            bucket=self.bucket,
        )
        return None if self._tail is None else self._tail.seq

    async def _first_seq(self, stream: str, subject: str) -> int | None:
        async for msg in self.js.next_msgs(
            stream,
            subject,
            start_seq=0,
            batch=1,
            max_bytes=1,
            direct=self.direct,
            bucket=self.bucket,
        ):
            return msg.seq
        return None


class _Gathered:
    """The bytes of a read of known size, written into one buffer as they arrive.

    ``bytes(n)`` is calloc'd (a page costs memory once written) and CPython's
    ``BytesIO.getvalue()`` hands out its buffer without a copy when the buffer is exactly
    full, so a read holds the object once, not its chunks and then their join. More bytes
    than expected, or fewer at the end, raise: nothing partial is returned.
    """

    def __init__(self, size: int, error: Callable[[str], ObjectStoreError]):
        self._size = size
        self._error = error
        self._buffer = io.BytesIO(bytes(min(size, PREALLOCATE_BYTES)))
        self._got = 0

    def add(self, chunk: bytes) -> None:
        self._got += len(chunk)
        if self._got > self._size:
            raise self._error(f"more bytes than the {self._size} expected")
        self._buffer.write(chunk)

    def value(self) -> bytes:
        if self._got != self._size:
            raise self._error(f"read {self._got} bytes, expected {self._size}")
        value = self._buffer.getvalue()
        self._buffer.close()
        return value


class ReadResult(Resource, ByteReceiveStream):
    """Bytes read inside ``async with``: iterate them (chunk by chunk), ``receive()`` them
    (anyio's ``ByteReceiveStream``, so anyio's buffered streams can wrap it) or ``read()``
    them; leaving the block stops the read and releases what it held (shielded from
    cancellation).

    Outside the block only ``read()`` works: it opens the read and closes it itself.
    Iterating, receiving or ``await``-ing outside raises NotOpenError, which names the
    right form: a loop abandoned midway would hold the read's subscription until garbage
    collection.
    """

    _usage = "async with ... as result: async for chunk in result"

    def __init__(self) -> None:
        self._chunks: AsyncIterator[bytes] | None = None
        self._sources: list[Any] = []  # the read's async generators, closed last to first
        # What ``receive`` took of a chunk and has not returned yet.
        self._rest = memoryview(b"")
        # Bytes the read yields in all, when ``_open`` knows (``read`` gathers them into
        # one buffer of that size), and bytes taken from the chunks so far.
        self._size: int | None = None
        self._pulled = 0
        self._started = False  # whether the chunks were asked for (or read in one request)

    async def _open(self) -> AsyncIterator[bytes]:
        """Start the read: the bytes (generators the read holds go into ``_sources``)."""
        raise NotImplementedError

    async def _acquire(self) -> None:
        self._chunks = await self._open()

    async def aclose(self) -> None:
        """Stop the read and release what it holds (shielded from cancellation)."""
        self._chunks = None
        self._rest = memoryview(b"")
        sources, self._sources = self._sources, []
        if sources:
            with anyio.CancelScope(shield=True):
                for source in reversed(sources):
                    await source.aclose()

    def __aiter__(self) -> ReadResult:
        return self

    async def __anext__(self) -> bytes:
        """The next chunk as stored (not cut to ``RECEIVE_BYTES``), or what ``receive``
        left of one."""
        if self._rest:
            rest, self._rest = bytes(self._rest), memoryview(b"")
            return rest
        if self._chunks is None:
            raise self._not_open()
        self._started = True
        chunk = await anext(self._chunks)
        self._pulled += len(chunk)
        return chunk

    async def receive(self, max_bytes: int = RECEIVE_BYTES) -> bytes:
        """At most ``max_bytes`` of the bytes that come next.

        Raises:
            anyio.EndOfStream: every byte was received (and verified).
            InvalidArgumentError: ``max_bytes`` is not a positive int.
        """
        check_int(max_bytes, "max_bytes", minimum=1)
        if not self._rest:
            try:
                chunk = await self.__anext__()
            except StopAsyncIteration:
                raise anyio.EndOfStream from None
            if len(chunk) <= max_bytes:
                return chunk
            self._rest = memoryview(chunk)
        piece, self._rest = self._rest[:max_bytes], self._rest[max_bytes:]
        return bytes(piece)

    async def read(self) -> bytes:
        """All remaining bytes, verified; outside ``async with``, all of them."""
        if not self._entered:
            async with self:
                return await self.read()
        if self._size is None:
            return b"".join([chunk async for chunk in self])
        gathered = _Gathered(self._size - self._pulled + len(self._rest), self._incomplete)
        async for chunk in self:
            gathered.add(chunk)
        return gathered.value()

    def _incomplete(self, detail: str) -> ObjectStoreError:
        """The error for bytes that disagree with the size the read expected."""
        return IncompleteObjectError(detail)


class ObjectResult(ReadResult):
    """A streaming read of one object (see ``ObjectStore.get``); ``info`` is its meta.

    ``async with store.get(name) as result``, then ``async for chunk in result``,
    ``await result.receive()`` or ``await result.read()``; or, in one step,
    ``await store.get(name).read()``.
    """

    _usage = (
        "async with store.get(name) as result: async for chunk in result; "
        "or await store.get(name).read(), or await store.get_bytes(name)"
    )

    def __init__(
        self, core: BucketCore, name: str, *, start: int, end: int | None, show_deleted: bool
    ):
        super().__init__()
        self._core = core
        self._name = name
        self._start = start
        self._end = end
        self._show_deleted = show_deleted
        self._info: ObjectInfo | None = None
        self._reader: ChunkReader | None = None  # the open read's

    @property
    def info(self) -> ObjectInfo:
        if self._info is None:
            raise self._not_open()
        return self._info

    async def _open(self) -> AsyncIterator[bytes]:
        target, info = await self._core.resolve(self._name, show_deleted=self._show_deleted)
        if self._start and self._start >= info.size:
            raise RangeNotSatisfiableError(
                f"the range starts at byte {self._start}, past the end of {self._name!r}"
                f" ({info.size} bytes)",
                size=info.size,
                bucket=self._core.bucket,
                name=self._name,
            )
        self._info = info
        end = info.size if self._end is None else min(self._end, info.size)
        self._size = 0 if info.deleted else max(end - self._start, 0)
        if info.deleted:
            return _empty()
        reader = self._reader = target.reader(info, start=self._start, end=self._end)
        chunks = reader.chunks()
        self._sources.append(chunks)
        return chunks

    async def read(self) -> bytes:
        """All remaining bytes, verified; outside ``async with``, all of them (a whole
        object of one chunk in one request, opened or not: most reads are of small
        objects)."""
        if not self._entered and not (self._start or self._end is not None or self._show_deleted):
            target, info = await self._core.resolve(self._name)
            single = await target.reader(info).single_chunk()
            if single is not None:
                self._entered, self._info = True, info
                return single
        reader = self._reader
        if reader is not None and reader.whole and not self._started and self._chunks is not None:
            self._started = True
            single = await reader.single_chunk()
            if single is not None:
                # Its chunk generator never started: nothing to close, nothing left.
                self._sources.clear()
                self._chunks = _empty()
                self._pulled = len(single)
                return single
        return await super().read()

    def _incomplete(self, detail: str) -> ObjectStoreError:
        return IncompleteObjectError(
            f"object {self._name!r} in bucket {self._core.bucket!r}: {detail}",
            bucket=self._core.bucket,
            name=self._name,
        )


def open_result(
    core: BucketCore,
    name: str,
    *,
    start: int | None = None,
    end: int | None = None,
    show_deleted: bool = False,
) -> ObjectResult:
    """An unopened read of ``name`` (or of ``[start, end)``), its arguments checked."""
    validate_object_name(name)
    for value, label in ((start, "start"), (end, "end")):
        if value is not None:
            check_int(value, label)
    check_bool(show_deleted, "show_deleted")
    if start is not None and end is not None and end < start:
        raise InvalidArgumentError(f"end ({end}) is before start ({start})")
    return ObjectResult(core, name, start=start or 0, end=end, show_deleted=show_deleted)


async def save(
    result: ObjectResult, path: Path, progress: Callable[[ObjectInfo, int], object] | None
) -> ObjectInfo:
    """Stream ``result`` into the local file ``path`` (see ``ObjectStore.get_file``)."""
    name = result._name
    async with result:
        if progress is not None:
            progress(result.info, 0)
        await _make_room_for(path, name)
        # Beside the target (same file system, so the rename is atomic); created with
        # the usual umask-derived mode, unlike mkstemp's 0600.
        tmp = anyio.Path(path.parent / f".{path.name}.{new_nuid()}.part")
        try:
            async with closing(await open_file(tmp, "xb")) as out:
                # Write in blocks: one worker-thread hop per chunk costs more than the
                # writes themselves.
                block: list[bytes] = []
                pending = 0
                async for chunk in result:
                    block.append(chunk)
                    pending += len(chunk)
                    if pending >= FILE_BLOCK_BYTES:
                        await in_thread(out.wrapped.writelines, block)
                        block, pending = [], 0
                    if progress is not None:
                        progress(result.info, len(chunk))
                await in_thread(out.wrapped.writelines, block)
            await tmp.replace(path)
        except BaseException as exc:
            await finish_first(lambda: tmp.unlink(missing_ok=True))
            if isinstance(exc, OSError) and not isinstance(exc, ObjectStoreError):
                raise local_file_error(exc, f"cannot write {str(path)!r}", name=name) from exc
            raise
        return result.info


async def _make_room_for(path: Path, name: str) -> None:
    """Create the missing folders above ``path``; refuse a ``path`` that is a folder."""
    try:
        await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
        if await anyio.Path(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    except OSError as exc:
        raise local_file_error(exc, f"cannot write {str(path)!r}", name=name) from exc


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover
