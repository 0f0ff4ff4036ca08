"""Puts: plan (arguments, bucket policy, the look-first bet), upload the chunks, commit the
meta through ``retry_cas``.

Chunks go out pipelined through an ``AckWindow`` (bounded unacknowledged bytes); the meta
message is published only after every chunk is acknowledged, so it is the commit point.
On any failure or cancellation the put's own chunks are purged, unless the meta was sent
and not answered: then it may still be stored, and the chunks are kept (the orphan sweep
reclaims them if it never is). A commit once begun, and that cleanup, run to their end
whoever cancels the put, an anyio scope or ``Task.cancel()`` (``finish_first``): a
cancelled put's meta is never left in doubt by the cancellation itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

import anyio

from .._cancellation import closing, finish_first, open_file
from .._checks import check_bool, check_callable, check_int, check_local_path, check_put_data
from .._errors import (
    InvalidArgumentError,
    LinkNotAllowedError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    PreconditionFailedError,
    ServerUnavailableError,
    local_file_error,
    unwrap_single_error,
)
from .._jetstream import AckWindow, FastIngest, Payload, new_nuid
from .._models import CREATED_HEADER, ObjectInfo, ObjectMeta, ObjectMetaOptions, check_meta
from .._policy import check_content_type, check_size_limit, content_type_headers
from .._source import PutData, iter_chunks
from .._wire import (
    BATCH_COMMIT_HEADER,
    BATCH_ID_HEADER,
    BATCH_SEQUENCE_HEADER,
    DEFAULT_CHUNK_SIZE,
    TTL_HEADER,
    chunk_subject,
    encode_digest,
    validate_chunk_size,
    validate_object_name,
)
from ._core import BucketCore, retry_cas, validate_revision
from ._hash import StreamingHash

__all__ = [
    "PutOptions",
    "UploadOptions",
    "Writer",
    "plan_commit",
    "put",
    "put_file",
    "with_created",
]

# Unacknowledged bytes in flight per put: far below the server's 128 MiB ingest buffer.
DEFAULT_MAX_INFLIGHT_BYTES = 16 * 1024 * 1024
# Purge and verify after a failure get this long, whoever cancels the put.
CLEANUP_TIMEOUT = 10.0


class UploadOptions(TypedDict, total=False):
    """How a put stores its bytes (see ``ObjectStore.put``)."""

    chunk_size: int | None
    max_inflight_bytes: int | None
    ttl: float | timedelta | None
    renewable: bool


class PutOptions(UploadOptions, total=False):
    """Every keyword ``ObjectStore.put`` takes."""

    content_type: str | None
    if_revision: int | None


def with_created(
    headers: Mapping[str, list[str]], created: datetime | None
) -> dict[str, list[str]]:
    """``headers`` with the creation-time header set to ``created`` (dropped if None)."""
    out = {k: list(v) for k, v in headers.items() if k.lower() != CREATED_HEADER.lower()}
    if created is not None:
        stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out[CREATED_HEADER] = [stamp]
    return out


def plan_commit(
    info: ObjectInfo, existing: ObjectInfo | None, if_revision: int | None
) -> tuple[ObjectInfo, int | None]:
    """What a put publishes as its meta, and the meta subject sequence it expects.

    ``existing`` is the object the put replaces, as looked up before the commit. An
    overwrite of a live object keeps its creation time, unless the put names one itself.

    Raises:
        PreconditionFailedError: ``if_revision`` does not match ``existing`` (checked here
            to fail early; the server checks it again atomically at publish time).
    """
    live = existing is not None and not existing.deleted
    expected: int | None = None
    if if_revision == 0:
        if live:
            raise PreconditionFailedError(
                f"object {info.name!r} exists (revision {existing.revision if existing else 0})",
                bucket=info.bucket,
                name=info.name,
            )
        expected = existing.revision if existing is not None else 0
    elif if_revision is not None:
        current = existing.revision if existing is not None else 0
        if current != if_revision:
            raise PreconditionFailedError(
                f"object {info.name!r} is at revision {current}, not {if_revision}",
                bucket=info.bucket,
                name=info.name,
            )
        expected = if_revision
    has_created = any(k.lower() == CREATED_HEADER.lower() for k in info.headers)
    if live and existing is not None and not has_created and existing.created is not None:
        info = info.model_copy(update={"headers": with_created(info.headers, existing.created)})
    return info, expected


async def put(
    core: BucketCore, meta: ObjectMeta | str, data: PutData, **options: Unpack[PutOptions]
) -> ObjectInfo:
    """Store an object in ``core``'s bucket, as ``ObjectStore.put`` documents it."""
    return await (await _Put.plan(core, meta, data, **options)).run()


