"""SessionFeed: a durable change feed of one usecase scope (``Session.changes``).

A filter and map over ``ChangeFeed``: the usecase bucket's feed, other scopes' changes
acknowledged unseen, names turned back into session keys.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

import anyio

from .._bucket._feed import ChangeFeed, DeadLetter, FeedEvent, FeedOptions
from .._bucket._feeds import Deliver, check_feed_name
from .._checks import RequiresAsyncWith
from .._errors import InvalidArgumentError
from ._ops import SessionContext
from ._scope import ObjectMetadata
from ._watch import EventKind, session_event

if TYPE_CHECKING:
    from .._store import ObjectStore

__all__ = ["MAX_NAME", "SessionChange", "SessionFeed", "scope_feed_name"]

# A feed name is at most 80 characters; a session's adds "-" and a 12-digit digest.
MAX_NAME = 67


def scope_feed_name(name: str, prefix: str) -> str:
    """The feed (consumer) behind ``session.changes(name)`` in the scope of ``prefix``:
    ``name`` and a digest of the scope, so that two scopes never share one (each would
    acknowledge the other's events unseen).

    Raises:
        InvalidArgumentError: ``name`` is not 1 to ``MAX_NAME`` (67) of A-Z a-z 0-9 _ -.
    """
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:12]
    if len(check_feed_name(name)) > MAX_NAME:  # room for "-<digest>" in a feed's name
        raise InvalidArgumentError(
            f"a session feed name is 1 to {MAX_NAME} of A-Z a-z 0-9 _ -, got {name!r}"
        )
    return f"{name}-{digest}"


@dataclass(eq=False)
class SessionChange:
    """One change to an object of a session's scope, from a durable feed: ``key``,
    ``kind`` (``"put"``, ``"renew"``, ``"delete"``, ``"expire"``, as ``SessionEvent``),
    ``metadata`` (None for deletions), ``revision``, ``mtime``, ``delivered`` (1 the first
    time). Settle it as a ``FeedEvent`` (``ack``, ``nak``, ``in_progress``, ``term``);
    ``event`` is the bucket's event behind it."""

    key: str
    kind: EventKind
    metadata: ObjectMetadata | None
    revision: int
    mtime: datetime | None
    delivered: int
    event: FeedEvent

    async def ack(self) -> None:
        """Done (``FeedEvent.ack``)."""
        await self.event.ack()

    async def nak(self, delay: float | timedelta | None = None) -> None:
        """Give it back, to come again (``FeedEvent.nak``)."""
        await self.event.nak(delay)

    async def in_progress(self) -> None:
        """Still working on it (``FeedEvent.in_progress``)."""
        await self.event.in_progress()

    async def term(self, reason: str = "") -> None:
        """Never deliver it again (``FeedEvent.term``)."""
        await self.event.term(reason)


class SessionFeed(RequiresAsyncWith, anyio.AsyncContextManagerMixin):
    """Async iterator of ``SessionChange``s for one scope (see ``Session.changes``)."""

    _usage = "async with session.changes(name) as feed: async for change in feed"

    def __init__(
        self,
        context: SessionContext,
        name: str,
        *,
        deliver: Deliver,
        ack_wait: float | timedelta,
        max_deliver: int | None,
        coalesce: bool,
        on_dead_letter: DeadLetter | None,
        exclusive: bool,
    ):
        FeedOptions.checked(
            deliver=deliver,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            coalesce=coalesce,
            on_dead_letter=on_dead_letter,
            exclusive=exclusive,
        )
        self._context = context
        self.name = scope_feed_name(name, context.prefix)
        prefix = context.prefix

        def open_feed(store: ObjectStore) -> ChangeFeed:
            return store.changes(
                self.name,
                prefix=prefix,
                deliver=deliver,
                ack_wait=ack_wait,
                max_deliver=max_deliver,
                coalesce=coalesce,
                on_dead_letter=on_dead_letter,
                exclusive=exclusive,
            )

        self._open_feed = open_feed
        self._feed: ChangeFeed | None = None

    @contextlib.asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self, None]:
        context = self._context
        with context.forgets_deleted_bucket():  # a deleted bucket is created again
            store = (await context.bucket()).store
        feed = self._open_feed(store)
        async with feed:
            self._feed = feed
            try:
                yield self
            finally:
                self._feed = None

    def __aiter__(self) -> SessionFeed:
        return self

    async def __anext__(self) -> SessionChange:
        while True:
            if self._feed is None:
                raise self._not_open()
            event = await self._feed.__anext__()
            found = session_event(self._context.prefix, event.info, datetime.now(UTC))
            if found is None:  # a scope below this one, or a put already expired
                await event.ack()
                continue
            return SessionChange(
                found.key,
                found.kind,
                found.metadata,
                found.revision,
                found.mtime,
                event.delivered,
                event,
            )
