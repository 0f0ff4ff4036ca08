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
from typing import Any, TypeAlias

import nats.aio.client
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from ._mapping import nats_call
from ._messages import STATUS, Msg

__all__ = ["Handler", "Plain", "PlainHandler", "forget_inline", "message_of", "subscribe_inline"]

Handler = Callable[[Msg], None]


# A message as nats-py's parser hands it over, no header parsing, no message built:
# (subscription id, subject, reply, data, the raw header block "NATS/1.0\r\n..." or None).
Plain: TypeAlias = tuple[int, bytes, bytes, bytes, bytes | None]
PlainHandler = Callable[[int, bytes, bytes, bytes, bytes | None], None]

_STATUS_AT = len(b"NATS/1.0")  # a space here starts a status line (``NATS/1.0 100``)
_KNOWN_BLOCKS = 64  # header blocks remembered per connection, forgotten all at once


class _InlineRoutes:
    """The handlers of one connection's inline subscriptions, by subscription id."""

    def __init__(self, nc: Client):
        self.handlers: dict[int, tuple[Handler, PlainHandler | None]] = {}
        native = nc._process_msg
        handlers = self.handlers
        known: dict[bytes, dict[str, str] | None] = {}

        async def headers_of(block: bytes) -> dict[str, str] | None:
            if _has_status_line(block):  # heartbeats, flow control, errors: nats-py reads it
                parsed: dict[str, str] | None = await nc._process_headers(block)
                return parsed
            # A consumer delivers the same header block with every message it stored
            # alike (``Nats-Rollup: sub`` on each meta): read once, a copy each time.
            # Direct Get answers differ each time (their sequence) and are not kept.
            if block in known:
                found = known[block]
                return dict(found) if found is not None else None
            parsed = _plain_headers(nc, block)
            if b"Nats-Sequence:" not in block:
                if len(known) >= _KNOWN_BLOCKS:
                    known.clear()
                known[block] = dict(parsed) if parsed is not None else None
            return parsed

        async def process_msg(
            sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None
        ) -> None:
            route = handlers.get(sid)
            if route is None:
                await native(sid, subject, reply, data, headers)  # type: ignore[arg-type]
                return
            nc.stats["in_msgs"] += 1
            nc.stats["in_bytes"] += len(data)
            handler, plain = route
            try:
                if plain is not None and (headers is None or not _has_status_line(headers)):
                    plain(sid, subject, reply, data, headers)
                    return
                parsed = await headers_of(headers) if headers else None
                handler(nc._build_message(sid, subject, reply, data, parsed))
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


async def subscribe_inline(
    nc: Client, subject: str, handler: Handler, *, plain: PlainHandler | None = None
) -> Subscription:
    """Subscribe to ``subject``; each message is given to ``handler`` as it is read.

    With ``plain``, a message without a status line (anything but the server's
    heartbeats, flow control and error answers) goes to ``plain`` instead, as it came
    off the wire (the parts of a ``Plain``; ``message_of`` makes nats-py's message of
    them when needed):
    a consumer's deliveries cost no header parsing or message building that the reader
    does not ask for.

    The subscription is nats-py's (unsubscribe it as any other; it is renewed on a
    reconnect as any other), without a callback: a message that came before the handler
    was in place went to its queue and is handed over here, before any later one.
    """
    routes = _routes(nc)
    sub = await nats_call(nc.subscribe(subject))
    queued = sub._pending_queue
    while not queued.empty():
        handler(queued.get_nowait())
    # nats-py's optional fast_mail_parser reads header blocks its own way: message_of
    # would not match it, so then every message takes the full route.
    usable = plain if getattr(nats.aio.client, "parse_email", None) is None else None
    routes.handlers[sub._id] = (handler, usable)
    return sub


def message_of(nc: Client, plain: Plain) -> Msg:
    """nats-py's message for ``plain``, as its own route would have built it."""
    sid, subject, reply, data, block = plain
    msg: Msg = nc._build_message(sid, subject, reply, data, _plain_headers(nc, block))
    return msg


def _has_status_line(block: bytes) -> bool:
    """Whether a header block starts with the server's status line (``NATS/1.0 100 ...``)."""
    return block[_STATUS_AT : _STATUS_AT + 1] == b" "


def _plain_headers(nc: Client, block: bytes | None) -> dict[str, str] | None:
    # nats-py's reading of a header block without a status line (Client._process_headers):
    # the lines after "NATS/1.0\r\n", None when there are none.
    if not block or len(block) <= _STATUS_AT + 2:
        return None
    return _without_forged_status(nc._parse_header_lines(block[_STATUS_AT + 2 :]) or None)


def _without_forged_status(headers: dict[str, str] | None) -> dict[str, str] | None:
    """``headers`` of a message without a status line, less a ``Status`` header of its
    own. nats-py files the server's status line under that name too, so a stored message
    that carries one (any client can publish one) would pass for a server error in every
    read of it: a whole page of metas refused for one. natsobj stores no such header."""
    if headers is not None and STATUS in headers:
        headers = {key: value for key, value in headers.items() if key != STATUS} or None
    return headers


def forget_inline(nc: Client, sub: Subscription) -> None:
    """Stop handing ``sub``'s messages to its handler (before or after unsubscribing)."""
    routes: _InlineRoutes | None = getattr(nc, _ROUTES_ATTRIBUTE, None)
    if routes is not None:
        routes.handlers.pop(sub._id, None)
