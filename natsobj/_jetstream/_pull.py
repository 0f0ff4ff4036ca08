"""Durable pull consumers: create, look up, list, reset and delete them, and read one as a
client among several (``PullConsumer``), with acknowledgements the server confirms.

What a feed (``_bucket/_feed.py``) is built on; the consumer's messages and the answers to
its pull requests reach this client through a subscription per open feed handle.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
from nats.aio.subscription import Subscription

from .._errors import (
    FeedNotFoundError,
    JetStreamAPIError,
    ObjectStoreError,
    ServerError,
    ServerUnavailableError,
)
from ._consumer import SUBJECT as _SUBJECT
from ._consumer import delivery as _delivery
from ._mapping import map_nats_errors, nats_call
from ._messages import Msg, header, status
from ._mux import POLL_SECONDS, unsubscribe

if TYPE_CHECKING:
    from ._client import JetStream

__all__ = [
    "ERR_CONSUMER_NOT_FOUND",
    "PIN_HEADER",
    "Delivery",
    "PullConsumer",
    "consumer_info",
    "consumer_list",
    "create_consumer",
    "delete_consumer",
    "reset_consumer",
]

ERR_CONSUMER_NOT_FOUND = 10014
PIN_HEADER = "Nats-Pin-Id"
# A pull request stays open this long on the server; a new one follows at once.
PULL_EXPIRES = 5.0
# Messages asked for per pull request: small, so that replicas share the work evenly and a
# replica that stops leaves few events waiting for their ack_wait.
PULL_BATCH = 8


def _not_found(exc: JetStreamAPIError, stream: str, name: str) -> ObjectStoreError:
    if exc.err_code == ERR_CONSUMER_NOT_FOUND or (exc.code == 404 and "consumer" in str(exc)):
        return FeedNotFoundError(f"no feed {name!r} on {stream!r}", bucket=exc.bucket, name=name)
    return exc


async def consumer_info(
    js: JetStream, stream: str, name: str, *, bucket: str | None = None
) -> dict[str, Any]:
    """The consumer's info (JSON as the server sent it: untrusted).

    Raises:
        FeedNotFoundError: there is no such consumer.
    """
    try:
        return await js.api(f"CONSUMER.INFO.{stream}.{name}", bucket=bucket)
    except JetStreamAPIError as exc:
        raise _not_found(exc, stream, name) from exc


async def create_consumer(
    js: JetStream,
    stream: str,
    config: Mapping[str, Any],
    *,
    update: bool = False,
    bucket: str | None = None,
) -> dict[str, Any]:
    """Create the durable ``config["durable_name"]`` (or, with ``update``, change it); an
    identical one is no error. Returns its info."""
    name = config["durable_name"]
    request = {
        "stream_name": stream,
        "config": dict(config),
        "action": "update" if update else "create",
    }
    try:
        return await js.api(f"CONSUMER.CREATE.{stream}.{name}", request, bucket=bucket)
    except JetStreamAPIError as exc:
        raise _not_found(exc, stream, name) from exc


async def consumer_list(js: JetStream, stream: str, *, bucket: str | None = None) -> list[Any]:
    """Every consumer's info on ``stream`` (each item untrusted JSON)."""
    found: list[Any] = []
    while True:
        answer = await js.api(f"CONSUMER.LIST.{stream}", {"offset": len(found)}, bucket=bucket)
        page = answer.get("consumers")
        if not isinstance(page, list) or not page:
            return found
        found.extend(page)
        total = answer.get("total")
        if not isinstance(total, int) or len(found) >= total:
            return found


async def delete_consumer(
    js: JetStream, stream: str, name: str, *, bucket: str | None = None
) -> None:
    """Delete the consumer.

    Raises:
        FeedNotFoundError: there is no such consumer.
    """
    try:
        await js.api(f"CONSUMER.DELETE.{stream}.{name}", bucket=bucket)
    except JetStreamAPIError as exc:
        raise _not_found(exc, stream, name) from exc