async def put_file(
    core: BucketCore,
    path: str | os.PathLike[str],
    name: str | None,
    *,
    meta: ObjectMeta | None,
    progress: Callable[[int], object] | None,
    **options: Unpack[PutOptions],
) -> ObjectInfo:
    """Stream a local file into the bucket (see ``ObjectStore.put_file``)."""
    path = check_local_path(path)
    check_callable(progress, "progress")
    if meta is None:
        meta = ObjectMeta(name=validate_object_name(path.name if name is None else name))
    elif name is not None:
        meta = check_meta(meta).model_copy(update={"name": validate_object_name(name)})
    try:
        handle = await open_file(path, "rb")
    except OSError as exc:
        raise local_file_error(exc, f"cannot read {str(path)!r}") from exc
    async with closing(handle):
        source = handle if progress is None else _ReportedReads(handle, progress)
        try:
            return await put(core, meta, source, **options)
        except ObjectStoreError:
            raise
        except OSError as exc:  # reading the file failed midway
            raise local_file_error(exc, f"cannot read {str(path)!r}", name=meta.name) from exc


class _ReportedReads:
    """A file whose reads are reported to a progress callback."""

    def __init__(self, handle: anyio.AsyncFile[bytes], progress: Callable[[int], object]):
        self._handle = handle
        self._progress = progress

    async def read(self, size: int = -1) -> bytes:
        block = await self._handle.read(size)
        if block:
            self._progress(len(block))
        return block


class _Put:
    """One put: its chunks go up once (an atomic batch: once per attempt), and its meta is
    a compare-and-set on the meta it replaces, run through ``retry_cas``.

    The compare-and-set makes what the meta replaces known exactly, so its chunks are
    purged however many writers race on the name. While most recent puts created new
    names, an unconditional put bets on that without a look-up (one request less: ~28%
    more 1 KiB puts/s, measured); a taken name makes the compare-and-set fail, and the put
    looks and tries again. When overwrites are common, puts look first, while the chunks
    upload (a failed bet would cost one request more). A writer that loses a race looks
    again; a conditional put that loses is not tried again.
    """

    def __init__(
        self,
        core: BucketCore,
        template: ObjectInfo,
        data: PutData,
        writer: Writer,
        if_revision: int | None,
    ):
        self.core = core
        self.template = template
        self.data = data
        self.writer = writer
        self.if_revision = if_revision
        self.look_first = if_revision is not None or writer.atomic or core.overwrite_rate >= 0.5
        self.looks = 0
        self.first_look: tuple[ObjectInfo | None, int] = (None, 0)
        self.looked = anyio.Event() if self.look_first else None
        self.name_taken = False

    @classmethod
    async def plan(
        cls, core: BucketCore, meta: ObjectMeta | str, data: PutData, **given: Unpack[PutOptions]
    ) -> _Put:
        """A put with every argument checked and the bucket policy as the bucket has it now
        applied: refusals come before anything is sent."""
        core.check_writable()
        if unknown := given.keys() - PutOptions.__optional_keys__:
            # Forwarded through ``**options``: a typo must not pass as "not given".
            raise InvalidArgumentError(f"unknown put options: {', '.join(sorted(unknown))}")
        meta = check_meta(meta)
        check_put_data(data)
        chunk_size, if_revision = given.get("chunk_size"), given.get("if_revision")
        max_inflight_bytes, ttl = given.get("max_inflight_bytes"), given.get("ttl")
        renewable = check_bool(given.get("renewable", False), "renewable")
        options = meta.options or ObjectMetaOptions()
        if options.link is not None:
            raise LinkNotAllowedError(
                "a put cannot carry a link: use add_link", bucket=core.bucket, name=meta.name
            )
        if chunk_size is None:
            chunk_size = options.max_chunk_size or DEFAULT_CHUNK_SIZE
        size = validate_chunk_size(chunk_size)
        validate_revision(if_revision)
        if max_inflight_bytes is not None:
            check_int(max_inflight_bytes, "max_inflight_bytes", minimum=1)
        lifetimes = (None, None) if ttl is None else core.message_ttls(ttl, renewable, meta.name)
        policy = await core.current_policy()
        headers, content_type = content_type_headers(
            meta.headers,
            meta.name,
            given.get("content_type"),
            store_guess=policy.allowed_mime_types is not None,
        )
        check_content_type(policy, content_type, bucket=core.bucket, name=meta.name)
        known_size = _known_size(data)
        if known_size is not None:
            check_size_limit(policy.file_size_limit, known_size, bucket=core.bucket, name=meta.name)
        template = ObjectInfo.model_validate(
            {
                **meta.model_dump(exclude={"options", "headers"}),
                "headers": headers,
                "options": options.model_copy(update={"max_chunk_size": size}),
            }
        )
        core.payload(template)  # a meta too big for one message is refused now
        writer = Writer(
            core,
            size,
            atomic=core.fits_atomic_batch(known_size, size),
            batched=core.batched and _from_memory_or_file(data),
            chunk_ttl=lifetimes[0],
            meta_ttl=lifetimes[1],
            max_size=policy.file_size_limit,
        )
        if max_inflight_bytes is not None:
            writer.max_inflight_bytes = max(max_inflight_bytes, size)
        return cls(core, template, data, writer, if_revision)

    async def run(self) -> ObjectInfo:
        """Write the object; purge the chunks of the object it replaced (``Upload.commit``)."""
        if not self.look_first:
            info = await self._write()
        else:
            with unwrap_single_error():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._look_up)  # while the chunks upload
                    info = await self._write()
        if self.if_revision is None:
            self.core.overwrite_rate += (self.name_taken - self.core.overwrite_rate) / 8
        return info

    async def _write(self) -> ObjectInfo:
        retry = self.if_revision is None
        attempts = self.core.cas_attempts
        if self.writer.atomic:
            # A batch that lost the race was stored not at all: each attempt sends it whole.
            return await retry_cas(self._atomic_attempt, attempts=attempts, retry=retry)
        async with self.writer.upload(self.template, self.data) as upload:
            return await retry_cas(lambda: self._commit(upload), attempts=attempts, retry=retry)

    async def _atomic_attempt(self) -> ObjectInfo:
        async with (
            self.core.js.batch_limiter(self.core.stream),
            self.writer.upload(self.template, self.data) as upload,
        ):
            return await self._commit(upload)

    async def _commit(self, upload: Upload) -> ObjectInfo:
        """Commit ``upload``'s meta on the meta it replaces, looked up (or bet on) now."""
        current, seq = await self._current()
        self.name_taken = self.name_taken or seq != 0
        info, expected = plan_commit(upload.info, current, self.if_revision)
        return await upload.commit(
            info, expected=seq if expected is None else expected, replaced=current
        )

    async def _current(self) -> tuple[ObjectInfo | None, int]:
        self.looks += 1
        if self.looks > 1:
            return await self.core.current(self.template.name)
        if self.looked is None:
            return None, 0  # the bet: the name is new
        await self.looked.wait()
        return self.first_look

    async def _look_up(self) -> None:
        assert self.looked is not None
        self.first_look = await self.core.current(self.template.name)
        self.looked.set()


