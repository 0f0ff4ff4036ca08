"""The blocking manager, bucket, read and watcher: each method is the async one of the same
name run in the client's loop (``_client``), so the docstrings are the async ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, TypeAlias, Unpack, cast

import anyio

import natsobj
from natsobj import (
    BucketPolicy,
    ObjectInfo,
    ObjectMeta,
)
from natsobj._bucket._put import PutOptions, UploadOptions
from natsobj._bucket._watch import ObjectWatcher as AsyncObjectWatcher
from natsobj._source import PutData
from natsobj._store import ReadResult as AsyncReadResult

from ._client import (
    Client,
    Resource,
    Wrapper,
    blocking,
    blocking_into,
    blocks_in_thread,
    opening,
    takes_args_of,
)
from ._feeds import ChangeFeed

__all__ = [
    "ObjectResult",
    "ObjectStore",
    "ObjectStoreManager",
    "ObjectWatcher",
    "ReadResult",
    "SyncPutData",
    "connect",
    "put_data",
]

# What a sync put takes: the async forms, with a (sync) iterable of bytes in place of an
# async one (pulled in a worker thread).
SyncPutData: TypeAlias = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes]


def put_data(data: SyncPutData) -> PutData:
    """What the async put takes for ``data``: a sync iterable becomes an async one."""
    if isinstance(data, bytes | bytearray | memoryview | str):
        return data
    if not callable(getattr(data, "read", None)) and isinstance(data, Iterable):
        return blocks_in_thread(data)
    return cast(PutData, data)  # a file, or what the async put refuses with its error


class ReadResult(Resource[AsyncReadResult]):
    """Bytes read inside ``with``: iterate them (chunk by chunk), ``read()`` them (all, or
    at most ``size``: a file-like reader) or ``receive()`` them. Outside ``with`` only
    ``read()`` works (it opens and closes the read itself). Leaving the block (or the
    client closing) stops the read."""

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk: bytes = self._next_item()
        return chunk

    def receive(self, max_bytes: int = 65536) -> bytes:
        """At most ``max_bytes`` of the bytes that come next (``anyio.EndOfStream`` at the
        end, as the async ``receive``)."""
        return self._client.call(self._async.receive, max_bytes)

    def read(self, size: int = -1) -> bytes:
        """All remaining bytes, verified (``size`` < 0, the default), or at most ``size``
        bytes, ``b""`` at the end (as a binary file's ``read``; the digest is checked when
        the last byte has been read)."""
        if size is None or size < 0:
            return self._client.call(self._async.read)
        if size == 0:
            return b""
        try:
            return self._client.call(self._async.receive, size)
        except anyio.EndOfStream:
            return b""

    def readable(self) -> bool:
        return True


class ObjectResult(ReadResult):
    """A streaming read of one object (``store.get``): ``with store.get(name) as result``,
    then ``for chunk in result`` or ``result.read()``; ``result.info`` is its meta."""

    _async: natsobj.ObjectResult

    @property
    def info(self) -> ObjectInfo:
        return self._async.info


class ObjectWatcher(Resource[AsyncObjectWatcher]):
    """``with store.watch() as watcher: for info in watcher`` (``None`` once after the
    initial values, unless ``updates_only``)."""

    def __iter__(self) -> Iterator[ObjectInfo | None]:
        return self

    def __next__(self) -> ObjectInfo | None:
        info: ObjectInfo | None = self._next_item()
        return info

    stop = blocking(AsyncObjectWatcher.stop)


class ListingIndex(Resource[natsobj.ListingIndex]):
    """``with store.index() as index: index.list_page(...)`` (see ``natsobj.ListingIndex``)."""

    def __len__(self) -> int:
        return len(self._async)

    @property
    def max_staleness(self) -> float:
        return self._async.max_staleness

    @property
    def usable(self) -> bool:
        return self._async.usable

    list_page = blocking(natsobj.ListingIndex.list_page)
    sync = blocking(natsobj.ListingIndex.sync)


class ObjectStore(Wrapper[natsobj.ObjectStore]):
    """A bucket (see ``natsobj.ObjectStore``), every method blocking."""

    def __init__(self, client: Client, wrapped: natsobj.ObjectStore):
        super().__init__(client, wrapped)
        self.bucket = wrapped.bucket
        self.stream = wrapped.stream

    @property
    def policy(self) -> BucketPolicy:
        return self._async.policy

    @property
    def read_only(self) -> bool:
        return self._async.read_only

    def put(
        self,
        meta: ObjectMeta | str,
        data: SyncPutData,
        **options: Unpack[PutOptions],
    ) -> ObjectInfo:
        """As ``natsobj.ObjectStore.put``; ``data`` may also be a sync iterable of bytes
        (pulled in a worker thread)."""
        return self._client.call(self._async.put, meta, put_data(data), **options)

    def upload(
        self,
        meta: ObjectMeta | str,
        data: SyncPutData,
        *,
        upsert: bool = False,
        content_type: str | None = None,
        **options: Unpack[UploadOptions],
    ) -> ObjectInfo:
        """As ``natsobj.ObjectStore.upload``."""
        return self._client.call(
            self._async.upload,
            meta,
            put_data(data),
            upsert=upsert,
            content_type=content_type,
            **options,
        )

    def update(
        self,
        meta: ObjectMeta | str,
        data: SyncPutData,
        *,
        content_type: str | None = None,
        **options: Unpack[UploadOptions],
    ) -> ObjectInfo:
        """As ``natsobj.ObjectStore.update``."""
        return self._client.call(
            self._async.update, meta, put_data(data), content_type=content_type, **options
        )

    put_bytes = blocking(natsobj.ObjectStore.put_bytes)
    put_string = blocking(natsobj.ObjectStore.put_string)
    put_file = blocking(natsobj.ObjectStore.put_file)
    update_meta = blocking(natsobj.ObjectStore.update_meta)
    delete = blocking(natsobj.ObjectStore.delete)
    add_link = blocking(natsobj.ObjectStore.add_link)
    seal = blocking(natsobj.ObjectStore.seal)
    get_info = blocking(natsobj.ObjectStore.get_info)
    get = opening(natsobj.ObjectStore.get, ObjectResult)
    get_bytes = blocking(natsobj.ObjectStore.get_bytes)
    get_string = blocking(natsobj.ObjectStore.get_string)
    get_file = blocking(natsobj.ObjectStore.get_file)
    list = blocking(natsobj.ObjectStore.list)
    list_page = blocking(natsobj.ObjectStore.list_page)
    index = opening(natsobj.ObjectStore.index, ListingIndex)
    watch = opening(natsobj.ObjectStore.watch, ObjectWatcher)
    status = blocking(natsobj.ObjectStore.status)
    delete_many = blocking(natsobj.ObjectStore.delete_many)
    delete_prefix = blocking(natsobj.ObjectStore.delete_prefix)
    empty = blocking(natsobj.ObjectStore.empty)
    sweep_orphans = blocking(natsobj.ObjectStore.sweep_orphans)
    changes = opening(natsobj.ObjectStore.changes, ChangeFeed)
    feeds = blocking(natsobj.ObjectStore.feeds)
    feed_info = blocking(natsobj.ObjectStore.feed_info)
    reset_feed = blocking(natsobj.ObjectStore.reset_feed)
    delete_feed = blocking(natsobj.ObjectStore.delete_feed)

    def add_bucket_link(self, name: str, store: ObjectStore | str) -> ObjectInfo:
        """As ``natsobj.ObjectStore.add_bucket_link``."""
        return self._client.call(self._async.add_bucket_link, name, _unwrap(store))

    def copy(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        metadata: Mapping[str, str] | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """As ``natsobj.ObjectStore.copy``."""
        return self._client.call(
            self._async.copy,
            source,
            destination,
            to_store=_unwrap(to_store),
            metadata=metadata,
            upsert=upsert,
        )

    def move(
        self,
        source: str,
        destination: str,
        *,
        to_store: ObjectStore | None = None,
        upsert: bool = False,
    ) -> ObjectInfo:
        """As ``natsobj.ObjectStore.move``."""
        return self._client.call(
            self._async.move, source, destination, to_store=_unwrap(to_store), upsert=upsert
        )


def _unwrap(store: Any) -> Any:
    """The async store under a sync one (anything else as it is, for the async checks)."""
    return store._async if isinstance(store, ObjectStore) else store


class ObjectStoreManager(Wrapper[natsobj.ObjectStoreManager]):
    """Buckets over one connection (see ``natsobj.ObjectStoreManager``), every method
    blocking. ``with natsobj.sync.connect(url) as manager`` closes the connection and
    stops the client's loop thread on leaving (``close()`` does the same)."""

    def __enter__(self) -> ObjectStoreManager:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._client.close(*exc_info)

    def close(self) -> None:
        """Close what is still open through this manager, the connection, and the loop
        thread; closing again does nothing."""
        self._client.close()

    @property
    def many_concurrency(self) -> int:
        return self._async.many_concurrency

    @property
    def cas_attempts(self) -> int:
        return self._async.cas_attempts

    create_object_store = blocking_into(natsobj.ObjectStoreManager.create_object_store, ObjectStore)
    create_object_store_mirror = blocking_into(
        natsobj.ObjectStoreManager.create_object_store_mirror, ObjectStore
    )
    update_object_store = blocking_into(natsobj.ObjectStoreManager.update_object_store, ObjectStore)
    object_store = blocking_into(natsobj.ObjectStoreManager.object_store, ObjectStore)
    object_store_names = blocking(natsobj.ObjectStoreManager.object_store_names)
    object_store_statuses = blocking(natsobj.ObjectStoreManager.object_store_statuses)
    delete_object_store = blocking(natsobj.ObjectStoreManager.delete_object_store)
    get_bucket = blocking(natsobj.ObjectStoreManager.get_bucket)
    update_bucket = blocking(natsobj.ObjectStoreManager.update_bucket)
    empty_bucket = blocking(natsobj.ObjectStoreManager.empty_bucket)
    delete_bucket = blocking(natsobj.ObjectStoreManager.delete_bucket)


@takes_args_of(natsobj.connect)
def connect(*args: Any, **options: Any) -> ObjectStoreManager:
    """Connect to NATS (as ``natsobj.connect``, which takes the same arguments) and return
    a blocking manager: ``with natsobj.sync.connect(url) as manager:``, or call
    ``manager.close()`` at the end. Each call starts its own event loop thread, which the
    connection and everything opened through it use; closing stops it.

    Raises:
        InvalidArgumentError, ServerUnavailableError: as ``natsobj.connect``.
    """
    client = Client()
    try:
        connecting = client.call_sync(natsobj.connect, *args, **options)
        manager = client.enter(connecting)
    except BaseException as exc:
        client.close(type(exc), exc, exc.__traceback__)
        raise
    return ObjectStoreManager(client, manager)
