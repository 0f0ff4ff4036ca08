"""``SyncObstoreAdapter``: obspec's sync protocols over a ``natsobj.sync.ObjectStore``.

Every method runs its ``ObstoreAdapter`` twin in the sync store's event loop thread
(``natsobj.sync``), so the two adapters share one implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from natsobj import InvalidArgumentError
from natsobj.sync import ObjectStore as SyncObjectStore
from natsobj.sync._client import Client, Wrapper, blocking, blocking_into, opening

from ._adapter import GetResult, ObstoreAdapter

__all__ = ["SyncGetResult", "SyncObstoreAdapter"]

_END = object()


async def _next(iterator: Any) -> Any:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _END


def _blocking_iter(client: Client, iterator: Any) -> Iterator[Any]:
    """A sync iterator over an async one living in ``client``'s loop; closed (in the
    loop) when left early."""
    try:
        while (item := client.call(_next, iterator)) is not _END:
            yield item
    finally:
        if not client.closed:
            client.call(iterator.aclose)


class SyncGetResult:
    """obspec's ``GetResult``: ``meta``, ``range``, ``attributes``, the bytes by iterating
    (once) or ``buffer()``."""

    def __init__(self, client: Client, result: GetResult):
        self._client = client
        self._async = result
        self.meta = result.meta
        self.range = result.range
        self.attributes = result.attributes

    def __iter__(self) -> Iterator[bytes]:
        return _blocking_iter(self._client, aiter(self._async))

    def buffer(self) -> bytes:
        """Every byte of the result (verified), in one buffer."""
        return self._client.call(self._async.buffer_async)

    def close(self) -> None:
        """Release the read without consuming it."""
        self._client.call(self._async.aclose)


class SyncObstoreAdapter(Wrapper[ObstoreAdapter]):
    """obspec's sync protocols (``Get``, ``GetRange``, ``GetRanges``, ``Put``, ``Head``,
    ``List``, ``ListWithDelimiter``, ``Delete``, ``Copy``, ``Rename``) over a blocking
    ``natsobj.sync`` store: each method is its ``ObstoreAdapter`` twin (``get`` is
    ``get_async``, ...) run in the store's event loop thread, same arguments and errors."""

    def __init__(self, store: SyncObjectStore):
        if not isinstance(store, SyncObjectStore):
            raise InvalidArgumentError(
                f"SyncObstoreAdapter wraps a natsobj.sync.ObjectStore, got {type(store).__name__}"
            )
        super().__init__(store._client, ObstoreAdapter(store._async))
        self.store = store

    def __repr__(self) -> str:
        return f"SyncObstoreAdapter(bucket={self.store.bucket!r})"

    get = blocking_into(ObstoreAdapter.get_async, SyncGetResult)
    get_range = blocking(ObstoreAdapter.get_range_async)
    get_ranges = blocking(ObstoreAdapter.get_ranges_async)
    head = blocking(ObstoreAdapter.head_async)
    put = blocking(ObstoreAdapter.put_async)
    delete = blocking(ObstoreAdapter.delete_async)
    copy = blocking(ObstoreAdapter.copy_async)
    rename = blocking(ObstoreAdapter.rename_async)
    list = opening(ObstoreAdapter.list_async, _blocking_iter)
    list_with_delimiter = blocking(ObstoreAdapter.list_with_delimiter_async)