@dataclass
class Writer:
    """How one put writes: its chunks, then its meta (the commit point)."""

    core: BucketCore
    chunk_size: int
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    # Set when the bucket allows atomic batches (server 2.12+) and the object fits in one:
    # the chunks and the meta are then one batch, stored whole or not at all.
    atomic: bool = False
    # Set when the bucket allows fast-ingest batches (server 2.14+) and the data comes
    # from memory or a file (a stalled source would outlast the server's batch timeout).
    batched: bool = False
    # Nats-TTL values (``ttl_header``) for the chunks and the meta; None: no TTL.
    chunk_ttl: str | None = None
    meta_ttl: str | None = None
    # The bucket's file_size_limit: the put fails as soon as its bytes go over it.
    max_size: int | None = None

    @asynccontextmanager
    async def upload(self, template: ObjectInfo, data: PutData) -> AsyncIterator[Upload]:
        """Send ``data`` as the chunks of a new NUID; inside the block they are stored
        (all acknowledged; an atomic batch's, pending), for ``Upload.commit``.

        Cancellation and failure, of the upload or in the block: the new chunks are
        purged and nothing becomes visible, unless the meta was sent and never answered:
        it may then be stored (the object is complete) or not (its chunks are orphans for
        the sweep), so the chunks stay. A chunk that would take the object over
        ``max_size`` is not sent: ObjectTooLargeError, and the chunks are purged.
        """
        upload = Upload(self, template)
        window: AckWindow | FastIngest = (
            FastIngest(
                self.core.js,
                batch_id=new_nuid(),
                max_bytes=self.max_inflight_bytes,
                chunk_size=self.chunk_size,
                bucket=self.core.bucket,
            )
            if self.batched and not self.atomic
            else AckWindow(self.core.js, max_bytes=self.max_inflight_bytes, bucket=self.core.bucket)
        )
        source = iter_chunks(data, self.chunk_size)
        async with aclosing(source), window:
            try:
                await upload.send(source, window)
                yield upload
            except BaseException:
                await finish_first(lambda: self._clean_up(window, upload))
                raise

    async def _clean_up(self, window: AckWindow | FastIngest, upload: Upload) -> None:
        with anyio.move_on_after(CLEANUP_TIMEOUT):
            await upload.digest.close()
            await self._abandon(window, upload.subject, keep=upload.in_doubt)

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
            await self.core.js.purge_soon(self.core.stream, subject, bucket=self.core.bucket)


