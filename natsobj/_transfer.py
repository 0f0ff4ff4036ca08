"""The streaming write and read engine.

Writes: chunks go out pipelined through an ``AckWindow`` (bounded unacknowledged bytes);
the meta message is published only after every chunk is acknowledged, so it is the commit
point. On any failure or cancellation the put's own chunks are purged (shielded), unless
the meta was sent and not answered: then it may still be stored, and the chunks are kept
(the orphan sweep reclaims them if it never is).

Reads: chunks come from batched Direct Get (no consumer), at most two runs buffered, each
chunk with its own deadline; size, chunk count and SHA-256 digest are checked at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import queue
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
)
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, TypeAlias, cast

import anyio
from nats.nuid import NUID

from ._errors import (
    DigestMismatchError,
    IncompleteObjectError,
    InvalidArgumentError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    PreconditionFailedError,
    ServerUnavailableError,
    unwrap_single_error,
)
from ._jsapi import AckWindow, FastIngest, JetStream, Payload, StoredMsg
from ._models import ObjectInfo
from ._policy import check_size_limit
from ._wire import (
    BATCH_COMMIT_HEADER,
    BATCH_ID_HEADER,
    BATCH_SEQUENCE_HEADER,
    MAX_META_ATTEMPTS,
    ROLLUP_HEADER,
    ROLLUP_SUBJECT,
    TTL_HEADER,
    chunk_subject,
    decode_digest,
    encode_digest,
    meta_subject,
    stream_name,
)


class AsyncReadable(Protocol):
    async def read(self, size: int = -1, /) -> bytes: ...


PutData: TypeAlias = (
    bytes | bytearray | memoryview | str | IO[bytes] | AsyncIterable[bytes] | AsyncReadable
)

# Unacknowledged bytes in flight per put: far below the server's 128 MiB ingest buffer.
DEFAULT_MAX_INFLIGHT_BYTES = 16 * 1024 * 1024
# Bytes per Direct Get run on reads.
DEFAULT_READ_RUN_BYTES = 8 * 1024 * 1024
# Local files are read and written in blocks of this size (one worker-thread hop each).
FILE_BLOCK_BYTES = 4 * 1024 * 1024
# Purge and verify after a failure get this long, shielded from cancellation.
CLEANUP_TIMEOUT = 10.0

_nuid = NUID()


def new_nuid() -> str:
    return _nuid.next().decode("ascii")


class StreamingHash:
    """SHA-256 of a stream of chunks; past the first few MiB it runs in a worker thread.

    hashlib releases the GIL on large buffers, so on a multi-core machine the hash of a big
    object costs the event loop almost nothing. Small objects never start the thread. The
    thread's backlog is bounded: when the loop hands over chunks faster than the thread
    hashes them (a busy machine), ``update`` waits for it, so the backlog never holds more
    than ``MAX_BACKLOG`` bytes plus one chunk.
    """

    INLINE_BYTES = 4 * 1024 * 1024
    MAX_BACKLOG = 16 * 1024 * 1024

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._inline = 0
        self._queue: queue.SimpleQueue[Payload | None] | None = None
        self._thread: threading.Thread | None = None
        self._backlog = 0  # bytes given to the thread and not hashed yet
        self._hashed = threading.Condition()

    async def update(self, data: Payload) -> None:
        if self._queue is None:
            if self._inline + len(data) <= self.INLINE_BYTES:
                self._inline += len(data)
                self._hash.update(data)
                return
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="natsobj-sha256", daemon=True)
            self._thread.start()
        with self._hashed:
            self._backlog += len(data)
        self._queue.put(data)
        if self._backlog > self.MAX_BACKLOG:
            # Not cancellable, and need not be: the thread always makes progress.
            await anyio.to_thread.run_sync(self._wait_for_thread)

    def _wait_for_thread(self) -> None:
        with self._hashed:
            self._hashed.wait_for(lambda: self._backlog <= self.MAX_BACKLOG // 2)

    def _run(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            self._hash.update(data)
            with self._hashed:
                self._backlog -= len(data)
                self._hashed.notify()

    async def digest(self) -> bytes:
        """The digest of everything given to ``update``."""
        await self.close()
        return self._hash.digest()

    async def close(self) -> None:
        """Stop the worker thread (it finishes what it was given)."""
        thread, self._thread = self._thread, None
        if thread is not None and self._queue is not None:
            self._queue.put(None)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)


async def iter_chunks(data: PutData, chunk_size: int) -> AsyncGenerator[Payload, None]:
    """Yield ``data`` in chunks of exactly ``chunk_size`` bytes (the last may be shorter).

    Uniform chunks keep byte offsets computable for range reads. Blocking file reads run
    in a worker thread; nothing holds more than one chunk plus one input block. Immutable
    ``bytes`` are yielded as views, not copies; mutable buffers are copied chunk by chunk
    so a caller changing them mid-put cannot change what was hashed.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        for offset in range(0, len(view), chunk_size):
            piece = view[offset : offset + chunk_size]
            yield piece if isinstance(data, bytes) else bytes(piece)
        return
    read = getattr(data, "read", None)
    if callable(read):
        # Files are read in blocks: a worker-thread hop per chunk costs more than the read.
        block_size = max(chunk_size, FILE_BLOCK_BYTES)
        if inspect.iscoroutinefunction(read):
            blocks = _async_reads(cast(Callable[[int], Awaitable[bytes]], read), block_size)
        else:
            blocks = _thread_reads(cast(Callable[[int], bytes], read), block_size)
    elif isinstance(data, AsyncIterable):
        blocks = _blocks(data)
    else:
        raise InvalidArgumentError(
            f"cannot put {type(data).__name__}: give bytes, str, a binary file, "
            "an async iterable of bytes or a byte stream"
        )
    buffer = bytearray()
    async for block in blocks:
        if isinstance(block, str):
            raise InvalidArgumentError("put data yielded str; only bytes are accepted")
        buffer += block
        while len(buffer) >= chunk_size:
            yield bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer:
        yield bytes(buffer)


