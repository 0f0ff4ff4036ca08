"""ListingIndexes: the gateway's listing indexes, one per bucket listed, per worker."""

from __future__ import annotations

from typing import Any, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus

import natsobj

__all__ = ["GATEWAY_MAX_STALENESS", "ListingIndexes"]

# The gateway's list routes read their own writes (and every write acknowledged before the
# request) at one round trip per listing: a Supabase client lists right after an upload.
GATEWAY_MAX_STALENESS = 0.0


class ListingIndexes:
    """One ``ListingIndex`` per bucket, opened on the first listing of the bucket and kept
    open by a task of this pool until the pool closes (the app's shutdown). An index that
    failed (its bucket deleted, ...) is opened again on the next listing."""

    def __init__(
        self, manager: natsobj.ObjectStoreManager, *, max_staleness: float = GATEWAY_MAX_STALENESS
    ):
        self._manager = manager
        self._max_staleness = max_staleness
        self._open: dict[str, natsobj.ListingIndex] = {}
        self._opening: dict[str, anyio.Lock] = {}
        self._tg: TaskGroup | None = None
        self._stops: dict[str, anyio.Event] = {}

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        tg, self._tg = self._tg, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)

    async def index(self, bucket: str) -> natsobj.ListingIndex:
        """The open index of ``bucket``, opened now if it has none (that one waits for its
        load; others wait for it).

        Raises:
            BucketNotFoundError: no such bucket; what opening an index raises.
        """
        index = self._open.get(bucket)
        if index is not None and index.usable:
            return index
        lock = self._opening.setdefault(bucket, anyio.Lock())
        try:
            async with lock:
                index = self._open.get(bucket)
                if index is not None and index.usable:
                    return index
                if bucket in self._stops:
                    self._stops.pop(bucket).set()  # the failed one's task ends
                if self._tg is None:
                    raise natsobj.NotOpenError("the gateway is shutting down")
                store = await self._manager.object_store(bucket)
                stop = anyio.Event()
                opened: natsobj.ListingIndex = await self._tg.start(self._keep, store, stop)
                self._open[bucket], self._stops[bucket] = opened, stop
                return opened
        finally:
            # A name that opened nothing (no such bucket: any caller may ask for any name)
            # keeps no lock once nobody waits on it.
            if bucket not in self._open and not lock.statistics().tasks_waiting:
                self._opening.pop(bucket, None)

    async def _keep(
        self,
        store: natsobj.ObjectStore,
        stop: anyio.Event,
        *,
        task_status: TaskStatus[natsobj.ListingIndex],
    ) -> None:
        opened = False
        try:
            async with store.index(max_staleness=self._max_staleness) as index:
                opened = True
                task_status.started(index)
                await stop.wait()
        except natsobj.ObjectStoreError:
            if not opened:
                raise  # to the listing that opened it
            # Closing a failed index: the next listing opens a new one.