class Upload:
    """The chunks of one put (one NUID) on their way; ``commit`` publishes their meta."""

    def __init__(self, writer: Writer, template: ObjectInfo):
        self.writer = writer
        self.core = writer.core
        nuid = new_nuid()
        self.subject = chunk_subject(self.core.bucket, nuid)
        self.batch_id = new_nuid() if writer.atomic else None
        self.digest = StreamingHash()
        self.size = self.chunks = 0
        # What the meta will say; size, chunks and digest once every chunk is sent.
        self.info = template.model_copy(update={"bucket": self.core.bucket, "nuid": nuid})
        # Set while the meta is on its way with no answer yet: it may be stored even if the
        # publish fails (a timeout, a lost connection, a stream changing leaders).
        self.in_doubt = False

    def _headers(self, sequence: int, **extra: str) -> dict[str, str] | None:
        if self.batch_id is None:
            return extra or None
        return {BATCH_ID_HEADER: self.batch_id, BATCH_SEQUENCE_HEADER: str(sequence), **extra}

    async def send(self, source: AsyncIterator[Payload], window: AckWindow | FastIngest) -> None:
        """Send every chunk of ``source`` and wait until all are stored."""
        ttl = {TTL_HEADER: self.writer.chunk_ttl} if self.writer.chunk_ttl else {}
        first = await anext(source, None)
        if first is not None:
            await self._count(first)
            second = await anext(source, None)
            if second is None or self.batch_id is not None:
                # One chunk: a plain acknowledged publish beats a window. A batch must
                # wait for the answer to its first message anyway.
                await self.core.js.publish(
                    self.subject,
                    first,
                    headers=self._headers(1, **ttl),
                    bucket=self.core.bucket,
                    name=self.info.name,
                )
            else:
                await window.publish(self.subject, first, self._headers(1, **ttl))
            async for chunk in _chain((second,), source):
                await self._count(chunk)
                await window.publish(self.subject, chunk, self._headers(self.chunks, **ttl))
            await window.drain()
        digest = encode_digest(await self.digest.digest())
        self.info = self.info.model_copy(
            update={"size": self.size, "chunks": self.chunks, "digest": digest}
        )

    async def _count(self, chunk: Payload) -> None:
        check_size_limit(
            self.writer.max_size,
            self.size + len(chunk),
            bucket=self.core.bucket,
            name=self.info.name,
        )
        await self.digest.update(chunk)
        self.size += len(chunk)
        self.chunks += 1

    async def commit(
        self, info: ObjectInfo, *, expected: int, replaced: ObjectInfo | None
    ) -> ObjectInfo:
        """Publish ``info``, the meta of these chunks, if the name's meta is still at
        stream sequence ``expected`` (``BucketCore.commit``); in an atomic batch, as the
        batch's commit message. Once stored, purge the chunks of ``replaced``, the object
        it replaces (``BucketCore.purge_replaced``). A lost compare-and-set leaves the
        chunks for another try (an atomic batch's are gone with it).

        Once begun, this runs to its end (bounded by the request timeout) even if the put
        is cancelled meanwhile: the cancellation comes after, with ``in_doubt`` saying
        whether the meta may be stored (kept when it is: the object is whole and live).
        """
        self.in_doubt = True
        return await finish_first(lambda: self._commit(info, expected, replaced))

    async def _commit(
        self, info: ObjectInfo, expected: int, replaced: ObjectInfo | None
    ) -> ObjectInfo:
        batch = None
        if self.batch_id is not None and self.chunks:
            batch = self._headers(self.chunks + 1, **{BATCH_COMMIT_HEADER: "1"})
        try:
            stored = await self.core.commit(
                info, expected=expected, ttl=self.writer.meta_ttl, batch=batch
            )
        except ObjectStoreError as exc:
            # An answer (an error) means the meta was not stored; no answer leaves it in doubt.
            self.in_doubt = isinstance(exc, ObjectStoreTimeoutError | ServerUnavailableError)
            raise
        await self.core.purge_replaced(replaced, stored)
        return stored


async def _chain(
    head: tuple[Payload | None, ...], rest: AsyncIterator[Payload]
) -> AsyncIterator[Payload]:
    for chunk in head:
        if chunk is not None:
            yield chunk
    async for chunk in rest:
        yield chunk


def _known_size(data: PutData) -> int | None:
    """The size of ``data`` when it is known before reading it."""
    if isinstance(data, str):
        return len(data.encode("utf-8"))
    if isinstance(data, bytes | bytearray | memoryview):
        return memoryview(data).nbytes
    return None


def _from_memory_or_file(data: PutData) -> bool:
    """Whether ``data`` can feed a batch without stalls longer than the server allows."""
    return _known_size(data) is not None or callable(getattr(data, "read", None))
