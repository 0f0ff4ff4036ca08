"""Bucket handles the gateway's requests share.

Opening a bucket is a stream info request to NATS; under load that was one more round
trip per HTTP request than the library needs. A worker keeps each bucket's handle for at
most ``STORE_MAX_AGE`` seconds, counted from before the stream info it was opened with
was read, and ``store.policy`` is never older than that read (``BucketCore.current_policy``
reads it again on its own too). So a policy change made by any client (the public flag,
the size limit, the mime types) holds on every worker within half a second, inside the
gateway's bound of a second with room for the request that notices it. A kept handle of
a deleted bucket gets NATS's "stream not found", so BucketNotFoundError at once, as a new
one would. While a handle is being opened, the requests that need it wait for that one
rather than each opening their own.
"""

from __future__ import annotations

import time

import anyio
from starlette.requests import Request

from .._manager import ObjectStoreManager
from .._store import ObjectStore

__all__ = ["STORE_MAX_AGE", "open_store"]

STORE_MAX_AGE = 0.5
# Only existing buckets are kept, but their count is not ours to bound: past this many,
# start again rather than grow.
MAX_STORES = 1024


class _Opening:
    """One bucket's handle being opened: the requests that need it meanwhile wait here
    rather than each asking NATS (a whole burst of requests finds the kept handle
    expired at once)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = anyio.Event()
        self.store: ObjectStore | None = None


class _Stores:
    """One manager's open bucket handles, each reused for at most ``STORE_MAX_AGE``."""

    def __init__(self, manager: ObjectStoreManager) -> None:
        self.manager = manager
        self._open: dict[str, tuple[float, ObjectStore]] = {}
        self._opening: dict[str, _Opening] = {}

    async def get(self, bucket: str) -> ObjectStore:
        now = time.monotonic()
        kept = self._open.get(bucket)
        if kept is not None and now - kept[0] < STORE_MAX_AGE:
            return kept[1]
        opening = self._opening.get(bucket)
        if opening is not None and now - opening.started < STORE_MAX_AGE:
            await opening.done.wait()
            if opening.store is not None:
                return opening.store
            # Its opener failed or was cancelled: this request asks for itself.
        return await self._reopen(bucket, now)

    async def _reopen(self, bucket: str, now: float) -> ObjectStore:
        opening = self._opening[bucket] = _Opening(now)
        try:
            store = await self.manager.object_store(bucket)
            if len(self._open) >= MAX_STORES:
                self._open.clear()
            self._open[bucket] = (now, store)
            opening.store = store
            return store
        finally:
            opening.done.set()
            if self._opening.get(bucket) is opening:
                del self._opening[bucket]


async def open_store(request: Request, bucket: str) -> ObjectStore:
    """The bucket's handle for this request (``app.state.manager``'s, at most
    ``STORE_MAX_AGE`` old).

    Raises:
        BucketNotFoundError: there is no such bucket (never cached).
        InvalidBucketNameError: ``bucket`` is not a valid name.
    """
    state = request.app.state
    manager: ObjectStoreManager = state.manager
    stores = getattr(state, "stores", None)
    if not isinstance(stores, _Stores) or stores.manager is not manager:
        stores = state.stores = _Stores(manager)
    return await stores.get(bucket)
