"""Subscriptions whose messages are handed to a plain function as they are read.

nats-py puts every message of a subscription with a callback in a queue, and a task of
the subscription takes it out and awaits the callback: about a third of the client's
CPU for each small message (a listing reads 100,000 metas). natsobj's own subscriptions
(the reply mux, ordered consumers) only append each message to a deque and wake a
waiter, which needs neither. An inline subscription's messages are built exactly as
nats-py builds them (its header processing and message class) and given to the handler
inside nats-py's read loop, in order. The handler must be quick and must not raise.

This replaces nats-py's ``Client._process_msg`` on each connection it is used on (the
instance attribute, as ``_tuning`` does for the header parser); any other subscription
goes through nats-py's own code. ``tests/integration/test_inline_delivery.py`` checks that both
deliver the same messages, so a nats-py upgrade that changes what this relies on shows
there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.subscription import Subscription

from ._mapping import nats_call
from ._messages import Msg

__all__ = ["Handler", "forget_inline", "subscribe_inline"]

Handler = Callable[[Msg], None]

_STATUS_AT = len(b"NATS/1.0")  # a space here starts a status line (``NATS/1.0 100``)
_KNOWN_BLOCKS = 64  # header blocks remembered per connection, forgotten all at once


class _InlineRoutes:
    """The handlers of one connection's inline subscriptions, by subscription id."""

    def __init__(self, nc: Client):
        self.handlers: dict[int, Handler] = {}
        native = nc._process_msg
        handlers = self.handlers
        known: dict[bytes, dict[str, str] | None] = {}

        async def headers_of(block: bytes) -> dict[str, str] | None:
            # A consumer delivers the same header block with every message it stored
            # alike (``Nats-Rollup: sub`` on each meta): read once, a copy each time.
            # Status lines (heartbeats, flow control) and Direct Get answers (their
            # sequence) differ each time and are not kept.
            if block in known:
                found = known[block]
                return dict(found) if found is not None else None
            parsed = await nc._process_headers(block)
            if block[_STATUS_AT : _STATUS_AT + 1] != b" " and b"Nats-Sequence:" not in block:
                if len(known) >= _KNOWN_BLOCKS:
                    known.clear()
                known[block] = dict(parsed) if parsed is not None else None
            return parsed

        async def process_msg(
            sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None
        ) -> None:
            handler = handlers.get(sid)
            if handler is None:
                await native(sid, subject, reply, data, headers)  # type: ignore[arg-type]
                return
            nc.stats["in_msgs"] += 1
            nc.stats["in_bytes"] += len(data)
            parsed = await headers_of(headers) if headers else None
            msg = nc._build_message(sid, subject, reply, data, parsed)
            try:
                handler(msg)
            except Exception as exc:  # a bug in a handler must not stop the read loop
                await nc._error_cb(exc)

        nc._process_msg = process_msg  # type: ignore[method-assign]


_ROUTES_ATTRIBUTE = "_natsobj_inline_routes"


def _routes(nc: Client) -> _InlineRoutes:
    routes: Any = getattr(nc, _ROUTES_ATTRIBUTE, None)
    if routes is None:
        routes = _InlineRoutes(nc)
        setattr(nc, _ROUTES_ATTRIBUTE, routes)
    return routes  # type: ignore[no-any-return]


async def subscribe_inline(nc: Client, subject: str, handler: Handler) -> Subscription:
    """Subscribe to ``subject``; each message is given to ``handler`` as it is read.

    The subscription is nats-py's (unsubscribe it as any other; it is renewed on a
    reconnect as any other), without a callback: a message that came before the handler
    was in place went to its queue and is handed over here, before any later one.
    """
    routes = _routes(nc)
    sub = await nats_call(nc.subscribe(subject))
    queued = sub._pending_queue
    while not queued.empty():
        handler(queued.get_nowait())
    routes.handlers[sub._id] = handler
    return sub


def forget_inline(nc: Client, sub: Subscription) -> None:
    """Stop handing ``sub``'s messages to its handler (before or after unsubscribing)."""
    routes: _InlineRoutes | None = getattr(nc, _ROUTES_ATTRIBUTE, None)
    if routes is not None:
        routes.handlers.pop(sub._id, None)
