"""Usecases, scopes and sessions: Sentry Objectstore's client model on the object store.

A usecase is a bucket (stream ``OBJ_<usecase>``) whose defaults (compression, expiration
policy) live in the stream's metadata, so every client sees them. A scope is an ordered
path of ``key=value`` components; scope and key map to the object name
``<k1>.<v1>/<k2>.<v2>/objects/<key>`` (``objects/<key>`` for the empty scope). Scope keys
and values never contain ``/`` or ``.``, so every scope element has exactly one ``.`` and
the marker ``objects`` none: the name decodes one way only, and no scope's names, or
listing prefix, fall inside another's.
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ._bucket._core import BucketCore
from ._checks import check_metadata, check_put_data
from ._compression import (
    Compression,
    compress,
    decompress,
    validate_accept_encoding,
    validate_compression,
    zstd,
)
from ._errors import (
    BadObjectMetaError,
    BucketExistsError,
    BucketNotFoundError,
    InvalidArgumentError,
    InvalidScopeError,
    ObjectNotFoundError,
    PreconditionFailedError,
    UnsupportedFeatureError,
)
from ._expiration import TOMBSTONE_TTL, ExpirationPolicy, expired
from ._jetstream import MULTI_LAST_SUBJECTS
from ._manager import ObjectStoreManager
from ._models import ObjectInfo, ObjectMeta
from ._source import PutData
from ._store import ObjectStore, ReadResult
from ._wire import (
    meta_subject,
    parse_timestamp,
    stream_name,
    ttl_header,
    validate_bucket_name,
)

if TYPE_CHECKING:
    from ._many import Many
    from ._session_watch import SessionWatcher

__all__ = ["GetResponse", "ObjectMetadata", "Scope", "Session", "Usecase"]

# Where a usecase keeps its defaults: the bucket's stream metadata.
COMPRESSION_KEY = "natsobj.usecase.compression"
EXPIRATION_KEY = "natsobj.usecase.expiration"
DEFAULT_COMPRESSION: Compression = "zstd"
# How the meta records what Sentry sends as headers (an HTTP gateway can pass them on).
CONTENT_TYPE = "Content-Type"
CONTENT_ENCODING = "Content-Encoding"
EXPIRATION = "X-Sn-Expiration"
TIME_CREATED = "X-Sn-Time-Created"
TIME_EXPIRES = "X-Sn-Time-Expires"
ORIGIN = "X-Sn-Origin"
FILENAME = "X-Sn-Filename"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

MAX_COMPONENT_CHARS = 128
MAX_KEY_BYTES = 1024
MAX_TEXT_CHARS = 1024
# Custom metadata travels in the meta message, which must fit the server's max_payload.
MAX_CUSTOM_METADATA_BYTES = 64 * 1024
OBJECTS_MARKER = "objects"
_COMPONENT = re.compile(r"^[A-Za-z0-9_\-()$!+']+$")
_CONTENT_TYPE = re.compile(r"^[\w!#$&^.+-]+/[\w!#$&^.+-]+(\s*;.*)?$")


def _component(value: object, what: str) -> str:
    """A scope key or value as text, if it cannot break the path."""
    allowed = str if what == "key" else str | int
    if isinstance(value, bool) or not isinstance(value, allowed):
        kinds = "a str" if what == "key" else "a str or int"
        raise InvalidScopeError(f"scope {what} must be {kinds}, got {value!r}")
    text = str(value)
    if not text or len(text) > MAX_COMPONENT_CHARS or not _COMPONENT.fullmatch(text):
        raise InvalidScopeError(
            f"invalid scope {what} {text!r}: use 1 to {MAX_COMPONENT_CHARS} of "
            "A-Z a-z 0-9 _ - ( ) $ ! + ' (no '/', '.', '=' or spaces)"
        )
    return text


def validate_key(key: object) -> str:
    """An object key: any non-empty string (``/`` allowed) of at most 1024 UTF-8 bytes."""
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(f"key must be a non-empty str, got {key!r}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(f"key is not valid Unicode: {key!r}") from exc
    if size > MAX_KEY_BYTES:
        raise InvalidArgumentError(f"key is {size} bytes long; the limit is {MAX_KEY_BYTES}")
    return key


def _optional_text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        raise InvalidArgumentError(
            f"{what} must be a non-empty str of at most {MAX_TEXT_CHARS} characters, got {value!r}"
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidArgumentError(f"{what} must not contain control characters: {value!r}")
    return value


def _content_type(value: object) -> str | None:
    text = _optional_text(value, "content_type")
    if text is not None and not _CONTENT_TYPE.fullmatch(text):
        raise InvalidArgumentError(f"content_type must be a media type like 'text/plain': {text!r}")
    return text


def _custom_metadata(value: object) -> dict[str, str]:
    out = check_metadata(value)
    if "" in out:
        raise InvalidArgumentError("metadata keys must not be empty")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > MAX_CUSTOM_METADATA_BYTES:
        raise InvalidArgumentError(
            f"metadata is {size} bytes; the limit is {MAX_CUSTOM_METADATA_BYTES}"
        )
    return out


def _policy(value: object, what: str = "expiration_policy") -> ExpirationPolicy | None:
    if value is None or isinstance(value, ExpirationPolicy):
        return value
    raise InvalidArgumentError(
        f"{what} must be an ExpirationPolicy (time_to_live, time_to_idle, manual), got {value!r}"
    )


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
        self.expiration_policy = _policy(expiration_policy)
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
        pair = (_component(key, "key"), _component(value, "value"))
        return Scope(self.usecase, (*self.components, pair))

    def __str__(self) -> str:
        """Matrix syntax, as Sentry writes scopes in URLs: ``org=42;project=1337`` (``_``
        for the empty scope)."""
        return ";".join(f"{k}={v}" for k, v in self.components) or "_"

    @property
    def prefix(self) -> str:
        """The object-name prefix of every key in this scope (and no other)."""
        return "".join(f"{k}.{v}/" for k, v in self.components) + f"{OBJECTS_MARKER}/"

    def session(self, manager: ObjectStoreManager) -> Session:
        """A session for this usecase and scope over ``manager``'s connection."""
        return Session(manager, self)


