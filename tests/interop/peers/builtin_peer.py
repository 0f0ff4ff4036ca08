"""nats-py's built-in object store (``nc.jetstream().object_store``) as a conformance peer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import nats
import nats.errors
from nats.js import api
from nats.js.errors import APIError, LinkIsABucketError, NotFoundError

from ._core import Cap, ErrorKind, Info, MarkedWatcher, Meta, PeerError, Status, Watcher

NAME = "nats-py"

#: nats-py bounds none of its object store calls: a get waits forever for a missing chunk,
#: and list() never returns when the newest meta is one it cannot parse.
CALL_TIMEOUT = 30.0

#: JetStream's err_code for a write to a sealed stream.
SEALED_STREAM = 10109

LACKS: Mapping[Cap, str] = {
    Cap.METADATA: "its ObjectMeta and ObjectInfo have no metadata field",
    Cap.RENAME: "update_meta to a new name raises ObjectAlreadyExists (it checks the old name)",
    Cap.ADD_LINK: "it has no add_link",
    Cap.ADD_BUCKET_LINK: "it has no add_bucket_link",
    Cap.READ_NUIDLESS_LINK: (
        "its ObjectInfo needs nuid, size, chunks and mtime, so get_info and get raise"
        " BadObjectMetaError and list drops the entry"
    ),
}


def _kind(exc: nats.errors.Error) -> ErrorKind:
    if isinstance(exc, NotFoundError):  # ObjectNotFoundError and ObjectDeletedError too
        return ErrorKind.NOT_FOUND
    if isinstance(exc, LinkIsABucketError):
        return ErrorKind.LINK_IS_BUCKET
    if isinstance(exc, APIError) and exc.err_code == SEALED_STREAM:
        return ErrorKind.SEALED
    return ErrorKind.OTHER


@contextmanager
def _call() -> Iterator[None]:
    """Bound a nats-py call in time and map its errors."""
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            yield
    except nats.errors.Error as exc:
        raise PeerError(NAME, _kind(exc), f"{type(exc).__name__}: {exc}") from exc


def _info(info: api.ObjectInfo) -> Info:
    return Info.from_json(info.as_dict(), metadata=False)


class BuiltinPeer:
    """nats-py's object store on one connection; it never writes object metadata."""

    name = NAME
    lacks = LACKS
    #: nats-py's delete() writes ``"mtime": ""``, which is not a time.
    readers_need: Mapping[Cap, frozenset[Cap]] = {Cap.DELETE: frozenset({Cap.READ_EMPTY_MTIME})}

    def __init__(self, nc: Any) -> None:
        self._js = nc.jetstream()

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[BuiltinPeer]:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
        try:
            yield cls(nc)
        finally:
            with anyio.CancelScope(shield=True):
                await nc.close()

    async def _store(self, bucket: str) -> Any:
        """nats-py's ObjectStore for ``bucket`` (partly untyped: ``seal``, ``watch``)."""
        return await self._js.object_store(bucket)

    async def create_bucket(self, bucket: str, *, description: str = "") -> Status:
        with _call():
            await self._js.create_object_store(bucket, description=description or None)
        return await self.status(bucket)

    async def status(self, bucket: str) -> Status:
        with _call():
            status = await (await self._store(bucket)).status()
        return Status(
            bucket=status.bucket,
            description=status.description or "",
            sealed=status.sealed,
            storage=api.StorageType(status.storage_type).value,
            replicas=status.replicas or 0,
            size=status.size,
        )

    async def seal(self, bucket: str) -> None:
        with _call():
            await (await self._store(bucket)).seal()

    async def put(
        self, bucket: str, meta: Meta, data: bytes, *, chunk_size: int | None = None
    ) -> Info:
        """Put with nats-py; ``meta.metadata`` is not written (nats-py has no place for it)."""
        object_meta = api.ObjectMeta(
            name=meta.name,
            description=meta.description or None,
            headers=dict(meta.headers) or None,
            options=api.ObjectMetaOptions(max_chunk_size=chunk_size) if chunk_size else None,
        )
        with _call():
            store = await self._store(bucket)
            return _info(await store.put(meta.name, data, meta=object_meta))

    async def get(self, bucket: str, name: str) -> bytes:
        with _call():
            result = await (await self._store(bucket)).get(name)
        return bytes(result.data or b"")

    async def info(self, bucket: str, name: str, *, show_deleted: bool = False) -> Info:
        with _call():
            store = await self._store(bucket)
            return _info(await store.get_info(name, show_deleted=show_deleted))

    async def list(self, bucket: str) -> list[Info]:
        with _call():
            store = await self._store(bucket)
            try:
                infos = await store.list(ignore_deletes=True)
            except NotFoundError:  # what nats-py says for an empty bucket
                return []
        return [_info(info) for info in infos]

    async def delete(self, bucket: str, name: str) -> None:
        with _call():
            await (await self._store(bucket)).delete(name)

    async def update_meta(self, bucket: str, name: str, meta: Meta) -> None:
        """nats-py's update_meta: ``meta.metadata`` is dropped, a new name fails."""
        object_meta = api.ObjectMeta(
            name=meta.name, description=meta.description, headers=dict(meta.headers)
        )
        with _call():
            await (await self._store(bucket)).update_meta(name, object_meta)

    async def add_link(self, bucket: str, name: str, target_bucket: str, target: str) -> None:
        raise NotImplementedError(LACKS[Cap.ADD_LINK])

    async def add_bucket_link(self, bucket: str, name: str, target_bucket: str) -> None:
        raise NotImplementedError(LACKS[Cap.ADD_BUCKET_LINK])

    @asynccontextmanager
    async def watch(self, bucket: str) -> AsyncIterator[Watcher]:
        with _call():
            watcher = await (await self._store(bucket)).watch()
        try:
            yield MarkedWatcher(watcher, _info)
        finally:
            with anyio.CancelScope(shield=True):
                await watcher.stop()
