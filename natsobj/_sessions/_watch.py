"""SessionWatcher: change events for the objects of one usecase scope.

A filter and map over ``ObjectWatcher`` (same consumer, same initial-values model): the
usecase bucket's changes are read, those of other scopes dropped, names turned back into
session keys, and server delete markers told apart from client deletes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Self

import anyio

from .._bucket._watch import ObjectWatcher, check_watch_options
from .._checks import RequiresAsyncWith
from .._expiration import expired
from .._models import ObjectInfo
from .._wire import EXPIRY_MARKER_REASON, MARKER_REASON_HEADER
from ._ops import SessionContext
from ._scope import ObjectMetadata

__all__ = ["SessionEvent", "SessionWatcher"]

EventKind = Literal["put", "renew", "delete", "expire"]


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One change to an object of a session's scope (see ``Session.watch``).

    ``kind`` is ``"put"`` (stored or replaced), ``"renew"`` (a read moved a time-to-idle
    deadline: same bytes, new ``time_expires``), ``"delete"`` (deleted by a client) or
    ``"expire"`` (the server removed it when its deadline passed: time to live, time to
    idle, or the bucket's max age). ``metadata`` is set for puts and renewals, None for
    deletions. ``revision`` is the change's stream sequence, ``mtime`` when the server
    stored it.
    """

    key: str
    kind: EventKind
    metadata: ObjectMetadata | None
    revision: int
    mtime: datetime | None

    @property
    def deleted(self) -> bool:
        """Whether the object is gone: deleted or expired."""
        return self.kind in ("delete", "expire")


class SessionWatcher(RequiresAsyncWith, anyio.AsyncContextManagerMixin):
    """Async iterator of ``SessionEvent``s for one scope, with ``None`` once after the
    initial values (see ``Session.watch``).

    Use inside ``async with session.watch() as watcher``; leaving the block (or
    ``aclose()``) unsubscribes, shielded from cancellation, and ends the iteration.
    Iterating (or ``await``-ing) a watcher that was never entered raises NotOpenError.
    """

    _usage = "async with session.watch() as watcher: async for event in watcher"

    def __init__(
        self,
        context: SessionContext,
        *,
        include_history: bool,
        ignore_deletes: bool,
        updates_only: bool,
    ):
        check_watch_options(
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )
        self._context = context
        self.include_history = include_history
        self.ignore_deletes = ignore_deletes
        self.updates_only = updates_only
        self._prefix = context.prefix
        self._watcher: ObjectWatcher | None = None
        self._opened = False
        # Keys whose last event was a delete: the server's removal of their tombstone (a
        # session delete's tombstone has a TTL) is not news, and not an expiry.
        self._deleted: set[str] = set()

    @contextlib.asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self, None]:
        context = self._context
        async with contextlib.AsyncExitStack() as stack:
            with context.forgets_deleted_bucket():  # a deleted bucket is created again
                store = (await context.bucket()).store
                self._watcher = await stack.enter_async_context(
                    store.watch(
                        include_history=self.include_history,
                        ignore_deletes=self.ignore_deletes,
                        updates_only=self.updates_only,
                    )
                )
            self._opened = True
            try:
                yield self
            finally:
                self._watcher = None

    async def aclose(self) -> None:
        """Stop watching: unsubscribe (shielded from cancellation); the iterator then
        ends. Leaving ``async with`` does this too."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            await watcher.stop()

    async def stop(self) -> None:
        """Stop watching: the same as ``aclose()``."""
        await self.aclose()

    def __aiter__(self) -> SessionWatcher:
        return self

    async def __anext__(self) -> SessionEvent | None:
        if not self._opened:
            raise self._not_open()
        while True:
            if self._watcher is None:
                raise StopAsyncIteration
            info = await self._watcher.__anext__()
            if info is None:
                return None
            event = session_event(self._prefix, info, datetime.now(UTC))
            if event is None:
                continue
            if event.kind == "delete":
                self._deleted.add(event.key)
            elif event.key in self._deleted:
                self._deleted.discard(event.key)
                if event.kind == "expire":
                    continue
            return event


def session_event(prefix: str, info: ObjectInfo, now: datetime) -> SessionEvent | None:
    """The change ``info`` (an ``ObjectWatcher`` entry) stands for in the scope whose names
    start with ``prefix``; None if it is another scope's, or a put already expired at
    ``now`` (its "expire" comes with the server's marker)."""
    if not info.name.startswith(prefix) or info.name == prefix:
        return None
    key = info.name[len(prefix) :]
    if info.deleted:
        reasons = info.headers.get(MARKER_REASON_HEADER, ())
        kind: EventKind = "expire" if EXPIRY_MARKER_REASON in reasons else "delete"
        return SessionEvent(key, kind, None, info.revision, info.mtime)
    meta = ObjectMetadata.from_info(key, info)
    if expired(meta.time_expires, now):
        return None
    kind = "renew" if _renewed(meta) else "put"
    return SessionEvent(key, kind, meta, info.revision, info.mtime)


def _renewed(meta: ObjectMetadata) -> bool:
    """Whether a time-to-idle meta is a renewal: a put's deadline is exactly
    ``created + tti``; a renewal moves it later (by at least the debounce)."""
    duration = meta.expiration_policy.duration
    if meta.expiration_policy.kind != "tti" or duration is None:
        return False
    if meta.time_expires is None or meta.time_created is None:
        return False
    # A difference, not a sum: the times are any writer's, and created + tti may be
    # past what a datetime holds (year 9999).
    return meta.time_expires - meta.time_created > duration