@dataclass(frozen=True, slots=True)
class ObjectMetadata:
    """What a session knows about an object (``head``, ``get``, ``list``).

    ``size`` is the stored size (compressed when ``compression`` is ``"zstd"``);
    ``time_expires`` is the current deadline (None for manual); ``custom`` is the caller's
    metadata. ``info`` is the raw object-store meta.
    """

    key: str
    size: int
    compression: Compression
    content_type: str
    expiration_policy: ExpirationPolicy
    time_created: datetime | None
    time_expires: datetime | None
    origin: str | None
    filename: str | None
    custom: dict[str, str]
    digest: str
    info: ObjectInfo = field(repr=False)

    @classmethod
    def from_info(cls, key: str, info: ObjectInfo) -> ObjectMetadata:
        """Read the fields a session put into ``info``; meta of other clients reads as
        uncompressed and never expiring."""

        def header(name: str) -> str | None:
            values = info.headers.get(name)
            return values[0] if values else None

        try:
            policy = ExpirationPolicy.parse(header(EXPIRATION) or "manual")
        except InvalidArgumentError:
            policy = ExpirationPolicy.manual()
        return cls(
            key=key,
            size=info.size,
            compression="zstd" if header(CONTENT_ENCODING) == "zstd" else "none",
            content_type=header(CONTENT_TYPE) or DEFAULT_CONTENT_TYPE,
            expiration_policy=policy,
            time_created=parse_timestamp(header(TIME_CREATED) or "") or info.mtime,
            time_expires=parse_timestamp(header(TIME_EXPIRES) or ""),
            origin=header(ORIGIN),
            filename=header(FILENAME),
            custom=dict(info.metadata),
            digest=info.digest,
            info=info,
        )


