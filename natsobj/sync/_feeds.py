"""The blocking change feeds: ``with store.changes(name) as feed: for event in feed: ...;
event.ack()``, each over its async twin (whose docstrings say what is guaranteed)."""

from __future__ import annotations

from collections.abc import Iterator

import natsobj
from natsobj import FeedStats

from ._client import Client, Resource, Wrapper, blocking

__all__ = ["ChangeFeed", "FeedEvent", "SessionChange", "SessionFeed"]


class FeedEvent(Wrapper[natsobj.FeedEvent]):
    """One change from a feed (see ``natsobj.FeedEvent``); settling it blocks."""

    def __init__(self, client: Client, wrapped: natsobj.FeedEvent):
        super().__init__(client, wrapped)
        self.kind = wrapped.kind
        self.info = wrapped.info
        self.revision = wrapped.revision
        self.delivered = wrapped.delivered
        self.mtime = wrapped.mtime

    @property
    def name(self) -> str:
        return self._async.name

    @property
    def settled(self) -> bool:
        return self._async.settled

    ack = blocking(natsobj.FeedEvent.ack)
    nak = blocking(natsobj.FeedEvent.nak)
    in_progress = blocking(natsobj.FeedEvent.in_progress)
    term = blocking(natsobj.FeedEvent.term)


class ChangeFeed(Resource[natsobj.ChangeFeed]):
    """``with store.changes(name) as feed: for event in feed``."""

    def __init__(self, client: Client, wrapped: natsobj.ChangeFeed):
        super().__init__(client, wrapped)
        self.name = wrapped.name
        self.ack_wait = wrapped.ack_wait
        self.kinds = wrapped.kinds
        self.prefix = wrapped.prefix
        self.max_deliver = wrapped.max_deliver
        self.coalesce = wrapped.coalesce
        self.exclusive = wrapped.exclusive

    @property
    def stats(self) -> FeedStats:
        return self._async.stats

    def __iter__(self) -> Iterator[FeedEvent]:
        return self

    def __next__(self) -> FeedEvent:
        return FeedEvent(self._client, self._next_item())


class SessionChange(Wrapper[natsobj.SessionChange]):
    """One change of a scope from a feed (see ``natsobj.SessionChange``)."""

    def __init__(self, client: Client, wrapped: natsobj.SessionChange):
        super().__init__(client, wrapped)
        self.key = wrapped.key
        self.kind = wrapped.kind
        self.metadata = wrapped.metadata
        self.revision = wrapped.revision
        self.mtime = wrapped.mtime
        self.delivered = wrapped.delivered
        self.event = FeedEvent(client, wrapped.event)

    ack = blocking(natsobj.SessionChange.ack)
    nak = blocking(natsobj.SessionChange.nak)
    in_progress = blocking(natsobj.SessionChange.in_progress)
    term = blocking(natsobj.SessionChange.term)


class SessionFeed(Resource[natsobj.SessionFeed]):
    """``with session.changes(name) as feed: for change in feed``."""

    def __init__(self, client: Client, wrapped: natsobj.SessionFeed):
        super().__init__(client, wrapped)
        self.name = wrapped.name

    def __iter__(self) -> Iterator[SessionChange]:
        return self

    def __next__(self) -> SessionChange:
        return SessionChange(self._client, self._next_item())
