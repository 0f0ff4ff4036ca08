"""The session operations that ``Session`` and ``Many`` share.

Opening a usecase's bucket (once per usecase and manager, through the manager's
``UsecaseRegistry``), validated put and get requests, and the runs: put, live (the meta of
a key that has not expired, renewing a time-to-idle deadline when due), renew, prefetch,
delete, and ``GetResponse``, the streaming get. Each takes the ``SessionContext`` it works
in, so nothing here depends on the ``Session`` facade.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio

from .._bucket._core import BucketCore
from .._bucket._get import ReadResult
from .._checks import check_put_data
from .._errors import (
    BucketExistsError,
    BucketNotFoundError,
    InvalidArgumentError,
    ObjectNotFoundError,
    PreconditionFailedError,
    RangeNotSatisfiableError,
    UnsupportedFeatureError,
)
from .._expiration import TOMBSTONE_TTL, ExpirationPolicy, expired
from .._manager import ObjectStoreManager
from .._models import ObjectInfo, ObjectMeta
from .._policy import CONTENT_TYPE_HEADER
from .._source import PutData
from .._store import ObjectStore
from .._wire import (
    ttl_header,
)
from ._compression import (
    Compression,
    compress,
    decompress,
    validate_accept_encoding,
    validate_compression,
    zstd,
)
from ._scope import (
    COMPRESSION_KEY,
    CONTENT_ENCODING,
    DEFAULT_COMPRESSION,
    EXPIRATION,
    EXPIRATION_KEY,
    FILENAME,
    ORIGIN,
    TIME_CREATED,
    TIME_EXPIRES,
    ObjectMetadata,
    SessionPutOptions,
    UsecaseDefaults,
    custom_metadata,
    optional_text,
    timestamp,
    validate_content_type,
    validate_key,
    validate_policy,
)

__all__ = ["GetResponse"]


@dataclass(frozen=True)
class UsecaseBucket:
    """An opened usecase bucket and the defaults stored with it."""

    store: ObjectStore
    compression: Compression
    expiration_policy: ExpirationPolicy


class UsecaseRegistry:
    """The usecase buckets opened over one manager (connection): one lookup per usecase.

    The manager holds it (``usecase_registry``); a bucket found deleted is forgotten, so
    the next use creates it again.
    """

    def __init__(self) -> None:
        self._opened: dict[str, UsecaseBucket] = {}
        self._opening: dict[str, anyio.Lock] = {}

    async def open(
        self,
        manager: ObjectStoreManager,
        name: str,
        *,
        compression: Compression | None,
        expiration_policy: ExpirationPolicy | None,
    ) -> UsecaseBucket:
        """The bucket of usecase ``name``, created on first use with ``compression`` and
        ``expiration_policy`` as its defaults (and message TTLs on server 2.11+); concurrent
        first uses wait for one lookup.

        Raises:
            InvalidArgumentError: the bucket's stored defaults are unreadable.
        """
        bucket = self._opened.get(name)
        if bucket is not None:
            return bucket
        async with self._opening.setdefault(name, anyio.Lock()):
            bucket = self._opened.get(name)
            if bucket is None:
                bucket = await _open_usecase(manager, name, compression, expiration_policy)
                self._opened[name] = bucket
            return bucket

    def forget(self, name: str) -> None:
        """Drop the opened bucket of usecase ``name`` (it was found deleted)."""
        self._opened.pop(name, None)


def usecase_registry(manager: ObjectStoreManager) -> UsecaseRegistry:
    """The registry of ``manager``'s opened usecases, made on first use."""
    registry = manager._usecases
    if not isinstance(registry, UsecaseRegistry):
        registry = manager._usecases = UsecaseRegistry()
    return registry