@dataclass(frozen=True)
class UsecaseBucket:
    """An opened usecase bucket and the defaults stored with it."""

    store: ObjectStore
    compression: Compression
    expiration_policy: ExpirationPolicy


# Opened usecase buckets per manager (connection): one stream lookup per usecase.
_BUCKETS: weakref.WeakKeyDictionary[ObjectStoreManager, dict[str, UsecaseBucket]] = (
    weakref.WeakKeyDictionary()
)


async def open_usecase(manager: ObjectStoreManager, usecase: Usecase) -> UsecaseBucket:
    """The usecase's bucket, created on first use (message TTLs on server 2.11+)."""
    opened = _BUCKETS.setdefault(manager, {})
    bucket = opened.get(usecase.name)
    if bucket is not None:
        return bucket
    stream = stream_name(usecase.name)
    try:
        info = await manager.js.stream_info(stream, bucket=usecase.name)
    except BucketNotFoundError:
        defaults = {
            COMPRESSION_KEY: usecase.compression or DEFAULT_COMPRESSION,
            EXPIRATION_KEY: str(usecase.expiration_policy or ExpirationPolicy.manual()),
        }
        # BucketExistsError: another client created it first, with its own defaults.
        with contextlib.suppress(BucketExistsError):
            await manager.create_object_store(
                usecase.name,
                description=f"natsobj usecase {usecase.name}",
                metadata=defaults,
                message_ttl=manager.js.server_at_least(2, 11),
            )
        info = await manager.js.stream_info(stream, bucket=usecase.name)
    stored = info.get("config", {}).get("metadata") or {}
    try:
        compression = validate_compression(stored.get(COMPRESSION_KEY, DEFAULT_COMPRESSION))
        policy = ExpirationPolicy.parse(stored.get(EXPIRATION_KEY, "manual"))
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"usecase {usecase.name!r} has unreadable defaults in its metadata: {exc}",
            bucket=usecase.name,
        ) from exc
    bucket = UsecaseBucket(
        ObjectStore(manager._bucket_core(usecase.name, info)), compression, policy
    )
    opened[usecase.name] = bucket
    return bucket


P = ParamSpec("P")
T = TypeVar("T")


