"""ObjectStore: one bucket, every ADR-20 operation, plus byte-range reads.

A facade: each method checks its arguments where that is all it adds and hands the work to
the bucket core (``_bucket/_core.py``) and the operations beside it (``_bucket/``).
"""

from __future__ import annotations

import builtins
import codecs
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Unpack

from ._bucket._core import BucketCore
from ._bucket._feed import (
    DEFAULT_ACK_WAIT,
    DEFAULT_MAX_DELIVER,
    ChangeFeed,
    DeadLetter,
    EventKind,
)
from ._bucket._feeds import Deliver, FeedInfo, delete_feed, feed_info, list_feeds, reset_feed
from ._bucket._get import GetOptions, ObjectResult, ReadResult, open_result, save
from ._bucket._index import DEFAULT_MAX_STALENESS, ListingIndex
from ._bucket._listing import ObjectPage, SortBy, SortOrder, list_objects, list_page, live_names
from ._bucket._meta import add_link, delete, link_to_object, seal, update_meta
from ._bucket._objects import (
    DeleteResult,
    copy_object,
    delete_many,
    move_object,
    update_object,
    upload_object,
)
from ._bucket._put import PutOptions, UploadOptions, put, put_file
from ._bucket._sweep import DEFAULT_SWEEP_GRACE, SweepReport, sweep_orphans
from ._bucket._watch import ObjectWatcher
from ._checks import (
    check_bool,
    check_callable,
    check_local_path,
    check_metadata,
    check_put_data,
    check_text,
)
from ._errors import InvalidArgumentError
from ._models import ObjectInfo, ObjectLink, ObjectMeta, ObjectStoreStatus
from ._policy import BucketPolicy
from ._source import PutData
from ._wire import validate_bucket_name, validate_object_name

__all__ = ["ObjectResult", "ObjectStore", "ReadResult"]


