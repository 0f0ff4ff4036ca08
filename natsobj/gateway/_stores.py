"""Bucket handles the gateway's requests share.

Opening a bucket is a stream info request to NATS; under load that was one more round
trip per HTTP request than the library needs. A worker keeps each bucket's handle for at
most ``STORE_MAX_AGE`` seconds, counted from before the stream info it was opened with
was read, and ``store.policy`` is never older than that read (``BucketCore.current_policy``
reads it again on its own too). So a policy change made by any client (the public flag,
the size limit, the mime types) holds on every worker within half a second, inside the
gateway's bound of a second with room for the request that notices it. A kept handle of
a deleted bucket gets NATS's "stream not found", so BucketNotFoundError at once, as a new
one would.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from .._manager import ObjectStoreManager
from .._store import ObjectStore

__all__ = ["STORE_MAX_AGE", "open_store"]

STORE_MAX_AGE = 0.5
# Only existing buckets are kept, but their count is not ours to bound: past this many,
# start again rather than grow.
MAX_STORES = 1024


class _Stores:
    """One manager's open bucket handles, each reused for at most ``STORE_MAX_AGE``."""

    def __init__(self, manager: ObjectStoreManager) -> None:
        self.manager = manager
        self._open: dict[str, tuple[float, ObjectStore]] = {}

    async def get(self, bucket: str) -> ObjectStore:
        now = time.monotonic()
        kept = self._open.get(bucket)
        if kept is not None and now - kept[0] < STORE_MAX_AGE:
            return kept[1]
        store = await self.manager.object_store(bucket)
        if len(self._open) >= MAX_STORES:
            self._open.clear()
        self._open[bucket] = (now, store)
        return store


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