def _forgets_deleted_bucket(
    method: Callable[Concatenate[Session, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Session, P], Coroutine[Any, Any, T]]:
    """Drop the opened bucket when it turns out deleted, so the next call recreates it."""

    @functools.wraps(method)
    async def wrapper(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except BucketNotFoundError:
            _BUCKETS.get(self.manager, {}).pop(self.usecase.name, None)
            raise

    return wrapper


@dataclass(frozen=True)
class PutRequest:
    """A validated put, ready to run (``Session.put`` and ``Many.put``)."""

    key: str
    contents: PutData
    compression: Compression | None
    content_type: str | None
    custom: dict[str, str]
    expiration_policy: ExpirationPolicy | None
    origin: str | None
    filename: str | None


@dataclass(frozen=True)
class GetRequest:
    """A validated get (``Session.get`` and ``Many.get``)."""

    key: str
    decompress: bool
    accept_encoding: frozenset[str]


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

    def __repr__(self) -> str:
        return f"Session(usecase={self.usecase.name!r}, scope={str(self.scope)!r})"

    def object_name(self, key: str) -> str:
        """The object-store name that holds ``key`` in this scope."""
        return self.scope.prefix + validate_key(key)

    async def bucket(self) -> UsecaseBucket:
        """The usecase's bucket and its stored defaults (opened once per connection)."""
        return await open_usecase(self.manager, self.usecase)

    def _not_found(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(
            f"no object {key!r} in usecase {self.usecase.name!r}, scope {self.scope}",
            bucket=self.usecase.name,
            name=key,
        )

    # -- writes ---------------------------------------------------------------------------

    def put_request(
        self,
        contents: PutData,
        key: str | None = None,
        *,
        compression: Compression | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expiration_policy: ExpirationPolicy | None = None,
        origin: str | None = None,
        filename: str | None = None,
    ) -> PutRequest:
        """Validate a put's arguments (see ``put``); a missing key is generated."""
        check_put_data(contents)
        return PutRequest(
            key=str(uuid.uuid4()) if key is None else validate_key(key),
            contents=contents,
            compression=None if compression is None else validate_compression(compression),
            content_type=_content_type(content_type),
            custom=_custom_metadata(metadata),
            expiration_policy=_policy(expiration_policy),
            origin=_optional_text(origin, "origin"),
            filename=_optional_text(filename, "filename"),
        )

    async def put(
        self,
        contents: PutData,
        key: str | None = None,
        *,
        compression: Compression | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expiration_policy: ExpirationPolicy | None = None,
        origin: str | None = None,
        filename: str | None = None,
    ) -> str:
        """Store ``contents`` (bytes, str, a binary file, an async iterable of bytes) under
        ``key`` in this scope and return the key (a UUID4 when none is given).

        ``compression`` and ``expiration_policy`` override the usecase defaults;
        ``compression="none"`` suits data that is already compressed. ``metadata`` is
        custom string key/values; ``origin`` (e.g. the uploader's IP), ``content_type`` and
        ``filename`` are stored too. All of it comes back from ``get``/``head``.
        Guarantees as ``ObjectStore.put``: readers see the old object or the new one.

        Raises:
            InvalidArgumentError: a bad argument (before anything is sent).
            UnsupportedFeatureError: an expiring policy on a server before 2.11 or on a
                bucket created without message TTLs; zstd without ``zstandard``.
            ServerError: the server failed.
        """
        request = self.put_request(
            contents,
            key,
            compression=compression,
            content_type=content_type,
            metadata=metadata,
            expiration_policy=expiration_policy,
            origin=origin,
            filename=filename,
        )
        await self.run_put(request)
        return request.key

    @_forgets_deleted_bucket
    async def run_put(self, request: PutRequest) -> ObjectMetadata:
        """Run a validated put; the stored object's metadata."""
        if not isinstance(request, PutRequest):
            raise InvalidArgumentError("run_put takes a PutRequest (see put_request)")
        bucket = await self.bucket()
        compression = request.compression or self.usecase.compression or bucket.compression
        policy = request.expiration_policy or self.usecase.expiration_policy
        policy = policy or bucket.expiration_policy
        if policy.duration is not None and not self.manager.js.server_at_least(2, 11):
            raise UnsupportedFeatureError(
                f"expiration policy {policy} needs nats-server 2.11 or newer (connected to "
                f"{self.manager.nc.connected_server_version})",
                bucket=self.usecase.name,
                name=request.key,
            )
        now = datetime.now(UTC)
        headers = {TIME_CREATED: _timestamp(now), EXPIRATION: str(policy)}
        deadline = policy.deadline(now)
        if deadline is not None:
            headers[TIME_EXPIRES] = _timestamp(deadline)
        if request.content_type:
            headers[CONTENT_TYPE] = request.content_type
        if request.origin:
            headers[ORIGIN] = request.origin
        if request.filename:
            headers[FILENAME] = request.filename
        data: PutData = request.contents
        if compression == "zstd":
            zstd()  # a missing package fails here, before anything is sent
            headers[CONTENT_ENCODING] = "zstd"
            data = compress(request.contents)
        meta = ObjectMeta(
            name=self.object_name(request.key),
            headers={name: [value] for name, value in headers.items()},
            metadata=request.custom,
        )
        info = await bucket.store.put(
            meta, data, ttl=policy.duration, renewable=policy.kind == "tti"
        )
        return ObjectMetadata.from_info(request.key, info)

    # -- reads ----------------------------------------------------------------------------

    @_forgets_deleted_bucket
    async def _live(
        self, key: str, prefetched: ObjectInfo | None = None
    ) -> tuple[BucketCore, ObjectMetadata]:
        """The bucket core holding ``key``'s bytes and its metadata, if it has not expired; a
        time-to-idle deadline is moved when due. A ``prefetched`` meta saves the lookup."""
        bucket = await self.bucket()
        if prefetched is not None and not prefetched.is_link and not prefetched.deleted:
            target, info = bucket.store._core, prefetched
        else:
            try:
                target, info = await bucket.store._core.resolve(self.object_name(key))
            except ObjectNotFoundError:
                raise self._not_found(key) from None
        meta = ObjectMetadata.from_info(key, info)
        now = datetime.now(UTC)
        if expired(meta.time_expires, now):
            raise self._not_found(key)
        policy = meta.expiration_policy
        if meta.time_expires is not None and policy.needs_renewal(meta.time_expires, now):
            meta = await self._renew(target, meta, now)
        return target, meta

    async def _renew(self, core: BucketCore, meta: ObjectMetadata, now: datetime) -> ObjectMetadata:
        """Republish a time-to-idle meta with a fresh deadline and TTL (the data is not
        touched). Only if the meta is still the one read: a put or delete in between wins."""
        policy = meta.expiration_policy
        deadline = policy.deadline(now)
        assert policy.duration is not None
        assert deadline is not None
        info = meta.info
        headers = {**info.headers, TIME_EXPIRES: [_timestamp(deadline)]}
        renewed = info.model_copy(update={"headers": headers})
        try:
            # Renewed only if nobody changed it since it was read.
            renewed = await core.commit(
                renewed,
                expected=info.revision,
                ttl=ttl_header(policy.duration.total_seconds()),
            )
        except PreconditionFailedError:
            return meta  # changed meanwhile; the new meta has its own deadline
        return ObjectMetadata.from_info(meta.key, renewed)

    @_forgets_deleted_bucket
    async def prefetch(self, keys: Iterable[str]) -> dict[str, ObjectInfo]:
        """The current metas of ``keys``, by key, in batched Direct Gets of up to 1024
        (server 2.11+; a few milliseconds for a thousand keys instead of a round trip
        each). Keys missing from the answer (no object, or not fetched) are absent."""
        if isinstance(keys, str) or not isinstance(keys, Iterable):
            raise InvalidArgumentError("prefetch takes a list of keys, not a str")
        names = {self.object_name(key): key for key in keys}
        bucket = await self.bucket()
        store, js = bucket.store, self.manager.js
        if not store._core.direct or store._core.consistent_meta or not js.server_at_least(2, 11):
            return {}
        subjects = [meta_subject(store.bucket, name) for name in names]
        found: dict[str, ObjectInfo] = {}
        for start in range(0, len(subjects), MULTI_LAST_SUBJECTS):
            run = subjects[start : start + MULTI_LAST_SUBJECTS]
            for msg in (await js.last_msgs(store.stream, run, bucket=store.bucket)).values():
                if not msg.data:
                    continue  # the marker of an expired object
                try:
                    info = store._core.parse(msg)
                except BadObjectMetaError:
                    continue
                key = names.get(info.name)
                if key is not None:
                    found[key] = info
        return found

    def get_request(
        self, key: str, *, decompress: bool = True, accept_encoding: object = None
    ) -> GetRequest:
        """Validate a get's arguments (see ``get``)."""
        if not isinstance(decompress, bool):
            raise InvalidArgumentError(f"decompress must be a bool, got {decompress!r}")
        return GetRequest(validate_key(key), decompress, validate_accept_encoding(accept_encoding))

    def get(
        self,
        key: str,
        *,
        decompress: bool = True,
        accept_encoding: str | list[str] | None = None,
    ) -> GetResponse:
        """Stream an object: ``async with session.get(key) as response``, then
        ``async for chunk in response`` or ``await response.read()``; or in one step
        ``await session.get(key).read()``. Iterating (or ``await``-ing) the response outside
        ``async with`` raises NotOpenError.

        zstd objects are decompressed as they stream, unless ``decompress=False`` or the
        stored encoding is in ``accept_encoding`` (``"zstd"`` or ``"*"``): then the stored
        bytes come as they are and ``response.encoding`` says ``"zstd"``. The stored bytes'
        digest is verified at the end. A get counts as an access for time to idle.

        Raises (on entering):
            ObjectNotFoundError: no such key in this scope, deleted, or expired.
            InvalidArgumentError: a bad argument (raised by this call).
        """
        return GetResponse(
            self, self.get_request(key, decompress=decompress, accept_encoding=accept_encoding)
        )

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
        _, meta = await self._live(validate_key(key))
        return meta

    @_forgets_deleted_bucket
    async def list(self) -> list[ObjectMetadata]:
        """Every live object of this scope (not of scopes below it), oldest change first.

        Reads every meta of the usecase bucket; no access is recorded.
        """
        bucket = await self.bucket()
        prefix = self.scope.prefix
        now = datetime.now(UTC)
        out: list[ObjectMetadata] = []
        for info in await bucket.store.list(prefix=prefix):
            key = info.name[len(prefix) :]
            meta = ObjectMetadata.from_info(key, info)
            if not expired(meta.time_expires, now):
                out.append(meta)
        return out

    @_forgets_deleted_bucket
    async def delete(self, key: str) -> None:
        """Delete ``key`` in this scope; deleting a missing key is not an error.

        The data is purged at once. The tombstone that tells watchers the key is gone is
        removed by the server an hour later (``TOMBSTONE_TTL``; buckets with message TTLs,
        server 2.11+), so deleted keys leave nothing behind.

        Unlike ``ObjectStore.delete`` (which raises ObjectNotFoundError, as NATS object
        stores do), deleting a key that does not exist (never put, deleted, or expired)
        succeeds and changes nothing, as Sentry's delete does.
        """
        name = self.object_name(key)
        bucket = await self.bucket()
        store = bucket.store
        with contextlib.suppress(ObjectNotFoundError):
            await store.delete(
                name,
                tombstone_ttl=TOMBSTONE_TTL if store._core.message_ttl else None,
            )

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
        from ._session_watch import SessionWatcher

        return SessionWatcher(
            self,
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )

    def many(self, *, max_concurrency: int | None = None) -> Many:
        """A batch of puts, gets, heads and deletes run ``max_concurrency`` at a time
        (by default the connection's ``many_concurrency``, 5 unless set in ``connect``)."""
        from ._many import Many

        if max_concurrency is None:
            max_concurrency = self.manager.many_concurrency
        return Many(self, max_concurrency=max_concurrency)


class GetResponse(ReadResult):
    """A streaming get (see ``Session.get``): ``metadata``, ``encoding`` and the bytes.

    ``async with session.get(key) as response``, then ``async for chunk in response`` or
    ``await response.read()``; or, in one step, ``await session.get(key).read()``.
    """

    _usage = (
        "async with session.get(key) as response: async for chunk in response; "
        "or await session.get(key).read(), or await session.get_bytes(key)"
    )

    def __init__(self, session: Session, request: GetRequest, prefetched: ObjectInfo | None = None):
        super().__init__()
        self._session = session
        self._request = request
        self._prefetched = prefetched
        self._metadata: ObjectMetadata | None = None
        self.encoding: Compression = "none"

    @property
    def metadata(self) -> ObjectMetadata:
        if self._metadata is None:
            raise self._not_open()
        return self._metadata

    async def _open(self) -> AsyncIterator[bytes]:
        request = self._request
        core, meta = await self._session._live(request.key, self._prefetched)
        chunks: AsyncIterator[bytes] = core.reader(meta.info).chunks()
        self._sources.append(chunks)
        if meta.compression == "zstd":
            if not request.decompress or bool({"zstd", "*"} & request.accept_encoding):
                self.encoding = "zstd"
            else:
                chunks = decompress(chunks, name=request.key)
                self._sources.append(chunks)
        self._metadata = meta
        return chunks
