"""ObjectStore: one bucket, every ADR-20 operation, plus byte-range reads."""

from __future__ import annotations

import builtins
import codecs
import contextlib
import errno
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio

from ._checks import (
    RequiresAsyncWith,
    check_bool,
    check_callable,
    check_int,
    check_local_path,
    check_metadata,
    check_put_data,
    check_text,
)
from ._errors import (
    BadObjectMetaError,
    InvalidArgumentError,
    LinkIsBucketError,
    LinkNotAllowedError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    NotOpenError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    PreconditionFailedError,
    RangeNotSatisfiableError,
    UnsupportedFeatureError,
    UpdateMetaDeletedError,
    local_file_error,
    unwrap_single_error,
)
from ._expiration import CHUNK_TTL_MARGIN, duration
from ._jetstream import JetStream, StoredMsg, new_nuid
from ._listing import ObjectPage, SortBy, SortOrder, list_page, live_names
from ._models import (
    ObjectInfo,
    ObjectLink,
    ObjectMeta,
    ObjectMetaOptions,
    ObjectStoreStatus,
    check_meta,
)
from ._objects import (
    DeleteResult,
    copy_object,
    delete_many,
    move_object,
    plan_commit,
    update_object,
    upload_object,
    validate_revision,
)
from ._policy import (
    BucketPolicy,
    check_content_type,
    check_size_limit,
    content_type_headers,
)
from ._source import FILE_BLOCK_BYTES, PutData
from ._sweep import DEFAULT_SWEEP_GRACE, SweepReport, sweep_orphans
from ._transfer import ChunkReader, Writer
from ._watch import ObjectWatcher
from ._wire import (
    DEFAULT_CHUNK_SIZE,
    EXPECTED_SUBJECT_SEQUENCE_HEADER,
    MAX_ATOMIC_CHUNKS,
    MAX_META_ATTEMPTS,
    ROLLUP_HEADER,
    ROLLUP_SUBJECT,
    TTL_HEADER,
    chunk_subject,
    meta_subject,
    meta_subject_filter,
    stream_name,
    ttl_header,
    validate_bucket_name,
    validate_chunk_size,
    validate_object_name,
)

if TYPE_CHECKING:
    from ._manager import ObjectStoreManager

__all__ = ["ObjectResult", "ObjectStore", "ReadResult"]

# Links are one level deep by rule; this only guards against loops written by others.
_MAX_LINK_DEPTH = 8
# Meta messages per Direct Get run when listing.
_LIST_RUN = 1000