async def _open_usecase(
    manager: ObjectStoreManager,
    name: str,
    compression: Compression | None,
    expiration_policy: ExpirationPolicy | None,
) -> UsecaseBucket:
    try:
        store = await manager.object_store(name)
    except BucketNotFoundError:
        defaults = {
            COMPRESSION_KEY: compression or DEFAULT_COMPRESSION,
            EXPIRATION_KEY: str(expiration_policy or ExpirationPolicy.manual()),
        }
        try:
            store = await manager.create_object_store(
                name,
                description=f"natsobj usecase {name}",
                metadata=defaults,
                message_ttl=manager.js.server_at_least(2, 11),
            )
        except BucketExistsError:  # another client created it first, with its own defaults
            store = await manager.object_store(name)
    stored = (await store.status()).metadata
    try:
        return UsecaseBucket(
            store,
            validate_compression(stored.get(COMPRESSION_KEY, DEFAULT_COMPRESSION)),
            ExpirationPolicy.parse(stored.get(EXPIRATION_KEY, "manual")),
        )
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"usecase {name!r} has unreadable defaults in its metadata: {exc}", bucket=name
        ) from exc


@dataclass(frozen=True)
class SessionContext:
    """Where a session's operations work: the connection, the usecase (read at each use,
    as its defaults may change) and the scope (its object-name prefix, and as text)."""

    manager: ObjectStoreManager
    usecase: UsecaseDefaults
    prefix: str
    scope: str

    def object_name(self, key: str) -> str:
        """The object-store name that holds ``key`` in this scope."""
        return self.prefix + validate_key(key)

    async def bucket(self) -> UsecaseBucket:
        """The usecase's bucket and its stored defaults (opened once per manager)."""
        usecase = self.usecase
        return await usecase_registry(self.manager).open(
            self.manager,
            usecase.name,
            compression=usecase.compression,
            expiration_policy=usecase.expiration_policy,
        )

    @contextlib.contextmanager
    def forgets_deleted_bucket(self) -> Iterator[None]:
        """Forget the opened bucket when the block finds it deleted, so the next call
        creates it again."""
        try:
            yield
        except BucketNotFoundError:
            usecase_registry(self.manager).forget(self.usecase.name)
            raise

    def not_found(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(
            f"no object {key!r} in usecase {self.usecase.name!r}, scope {self.scope}",
            bucket=self.usecase.name,
            name=key,
        )


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
    # A byte range of the stored bytes: [start, end), a negative start counting from the
    # end (the last -start bytes); None: the whole object.
    start: int | None = None
    end: int | None = None


def put_request(contents: PutData, key: str | None, options: SessionPutOptions) -> PutRequest:
    """Validate a put's arguments (see ``Session.put``); a missing key is generated.

    Raises:
        InvalidArgumentError: a bad argument, or an option ``SessionPutOptions`` lacks.
    """
    unknown = sorted(set(options) - SessionPutOptions.__optional_keys__)
    if unknown:
        raise InvalidArgumentError(f"unknown put option(s): {', '.join(unknown)}")
    check_put_data(contents)
    compression = options.get("compression")
    return PutRequest(
        key=str(uuid.uuid4()) if key is None else validate_key(key),
        contents=contents,
        compression=None if compression is None else validate_compression(compression),
        content_type=validate_content_type(options.get("content_type")),
        custom=custom_metadata(options.get("metadata")),
        expiration_policy=validate_policy(options.get("expiration_policy")),
        origin=optional_text(options.get("origin"), "origin"),
        filename=optional_text(options.get("filename"), "filename"),
    )


def get_request(
    key: str,
    *,
    decompress: bool,
    accept_encoding: object,
    start: object = None,
    end: object = None,
) -> GetRequest:
    """Validate a get's arguments (see ``Session.get``)."""
    if not isinstance(decompress, bool):
        raise InvalidArgumentError(f"decompress must be a bool, got {decompress!r}")
    for value, label in ((start, "start"), (end, "end")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidArgumentError(f"{label} must be an int, got {value!r}")
    if isinstance(end, int) and (end < 0 or (isinstance(start, int) and start < 0)):
        raise InvalidArgumentError("end must be non-negative, and absent for a suffix range")
    if isinstance(start, int) and isinstance(end, int) and end < start:
        raise InvalidArgumentError(f"end ({end}) is before start ({start})")
    return GetRequest(
        validate_key(key),
        decompress,
        validate_accept_encoding(accept_encoding),
        start if isinstance(start, int) else None,
        end if isinstance(end, int) else None,
    )


def resolve_range(request: GetRequest, context: SessionContext, size: int) -> tuple[int, int]:
    """The stored bytes ``[start, end)`` that ``request`` asks of an object of ``size``
    bytes (the whole object without a range; an end past the object is cut to it).

    Raises:
        RangeNotSatisfiableError: a range starting at or past the end, or any range of an
            empty object (HTTP 416).
    """
    start, end = request.start, request.end
    if start is None and end is None:
        return 0, size
    first = max(size + start, 0) if start is not None and start < 0 else start or 0
    if first >= size or end == 0:
        raise RangeNotSatisfiableError(
            f"the range starts at byte {first}, past the end of {request.key!r} ({size} bytes)",
            size=size,
            bucket=context.usecase.name,
            name=request.key,
        )
    return first, size if end is None else min(end, size)


async def run_put(context: SessionContext, request: PutRequest) -> ObjectMetadata:
    """Run a validated put; the stored object's metadata.

    Raises:
        UnsupportedFeatureError: an expiring policy on a server before 2.11 or on a bucket
            without message TTLs; zstd without ``zstandard``.
    """
    with context.forgets_deleted_bucket():
        bucket = await context.bucket()
        usecase = context.usecase
        compression = request.compression or usecase.compression or bucket.compression
        policy = request.expiration_policy or usecase.expiration_policy
        policy = policy or bucket.expiration_policy
        manager = context.manager
        if policy.duration is not None and not manager.js.server_at_least(2, 11):
            raise UnsupportedFeatureError(
                f"expiration policy {policy} needs nats-server 2.11 or newer (connected to "
                f"{manager.nc.connected_server_version})",
                bucket=usecase.name,
                name=request.key,
            )
        now = datetime.now(UTC)
        headers = {TIME_CREATED: timestamp(now), EXPIRATION: str(policy)}
        deadline = policy.deadline(now)
        if deadline is not None:
            headers[TIME_EXPIRES] = timestamp(deadline)
        if request.content_type:
            headers[CONTENT_TYPE_HEADER] = request.content_type
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
            name=context.object_name(request.key),
            headers={name: [value] for name, value in headers.items()},
            metadata=request.custom,
        )
        info = await bucket.store.put(
            meta, data, ttl=policy.duration, renewable=policy.kind == "tti"
        )
        return ObjectMetadata.from_info(request.key, info)


async def live(
    context: SessionContext, key: str, prefetched: ObjectInfo | None = None
) -> tuple[BucketCore, ObjectMetadata]:
    """The bucket core holding ``key``'s bytes and its metadata, if it has not expired; a
    time-to-idle deadline is moved when due. A ``prefetched`` meta saves the lookup.

    Raises:
        ObjectNotFoundError: no such key in the scope, deleted, or expired.
    """
    with context.forgets_deleted_bucket():
        bucket = await context.bucket()
        if prefetched is not None and not prefetched.is_link and not prefetched.deleted:
            target, info = bucket.store._core, prefetched
        else:
            try:
                target, info = await bucket.store._core.resolve(context.object_name(key))
            except ObjectNotFoundError:
                raise context.not_found(key) from None
        meta = ObjectMetadata.from_info(key, info)
        now = datetime.now(UTC)
        if expired(meta.time_expires, now):
            raise context.not_found(key)
        policy = meta.expiration_policy
        if meta.time_expires is not None and policy.needs_renewal(meta.time_expires, now):
            meta = await renew(target, meta, now)
        return target, meta


async def renew(core: BucketCore, meta: ObjectMetadata, now: datetime) -> ObjectMetadata:
    """Republish a time-to-idle meta with a fresh deadline and TTL (the data is not
    touched). Only if the meta is still the one read: a put or delete in between wins."""
    policy = meta.expiration_policy
    deadline = policy.deadline(now)
    assert policy.duration is not None
    assert deadline is not None
    info = meta.info
    headers = {**info.headers, TIME_EXPIRES: [timestamp(deadline)]}
    renewed = info.model_copy(update={"headers": headers})
    try:
        # Renewed only if nobody changed it since it was read.
        renewed = await core.commit(
            renewed, expected=info.revision, ttl=ttl_header(policy.duration.total_seconds())
        )
    except PreconditionFailedError:
        return meta  # changed meanwhile; the new meta has its own deadline
    return ObjectMetadata.from_info(meta.key, renewed)


async def prefetch(context: SessionContext, keys: Iterable[str]) -> dict[str, ObjectInfo]:
    """The current metas of ``keys``, by key, in batched Direct Gets (see
    ``Session.prefetch``); keys missing from the answer are absent."""
    if isinstance(keys, str) or not isinstance(keys, Iterable):
        raise InvalidArgumentError("prefetch takes a list of keys, not a str")
    names = {context.object_name(key): key for key in keys}
    with context.forgets_deleted_bucket():
        bucket = await context.bucket()
        store, js = bucket.store, context.manager.js
        if not store._core.direct or store._core.consistent_meta or not js.server_at_least(2, 11):
            return {}
        metas = await store._core.last_metas(names)
        return {names[name]: info for name, info in metas.items() if name in names}


async def delete(context: SessionContext, key: str) -> None:
    """Delete ``key`` in the scope; a missing key is not an error (see ``Session.delete``)."""
    name = context.object_name(key)
    with context.forgets_deleted_bucket():
        store = (await context.bucket()).store
        with contextlib.suppress(ObjectNotFoundError):
            await store.delete(
                name,
                tombstone_ttl=TOMBSTONE_TTL if store._core.message_ttl else None,
            )


class GetResponse(ReadResult):
    """A streaming get (see ``Session.get``): ``metadata``, ``encoding`` and the bytes.

    ``async with session.get(key) as response``, then ``async for chunk in response`` or
    ``await response.read()``; or, in one step, ``await session.get(key).read()``.
    """

    _usage = (
        "async with session.get(key) as response: async for chunk in response; "
        "or await session.get(key).read(), or await session.get_bytes(key)"
    )

    def __init__(
        self,
        context: SessionContext,
        request: GetRequest,
        prefetched: ObjectInfo | None = None,
    ):
        super().__init__()
        self._context = context
        self._request = request
        self._prefetched = prefetched
        self._metadata: ObjectMetadata | None = None
        self.encoding: Compression = "none"
        # The stored bytes [start, end) being sent (the whole object without a range).
        self.range: tuple[int, int] = (0, 0)

    @property
    def metadata(self) -> ObjectMetadata:
        if self._metadata is None:
            raise self._not_open()
        return self._metadata

    async def _open(self) -> AsyncIterator[bytes]:
        request = self._request
        core, meta = await live(self._context, request.key, self._prefetched)
        start, end = resolve_range(request, self._context, meta.size)
        self.range = (start, end)
        if (start, end) == (0, meta.size):
            chunks: AsyncIterator[bytes] = core.reader(meta.info).chunks()
        else:
            chunks = core.reader(meta.info, start=start, end=end).chunks()
        self._sources.append(chunks)
        self._size = end - start  # the bytes as stored (read() gathers them in one buffer)
        ranged = request.start is not None or request.end is not None
        if ranged:  # a range of the stored bytes comes as stored
            self.encoding = meta.compression
        elif meta.compression == "zstd":
            if not request.decompress or bool({"zstd", "*"} & request.accept_encoding):
                self.encoding = "zstd"
            else:
                chunks = decompress(chunks, name=request.key)
                self._sources.append(chunks)
                self._size = None
        self._metadata = meta
        return chunks