class ObjectStore:
    """A bucket of objects, backed by the JetStream stream ``OBJ_<bucket>``.

    Get one from ``ObjectStoreManager.create_object_store`` or ``object_store``.

    One name per operation: ``put`` writes, ``get``/``get_bytes``/``get_file`` read,
    ``get_info`` looks up, ``update_meta`` changes the meta, ``delete`` deletes, ``list``
    lists (the ADR-20 names, as nats.go has them). The Supabase Storage names beside them
    (``upload``, ``update``, ``move``, ``copy``, ``list_page``, ``delete_many``,
    ``delete_prefix``, ``empty``) carry Supabase's rules; each docstring says how it
    differs and which to prefer. docs/guide.md has the table.
    """

    def __init__(self, core: BucketCore):
        self._core = core
        self.bucket = core.bucket
        self.stream = core.stream

    def __repr__(self) -> str:
        return f"ObjectStore(bucket={self.bucket!r})"

    @property
    def policy(self) -> BucketPolicy:
        """The bucket policy as last read, by any handle of this manager; puts enforce it
        as the bucket has it now, give or take ``POLICY_MAX_AGE`` (about a second)."""
        return self._core.policy

    @property
    def read_only(self) -> bool:
        """Whether the bucket is a mirror (``create_object_store_mirror``): every read
        works, every write raises ReadOnlyStoreError before anything is sent."""
        return self._core.mirror is not None

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
        """Store an object, replacing any object of the same name: the one write to use
        (``put_bytes``, ``put_string``, ``upload`` and ``update`` are narrower spellings).

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
            ObjectTooLargeError, InvalidMimeTypeError, BucketSealedError,
            BucketNotFoundError, UnsupportedFeatureError (``ttl`` on a bucket without
            message TTLs), ServerError.
            PreconditionFailedError: not at ``if_revision``, or other writers of the name
                won every one of the manager's ``cas_attempts``.
        """
        return await put(
            self._core,
            meta,
            data,
            chunk_size=chunk_size,
            max_inflight_bytes=max_inflight_bytes,
            ttl=ttl,
            renewable=renewable,
            content_type=content_type,
            if_revision=if_revision,
        )

    async def put_bytes(self, name: str, data: bytes, **options: Unpack[PutOptions]) -> ObjectInfo:
        """``put(name, data, **options)``: nats.go's ``PutBytes`` name, kept for code
        written against it. ``put`` takes bytes directly: prefer ``put``."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgumentError(f"put_bytes takes bytes, got {type(data).__name__}")
        return await put(self._core, name, data, **options)

    async def put_string(self, name: str, data: str, **options: Unpack[PutOptions]) -> ObjectInfo:
        """``put(name, data, **options)``, ``data`` stored as UTF-8: nats.go's ``PutString``
        name, kept for code written against it. ``put`` takes a str directly (also UTF-8):
        prefer ``put``."""
        return await put(self._core, name, check_text(data, "data").encode("utf-8"), **options)

    async def put_file(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        meta: ObjectMeta | None = None,
        progress: Callable[[int], object] | None = None,
        **options: Unpack[PutOptions],
    ) -> ObjectInfo:
        """Stream a local file into the store; the name defaults to the file's name.

        The file is read in blocks of ``FILE_BLOCK_BYTES`` (or the chunk size, if larger)
        in a worker thread; ``progress`` is called with the size of every block read.
        Options as for ``put``.

        Raises:
            LocalFileNotFoundError: there is no such file (also a ``FileNotFoundError``).
            LocalFileError: the file cannot be read (also an ``OSError``).
        """
        return await put_file(self._core, path, name, meta=meta, progress=progress, **options)

    async def upload(
        self,
        meta: ObjectMeta | str,
        data: PutData,
        *,
        upsert: bool = False,
        content_type: str | None = None,
        **options: Unpack[UploadOptions],
    ) -> ObjectInfo:
        """Supabase-style alias of ``put`` (supabase-js ``upload``). Prefer ``put``; use
        this where Supabase's rules are wanted (a gateway, code ported from supabase-js).

        Differs from ``put``: unless ``upsert``, it refuses to replace a live object with
        ``ObjectExistsError`` (a compare-and-set, so of two racing uploads exactly one
        wins; ``put(..., if_revision=0)`` does the same with ``PreconditionFailedError``),
        and the content type (given, or guessed from the name) is always recorded in the
        headers. Options as for ``put``.

        Raises:
            ObjectExistsError: the name is taken and ``upsert`` is off.
            ObjectTooLargeError, InvalidMimeTypeError: the bucket policy refuses it.
        """
        check_put_data(data)
        check_bool(upsert, "upsert")
        return await upload_object(
            self._core, meta, data, upsert=upsert, content_type=content_type, **options
        )

    async def update(
        self,
        meta: ObjectMeta | str,
        data: PutData,
        *,
        content_type: str | None = None,
        **options: Unpack[UploadOptions],
    ) -> ObjectInfo:
        """Supabase-style alias of ``put`` (supabase-js ``update``). Prefer ``put``, with
        ``if_revision=`` when you hold the revision you mean to replace.

        Differs from ``put``: it replaces only an existing object (it reads the revision
        and puts with ``if_revision=`` it), so a missing name is an error rather than
        created, and the content type is always recorded in the headers.

        Raises:
            ObjectNotFoundError: there is no live object of that name.
            PreconditionFailedError: it changed or was deleted while the data uploaded.
        """
        check_put_data(data)
        return await update_object(self._core, meta, data, content_type=content_type, **options)

    async def update_meta(self, name: str, meta: ObjectMeta) -> ObjectInfo:
        """Change an object's name, description, headers and metadata (all replaced, as
        ADR-20's ``UpdateMeta``): the one to use to change description, headers or
        metadata. To rename and keep them, or to move to another bucket, use ``move``.

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
        return await update_meta(self._core, name, meta)

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
        return await delete(self._core, name, if_revision=if_revision, tombstone_ttl=tombstone_ttl)

    async def add_link(self, name: str, target: ObjectInfo) -> ObjectInfo:
        """Add ``name`` as a link to the object ``target`` (in this or another bucket).

        Raises:
            NoLinkToDeletedError, NoLinkToLinkError, ObjectExistsError (a non-link named
            ``name`` exists; an existing link is replaced).
        """
        validate_object_name(name)
        return await add_link(self._core, name, link_to_object(self._core, name, target))

    async def add_bucket_link(self, name: str, store: ObjectStore | str) -> ObjectInfo:
        """Add ``name`` as a link to a whole bucket."""
        validate_object_name(name)
        bucket = store.bucket if isinstance(store, ObjectStore) else store
        if not isinstance(bucket, str):
            raise InvalidArgumentError("add_bucket_link needs an ObjectStore or a bucket name")
        return await add_link(self._core, name, ObjectLink(bucket=validate_bucket_name(bucket)))

    async def seal(self) -> ObjectStoreStatus:
        """Seal the bucket: from now on it is read-only, for good."""
        return await seal(self._core)

    # -- reads --------------------------------------------------------------------------

    async def get_info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The current meta of ``name``; mtime is the server's time of the last change.

        Raises:
            ObjectNotFoundError: no such object, or it is deleted and ``show_deleted`` is off.
            BadObjectMetaError: the stored meta cannot be read or used (see
                ``ObjectInfo.from_message``).
        """
        validate_object_name(name)
        return await self._core.info(name, show_deleted=check_bool(show_deleted, "show_deleted"))

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
        return open_result(self._core, name, start=start, end=end, show_deleted=show_deleted)

    async def get_bytes(self, name: str, **options: Unpack[GetOptions]) -> bytes:
        """The object's bytes (verified). Options as for ``get``.

        The chunks are written into one buffer of the size the meta gives as they arrive,
        so memory holds the object once (plus the chunks in flight), not twice; chunks
        that add up to more or fewer bytes raise IncompleteObjectError.
        """
        return await self.get(name, **options).read()

    async def get_string(
        self, name: str, encoding: str = "utf-8", **options: Unpack[GetOptions]
    ) -> str:
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
        **options: Unpack[GetOptions],
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
        return await save(self.get(name, **options), path, progress)

    # -- listing, watching, status ------------------------------------------------------

    async def list(
        self, *, prefix: str | None = None, show_deleted: bool = False
    ) -> list[ObjectInfo]:
        """Every object in the bucket, in the order they were last written.

        Reads each object's newest meta once (one batched Direct Get up to 1,000 objects,
        else a consumer of the newest metas, deleted when done). Entries that are not usable
        object meta (``BadObjectMetaError`` on read) are skipped. An empty bucket gives [].
        """
        return await list_objects(self._core, prefix, show_deleted)

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
        """One page of the objects whose names start with ``prefix`` (Supabase-style
        ``list``): the one to use for pages, sorting, search and folders. ``list`` (ADR-20)
        returns every object at once, unsorted.

        ``delimiter`` (usually ``"/"``) lists one level: deeper names are folded into
        ``folders`` (all of them, on the first page). ``search`` keeps names that, after
        the prefix, start with it (case-insensitive, as Supabase's search). Sorted by
        ``name``, ``size``, ``created`` or ``updated``, ties by name; ``limit`` (1 to
        10,000) and ``offset`` cut the page; ``next_cursor`` continues after it.

        One pass over the metas, read as ``list`` reads them; memory grows with the page,
        not the bucket (see BENCHMARKS.md for 100,000 objects).
        """
        return await list_page(
            self._core,
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

    def index(self, *, max_staleness: float = DEFAULT_MAX_STALENESS) -> ListingIndex:
        """A live listing index of the bucket, for processes that list it often. Use as
        ``async with store.index() as index: page = await index.list_page(...)``.
        Entering loads the newest meta of every object once; the index then follows every
        meta write (by any client) through an ordered consumer, and answers ``list_page``
        queries (same arguments, pages and cursors as ``ObjectStore.list_page``) from
        memory in milliseconds. A query sees every write acknowledged at least
        ``max_staleness`` seconds before it began (0: every write acknowledged before it,
        at one round trip per query). About 220 bytes of memory per object. See
        ``ListingIndex`` and docs/guide.md. InvalidArgumentError: a bad ``max_staleness``.
        """
        return ListingIndex(self._core, max_staleness=max_staleness)

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
            self._core,
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )

    def changes(
        self,
        name: str,
        *,
        deliver: Deliver = "new",
        kinds: Collection[EventKind] | None = None,
        prefix: str = "",
        ack_wait: float | timedelta = DEFAULT_ACK_WAIT,
        max_deliver: int | None = DEFAULT_MAX_DELIVER,
        coalesce: bool = False,
        on_dead_letter: DeadLetter | None = None,
        exclusive: bool = False,
    ) -> ChangeFeed:
        """A durable change feed ``name``: for services that must handle every change once
        (``watch`` is for caches and UIs: it replays or misses across restarts).
        ``async with store.changes("thumbs") as feed: async for event in feed: ...; await
        event.ack()``. Every replica that opens the same ``name`` shares the events (each
        goes to one; an event not settled within ``ack_wait`` goes to another); after a
        restart the feed resumes after the last acknowledged event. ``deliver`` (``"new"``,
        ``"all"``, a revision or a timezone-aware datetime) says where a feed that does not
        exist yet starts. ``kinds`` and ``prefix`` drop other events on the client (each
        still costs its delivery and acknowledgement: names are encoded in subjects, the
        server cannot filter by prefix). ``coalesce`` acknowledges, unseen, an event whose
        object has a newer change (one meta read per event). An event delivered more than
        ``max_deliver`` times goes to ``on_dead_letter`` and the feed moves on.
        ``exclusive`` pins one replica at a time (server 2.11+ priority groups). What is
        ordered and what is not: docs/changes.md and ``ChangeFeed``.

        Raises:
            InvalidArgumentError: a bad option, or ``name`` is a consumer that is no feed.
        """
        return ChangeFeed(
            self._core,
            name,
            deliver=deliver,
            kinds=kinds,
            prefix=prefix,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            coalesce=coalesce,
            on_dead_letter=on_dead_letter,
            exclusive=exclusive,
        )

    async def feeds(self) -> builtins.list[FeedInfo]:
        """Every change feed of the bucket, by name."""
        return await list_feeds(self._core)

    async def feed_info(self, name: str) -> FeedInfo:
        """Feed ``name``'s state: pending, redelivered, last acknowledged revision
        (FeedNotFoundError if there is no such feed)."""
        return await feed_info(self._core, name)

    async def reset_feed(self, name: str, to: int | datetime) -> FeedInfo:
        """Move feed ``name`` to the first change at or after revision ``to``, or stored at
        or after the (timezone-aware) time ``to``; unsettled events are forgotten. Needs
        nats-server 2.14+ (UnsupportedFeatureError before); FeedNotFoundError if there is
        no such feed."""
        return await reset_feed(self._core, name, to)

    async def delete_feed(self, name: str) -> None:
        """Delete feed ``name`` and its position; its open handles end with
        FeedNotFoundError, as does this call if there is no such feed."""
        await delete_feed(self._core, name)

    async def status(self) -> ObjectStoreStatus:
        """The bucket's configuration, size and policy (``self.policy`` is refreshed)."""
        stream_info = await self._core.js.stream_info(self.stream, bucket=self.bucket)
        self._core.remember(stream_info)
        return ObjectStoreStatus.from_stream_info(self.bucket, stream_info)

    # -- Supabase Storage's object API ------------------------------------------------

    async def copy(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        metadata: Mapping[str, str] | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """Copy ``source`` to ``destination`` in this bucket or in ``to_store``
        (Supabase-style ``copy``; ADR-20 has no copy).

        The bytes are copied (streamed and verified), with description, headers (content
        type included) and metadata, unless ``metadata`` replaces the metadata map. A link
        is copied as a link to the same target. The copy is a new object (its own creation
        time) and invisible until its meta commits; the destination's policy applies.

        Raises:
            ObjectNotFoundError: no such source.
            ObjectExistsError: the destination exists and ``upsert`` is off.
        """
        to_core = _check_transfer(source, destination, to_store, upsert)
        if metadata is not None:
            metadata = check_metadata(metadata)
        return await copy_object(
            self._core, source, destination, to_core=to_core, metadata=metadata, upsert=upsert
        )

    async def move(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """Move (rename) ``source`` to ``destination``, in this bucket or into ``to_store``
        (Supabase-style ``move``): the one to use to rename an object.

        Differs from renaming with ``update_meta`` (which replaces description, headers and
        metadata with those given): it keeps them and the creation time, leaves a tombstone
        on the old name (watchers see it go; ``update_meta`` purges it without an event),
        crosses buckets, and ``upsert`` decides whether it may replace ``destination``.

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
        to_core = _check_transfer(source, destination, to_store, upsert)
        return await move_object(self._core, source, destination, to_core=to_core, upsert=upsert)

    async def delete_many(self, names: Iterable[str]) -> builtins.list[DeleteResult]:
        """Delete every name (up to 32 at once); one result per name, in order, with the
        tombstone or the error (``ObjectNotFoundError`` for a name that never existed).

        Supabase-style ``remove``: ``delete`` for many names, each as ``delete`` does it;
        failures are results, not raised.

        Raises:
            InvalidArgumentError, InvalidObjectNameError: ``names`` is a str, or one of
                them is not a valid name (nothing is deleted).
        """
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise InvalidArgumentError("delete_many takes a list of names, not a str")
        names = [validate_object_name(name) for name in names]
        return await delete_many(self._core, names)

    async def delete_prefix(self, prefix: str) -> builtins.list[DeleteResult]:
        """Delete every live object whose name starts with ``prefix`` (a "folder" when it
        ends with ``/``); one result per object, in name order. Use ``empty`` to clear the
        whole bucket.

        Raises:
            InvalidArgumentError: ``prefix`` is empty.
        """
        if not isinstance(prefix, str) or not prefix:
            raise InvalidArgumentError("delete_prefix needs a non-empty prefix (use empty())")
        return await delete_many(self._core, await live_names(self._core, prefix))

    async def empty(self) -> int:
        """Remove every object, keep the bucket and its policy (a stream purge: immediate).
        Returns the number of messages purged.

        Supabase-style ``emptyBucket``. Unlike ``delete_prefix`` it writes no tombstones,
        so watchers get no event for the objects it removes."""
        self._core.check_writable()
        answer = await self._core.js.api(f"STREAM.PURGE.{self.stream}", {}, bucket=self.bucket)
        return int(answer.get("purged", 0))

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

        The one write a mirror takes (``create_object_store_mirror``): the origin's purges
        are not mirrored, so what the origin replaced or deleted is orphaned there.

        Raises:
            InvalidArgumentError: ``grace`` is negative or not a duration.
            ReadOnlyStoreError: a mirror that has not caught up with its origin.
            BucketNotFoundError, PermissionDeniedError, ServerError.
        """
        return await sweep_orphans(self._core, grace=grace, dry_run=check_bool(dry_run, "dry_run"))


def _check_transfer(
    source: str, destination: str, to_store: object, upsert: object
) -> BucketCore | None:
    """The arguments a copy or move shares; the destination bucket's core (None: this)."""
    validate_object_name(source)
    validate_object_name(destination)
    if to_store is not None and not isinstance(to_store, ObjectStore):
        raise InvalidArgumentError(
            f"to_store must be an ObjectStore, got {type(to_store).__name__}"
        )
    check_bool(upsert, "upsert")
    return None if to_store is None else to_store._core
