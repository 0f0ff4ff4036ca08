"""Answers to requests: one reply subscription per connection shared by every transfer,
and waits for an answer that give up as soon as it cannot come."""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from typing import TypeAlias

import anyio
import nats.errors
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from ._inline import subscribe_inline
from ._messages import Msg, status

__all__ = ["POLL_SECONDS", "Inbox", "Mux", "Watchdog", "unsubscribe", "wait_for"]

# A wait for an answer looks this often for what means it will never come: a refusal (the
# server refuses a publish with an asynchronous -ERR and no reply) or the loss of the
# connection the request went out on. It fails at once then, not at its deadline.
POLL_SECONDS = 0.25

# Called while waiting for an answer: raises once it can never come.
Watchdog: TypeAlias = Callable[[], None]


async def wait_for(event: anyio.Event, deadline: float, watchdog: Watchdog | None) -> None:
    """Wait until ``event`` is set; TimeoutError at ``deadline`` (anyio's clock). With
    ``watchdog``, call it every POLL_SECONDS meanwhile (it raises when waiting is vain)."""
    while True:
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            raise TimeoutError
        with anyio.move_on_after(min(remaining, POLL_SECONDS) if watchdog else remaining):
            await event.wait()
            return
        if watchdog is not None:
            watchdog()


class Mux:
    """One wildcard reply subscription per connection, shared by every transfer.

    Each transfer takes a route (a reply-subject prefix) and gets the messages sent to it,
    so no transfer pays for a SUB/UNSUB round of its own.
    """

    def __init__(self, nc: Client):
        self._nc = nc
        self._prefix = nc.new_inbox()
        self._routes: dict[str, Callable[[Msg], None]] = {}
        self._keys = itertools.count()
        self._sub: Subscription | None = None
        self._lock = anyio.Lock()

    async def route(self, handler: Callable[[Msg], None]) -> str:
        """Register ``handler``; return the reply prefix that reaches it (``<prefix>.<x>``)."""
        if self._sub is None:
            async with self._lock:
                if self._sub is None:
                    self._sub = await subscribe_inline(
                        self._nc, f"{self._prefix}.>", self._dispatch
                    )
        key = str(next(self._keys))
        self._routes[key] = handler
        return f"{self._prefix}.{key}"

    def drop(self, reply_prefix: str) -> None:
        self._routes.pop(reply_prefix.rsplit(".", 1)[-1], None)

    def _dispatch(self, msg: Msg) -> None:
        key = msg.subject[len(self._prefix) + 1 :].split(".", 1)[0]
        handler = self._routes.get(key)
        if handler is not None:
            handler(msg)


class Inbox:
    """Messages for one route of the mux, handed over without a task per message."""

    def __init__(self) -> None:
        self.prefix = ""
        self._messages: deque[Msg] = deque()
        self._arrived = anyio.Event()
        self.on_status: Callable[[Msg], None] | None = None
        self.watchdog: Watchdog | None = None
        # The connection the request being answered went out on (see JetStream.link).
        self.link: int | None = None

    def put(self, msg: Msg) -> None:
        self._messages.append(msg)
        if self.on_status is not None and status(msg) is not None:
            self.on_status(msg)
        self._arrived.set()

    async def get(self, timeout: float) -> Msg:
        """The next message; TimeoutError if none arrives within ``timeout`` seconds.
        While it waits, ``self.watchdog`` (if set) is called every POLL_SECONDS: it raises
        once the answer waited for cannot come (a refusal, a lost connection)."""
        deadline = anyio.current_time() + timeout
        while not self._messages:
            self._arrived = anyio.Event()
            await wait_for(self._arrived, deadline, self.watchdog)
        return self._messages.popleft()


async def unsubscribe(sub: Subscription) -> None:
    """Drop a subscription; a connection that is already gone has dropped it for us."""
    with anyio.CancelScope(shield=True), contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()