async def _blocks(source: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    async for block in source:
        if not isinstance(block, bytes | bytearray | memoryview):
            raise InvalidArgumentError(
                f"put data yielded {type(block).__name__}; only bytes are accepted"
            )
        yield bytes(block)


async def _thread_reads(read: Callable[[int], bytes], size: int) -> AsyncIterator[bytes]:
    while True:
        block = await anyio.to_thread.run_sync(read, size)
        if isinstance(block, str):
            raise InvalidArgumentError("file is open in text mode; open it with 'rb'")
        if not block:
            return
        yield block


async def _async_reads(read: Callable[[int], Awaitable[bytes]], size: int) -> AsyncIterator[bytes]:
    while True:
        block = await read(size)
        if not block:
            return
        yield block


@dataclass
class Writer:
    """Writes one object: chunks, then the meta (the commit point)."""

    js: JetStream
    bucket: str
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    # Set when the bucket allows atomic batches (server 2.12+) and the object fits in one.
    atomic: bool = False
    # Set when the bucket allows fast-ingest batches (server 2.14+) and the data comes
    # from memory or a file (a stalled source would outlast the server's batch timeout).
    batched: bool = False
    # Nats-TTL values (``ttl_header``) for the chunks and the meta; None: no TTL.
    chunk_ttl: str | None = None
    meta_ttl: str | None = None
    # The bucket's file_size_limit: the put fails as soon as its bytes go over it.
    max_size: int | None = None

    async def write(
        self,
        template: ObjectInfo,
        data: PutData,
        chunk_size: int,
        *,
        before_commit: Callable[
            [ObjectInfo], Awaitable[tuple[ObjectInfo, Mapping[str, str] | None]]
        ]
        | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``template.name``; return the committed ObjectInfo.

        Cancellation and failure: the new chunks are purged and nothing becomes visible,
        unless the meta was sent and never answered: it may then be stored (the object is
        complete) or not (its chunks are orphans for the sweep), so the chunks stay. With
        ``atomic`` the chunks and the meta are one atomic batch: the server stores all of
        them or none. ``before_commit`` is awaited after the chunks are stored and before
        the meta is published: it returns the info to publish and the headers to put on the
        meta. When they make the meta a compare-and-set that loses to another writer,
        ``before_commit`` is asked again and the meta retried (the chunks stay); an atomic
        batch fails whole instead, with the PreconditionFailedError for the caller to retry.
        A chunk that would take the object over ``max_size`` is not sent: the put fails
        with ObjectTooLargeError and its chunks are purged.
        """
        nuid = new_nuid()
        subject = chunk_subject(self.bucket, nuid)
        batch_id = new_nuid() if self.atomic else None
        digest = StreamingHash()
        size = chunks = 0
        # Set while the meta is on its way with no answer yet: it may be stored even if the
        # publish fails (a timeout, a lost connection, a stream changing leaders).
        meta_in_doubt = False
        info = template.model_copy(update={"bucket": self.bucket, "nuid": nuid})
        chunk_ttl = {TTL_HEADER: self.chunk_ttl} if self.chunk_ttl else {}
        meta_ttl = {TTL_HEADER: self.meta_ttl} if self.meta_ttl else {}

        def headers(sequence: int, **extra: str) -> dict[str, str] | None:
            if batch_id is None:
                return extra or None
            return {BATCH_ID_HEADER: batch_id, BATCH_SEQUENCE_HEADER: str(sequence), **extra}

        source = iter_chunks(data, chunk_size)
        window: AckWindow | FastIngest = (
            FastIngest(
                self.js,
                batch_id=new_nuid(),
                max_bytes=self.max_inflight_bytes,
                chunk_size=chunk_size,
                bucket=self.bucket,
            )
            if self.batched and not self.atomic
            else AckWindow(self.js, max_bytes=self.max_inflight_bytes, bucket=self.bucket)
        )
        async with aclosing(source), window as w:
            try:
                first = await anext(source, None)
                if first is not None:
                    check_size_limit(self.max_size, len(first), bucket=self.bucket, name=info.name)
                    await digest.update(first)
                    size, chunks = len(first), 1
                    second = await anext(source, None)
                    if second is None or batch_id is not None:
                        # One chunk: a plain acknowledged publish beats a window. A batch
                        # must wait for the answer to its first message anyway.
                        await self.js.publish(
                            subject,
                            first,
                            headers=headers(1, **chunk_ttl),
                            bucket=self.bucket,
                            name=info.name,
                        )
                    else:
                        await w.publish(subject, first, headers(1, **chunk_ttl))
                    async for chunk in _chain((second,), source):
                        check_size_limit(
                            self.max_size, size + len(chunk), bucket=self.bucket, name=info.name
                        )
                        await digest.update(chunk)
                        size += len(chunk)
                        chunks += 1
                        await w.publish(subject, chunk, headers(chunks, **chunk_ttl))
                    await w.drain()
                info = info.model_copy(
                    update={
                        "size": size,
                        "chunks": chunks,
                        "digest": encode_digest(await digest.digest()),
                    }
                )
                for attempt in range(1, MAX_META_ATTEMPTS + 1):
                    expected: Mapping[str, str] | None = None
                    if before_commit is not None:
                        info, expected = await before_commit(info)
                    meta_in_doubt = True
                    meta_headers = {ROLLUP_HEADER: ROLLUP_SUBJECT, **meta_ttl, **(expected or {})}
                    try:
                        ack = await self.js.publish(
                            meta_subject(self.bucket, info.name),
                            info.to_payload(),
                            headers=(
                                headers(chunks + 1, **{BATCH_COMMIT_HEADER: "1"}, **meta_headers)
                                if chunks
                                else meta_headers
                            ),
                            bucket=self.bucket,
                            name=info.name,
                        )
                        break
                    except ObjectStoreError as exc:
                        # An answer (an error) means the meta was not stored; no answer
                        # leaves it in doubt.
                        meta_in_doubt = isinstance(
                            exc, ObjectStoreTimeoutError | ServerUnavailableError
                        )
                        lost_race = isinstance(exc, PreconditionFailedError)
                        if not lost_race or batch_id is not None or attempt == MAX_META_ATTEMPTS:
                            raise
            except BaseException:
                with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_TIMEOUT):
                    await digest.close()
                    await self._abandon(w, subject, keep=meta_in_doubt)
                raise
        return info.model_copy(update={"revision": int(ack.get("seq", 0))})

    async def _abandon(self, window: AckWindow | FastIngest, subject: str, *, keep: bool) -> None:
        """Purge a failed put's chunks, unless its meta may yet be stored (``keep``).

        A meta in doubt is never checked and purged: on a replicated bucket a meta not
        visible now may still be committed by the next leader, and would then point at
        purged chunks. Such chunks are left to ``ObjectStore.sweep_orphans``.
        """
        if keep:
            return
        # Let chunks still in flight land first, or the purge could miss them.
        await window.settle()
        with contextlib.suppress(ObjectStoreError):  # what is left, the orphan sweep reclaims
            await self.js.purge_soon(stream_name(self.bucket), subject, bucket=self.bucket)


async def _chain(
    head: tuple[Payload | None, ...], rest: AsyncIterator[Payload]
) -> AsyncIterator[Payload]:
    for chunk in head:
        if chunk is not None:
            yield chunk
    async for chunk in rest:
        yield chunk


@asynccontextmanager
async def _closing(digest: StreamingHash | None) -> AsyncIterator[None]:
    try:
        yield
    finally:
        if digest is not None:
            await digest.close()


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
        stream = stream_name(self.bucket)
        subject = chunk_subject(self.bucket, info.nuid)
        only = await self.single_chunk()
        if only is not None:
            yield only[self.start : end] if not self.whole else only
            return
        batch = max(self.run_bytes // max(info.chunk_size or 1, 1), 1)
        start_seq, last_seq, offset, index = await self._locate(stream, subject, batch)
        tail = self._tail
        if not self.whole and tail is not None and tail.seq == start_seq:
            # The range starts in the last chunk, which the lookup already brought.
            if offset + len(tail.data) != info.size:
                raise self._error(IncompleteObjectError, "the last chunk has the wrong size")
            yield tail.data[self.start - offset : end - offset]
            return
        digest = StreamingHash() if self.whole else None
        received = 0
        # On a replicated bucket a replica serving Direct Get may not have the newest
        # chunks yet (Direct Get is not read-after-write): what it lacks comes from the
        # stream leader, which has every acknowledged chunk.
        sources = (self.direct, False) if self.direct and self.replicated else (self.direct,)
        async with _closing(digest):
            for direct in sources:
                msgs = self.js.next_msgs(
                    stream,
                    subject,
                    start_seq=start_seq,
                    batch=batch,
                    max_bytes=self.run_bytes,
                    direct=direct,
                    bucket=self.bucket,
                    last_seq=last_seq if direct else None,
                )
                async with aclosing(msgs):
                    async for msg in msgs:
                        start_seq = msg.seq + 1
                        data = msg.data
                        if not data:
                            continue  # nats.net writes an empty trailing chunk, not counted
                        index += 1
                        if digest is not None:
                            await digest.update(data)
                        received += len(data)
                        chunk_start, offset = offset, offset + len(data)
                        if offset > info.size:
                            raise self._error(
                                IncompleteObjectError, "more bytes stored than its size"
                            )
                        lo = max(self.start - chunk_start, 0)
                        hi = min(end - chunk_start, len(data))
                        if lo < hi:
                            yield data if (lo == 0 and hi == len(data)) else data[lo:hi]
                        if offset >= end:
                            break
                if offset >= end:
                    break
        if digest is not None:
            self._verify(await digest.digest(), received, index)
        elif offset < end:
            raise self._error(
                IncompleteObjectError, f"chunks missing after byte {offset} of {info.size}"
            )

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
        if expected is not None and digest != expected:
            raise self._error(
                DigestMismatchError, "received a corrupt object, digests do not match"
            )

    async def _locate(
        self, stream: str, subject: str, batch: int
    ) -> tuple[int, int | None, int, int]:
        """(stream sequence, last sequence, byte offset, chunk index) to start reading from.

        When the object was written in uniform chunks that sit next to each other in the
        stream, the chunk holding ``start`` is found by arithmetic and the last sequence
        is known, so reads of more than one run can ask for runs ahead. Otherwise the read
        starts at the first chunk and skips what it does not need (last sequence None).
        Reads that fit in one run from the start need neither, and skip the lookup.
        """
        info = self.info
        chunk_size = info.chunk_size
        if (
            not chunk_size
            or info.chunks != -(-info.size // chunk_size)
            or (self.start == 0 and (info.chunks <= batch or not self.direct))
        ):
            return 0, None, 0, 0
        found: dict[str, int | None] = {}

        async def first_seq() -> None:
            found["first"] = await self._first_seq(stream, subject)

        async def last_seq() -> None:
            self._tail = await self.js.last_msg(
                stream, subject, direct=self.direct, bucket=self.bucket
            )
            found["last"] = None if self._tail is None else self._tail.seq

        with unwrap_single_error():
            async with anyio.create_task_group() as tg:  # both in one round trip
                tg.start_soon(first_seq)
                tg.start_soon(last_seq)
        first, last = found["first"], found["last"]
        if first is None or last is None or last - first + 1 != info.chunks:
            return 0, None, 0, 0
        index = self.start // chunk_size
        return first + index, last, index * chunk_size, index

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
