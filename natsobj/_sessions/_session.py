"""Usecases, scopes and sessions: Sentry Objectstore's client model on the object store.

A usecase is a bucket (stream ``OBJ_<usecase>``) whose defaults (compression, expiration
policy) live in the stream's metadata, so every client sees them. A scope is an ordered
path of ``key=value`` components within it (``_scope`` says how scope and key make an
object name). ``Session`` is the facade over one scope; the operations it shares with
``Many`` are in ``_ops``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Unpack

from .._bucket._feed import DEFAULT_ACK_WAIT, DEFAULT_MAX_DELIVER, DeadLetter
from .._bucket._feeds import Deliver
from .._errors import InvalidArgumentError
from .._expiration import ExpirationPolicy, expired
from .._manager import ObjectStoreManager
from .._models import ObjectInfo
from .._source import PutData
from .._wire import validate_bucket_name
from . import _expiry, _ops
from ._compression import Compression, validate_compression
from ._feed import SessionFeed
from ._many import Many
from ._ops import GetResponse, SessionContext, UsecaseBucket
from ._scope import (
    ObjectMetadata,
    SessionPutOptions,
    scope_component,
    scope_prefix,
    validate_key,
    validate_policy,
)
from ._watch import SessionWatcher

__all__ = ["Scope", "Session", "Usecase"]


class Usecase:
    """A namespace with its own defaults, stored as the bucket ``name``.

    ``compression`` (``"zstd"`` or ``"none"``) and ``expiration_policy`` are the defaults
    for puts through this object; left as None, they come from the bucket (as the client
    that created it set them), else zstd and manual expiration. The bucket is created on
    first use with per-message TTLs (server 2.11+) and the defaults in its metadata.

    Raises:
        InvalidBucketNameError: ``name`` has characters other than ``A-Za-z0-9_-``.
        InvalidArgumentError: a bad default.
    """

    def __init__(
        self,
        name: str,
        *,
        expiration_policy: ExpirationPolicy | None = None,
        compression: Compression | None = None,
    ):
        self.name = validate_bucket_name(name)
        self.expiration_policy = validate_policy(expiration_policy)
        self.compression = None if compression is None else validate_compression(compression)

    def __repr__(self) -> str:
        return f"Usecase({self.name!r})"

    def scope(self) -> Scope:
        """The empty scope: objects of the usecase as a whole."""
        return Scope(self, ())

    def for_organization(self, org: int | str) -> Scope:
        """The scope ``org=<org>``."""
        return self.scope().push("org", org)

    def for_project(self, org: int | str, project: int | str) -> Scope:
        """The scope ``org=<org>/project=<project>`` (org first, as recommended)."""
        return self.for_organization(org).push("project", project)


@dataclass(frozen=True)
class Scope:
    """An ordered path of ``key=value`` components within a usecase.

    ``org=42/project=1337`` and ``project=1337/org=42`` are different scopes.
    """

    usecase: Usecase
    components: tuple[tuple[str, str], ...]

    def push(self, key: str, value: int | str) -> Scope:
        """This scope with ``key=value`` appended.

        Raises:
            InvalidScopeError: empty, too long (over 128 characters), or a character outside
                ``A-Z a-z 0-9 _ - ( ) $ ! + '``.
        """
        pair = (scope_component(key, "key"), scope_component(value, "value"))
        return Scope(self.usecase, (*self.components, pair))

    def __str__(self) -> str:
        """Matrix syntax, as Sentry writes scopes in URLs: ``org=42;project=1337`` (``_``
        for the empty scope)."""
        return ";".join(f"{k}={v}" for k, v in self.components) or "_"

    @property
    def prefix(self) -> str:
        """The object-name prefix of every key in this scope (and no other)."""
        return scope_prefix(self.components)

    def session(self, manager: ObjectStoreManager) -> Session:
        """A session for this usecase and scope over ``manager``'s connection."""
        return Session(manager, self)


