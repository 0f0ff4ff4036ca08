"""natsobj itself as a conformance peer, in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager

import natsobj
from natsobj import ObjectMeta

from ._core import Cap, ErrorKind, Info, MarkedWatcher, Meta, PeerError, Status, Watcher

NAME = "natsobj"

_KINDS: list[tuple[type[natsobj.ObjectStoreError], ErrorKind]] = [
    (natsobj.ObjectNotFoundError, ErrorKind.NOT_FOUND),
    (natsobj.LinkIsBucketError, ErrorKind.LINK_IS_BUCKET),
    (natsobj.BucketSealedError, ErrorKind.SEALED),
]


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except natsobj.ObjectStoreError as exc:
        kind = next((k for cls, k in _KINDS if isinstance(exc, cls)), ErrorKind.OTHER)
        raise PeerError(NAME, kind, str(exc)) from exc


def _info(info: natsobj.ObjectInfo) -> Info:
    return Info.from_json(info.model_dump(mode="json"))


def _object_meta(meta: Meta) -> ObjectMeta:
    return ObjectMeta(
        name=meta.name,
        description=meta.description,
        headers=meta.headers,
        metadata=meta.metadata,
    )


def _status(status: natsobj.ObjectStoreStatus) -> Status:
    return Status(
        bucket=status.bucket,
        description=status.description,
        sealed=status.sealed,
        storage=status.storage,
        replicas=status.replicas,
        size=status.size,
    )


class NatsobjPeer:
    """natsobj on one connection (``ObjectStoreManager``); it can do everything."""

    name = NAME
    lacks: Mapping[Cap, str] = {}
    readers_need: Mapping[Cap, frozenset[Cap]] = {}

    def __init__(self, manager: natsobj.ObjectStoreManager) -> None:
        self._manager = manager

    async def _store(self, bucket: str) -> natsobj.ObjectStore:
        return await self._manager.object_store(bucket)

    async def create_bucket(self, bucket: str, *, description: str = "") -> Status:
        with _mapped():
            store = await self._manager.create_object_store(bucket, description=description)
            return _status(await store.status())

    async def status(self, bucket: str) -> Status:
        with _mapped():
            return _status(await (await self._store(bucket)).status())

    async def seal(self, bucket: str) -> None:
        with _mapped():
            await (await self._store(bucket)).seal()

    async def put(
        self, bucket: str, meta: Meta, data: bytes, *, chunk_size: int | None = None
    ) -> Info:
        with _mapped():
            store = await self._store(bucket)
            return _info(await store.put(_object_meta(meta), data, chunk_size=chunk_size))

    async def get(self, bucket: str, name: str) -> bytes:
        with _mapped():
            return await (await self._store(bucket)).get_bytes(name)

    async def info(self, bucket: str, name: str, *, show_deleted: bool = False) -> Info:
        with _mapped():
            store = await self._store(bucket)
            return _info(await store.get_info(name, show_deleted=show_deleted))

    async def list(self, bucket: str) -> list[Info]:
        with _mapped():
            return [_info(info) for info in await (await self._store(bucket)).list()]

    async def delete(self, bucket: str, name: str) -> None:
        with _mapped():
            await (await self._store(bucket)).delete(name)

    async def update_meta(self, bucket: str, name: str, meta: Meta) -> None:
        with _mapped():
            await (await self._store(bucket)).update_meta(name, _object_meta(meta))

    async def add_link(self, bucket: str, name: str, target_bucket: str, target: str) -> None:
        with _mapped():
            target_info = await (await self._store(target_bucket)).get_info(target)
            await (await self._store(bucket)).add_link(name, target_info)

    async def add_bucket_link(self, bucket: str, name: str, target_bucket: str) -> None:
        with _mapped():
            await (await self._store(bucket)).add_bucket_link(name, target_bucket)

    @asynccontextmanager
    async def watch(self, bucket: str) -> AsyncIterator[Watcher]:
        with _mapped():
            store = await self._store(bucket)
        async with store.watch() as watcher:
            yield MarkedWatcher(aiter(watcher), _info)