async def reset_consumer(
    js: JetStream, stream: str, name: str, seq: int, *, bucket: str | None = None
) -> dict[str, Any]:
    """Move the consumer so that its next message is the first at or after stream sequence
    ``seq`` (server 2.14+, ``CONSUMER.RESET``): what it had delivered and not had
    acknowledged is forgotten. Returns its info.

    Raises:
        FeedNotFoundError: there is no such consumer.
    """
    try:
        return await js.api(f"CONSUMER.RESET.{stream}.{name}", {"seq": seq}, bucket=bucket)
    except JetStreamAPIError as exc:
        raise _not_found(exc, stream, name) from exc


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message a durable consumer delivered, checked: ``reply`` is the server's
    acknowledgement subject for it, ``seq`` its stream sequence, ``delivered`` how many
    times the server has delivered it (1 the first time)."""

    msg: Msg
    reply: str
    seq: int
    delivered: int
    time: datetime


class PullConsumer:
    """One client's reads of a durable pull consumer that other clients may read too: the
    server hands each message to one of them, and again (to any) when it is not
    acknowledged within the consumer's ``ack_wait``.

    At most one pull request is open at a time, for ``PULL_BATCH`` messages, kept open
    ``PULL_EXPIRES`` seconds by the server; messages it delivers wait here until ``next``
    takes them. With ``group`` (a priority group of a ``pinned_client`` consumer) the
    server pins one client at a time; the others' requests get nothing until the pinned
    one stops pulling for the consumer's ``priority_timeout``.

    A lost connection is waited out for ``timeout`` (then ``next`` raises
    ServerUnavailableError and may be called again); a request whose end never came (the
    connection or the stream leader lost) is replaced once it should have ended. Messages
    that are not a delivery of this stream's consumer (anyone may publish to an inbox) are
    dropped.
    """

    def __init__(
        self,
        js: JetStream,
        stream: str,
        name: str,
        *,
        bucket: str | None = None,
        group: str | None = None,
    ):
        self._js = js
        self._stream = stream
        self._name = name
        self._bucket = bucket
        self._group = group
        self._pin = ""
        self._route = ""
        self._messages: deque[Delivery] = deque()
        self._arrived = anyio.Event()
        self._ids = 0  # the id of the last pull request sent
        self._open = False  # whether that request may still deliver
        self._wanted = 0  # messages it may still deliver
        self._ends = 0.0  # when it is over at the latest (anyio's clock)
        self._link: int | None = None
        self._unanswered = False  # nobody took the last request: is the consumer there?
        self._refused = ""  # why the server refused the last request (400), if it did
        self._closed = False
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the inbox the consumer delivers to. (Not the connection's shared
        reply subscription: a delivered message carries its stream subject, not the
        subject it was sent to, so only a subscription of its own can tell it is ours.)"""
        self._route = self._js.nc.new_inbox()

        async def on_msg(msg: Msg) -> None:
            self._on_msg(msg)

        with map_nats_errors(bucket=self._bucket):
            self._sub = await nats_call(self._js.nc.subscribe(f"{self._route}.*", cb=on_msg))

    def _on_msg(self, msg: Msg) -> None:
        code = status(msg)
        if code is None:
            delivery = self._check(msg)
            if delivery is None:
                return
            self._messages.append(delivery)
            # A delivery carries its stream subject, not the request's: it is counted
            # against the open request (a late one of an earlier request only makes the
            # next pull come sooner).
            self._wanted -= 1
            self._open = self._open and self._wanted > 0
        elif msg.subject.rsplit(".", 1)[-1] == str(self._ids) and code != "100":
            # 404/408: nothing (more) for it; 409: a leader change, the consumer deleted,
            # too many waiting; 423: pinned to another client; 503: nobody took it.
            self._open = False
            self._unanswered = code == "503" or (
                code == "409" and "deleted" in header(msg, "Description").lower()
            )
            if code == "423":
                self._pin = ""
            if code == "400":  # asking again would be refused again
                self._refused = header(msg, "Description") or "Bad Request"
        self._arrived.set()

    def _check(self, msg: Msg) -> Delivery | None:
        reply = msg.reply or ""
        if not reply.startswith("$JS.ACK.") or not _SUBJECT.fullmatch(reply):
            return None
        meta = _delivery(msg, self._stream)
        if meta is None or meta.consumer != self._name or (meta.num_delivered or 0) < 1:
            return None
        pin = header(msg, PIN_HEADER)
        if pin and self._group is not None:
            self._pin = pin
        return Delivery(
            msg, reply, meta.sequence.stream, int(meta.num_delivered or 1), meta.timestamp
        )

    async def next(self) -> Delivery | None:
        """The next message (waiting for one as long as it takes), or None once closed.

        Raises:
            FeedNotFoundError: the consumer was deleted.
            ServerUnavailableError: no connection for ``timeout``; call again to go on.
            JetStreamAPIError: the server refused the pull request (400: a priority group
                missing or unknown, after another client changed the consumer).
        """
        while not self._closed:
            if self._messages:
                return self._messages.popleft()
            if self._refused:
                raise JetStreamAPIError(
                    f"the server refused to deliver feed {self._name!r}: {self._refused[:200]}"
                    " (do all replicas open it with the same options?)",
                    code=400,
                    bucket=self._bucket,
                    name=self._name,
                )
            if self._open and (anyio.current_time() > self._ends or self._js.lost(self._link)):
                self._open = False  # its end was lost with the connection or the leader
                self._unanswered = True
            if not self._open:
                await self._pull()
                continue
            self._arrived = anyio.Event()
            with anyio.move_on_after(POLL_SECONDS):
                await self._arrived.wait()
        return None

    async def _pull(self) -> None:
        """Send a new pull request (after checking that the consumer still exists, if the
        last one went unanswered)."""
        await self._js.connected(anyio.current_time() + self._js.timeout, bucket=self._bucket)
        if self._unanswered:
            self._unanswered = False
            # FeedNotFoundError goes up; anything else is a consumer between leaders.
            with contextlib.suppress(ServerError):
                await consumer_info(self._js, self._stream, self._name, bucket=self._bucket)
            await anyio.sleep(POLL_SECONDS)  # do not spin while it has none
        request: dict[str, Any] = {"batch": PULL_BATCH, "expires": int(PULL_EXPIRES * 1e9)}
        if self._group is not None:
            request["group"] = self._group
            if self._pin:
                request["id"] = self._pin
        self._ids += 1
        self._open, self._wanted = True, PULL_BATCH
        self._ends = anyio.current_time() + PULL_EXPIRES + self._js.timeout
        self._link = self._js.link()
        with contextlib.suppress(ServerUnavailableError):  # the next round waits for it
            await self._publish(
                f"{self._js.prefix}.CONSUMER.MSG.NEXT.{self._stream}.{self._name}",
                json.dumps(request).encode(),
                reply=f"{self._route}.{self._ids}",
            )

    async def _publish(self, subject: str, payload: bytes, *, reply: str = "") -> None:
        with map_nats_errors(bucket=self._bucket):
            await nats_call(self._js.nc.publish(subject, payload, reply=reply))

    async def _answer(self, delivery: Delivery, body: bytes) -> None:
        """Send ``body`` for ``delivery`` and wait for the server to confirm it.

        Raises:
            ServerUnavailableError, ObjectStoreTimeoutError: no confirmation; the server may
                or may not have it (an unacknowledged message comes again after ack_wait).
        """
        await self._js.request(delivery.reply, body, bucket=self._bucket)

    async def ack(self, delivery: Delivery) -> None:
        """Acknowledge: the message is not delivered again (confirmed by the server)."""
        await self._answer(delivery, b"+ACK")

    async def nak(self, delivery: Delivery, delay: float = 0.0) -> None:
        """Give it back, to be delivered again (to any client), after ``delay`` seconds."""
        body = b'-NAK {"delay": %d}' % int(delay * 1e9) if delay > 0 else b"-NAK"
        await self._answer(delivery, body)

    async def in_progress(self, delivery: Delivery) -> None:
        """Still working on it: its ack_wait starts again."""
        await self._answer(delivery, b"+WPI")

    async def term(self, delivery: Delivery, reason: str = "") -> None:
        """Never deliver it again; ``reason`` (one line, cut at 200 characters) goes into
        the server's advisory."""
        text = " ".join(reason.split())[:200]
        await self._answer(delivery, b"+TERM" + (b" " + text.encode() if text else b""))

    async def release(self) -> None:
        """Give back, at once, every message delivered here and not taken (a ``-NAK``
        each, shielded from cancellation), so other clients get them without waiting for
        their ack_wait."""
        left, self._messages = list(self._messages), deque()
        if not left or not self._js.nc.is_connected:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._js.timeout):
            for delivery in left:
                with contextlib.suppress(ObjectStoreError):
                    await self._publish(delivery.reply, b"-NAK")

    async def close(self) -> None:
        """Stop: ``next`` returns None; what was delivered and not taken is given back."""
        self._closed = True
        self._arrived.set()
        sub, self._sub = self._sub, None
        if sub is not None:
            await unsubscribe(sub)
        await self.release()