class Session:
    """A usecase and scope over one connection: put, get, head, delete, list, many.

    Sessions are cheap; the connection (``natsobj.connect``) is the long-lived client,
    safe to share across tasks. Keys are scoped: nothing here reaches another scope.
    """

    def __init__(self, manager: ObjectStoreManager, scope: Scope):
        if not isinstance(manager, ObjectStoreManager):
            raise InvalidArgumentError(
                f"a session needs an ObjectStoreManager (natsobj.connect), got {manager!r}"
            )
        if not isinstance(scope, Scope):
            raise InvalidArgumentError(f"a session needs a Scope, got {scope!r}")
        self.manager = manager
        self.scope = scope
        self.usecase = scope.usecase
        self._context = SessionContext(manager, scope.usecase, scope.prefix, str(scope))

    def __repr__(self) -> str:
        return f"Session(usecase={self.usecase.name!r}, scope={str(self.scope)!r})"

    def object_name(self, key: str) -> str:
        """The object-store name that holds ``key`` in this scope."""
        return self._context.object_name(key)

    async def bucket(self) -> UsecaseBucket:
        """The usecase's bucket and its stored defaults (opened once per connection)."""
        return await self._context.bucket()

    # -- writes ---------------------------------------------------------------------------

    async def put(
        self, contents: PutData, key: str | None = None, **options: Unpack[SessionPutOptions]
    ) -> str:
        """Store ``contents`` (bytes, str, a binary file, an async iterable of bytes) under
        ``key`` in this scope and return the key (a UUID4 when none is given).

        The options (``SessionPutOptions``): ``compression`` and ``expiration_policy``
        override the usecase defaults; ``compression="none"`` suits data that is already
        compressed. ``metadata`` is custom string key/values; ``origin`` (e.g. the
        uploader's IP), ``content_type`` and ``filename`` are stored too. All of it comes
        back from ``get``/``head``.
        Guarantees as ``ObjectStore.put``: readers see the old object or the new one.

        Raises:
            InvalidArgumentError: a bad argument (before anything is sent).
            UnsupportedFeatureError: an expiring policy on a server before 2.11 or on a
                bucket created without message TTLs; zstd without ``zstandard``.
            ServerError: the server failed.
        """
        request = _ops.put_request(contents, key, options)
        await _ops.run_put(self._context, request)
        return request.key

    # -- reads ----------------------------------------------------------------------------

    async def prefetch(self, keys: Iterable[str]) -> dict[str, ObjectInfo]:
        """The current metas of ``keys``, by key, in batched Direct Gets of up to 1024
        (server 2.11+; a few milliseconds for a thousand keys instead of a round trip
        each). Keys missing from the answer (no object, or not fetched) are absent."""
        return await _ops.prefetch(self._context, keys)

    def get(
        self,
        key: str,
        *,
        decompress: bool = True,
        accept_encoding: str | list[str] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> GetResponse:
        """Stream an object: ``async with session.get(key) as response``, then
        ``async for chunk in response`` or ``await response.read()``; or in one step
        ``await session.get(key).read()``. Iterating (or ``await``-ing) the response outside
        ``async with`` raises NotOpenError.

        zstd objects are decompressed as they stream, unless ``decompress=False`` or the
        stored encoding is in ``accept_encoding`` (``"zstd"`` or ``"*"``): then the stored
        bytes come as they are and ``response.encoding`` says ``"zstd"``. The stored bytes'
        digest is verified at the end. A get counts as an access for time to idle.

        ``start``/``end`` read the byte range ``[start, end)`` of the stored bytes (as
        Sentry's ``Range`` reads: of the compressed bytes for a zstd object, which then
        come as stored, ``response.encoding`` saying ``"zstd"``); a negative ``start``
        reads the last ``-start`` bytes, an ``end`` past the object reads to its end, and
        ``response.range`` says which bytes come. A range is not digest-verified.

        Raises (on entering):
            ObjectNotFoundError: no such key in this scope, deleted, or expired.
            RangeNotSatisfiableError: the range starts at or past the end (HTTP 416).
            InvalidArgumentError: a bad argument (raised by this call).
        """
        request = _ops.get_request(
            key, decompress=decompress, accept_encoding=accept_encoding, start=start, end=end
        )
        return GetResponse(self._context, request)

    async def get_bytes(
        self,
        key: str,
        *,
        decompress: bool = True,
        accept_encoding: str | list[str] | None = None,
    ) -> bytes:
        """The object's bytes in one piece; as ``get``."""
        async with self.get(key, decompress=decompress, accept_encoding=accept_encoding) as r:
            return await r.read()

    async def head(self, key: str) -> ObjectMetadata:
        """The object's metadata without its bytes; counts as an access for time to idle.

        Raises:
            ObjectNotFoundError: no such key in this scope, deleted, or expired.
        """
        _, meta = await _ops.live(self._context, validate_key(key))
        return meta

    async def list(self) -> list[ObjectMetadata]:
        """Every live object of this scope (not of scopes below it), oldest change first.

        Reads every meta of the usecase bucket; no access is recorded.
        """
        prefix = self._context.prefix
        with self._context.forgets_deleted_bucket():
            infos = await (await self.bucket()).store.list(prefix=prefix)
        now = datetime.now(UTC)
        out: list[ObjectMetadata] = []
        for info in infos:
            key = info.name[len(prefix) :]
            meta = ObjectMetadata.from_info(key, info)
            if not expired(meta.time_expires, now):
                out.append(meta)
        return out

    async def delete(self, key: str) -> None:
        """Delete ``key`` in this scope; deleting a missing key is not an error.

        The data is purged at once. The tombstone that tells watchers the key is gone is
        removed by the server an hour later (``TOMBSTONE_TTL``; buckets with message TTLs,
        server 2.11+), so deleted keys leave nothing behind.

        Unlike ``ObjectStore.delete`` (which raises ObjectNotFoundError, as NATS object
        stores do), deleting a key that does not exist (never put, deleted, or expired)
        succeeds and changes nothing, as Sentry's delete does.
        """
        await _ops.delete(self._context, key)

    async def extend_expiry(
        self,
        key: str,
        *,
        at: datetime | None = None,
        from_creation: timedelta | float | None = None,
        from_now: timedelta | float | None = None,
    ) -> ObjectMetadata:
        """Move ``key``'s expiration deadline later, keeping its bytes and metadata, as
        Sentry's ``Session.extend_expiry``; returns the object's metadata afterwards.

        Give exactly one target: ``at`` (a timezone-aware datetime, rounded up to whole
        seconds), ``from_creation`` (the lifetime since the object was put) or
        ``from_now`` (timedelta or seconds, non-negative, cut to whole seconds). A
        deadline already at or past the target is left as it is (never shortened), so a
        success does not say whether it moved. A time-to-live object's policy becomes
        ``ttl:<deadline - creation>`` (its bytes are copied once into a put with the
        longer TTL: the stored chunks' own TTL cannot be changed); a time-to-idle object
        keeps its TTI (a read moves the deadline again only once ``now + tti`` passes it).
        Guarantees: the change is a compare-and-set on the meta read, so it never
        overwrites a concurrent put or delete; readers see the old object or the new one.

        Raises:
            InvalidArgumentError: no target or several, a naive datetime, a negative or
                absurd duration (raised before anything is sent).
            ObjectNotFoundError: no such key in this scope, deleted, or expired.
            ExpiryExtensionRejectedError: the object never expires (manual policy), or a
                put or delete of the key came first.
        """
        target = _expiry.expiry_target(at, from_creation, from_now)
        return await _expiry.extend_expiry(self._context, key, target)

    def watch(
        self,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        updates_only: bool = False,
    ) -> SessionWatcher:
        """Watch changes to this scope's objects (not those of other scopes, nor of scopes
        below it), as ``ObjectStore.watch`` does for a bucket.

        Use as ``async with session.watch() as watcher: async for event in watcher``. By
        default the current state of every key of the scope comes first (a ``"put"`` or
        ``"renew"`` for a live object, a ``"delete"`` or ``"expire"`` while its tombstone or
        the server's marker is stored), then ``None`` once, then live changes, all as
        ``SessionEvent``s. ``include_history`` replays every stored change instead;
        ``updates_only`` skips the initial values (and the ``None``); ``ignore_deletes``
        drops deletions and expiries.

        Guarantees: events come in the order the server stored the changes, each once;
        after a reconnect the watcher resumes after the last change it delivered. A put
        whose deadline has passed is never reported (not even as an initial value): the
        object's ``"expire"`` comes when the server removes its meta, up to about a second
        after ``time_expires`` (the server's TTLs are whole seconds). A time-to-idle object
        gives a ``"renew"`` each time a read moves its deadline (at most once per
        ``min(tti / 4, 24 h)``) and an ``"expire"`` once its last deadline passes; watching
        is not an access and never renews. When the server removes a deleted key's
        tombstone (an hour after the delete), a watcher that saw the delete reports
        nothing. The watcher reads the changes of the whole usecase bucket (object names
        are encoded in subjects, so the server cannot filter by scope) and drops those of
        other scopes. The server keeps an expiry marker for 1 s only: a watcher that falls
        further behind than that (or is disconnected meanwhile) can miss an ``"expire"``.

        Raises:
            InvalidArgumentError: an option is not a bool, or include_history with
                updates_only (raised by this call).
            ServerError: on entering, the server failed.
        """
        return SessionWatcher(
            self._context,
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )

    def changes(
        self,
        name: str,
        *,
        deliver: Deliver = "new",
        ack_wait: float | timedelta = DEFAULT_ACK_WAIT,
        max_deliver: int | None = DEFAULT_MAX_DELIVER,
        coalesce: bool = False,
        on_dead_letter: DeadLetter | None = None,
        exclusive: bool = False,
    ) -> SessionFeed:
        """A durable change feed of this scope's objects (``ObjectStore.changes`` for a
        usecase scope): ``async with session.changes("indexer") as feed: async for change
        in feed: ...; await change.ack()``. Each ``SessionChange`` carries the key (no
        scope prefix), kind and metadata as ``watch`` reports them.

        The feed is the usecase bucket's consumer ``<name>-<digest of the scope>``, so the
        same ``name`` in two scopes makes two feeds. It reads every change of the usecase
        bucket and acknowledges other scopes' unseen (names are encoded in subjects: the
        server cannot filter by scope). Options as for ``ObjectStore.changes``.

        Raises:
            InvalidArgumentError: ``name`` is not 1 to 67 of ``A-Z a-z 0-9 _ -`` (room
                for the digest in a feed's 80), or a bad option.
        """
        return SessionFeed(
            self._context,
            name,
            deliver=deliver,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            coalesce=coalesce,
            on_dead_letter=on_dead_letter,
            exclusive=exclusive,
        )

    def many(self, *, max_concurrency: int | None = None) -> Many:
        """A batch of puts, gets, heads and deletes run ``max_concurrency`` at a time
        (by default the connection's ``many_concurrency``, 5 unless set in ``connect``)."""
        if max_concurrency is None:
            max_concurrency = self.manager.many_concurrency
        return Many(self._context, max_concurrency=max_concurrency)
