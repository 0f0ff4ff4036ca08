"""ChangeFeed: a bucket's changes through a durable consumer that survives restarts and is
shared by the replicas of a service (``ObjectStore.changes``)."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Self

import anyio

from .._checks import (
    RequiresAsyncWith,
    check_bool,
    check_callable,
    check_int,
    check_server_seconds,
)
from .._errors import InvalidArgumentError, NotOpenError, ObjectStoreError
from .._jetstream import Delivery, PullConsumer
from .._models import ObjectInfo
from .._wire import meta_subject
from ._feeds import (
    FEED_GROUP,
    check_feed_name,
    consumer_config,
    deliver_fields,
    open_feed_consumer,
)
from ._watch import parse_change

if TYPE_CHECKING:
    from ._core import BucketCore

__all__ = [
    "DEFAULT_ACK_WAIT",
    "DEFAULT_MAX_DELIVER",
    "KINDS",
    "ChangeFeed",
    "DeadLetter",
    "EventKind",
    "FeedEvent",
    "FeedStats",
    "check_kinds",
]

log = logging.getLogger("natsobj.feed")

EventKind = Literal["put", "delete", "link", "expire"]
KINDS: tuple[EventKind, ...] = ("put", "delete", "link", "expire")
DEFAULT_ACK_WAIT = 30.0
DEFAULT_MAX_DELIVER = 5

DeadLetter = Callable[["FeedEvent"], Awaitable[object] | object]


def kind_of(info: ObjectInfo) -> EventKind:
    """What a change is: ``expire`` (a server marker), ``delete``, ``link`` or ``put``."""
    if info.deleted:
        return "expire" if info.headers.get("Nats-Marker-Reason") else "delete"
    return "link" if info.is_link else "put"


def check_kinds(kinds: object) -> frozenset[EventKind]:
    """``kinds`` (None: all) as a set of event kinds."""
    if kinds is None:
        return frozenset(KINDS)
    if isinstance(kinds, str) or not isinstance(kinds, Collection):
        raise InvalidArgumentError(f"kinds must be a collection of {KINDS}, got {kinds!r}")
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise InvalidArgumentError(f"kinds must be some of {KINDS}, got {sorted(map(str, kinds))}")
    return frozenset(kinds)


@dataclass(eq=False)
class FeedEvent:
    """One change a feed hands out: ``kind`` (``put``, ``delete``, ``link``, ``expire``: the
    server removed the meta at its TTL or the bucket's max age), the object's ``info`` (for
    a deletion, its tombstone), ``revision`` (the change's stream sequence), ``delivered``
    (1 the first time, more when it comes again) and ``mtime`` (when the server stored it).

    Settle it once, after handling it: ``ack()`` (done), ``nak(delay=)`` (give it back, to
    come again, to any replica), ``term()`` (never again). ``in_progress()`` resets its
    ``ack_wait`` while a long job runs. Each returns once the server confirmed it; a
    second settlement is ignored. An event left unsettled comes again after ``ack_wait``
    (when its feed closes first: at once).
    """

    kind: EventKind
    info: ObjectInfo
    revision: int
    delivered: int
    mtime: datetime
    _consumer: PullConsumer = field(repr=False)
    _delivery: Delivery = field(repr=False)
    settled: bool = False

    @property
    def name(self) -> str:
        """The object's name."""
        return self.info.name

    async def _settle(self, answer: Callable[[Delivery], Awaitable[None]]) -> None:
        if self.settled:
            return
        self.settled = True
        try:
            await answer(self._delivery)
        except BaseException:
            self.settled = False
            raise

    async def ack(self) -> None:
        """Done: the event is not delivered again (to any replica of the feed)."""
        await self._settle(self._consumer.ack)

    async def nak(self, delay: float | timedelta | None = None) -> None:
        """Give it back: it is delivered again (to any replica), after ``delay`` (seconds or
        a timedelta, up to about 292 years) if given.

        Raises:
            InvalidArgumentError: a negative delay, or one the server cannot hold.
        """
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
        if seconds:
            check_server_seconds(seconds, "delay")
        await self._settle(lambda delivery: self._consumer.nak(delivery, seconds or 0.0))

    async def in_progress(self) -> None:
        """Still working on it: its ``ack_wait`` starts again (no effect once settled)."""
        if not self.settled:
            await self._consumer.in_progress(self._delivery)

    async def term(self, reason: str = "") -> None:
        """Never deliver it again, unhandled (as a dead letter handler does)."""
        text = reason if isinstance(reason, str) else ""
        await self._settle(lambda delivery: self._consumer.term(delivery, text))


@dataclass
class FeedStats:
    """What one feed handle did besides handing out events: events ``filtered`` by
    ``kinds`` or ``prefix``, ``coalesced`` (a newer change of the object came first),
    ``skipped`` (not usable meta), ``dead_lettered`` (over ``max_deliver``)."""

    filtered: int = 0
    coalesced: int = 0
    skipped: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class FeedOptions:
    """A feed's options, checked before anything is sent (``checked``)."""

    ack_wait: float
    max_deliver: int | None
    coalesce: bool
    exclusive: bool

    @classmethod
    def checked(
        cls,
        *,
        deliver: object,
        ack_wait: object,
        max_deliver: object,
        coalesce: object,
        on_dead_letter: object,
        exclusive: object,
    ) -> FeedOptions:
        """The options as a feed keeps them.

        Raises:
            InvalidArgumentError: any option of the wrong type or out of range.
        """
        deliver_fields(deliver)
        wait = ack_wait.total_seconds() if isinstance(ack_wait, timedelta) else ack_wait
        if on_dead_letter is not None:
            check_callable(on_dead_letter, "on_dead_letter")
        return cls(
            ack_wait=check_server_seconds(wait, "ack_wait"),
            max_deliver=(
                None if max_deliver is None else check_int(max_deliver, "max_deliver", minimum=1)
            ),
            coalesce=check_bool(coalesce, "coalesce"),
            exclusive=check_bool(exclusive, "exclusive"),
        )


class ChangeFeed(RequiresAsyncWith, anyio.AsyncContextManagerMixin):
    """Async iterator of ``FeedEvent``s from a durable change feed (``ObjectStore.changes``).

    Entering creates the feed's consumer on the server, or adopts the one of that name
    (a restart, another replica): it then resumes after the last acknowledged event and
    ``deliver`` is ignored. Leaving (or ``aclose()``) gives back, shielded from
    cancellation, every event received and not settled, so another replica gets it at
    once; the consumer stays (``ObjectStore.delete_feed`` removes it).

    Poison events are counted by delivery: an event delivered more than ``max_deliver``
    times (handlers that nak it, fail, or outlive ``ack_wait``) is handed to
    ``on_dead_letter`` instead (awaited if it returns an awaitable) and then terminated, so
    the feed moves on. The count is the server's (every replica sees it); the server's own
    MAX_DELIVERIES advisory is not used, since it reaches only whoever listens at that
    moment. If ``on_dead_letter`` raises, the event is given back and comes again.

    Raises (iterating):
        FeedNotFoundError: the feed was deleted meanwhile.
        ServerUnavailableError: no connection for the connection's ``timeout``; iterate
            again to go on (nothing is lost: unsettled events come again).
        JetStreamAPIError: the server refuses this handle's pulls: another replica opened
            the feed with another ``exclusive`` (the last to open sets the consumer's
            ``ack_wait`` and exclusivity).
    """

    _usage = "async with store.changes(name) as feed: async for event in feed"

    def __init__(
        self,
        core: BucketCore,
        name: str,
        *,
        deliver: object = "new",
        kinds: Collection[EventKind] | None = None,
        prefix: str = "",
        ack_wait: float | timedelta = DEFAULT_ACK_WAIT,
        max_deliver: int | None = DEFAULT_MAX_DELIVER,
        coalesce: bool = False,
        on_dead_letter: DeadLetter | None = None,
        exclusive: bool = False,
    ):
        self._core = core
        self.name = check_feed_name(name)
        self.kinds = check_kinds(kinds)
        if not isinstance(prefix, str):
            raise InvalidArgumentError(f"prefix must be a str, got {prefix!r}")
        self.prefix = prefix
        options = FeedOptions.checked(
            deliver=deliver,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
            coalesce=coalesce,
            on_dead_letter=on_dead_letter,
            exclusive=exclusive,
        )
        self.ack_wait = options.ack_wait
        self.max_deliver = options.max_deliver
        self.coalesce = options.coalesce
        self.exclusive = options.exclusive
        self._on_dead_letter = on_dead_letter
        self._config = consumer_config(
            core, self.name, deliver=deliver, ack_wait=self.ack_wait, exclusive=self.exclusive
        )
        self.stats = FeedStats()
        self._consumer: PullConsumer | None = None
        self._handed: list[FeedEvent] = []
        self._current: Delivery | None = None

    @contextlib.asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self, None]:
        if self._consumer is not None:
            raise NotOpenError("a ChangeFeed is opened once: ask for a new one")
        core = self._core
        await open_feed_consumer(core, self._config)
        consumer = PullConsumer(
            core.js,
            core.stream,
            self.name,
            bucket=core.bucket,
            group=FEED_GROUP if self.exclusive else None,
        )
        await consumer.start()
        self._consumer = consumer
        try:
            yield self
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop: the iteration ends; events received and not settled are given back."""
        consumer = self._consumer
        if consumer is None:
            return
        handed, self._handed = self._handed, []
        current, self._current = self._current, None
        # Unsubscribed first: what is given back must not come back to this handle.
        await consumer.close()
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._core.js.timeout):
            if current is not None:
                with contextlib.suppress(ObjectStoreError):
                    await consumer.nak(current)
            for event in handed:
                if not event.settled:
                    with contextlib.suppress(ObjectStoreError):
                        await event.nak()

    def __aiter__(self) -> ChangeFeed:
        return self

    async def __anext__(self) -> FeedEvent:
        consumer = self._consumer
        if consumer is None:
            raise self._not_open()
        self._handed = [event for event in self._handed if not event.settled]
        while True:
            delivery = await consumer.next()
            if delivery is None:
                raise StopAsyncIteration
            self._current = delivery  # given back by aclose if cancelled before it is settled
            event = await self._event(consumer, delivery)
            self._current = None
            if event is not None:
                self._handed.append(event)
                return event

    async def _event(self, consumer: PullConsumer, delivery: Delivery) -> FeedEvent | None:
        """The event ``delivery`` stands for, or None once it is settled here (filtered,
        coalesced, not usable, dead-lettered)."""
        info = parse_change(self._core.bucket, delivery.msg)
        if info is None:
            self.stats.skipped += 1
            await consumer.term(delivery, "not usable object meta")
            return None
        event = FeedEvent(
            kind=kind_of(info),
            info=info,
            revision=delivery.seq,
            delivered=delivery.delivered,
            mtime=delivery.time,
            _consumer=consumer,
            _delivery=delivery,
        )
        if event.kind not in self.kinds or not info.name.startswith(self.prefix):
            self.stats.filtered += 1
            await event.ack()
            return None
        if self.max_deliver is not None and delivery.delivered > self.max_deliver:
            await self._dead_letter(event)
            return None
        if self.coalesce and await self._superseded(event):
            self.stats.coalesced += 1
            await event.ack()
            return None
        return event

    async def _superseded(self, event: FeedEvent) -> bool:
        """Whether the object has a newer change than ``event`` (one read of its current
        meta, from the stream leader on replicated buckets)."""
        core = self._core
        last = await core.js.last_msg(
            core.stream,
            meta_subject(core.bucket, event.name),
            direct=core.direct and not core.consistent_meta,
            bucket=core.bucket,
        )
        return last is not None and last.seq > event.revision

    async def _dead_letter(self, event: FeedEvent) -> None:
        self.stats.dead_lettered += 1
        if self._on_dead_letter is None:
            log.warning(
                "feed %s of bucket %s: event %s (%s %r) delivered %d times, dropped",
                self.name,
                self._core.bucket,
                event.revision,
                event.kind,
                event.name,
                event.delivered,
            )
        else:
            try:
                result = self._on_dead_letter(event)
                if inspect.isawaitable(result):
                    await result
            except BaseException:
                with anyio.CancelScope(shield=True), contextlib.suppress(ObjectStoreError):
                    await event.nak()
                raise
        await event.term(f"delivered {event.delivered} times")