class ObjectStore:
    """A bucket of objects, backed by the JetStream stream ``OBJ_<bucket>``.

    Get one from ``ObjectStoreManager.create_object_store`` or ``object_store``.
    """

    def __init__(self, manager: ObjectStoreManager, bucket: str, stream_info: Mapping[str, Any]):
        self._manager = manager
        self._js: JetStream = manager.js
        self.bucket = bucket
        self.stream = stream_name(bucket)
        config = stream_info.get("config", {})
        self._direct = bool(config.get("allow_direct", False))
        self._atomic = bool(config.get("allow_atomic", False))
        self._batched = bool(config.get("allow_batched", False))
        self._message_ttl = bool(config.get("allow_msg_ttl", False))
        # Direct Get may be served by a follower; meta reads on R>1 go to the leader.
        self._consistent_meta = int(config.get("num_replicas", 1)) > 1
        manager._remember_policy(bucket, stream_info)
        # How often recent unconditional puts found their name taken (a moving average):
        # it decides whether the next one looks up the name first (see ``put``).
        self._overwrite_rate = 0.0

    def __repr__(self) -> str:
        return f"ObjectStore(bucket={self.bucket!r})"

    @property
    def policy(self) -> BucketPolicy:
        """The bucket policy as last read, by any handle of this manager; puts enforce it
        as the bucket has it now, give or take ``POLICY_MAX_AGE`` (about a second)."""
        return self._manager._remembered_policy(self.bucket)

    # -- meta ---------------------------------------------------------------------------

    async def _last_meta_msg(self, name: str) -> StoredMsg | None:
        return await self._js.last_msg(
            self.stream,
            meta_subject(self.bucket, name),
            direct=self._direct and not self._consistent_meta,
            bucket=self.bucket,
        )

    async def _last_meta(self, name: str) -> ObjectInfo | None:
        msg = await self._last_meta_msg(name)
        if msg is None or not msg.data:
            return None  # nothing, or the marker the server leaves when a TTL removed it
        return self._parse(msg, name=name)

    async def _current(self, name: str, *, strict: bool = False) -> tuple[ObjectInfo | None, int]:
        """The meta ``name`` has now and its stream sequence (0: none), the base of a
        compare-and-set write. An unreadable meta (another client's) is None unless
        ``strict``, which raises BadObjectMetaError."""
        msg = await self._last_meta_msg(name)
        if msg is None:
            return None, 0
        if not msg.data:
            return None, msg.seq  # the marker the server leaves when a TTL removed it
        try:
            return self._parse(msg, name=name), msg.seq
        except BadObjectMetaError:
            if strict:
                raise
            return None, msg.seq

    def _parse(self, msg: StoredMsg, *, name: str | None = None) -> ObjectInfo:
        try:
            return ObjectInfo.from_message(
                msg.data, subject=msg.subject, timestamp=msg.time, sequence=msg.seq
            )
        except BadObjectMetaError as exc:
            exc.bucket, exc.name = self.bucket, exc.name or name
            raise

    async def get_info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The current meta of ``name``; mtime is the server's time of the last change.

        Raises:
            ObjectNotFoundError: no such object, or it is deleted and ``show_deleted`` is off.
            BadObjectMetaError: the stored meta cannot be read or used (see
                ``ObjectInfo.from_message``).
        """
        validate_object_name(name)
        check_bool(show_deleted, "show_deleted")
        info = await self._last_meta(name)
        if info is None or (info.deleted and not show_deleted):
            raise ObjectNotFoundError(
                f"object {name!r} not found in bucket {self.bucket!r}",
                bucket=self.bucket,
                name=name,
            )
        return info

    async def _find(self, name: str) -> ObjectInfo | None:
        try:
            return await self.get_info(name, show_deleted=True)
        except ObjectNotFoundError:
            return None

    def _check_meta_fits(self, info: ObjectInfo) -> None:
        """Refuse a meta too big for one message before anything is written."""
        # Room for what a put adds (NUID, size, chunks, digest) and the headers.
        needed = len(info.to_payload()) + 512
        limit = int(self._js.nc.max_payload or 0)
        if limit and needed > limit:
            raise InvalidArgumentError(
                f"the meta of {info.name!r} (description, headers, metadata: {needed} bytes)"
                f" does not fit the server's max_payload of {limit} bytes",
                bucket=self.bucket,
                name=info.name,
            )

    async def _publish_meta(
        self, info: ObjectInfo, *, expected: int | None = None, ttl: str | None = None
    ) -> ObjectInfo:
        """Publish ``info`` as the object's meta; with ``expected``, only if the meta is
        still at that stream sequence (else PreconditionFailedError); with ``ttl`` (a
        ``Nats-TTL`` value), the server removes it after that long."""
        self._check_meta_fits(info)
        headers = {ROLLUP_HEADER: ROLLUP_SUBJECT}
        if expected is not None:
            headers[EXPECTED_SUBJECT_SEQUENCE_HEADER] = str(expected)
        if ttl is not None:
            headers[TTL_HEADER] = ttl
        ack = await self._js.publish(
            meta_subject(self.bucket, info.name),
            info.to_payload(),
            headers=headers,
            bucket=self.bucket,
            name=info.name,
        )
        return _acknowledged(info, int(ack.get("seq", 0)))

    async def _purge_chunks(self, info: ObjectInfo) -> None:
        if info.nuid and not info.is_link:
            await self._js.purge(
                self.stream, chunk_subject(self.bucket, info.nuid), bucket=self.bucket
            )

    # -- writes -------------------------------------------------------------------------

    async def put(
        self,
        meta: ObjectMeta | str,
        data: PutData,
        *,
        chunk_size: int | None = None,
        max_inflight_bytes: int | None = None,
        ttl: float | timedelta | None = None,
        renewable: bool = False,
        content_type: str | None = None,
        if_revision: int | None = None,
    ) -> ObjectInfo:
        """Store an object, replacing any object of the same name.

        ``data`` may be bytes, bytearray, memoryview, str (stored as UTF-8), a binary file
        object, an async file, an async iterable of bytes or an anyio byte stream. It is
        streamed: memory use is bounded by the in-flight window, not the object's size.

        Guarantees: readers see the old object or the new one, whole, never a mix; the meta
        is written only after every chunk is acknowledged; the replaced object's chunks are
        purged after the new meta is acknowledged. If the put fails or is cancelled, its
        chunks are purged and the old object stays as it was; only when the new meta was
        sent and its answer lost (a timeout, a dropped connection) is the outcome open:
        either object may be current, whole, and the chunks are kept (``sweep_orphans``
        reclaims them if the new meta never landed). An unusable meta of that name
        (another client's) is replaced; nothing is purged through it.

        ``ttl`` (seconds or a timedelta, at least 1 s; buckets created with
        ``message_ttl``) makes the server remove the object by itself: the meta goes after
        ``ttl`` (watchers see a deletion), the chunks a few seconds later. With
        ``renewable`` only the meta carries the TTL, so republishing it extends the
        object's life; its chunks are then left to the orphan sweep once the meta is gone.

        ``content_type`` is stored as the meta's ``Content-Type`` header (else one in
        ``meta.headers`` is kept, else it is guessed from the name). The bucket policy is
        enforced as the bucket has it now (a change by any client applies within
        ``POLICY_MAX_AGE``, about a second): a type outside ``allowed_mime_types`` is
        refused before any data is sent; a known size over ``file_size_limit`` is refused
        up front, a streamed one as soon as it crosses the limit (its chunks purged). An
        overwrite keeps the replaced object's creation time (``ObjectInfo.created``).

        ``if_revision`` makes the put conditional (compare-and-set on the meta): it commits
        only if the object's current revision is ``if_revision``, or with 0, only if there
        is no live object of that name. A lost race leaves nothing of this put behind and
        nothing of the winner's is touched.

        Every argument is checked before anything is sent. Returns the stored meta; its
        ``revision`` is the server's, its ``mtime`` this client's clock when the server
        acknowledged the write (as nats.go sets it; ``get_info`` has the server's stamp).

        Raises:
            InvalidObjectNameError, InvalidArgumentError, LinkNotAllowedError,
            ObjectTooLargeError, InvalidMimeTypeError, PreconditionFailedError,
            BucketSealedError, BucketNotFoundError, UnsupportedFeatureError (``ttl`` on a
            bucket without message TTLs), ServerError.
        """
        meta = check_meta(meta)
        check_put_data(data)
        check_bool(renewable, "renewable")
        options = meta.options or ObjectMetaOptions()
        if options.link is not None:
            raise LinkNotAllowedError(
                "a put cannot carry a link: use add_link", bucket=self.bucket, name=meta.name
            )
        if chunk_size is None:
            chunk_size = options.max_chunk_size or DEFAULT_CHUNK_SIZE
        size = validate_chunk_size(chunk_size)
        validate_revision(if_revision)
        if max_inflight_bytes is not None:
            check_int(max_inflight_bytes, "max_inflight_bytes", minimum=1)
        lifetimes = None if ttl is None else self._message_ttls(ttl, renewable, meta.name)
        policy = await self._manager._current_policy(self.bucket)
        headers, content_type = content_type_headers(
            meta.headers,
            meta.name,
            content_type,
            store_guess=policy.allowed_mime_types is not None,
        )
        check_content_type(policy, content_type, bucket=self.bucket, name=meta.name)
        known_size = _known_size(data)
        if known_size is not None:
            check_size_limit(policy.file_size_limit, known_size, bucket=self.bucket, name=meta.name)
        template = ObjectInfo.model_validate(
            {
                **meta.model_dump(exclude={"options", "headers"}),
                "headers": headers,
                "options": options.model_copy(update={"max_chunk_size": size}),
            }
        )
        self._check_meta_fits(template)
        writer = Writer(
            self._js,
            self.bucket,
            atomic=self._fits_atomic_batch(known_size, size),
            batched=self._batched and _from_memory_or_file(data),
            max_size=policy.file_size_limit,
        )
        if lifetimes is not None:
            writer.chunk_ttl, writer.meta_ttl = lifetimes
        if max_inflight_bytes is not None:
            writer.max_inflight_bytes = max(max_inflight_bytes, size)
        # The meta is a compare-and-set on the meta it replaces, so what it replaces is
        # known exactly and its chunks purged, however many writers race on the name.
        # While most recent puts created new names, an unconditional put bets on that
        # without a look-up (one request less: ~28% more 1 KiB puts/s, measured); a taken
        # name makes the compare-and-set fail, and the put looks and tries again. When
        # overwrites are common, puts look first, while the chunks upload (a failed bet
        # would cost one request more). A writer that loses a race looks again.
        replaced: list[ObjectInfo | None] = [None]
        look_first = if_revision is not None or writer.atomic or self._overwrite_rate >= 0.5
        name_taken = False
        first_look: list[tuple[ObjectInfo | None, int]] = []
        looked = anyio.Event()
        looks = 0

        async def look_up_existing() -> None:
            first_look.append(await self._current(meta.name))
            looked.set()

        async def expect_current(info: ObjectInfo) -> tuple[ObjectInfo, dict[str, str]]:
            nonlocal looks, name_taken
            looks += 1
            if looks == 1 and not look_first:
                current, seq = None, 0
            elif looks == 1:
                await looked.wait()
                current, seq = first_look[0]
            elif if_revision is not None:
                # A conditional put that lost its compare-and-set is not tried again.
                raise PreconditionFailedError(
                    f"object {meta.name!r} changed while it was being written",
                    bucket=self.bucket,
                    name=meta.name,
                )
            else:
                current, seq = await self._current(meta.name)
            replaced[0] = current
            name_taken = name_taken or seq != 0
            info, expected = plan_commit(info, current, if_revision)
            return info, {
                EXPECTED_SUBJECT_SEQUENCE_HEADER: str(seq if expected is None else expected)
            }

        async def write() -> ObjectInfo:
            if not writer.atomic:
                return await writer.write(template, data, size, before_commit=expect_current)
            async with self._js.batch_limiter(self.stream):
                return await writer.write(template, data, size, before_commit=expect_current)

        for attempt in range(1, MAX_META_ATTEMPTS + 1):
            try:
                if attempt == 1 and look_first:
                    with unwrap_single_error():
                        async with anyio.create_task_group() as tg:
                            tg.start_soon(look_up_existing)
                            info = await write()
                else:
                    info = await write()
                break
            except PreconditionFailedError:
                # An atomic batch that lost the race was stored not at all: send it again,
                # unless the put was conditional.
                if if_revision is not None or attempt == MAX_META_ATTEMPTS:
                    raise
        info = _acknowledged(info, info.revision)
        if if_revision is None:
            self._overwrite_rate += (name_taken - self._overwrite_rate) / 8
        existing = replaced[0]
        if existing is not None and not existing.deleted and existing.nuid != info.nuid:
            # The new object is committed; a failed purge only leaves reclaimable orphans.
            with contextlib.suppress(ObjectStoreError):
                await self._purge_chunks(existing)
        return info

    def _message_ttls(
        self, ttl: float | timedelta, renewable: bool, name: str
    ) -> tuple[str | None, str]:
        """``Nats-TTL`` values for the chunks (None: no TTL) and the meta of a put."""
        lifetime = duration(ttl, "ttl")
        if not self._message_ttl:
            raise UnsupportedFeatureError(
                f"bucket {self.bucket!r} was created without message_ttl, so objects in it "
                "cannot expire (the flag is irreversible: natsobj never sets it on its own)",
                bucket=self.bucket,
                name=name,
            )
        meta_ttl = ttl_header(lifetime.total_seconds())
        if renewable:
            return None, meta_ttl
        return ttl_header((lifetime + CHUNK_TTL_MARGIN).total_seconds()), meta_ttl

    def _fits_atomic_batch(self, size: int | None, chunk_size: int) -> bool:
        """Whether a put can be one atomic batch: the bucket allows it and the size is
        known up front to fit (a batch cannot be turned back into a plain put midway)."""
        if not self._atomic or size is None:
            return False
        return -(-size // chunk_size) <= MAX_ATOMIC_CHUNKS

    async def put_bytes(self, name: str, data: bytes, **options: Any) -> ObjectInfo:
        """Store ``data`` (bytes, bytearray or memoryview) as ``name``."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgumentError(f"put_bytes takes bytes, got {type(data).__name__}")
        return await self.put(name, data, **options)

    async def put_string(self, name: str, data: str, **options: Any) -> ObjectInfo:
        """Store ``data`` encoded as UTF-8."""
        return await self.put(name, check_text(data, "data").encode("utf-8"), **options)

    async def put_file(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        meta: ObjectMeta | None = None,
        progress: Callable[[int], object] | None = None,
        **options: Any,
    ) -> ObjectInfo:
        """Stream a local file into the store; the name defaults to the file's name.

        The file is read in blocks of ``FILE_BLOCK_BYTES`` (or the chunk size, if larger)
        in a worker thread; ``progress`` is called with the size of every block read.
        Options as for ``put``.

        Raises:
            LocalFileNotFoundError: there is no such file (also a ``FileNotFoundError``).
            LocalFileError: the file cannot be read (also an ``OSError``).
        """
        path = check_local_path(path)
        check_callable(progress, "progress")
        if meta is None:
            meta = ObjectMeta(name=validate_object_name(path.name if name is None else name))
        elif name is not None:
            meta = check_meta(meta).model_copy(update={"name": validate_object_name(name)})
        try:
            handle = await anyio.open_file(path, "rb")
        except OSError as exc:
            raise local_file_error(exc, f"cannot read {str(path)!r}") from exc
        async with handle:
            source = handle if progress is None else _ReportedReads(handle, progress)
            try:
                return await self.put(meta, source, **options)
            except ObjectStoreError:
                raise
            except OSError as exc:  # reading the file failed midway
                raise local_file_error(exc, f"cannot read {str(path)!r}", name=meta.name) from exc

    async def update_meta(self, name: str, meta: ObjectMeta) -> ObjectInfo:
        """Change an object's name, description, headers and metadata (all replaced).

        The data, chunk size and links are kept. A rename publishes the meta under the new
        name first, then purges the old name, so a crash in between leaves two names for
        the same object, never none. The purge takes only the old meta it renamed: what
        another writer puts under the old name meanwhile stays. Such a write (a put or a
        delete) purges the chunks the new name points to, so the rename is then taken
        back (the new name gets a tombstone) and PreconditionFailedError raised.

        Raises:
            UpdateMetaDeletedError: the object is missing or deleted.
            ObjectExistsError: renaming onto a live object.
            PreconditionFailedError: the old name was written during the rename.
        """
        validate_object_name(name)
        if not isinstance(meta, ObjectMeta):
            raise InvalidArgumentError("update_meta takes an ObjectMeta")
        meta = check_meta(meta)
        for attempt in range(1, MAX_META_ATTEMPTS + 1):
            current, seq = await self._current(name, strict=True)
            renamed_seq = seq
            if current is None or current.deleted:
                raise UpdateMetaDeletedError(
                    f"cannot update the meta of missing or deleted object {name!r}",
                    bucket=self.bucket,
                    name=name,
                )
            if meta.name != name:
                target, seq = await self._current(meta.name, strict=True)
                if target is not None and not target.deleted:
                    raise ObjectExistsError(
                        f"an object named {meta.name!r} already exists",
                        bucket=self.bucket,
                        name=meta.name,
                    )
            updated = current.model_copy(
                update={
                    "name": meta.name,
                    "description": meta.description,
                    "headers": meta.headers,
                    "metadata": meta.metadata,
                }
            )
            # Compare-and-set: a put that replaced the object meanwhile (and purged the
            # chunks this meta points to) is never overwritten by it.
            try:
                info = await self._publish_meta(updated, expected=seq)
            except PreconditionFailedError:
                if attempt < MAX_META_ATTEMPTS:
                    continue
                raise
            if meta.name != name:
                await self._js.purge(
                    self.stream,
                    meta_subject(self.bucket, name),
                    through=renamed_seq,
                    bucket=self.bucket,
                )
                await self._undo_rename_if_raced(name, info)
            return info
        raise AssertionError("unreachable")  # the last attempt raises

    async def _undo_rename_if_raced(self, old_name: str, renamed: ObjectInfo) -> None:
        """Take a rename back if another writer wrote ``old_name`` while it ran: that
        writer (a put or a delete) purges the chunks ``renamed`` points to."""
        raced, _ = await self._current(old_name)
        if raced is None:  # nothing, or a server marker: no other writer
            return
        # A tombstone without the NUID: the chunks may be another name's (a racing rename).
        tombstone = renamed.tombstone(keep_nuid=False)
        with contextlib.suppress(PreconditionFailedError):  # the new name moved on already
            await self._publish_meta(tombstone, expected=renamed.revision)
        raise PreconditionFailedError(
            f"object {old_name!r} was written by another client during its rename to"
            f" {renamed.name!r}; the rename was taken back",
            bucket=self.bucket,
            name=old_name,
        )

    async def delete(
        self,
        name: str,
        *,
        if_revision: int | None = None,
        tombstone_ttl: float | timedelta | None = None,
    ) -> ObjectInfo:
        """Delete an object: a tombstone meta, then the chunks are purged.

        Deleting a deleted object is a no-op that returns its tombstone; deleting a name
        that has no meta at all raises ObjectNotFoundError, as NATS object stores do
        (``Session.delete``, Sentry's model, takes both quietly). With ``if_revision`` the
        delete happens only if the object is at that revision (compare-and-set on the
        meta), so it never deletes a newer version. An unusable meta (``BadObjectMetaError``
        on read: another client's) gets a bare tombstone, and nothing is purged through it.

        The tombstone tells watchers and other clients the object is gone; it stays until
        the name is written again, unless ``tombstone_ttl`` (seconds or a timedelta, at
        least 1 s; buckets created with ``message_ttl``) has the server remove it after
        that long, so deleted names leave nothing behind. Watchers see the deletion when
        the tombstone is written.

        Raises:
            ObjectNotFoundError: there is no such object, live or deleted.
            PreconditionFailedError: the object is not at ``if_revision``.
            UnsupportedFeatureError: ``tombstone_ttl`` on a bucket without message TTLs.
        """
        validate_object_name(name)
        validate_revision(if_revision)
        ttl = None
        if tombstone_ttl is not None:
            ttl = self._message_ttls(tombstone_ttl, renewable=True, name=name)[1]
        for attempt in range(1, MAX_META_ATTEMPTS + 1):
            current, seq = await self._current(name)
            if not seq:
                raise ObjectNotFoundError(
                    f"object {name!r} not found in bucket {self.bucket!r}",
                    bucket=self.bucket,
                    name=name,
                )
            if if_revision is not None and seq != if_revision:
                raise PreconditionFailedError(
                    f"object {name!r} is at revision {seq}, not {if_revision}",
                    bucket=self.bucket,
                    name=name,
                )
            if current is None:
                # Unreadable meta of another client: replace it with a bare tombstone.
                current = ObjectInfo(name=name, bucket=self.bucket)
            if current.deleted:
                return current
            tombstone = current.tombstone()
            # Compare-and-set: a put that lands meanwhile is not hidden with its chunks kept.
            try:
                info = await self._publish_meta(tombstone, expected=seq, ttl=ttl)
            except PreconditionFailedError:
                if if_revision is None and attempt < MAX_META_ATTEMPTS:
                    continue
                raise
            await self._purge_chunks(current)
            return info
        raise AssertionError("unreachable")  # the last attempt raises

    async def add_link(self, name: str, target: ObjectInfo) -> ObjectInfo:
        """Add ``name`` as a link to the object ``target`` (in this or another bucket).

        Raises:
            NoLinkToDeletedError, NoLinkToLinkError, ObjectExistsError (a non-link named
            ``name`` exists; an existing link is replaced).
        """
        validate_object_name(name)
        if not isinstance(target, ObjectInfo) or not target.name:
            raise InvalidArgumentError("add_link needs the ObjectInfo of the object to link to")
        if target.deleted:
            raise NoLinkToDeletedError(
                "cannot link to a deleted object", bucket=self.bucket, name=name
            )
        if target.is_link:
            raise NoLinkToLinkError("cannot link to a link", bucket=self.bucket, name=name)
        link = ObjectLink(
            bucket=validate_bucket_name(target.bucket or self.bucket),
            name=validate_object_name(target.name),
        )
        return await self._publish_link(name, link)

    async def add_bucket_link(self, name: str, store: ObjectStore | str) -> ObjectInfo:
        """Add ``name`` as a link to a whole bucket."""
        validate_object_name(name)
        bucket = store.bucket if isinstance(store, ObjectStore) else store
        if not isinstance(bucket, str):
            raise InvalidArgumentError("add_bucket_link needs an ObjectStore or a bucket name")
        return await self._publish_link(name, ObjectLink(bucket=validate_bucket_name(bucket)))

    async def _publish_link(self, name: str, link: ObjectLink) -> ObjectInfo:
        existing = await self._find(name)
        if existing is not None and not existing.is_link:
            raise ObjectExistsError(
                f"an object named {name!r} exists and is not a link", bucket=self.bucket, name=name
            )
        info = ObjectInfo(
            name=name,
            bucket=self.bucket,
            nuid=new_nuid(),
            options=ObjectMetaOptions(link=link),
        )
        return await self._publish_meta(info)

    async def seal(self) -> ObjectStoreStatus:
        """Seal the bucket: from now on it is read-only, for good."""
        stream_info = await self._js.stream_info(self.stream, bucket=self.bucket)
        config = {**stream_info["config"], "sealed": True}
        answer = await self._js.api(f"STREAM.UPDATE.{self.stream}", config, bucket=self.bucket)
        return ObjectStoreStatus.from_stream_info(self.bucket, answer)

    # -- reads --------------------------------------------------------------------------

    async def _resolve(
        self, name: str, *, show_deleted: bool = False
    ) -> tuple[ObjectStore, ObjectInfo]:
        """The store and info of the object whose bytes ``name`` stands for (links followed)."""
        store: ObjectStore = self
        info = await self.get_info(name, show_deleted=show_deleted)
        for _ in range(_MAX_LINK_DEPTH):
            link = info.link
            if link is None:
                return store, info
            if link.is_bucket_link:
                raise LinkIsBucketError(
                    f"{name!r} is a link to bucket {link.bucket!r}, not to an object",
                    bucket=self.bucket,
                    name=name,
                )
            if link.bucket != store.bucket:
                store = await self._manager.object_store(link.bucket)
            assert link.name is not None
            info = await store.get_info(link.name)
        raise BadObjectMetaError(f"link {name!r} leads to a loop", bucket=self.bucket, name=name)

    def get(
        self,
        name: str,
        *,
        start: int | None = None,
        end: int | None = None,
        show_deleted: bool = False,
    ) -> ObjectResult:
        """Stream an object's bytes, or the byte range ``[start, end)`` (end-exclusive).

        Use as ``async with store.get(name) as result:``, then ``async for chunk in result``
        or ``await result.read()``; ``await store.get(name).read()`` opens, reads and closes
        in one step. Iterating the result (or ``await``-ing it) outside ``async with``
        raises NotOpenError: a loop abandoned midway would keep the read open.

        Links are followed. A whole-object read verifies size, chunk count and SHA-256
        digest when the last chunk arrives and raises ``DigestMismatchError``/
        ``IncompleteObjectError`` instead of ending quietly. A range read fetches only the
        chunks it needs; ``end`` past the object's end reads to its end, while ``start`` at
        or past the end of a non-empty object (HTTP 416) raises RangeNotSatisfiableError on
        opening (an empty object reads as ``b""`` from ``start=0``).
        """
        validate_object_name(name)
        for value, label in ((start, "start"), (end, "end")):
            if value is not None:
                check_int(value, label)
        check_bool(show_deleted, "show_deleted")
        if start is not None and end is not None and end < start:
            raise InvalidArgumentError(f"end ({end}) is before start ({start})")
        return ObjectResult(self, name, start=start or 0, end=end, show_deleted=show_deleted)

    async def get_bytes(self, name: str, **options: Any) -> bytes:
        """The object's bytes (verified). Options as for ``get``."""
        if not options:
            # Small objects are most gets: skip the streaming machinery for one chunk.
            target, info = await self._resolve(validate_object_name(name))
            single = await self._reader(target, info).single_chunk()
            if single is not None:
                return single
        async with self.get(name, **options) as result:
            return await result.read()

    @staticmethod
    def _reader(
        target: ObjectStore, info: ObjectInfo, start: int = 0, end: int | None = None
    ) -> ChunkReader:
        return ChunkReader(
            target._js,
            target.bucket,
            info,
            direct=target._direct,
            start=start,
            end=end,
            replicated=target._consistent_meta,
        )

    async def get_string(self, name: str, encoding: str = "utf-8", **options: Any) -> str:
        """The object's bytes decoded (UTF-8 by default).

        Raises:
            InvalidArgumentError: ``encoding`` is not a known text encoding.
            UnicodeDecodeError: the bytes are not text in that encoding.
        """
        try:
            codecs.lookup(check_text(encoding, "encoding"))
        except LookupError as exc:
            raise InvalidArgumentError(f"unknown encoding {encoding!r}") from exc
        return (await self.get_bytes(name, **options)).decode(encoding)

    async def get_file(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        progress: Callable[[ObjectInfo, int], object] | None = None,
        **options: Any,
    ) -> ObjectInfo:
        """Stream an object (or a range: options as for ``get``) into a local file.

        The bytes go to a temporary file beside ``path`` that replaces ``path`` only once
        the digest has been verified; on any failure no partial file is left. ``progress``
        is called with the object's info and 0 once the object is found, then with the
        size of every chunk written. Missing folders above ``path`` are created (as the CLI
        does) once the object is found; they stay if the read then fails.

        Raises:
            ObjectNotFoundError: no such object (nothing is created locally).
            LocalFileError: ``path`` is a folder, or it or its folder cannot be written
                (``LocalFileNotFoundError`` when a folder vanished meanwhile).
        """
        path = check_local_path(path)
        check_callable(progress, "progress")
        async with self.get(name, **options) as result:
            if progress is not None:
                progress(result.info, 0)
            await _make_room_for(path, name)
            # Beside the target (same file system, so the rename is atomic); created with
            # the usual umask-derived mode, unlike mkstemp's 0600.
            tmp = anyio.Path(path.parent / f".{path.name}.{new_nuid()}.part")
            try:
                async with await anyio.open_file(tmp, "xb") as out:
                    # Write in blocks: one worker-thread hop per chunk costs more than the
                    # writes themselves.
                    block: list[bytes] = []
                    pending = 0
                    async for chunk in result:
                        block.append(chunk)
                        pending += len(chunk)
                        if pending >= FILE_BLOCK_BYTES:
                            await anyio.to_thread.run_sync(out.wrapped.writelines, block)
                            block, pending = [], 0
                        if progress is not None:
                            progress(result.info, len(chunk))
                    await anyio.to_thread.run_sync(out.wrapped.writelines, block)
                await tmp.replace(path)
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    await tmp.unlink(missing_ok=True)
                if isinstance(exc, OSError) and not isinstance(exc, ObjectStoreError):
                    raise local_file_error(exc, f"cannot write {str(path)!r}", name=name) from exc
                raise
            return result.info

    # -- listing, watching, status ------------------------------------------------------

    async def list(
        self, *, prefix: str | None = None, show_deleted: bool = False
    ) -> list[ObjectInfo]:
        """Every object in the bucket, in the order they were last written.

        Reads the meta messages with batched Direct Get (no consumer). Entries that are not
        usable object meta (``BadObjectMetaError`` on read) are skipped. An empty bucket
        gives [].
        """
        if prefix is not None:
            check_text(prefix, "prefix")
        check_bool(show_deleted, "show_deleted")
        infos: list[ObjectInfo] = []
        for msg in (await self._latest_metas()).values():
            if not msg.data:
                continue  # delete markers and other empty messages
            try:
                info = self._parse(msg)
            except BadObjectMetaError:
                continue
            if info.deleted and not show_deleted:
                continue
            if prefix and not info.name.startswith(prefix):
                continue
            infos.append(info)
        return infos

    async def _latest_metas(self) -> dict[str, StoredMsg]:
        """The newest meta message of every subject, in the order they were last written
        (one batched Direct Get scan, no consumer)."""
        latest: dict[str, StoredMsg] = {}
        async for msg in self._js.next_msgs(
            self.stream,
            meta_subject_filter(self.bucket),
            start_seq=0,
            batch=_LIST_RUN,
            max_bytes=8 * 1024 * 1024,
            direct=self._direct,
            bucket=self.bucket,
        ):
            latest.pop(msg.subject, None)  # keep the newest, in its own position
            latest[msg.subject] = msg
        return latest

    async def sweep_orphans(
        self, *, grace: float | timedelta = DEFAULT_SWEEP_GRACE, dry_run: bool = False
    ) -> SweepReport:
        """Find and purge chunks that no live meta references; report what was found.

        Orphans are left by writers that crashed between their chunks and their meta (any
        client), by purges that failed, and by metas that expired before their chunks.
        Safe while writers are active: only chunk subjects whose newest chunk is older than
        ``grace`` (seconds or a timedelta) are touched, the metas are read again before
        purging, and a purge never reaches past the chunks examined. Reads stream info and
        the metas, never the chunks (except the first and last chunk of each orphan, for
        its size). ``dry_run`` reports without purging.

        Raises:
            InvalidArgumentError: ``grace`` is negative or not a duration.
            BucketNotFoundError, PermissionDeniedError, ServerError.
        """
        return await sweep_orphans(self, grace=grace, dry_run=check_bool(dry_run, "dry_run"))

    def watch(
        self,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        updates_only: bool = False,
    ) -> ObjectWatcher:
        """Watch changes to the bucket's objects.

        Use as ``async with store.watch() as watcher: async for info in watcher``. By default
        the current value of every object comes first, then ``None`` once, then live
        changes. ``include_history`` replays every change instead; ``updates_only`` skips
        the initial values (and the ``None``); ``ignore_deletes`` drops deletions.
        Iterating (or ``await``-ing) the watcher without ``async with`` raises NotOpenError:
        the consumer would outlive a loop left early.

        Raises:
            InvalidArgumentError: include_history with updates_only, or a non-bool option.
        """
        return ObjectWatcher(
            self,
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )

    async def status(self) -> ObjectStoreStatus:
        """The bucket's configuration, size and policy (``self.policy`` is refreshed)."""
        stream_info = await self._js.stream_info(self.stream, bucket=self.bucket)
        self._manager._remember_policy(self.bucket, stream_info)
        return ObjectStoreStatus.from_stream_info(self.bucket, stream_info)

    # -- Supabase Storage's object API (implemented in _objects and _listing) --------------

    async def upload(
        self,
        meta: ObjectMeta | str,
        data: PutData,
        *,
        upsert: bool = False,
        content_type: str | None = None,
        **options: Any,
    ) -> ObjectInfo:
        """Store a new object; unless ``upsert``, refuse to replace a live one (the check
        is a compare-and-set, so of two racing uploads exactly one wins). The content type
        (given, or guessed from the name) is always recorded. Options as for ``put``.

        Raises:
            ObjectExistsError: the name is taken and ``upsert`` is off.
            ObjectTooLargeError, InvalidMimeTypeError: the bucket policy refuses it.
        """
        check_put_data(data)
        check_bool(upsert, "upsert")
        return await upload_object(
            self, meta, data, upsert=upsert, content_type=content_type, **options
        )

    async def update(
        self,
        meta: ObjectMeta | str,
        data: PutData,
        *,
        content_type: str | None = None,
        **options: Any,
    ) -> ObjectInfo:
        """Replace the data of an existing object (conditional on the revision it read).

        Raises:
            ObjectNotFoundError: there is no live object of that name.
            PreconditionFailedError: it changed or was deleted while the data uploaded.
        """
        check_put_data(data)
        return await update_object(self, meta, data, content_type=content_type, **options)

    async def copy(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        metadata: Mapping[str, str] | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """Copy ``source`` to ``destination`` in this bucket or in ``to_store``.

        The bytes are copied (streamed and verified), with description, headers (content
        type included) and metadata, unless ``metadata`` replaces the metadata map. A link
        is copied as a link to the same target. The copy is a new object (its own creation
        time) and invisible until its meta commits; the destination's policy applies.

        Raises:
            ObjectNotFoundError: no such source.
            ObjectExistsError: the destination exists and ``upsert`` is off.
        """
        _check_transfer(source, destination, to_store, upsert)
        if metadata is not None:
            metadata = check_metadata(metadata)
        return await copy_object(
            self, source, destination, to_store=to_store, metadata=metadata, upsert=upsert
        )

    async def move(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """Move (rename) ``source`` to ``destination``, in this bucket or into ``to_store``.

        Within a bucket no data is copied: a meta under the new name points at the same
        chunks, then the old name gets a tombstone. Across buckets the object is copied,
        then the source deleted. Either way the destination appears whole or not at all,
        keeps the creation time, and the source goes only after it has appeared.

        Raises:
            ObjectNotFoundError: no such source.
            ObjectExistsError: the destination exists and ``upsert`` is off.
            PreconditionFailedError: the source changed during the move (the destination
                holds the version that was moved; the newer source is kept).
        """
        _check_transfer(source, destination, to_store, upsert)
        return await move_object(self, source, destination, to_store=to_store, upsert=upsert)

    async def list_page(
        self,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        search: str | None = None,
        sort_by: SortBy = "name",
        order: SortOrder = "asc",
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
        show_deleted: bool = False,
    ) -> ObjectPage:
        """One page of the objects whose names start with ``prefix``.

        ``delimiter`` (usually ``"/"``) lists one level: deeper names are folded into
        ``folders`` (all of them, on the first page). ``search`` keeps names that, after
        the prefix, start with it (case-insensitive, as Supabase's search). Sorted by
        ``name``, ``size``, ``created`` or ``updated``, ties by name; ``limit`` (1 to
        10,000) and ``offset`` cut the page; ``next_cursor`` continues after it.

        One pass over the metas with batched Direct Get; memory grows with the page, not
        the bucket (see BENCHMARKS.md for 100,000 objects).
        """
        return await list_page(
            self,
            prefix=prefix,
            delimiter=delimiter,
            search=search,
            sort_by=sort_by,
            order=order,
            limit=limit,
            offset=offset,
            cursor=cursor,
            show_deleted=show_deleted,
        )

    async def delete_many(self, names: Iterable[str]) -> builtins.list[DeleteResult]:
        """Delete every name (up to 32 at once); one result per name, in order, with the
        tombstone or the error (``ObjectNotFoundError`` for a name that never existed).

        Raises:
            InvalidArgumentError, InvalidObjectNameError: ``names`` is a str, or one of
                them is not a valid name (nothing is deleted).
        """
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise InvalidArgumentError("delete_many takes a list of names, not a str")
        names = [validate_object_name(name) for name in names]
        return await delete_many(self, names)

    async def delete_prefix(self, prefix: str) -> builtins.list[DeleteResult]:
        """Delete every live object whose name starts with ``prefix`` (a "folder" when it
        ends with ``/``); one result per object, in name order. Use ``empty`` to clear the
        whole bucket.

        Raises:
            InvalidArgumentError: ``prefix`` is empty.
        """
        if not isinstance(prefix, str) or not prefix:
            raise InvalidArgumentError("delete_prefix needs a non-empty prefix (use empty())")
        return await delete_many(self, await live_names(self, prefix))

    async def empty(self) -> int:
        """Remove every object, keep the bucket and its policy (a stream purge: immediate).
        Returns the number of messages purged."""
        answer = await self._js.api(f"STREAM.PURGE.{self.stream}", {}, bucket=self.bucket)
        return int(answer.get("purged", 0))


class ReadResult(RequiresAsyncWith):
    """Bytes read inside ``async with``: iterate them or ``read()`` them; leaving the block
    stops the read and releases what it held (shielded from cancellation).

    Outside the block only ``read()`` works: it opens the read and closes it itself.
    Iterating or ``await``-ing outside raises NotOpenError, which names the right form: a
    loop abandoned midway would hold the read's subscription until garbage collection.
    """

    _usage = "async with ... as result: async for chunk in result"

    def __init__(self) -> None:
        self._chunks: AsyncIterator[bytes] | None = None
        self._sources: list[Any] = []  # the read's async generators, closed last to first
        self._used = False

    async def _open(self) -> AsyncIterator[bytes]:
        """Start the read: the bytes (generators the read holds go into ``_sources``)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._used:
            raise NotOpenError(f"a {type(self).__name__} is opened once: ask for a new one")
        self._used = True
        self._chunks = await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the read and release what it holds (shielded from cancellation)."""
        self._chunks = None
        sources, self._sources = self._sources, []
        with anyio.CancelScope(shield=True):
            for source in reversed(sources):
                await source.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:
            raise self._not_open()
        return await self._chunks.__anext__()

    async def read(self) -> bytes:
        """All remaining bytes, verified; outside ``async with``, all of them."""
        if not self._used:
            async with self:
                return await self.read()
        return b"".join([chunk async for chunk in self])


class ObjectResult(ReadResult):
    """A streaming read of one object (see ``ObjectStore.get``); ``info`` is its meta.

    ``async with store.get(name) as result``, then ``async for chunk in result`` or
    ``await result.read()``; or, in one step, ``await store.get(name).read()``.
    """

    _usage = (
        "async with store.get(name) as result: async for chunk in result; "
        "or await store.get(name).read(), or await store.get_bytes(name)"
    )

    def __init__(
        self, store: ObjectStore, name: str, *, start: int, end: int | None, show_deleted: bool
    ):
        super().__init__()
        self._store = store
        self._name = name
        self._start = start
        self._end = end
        self._show_deleted = show_deleted
        self._info: ObjectInfo | None = None

    @property
    def info(self) -> ObjectInfo:
        if self._info is None:
            raise self._not_open()
        return self._info

    async def _open(self) -> AsyncIterator[bytes]:
        target, info = await self._store._resolve(self._name, show_deleted=self._show_deleted)
        if self._start and self._start >= info.size:
            raise RangeNotSatisfiableError(
                f"the range starts at byte {self._start}, past the end of {self._name!r}"
                f" ({info.size} bytes)",
                size=info.size,
                bucket=self._store.bucket,
                name=self._name,
            )
        self._info = info
        if info.deleted:
            return _empty()
        chunks = target._reader(target, info, self._start, self._end).chunks()
        self._sources.append(chunks)
        return chunks


def _check_transfer(source: str, destination: str, to_store: object, upsert: object) -> None:
    """The arguments a copy or move shares."""
    validate_object_name(source)
    validate_object_name(destination)
    if to_store is not None and not isinstance(to_store, ObjectStore):
        raise InvalidArgumentError(
            f"to_store must be an ObjectStore, got {type(to_store).__name__}"
        )
    check_bool(upsert, "upsert")


def _acknowledged(info: ObjectInfo, revision: int) -> ObjectInfo:
    """``info`` as the server stored it at stream sequence ``revision``. Its ``mtime`` is this
    client's clock when the answer came, as nats.go sets it. The server's own stamp (what
    ``get_info`` and ``list`` return; it differs by the clock skew and up to a round trip)
    would cost a request more per write: a quarter fewer sequential 1 KiB puts (measured)."""
    return info.model_copy(update={"revision": revision, "mtime": datetime.now(UTC)})


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
