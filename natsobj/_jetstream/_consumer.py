"""The ordered consumer a watcher reads a bucket's changes through (nats.go's ordered
consumer), over natsobj's JetStream: its API prefix (a JetStream domain) and deadlines."""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import nats.errors
from nats.aio.subscription import Subscription

from .._errors import ObjectStoreError, ServerUnavailableError
from .._wire import timestamp_of_ns
from ._delivery import Delivered, read_reply
from ._inline import Plain, forget_inline, message_of, subscribe_inline
from ._mapping import map_nats_errors, nats_call
from ._messages import Msg, StoredMsg, header, status
from ._mux import POLL_SECONDS, unsubscribe

if TYPE_CHECKING:
    from ._client import JetStream

__all__ = ["SUBJECT", "Arrival", "OrderedConsumer", "delivery", "newest_per_subject"]

# A delivered message as a scan reads it: its subject, data and place in the stream.
Arrival: TypeAlias = tuple[str, bytes, Delivered]

_SUBJECT_TOKEN = re.compile(r"[^\s.*>]+")
SUBJECT = re.compile(r"[^\s*>]+")  # a subject to publish to: no wildcards, no spaces


def delivery(msg: Msg, stream: str) -> Msg.Metadata | None:
    """The consumer and stream sequences of a message a consumer delivered, from its reply
    subject; None if that is not a JetStream acknowledgement subject of ``stream``."""
    try:
        meta = msg.metadata
    except (nats.errors.Error, ValueError, OverflowError, OSError):
        return None
    if meta.stream != stream or meta.sequence.consumer < 1 or meta.sequence.stream < 1:
        return None
    return meta


class OrderedConsumer:
    """A stream's messages on ``subject``, in stream order, through an ephemeral push
    consumer that is replaced whenever it cannot go on (nats.go's ordered consumer).

    While it has nothing to deliver, the server sends a heartbeat every ``timeout / 2``
    seconds. A gap (a message lost on the way, the consumer deleted) is repaired quietly:
    a new consumer starts after the last message received. A lost server (the connection
    gone, or neither a message nor a heartbeat for ``timeout`` seconds) makes ``next``
    raise ServerUnavailableError, after every message received before it was handed out;
    the following ``next`` starts a new consumer after the last message, so nothing is
    missed or repeated. Flow control is answered once the caller has taken what came
    before it, so messages waiting here stay bounded.
    """

    def __init__(
        self,
        js: JetStream,
        stream: str,
        subject: str,
        *,
        deliver_policy: str,
        bucket: str | None = None,
    ):
        self._js = js
        self._stream = stream
        self._subject = subject
        self._policy = deliver_policy  # how the first consumer starts: all, last_per_subject, new
        self._bucket = bucket
        self._heartbeat = js.timeout / 2
        self._last_seq: int | None = None  # stream sequence of the last message received
        self._sub: Subscription | None = None
        self._name = ""
        self._generation = 0  # messages to an earlier consumer's subscription are ignored
        self._link: int | None = None  # the connection the consumer delivers to
        self._heard = 0.0  # when the consumer last sent anything (time.monotonic)
        self._delivered = 0  # consumer sequence of the last message received
        # Each delivery: its subject, data, place, and what its message is made from.
        self._messages: deque[tuple[str, bytes, Delivered, Msg | Plain]] = deque()
        self._arrived = anyio.Event()
        self._received = 0
        self._handed = 0
        self._flow: tuple[str, int] | None = None  # (reply, messages to hand out first)
        self._broken = False
        self._closed = False
        # Messages the consumer had to deliver when created (its answer), None before.
        self.pending_at_start: int | None = None

    async def start(self) -> None:
        """Subscribe to a new deliver subject and create a consumer that delivers to it:
        after the last message received, or by the deliver policy before any."""
        self._generation += 1
        generation = self._generation
        # Reset before the consumer exists: it may deliver before its creation is answered.
        self._delivered, self._flow, self._broken = 0, None, False
        self._heard = time.monotonic()

        def on_msg(msg: Msg) -> None:
            self._on_msg(generation, msg)

        def on_plain(
            sid: int, subject: bytes, reply: bytes, data: bytes, block: bytes | None
        ) -> None:
            if generation == self._generation:
                plain = (sid, subject, reply, data, block)
                self._on_delivery(subject.decode(), reply.decode(), data, plain)

        deliver = self._js.nc.new_inbox()
        with map_nats_errors(bucket=self._bucket):
            sub = await subscribe_inline(self._js.nc, deliver, on_msg, plain=on_plain)
        if self._last_seq is None:
            start: dict[str, Any] = {"deliver_policy": self._policy}
        else:
            start = {"deliver_policy": "by_start_sequence", "opt_start_seq": self._last_seq + 1}
        config = {
            **start,
            "deliver_subject": deliver,
            "filter_subject": self._subject,
            "ack_policy": "none",
            "max_deliver": 1,
            "flow_control": True,
            "idle_heartbeat": int(self._heartbeat * 1e9),
            "mem_storage": True,
            "num_replicas": 1,
        }
        try:
            answer = await self._js.api(
                f"CONSUMER.CREATE.{self._stream}",
                {"stream_name": self._stream, "config": config},
                bucket=self._bucket,
            )
        except BaseException:
            forget_inline(self._js.nc, sub)
            await unsubscribe(sub)
            raise
        pending = answer.get("num_pending")
        self.pending_at_start = pending if isinstance(pending, int) and pending >= 0 else None
        name = answer.get("name")
        # The name goes into a subject (the delete): only a plain token will do.
        self._name = name if isinstance(name, str) and _SUBJECT_TOKEN.fullmatch(name) else ""
        self._sub, self._link = sub, self._js.link()
        if self._last_seq is None and self._policy == "new":
            # Nothing delivered yet: a replacement starts where this one did.
            seq = (answer.get("delivered") or {}).get("stream_seq")
            if isinstance(seq, int) and seq >= 0:
                self._last_seq = seq
        if self._closed:  # stopped meanwhile
            await self._drop(delete=True)

    def _on_msg(self, generation: int, msg: Msg) -> None:
        if generation != self._generation:
            return
        self._heard = time.monotonic()
        code = status(msg)
        if code == "100":
            # A flow control request asks for an answer on its reply subject; a heartbeat
            # names the last message sent, and a stalled flow control's subject. Only a
            # flow control subject of this stream is answered: anyone may publish here.
            flow = msg.reply or header(msg, "Nats-Consumer-Stalled")
            if flow.startswith(f"$JS.FC.{self._stream}.") and SUBJECT.fullmatch(flow):
                self._flow = (flow, self._received)
            last = header(msg, "Nats-Last-Consumer")
            if not msg.reply and last and last != str(self._delivered):
                self._broken = True
        elif code is not None:  # the consumer is gone (409 Consumer Deleted, ...)
            self._broken = True
        else:
            self._on_delivery(msg.subject, msg.reply, msg.data, msg)
            return
        self._arrived.set()

    def _on_delivery(self, subject: str, reply: str, data: bytes, source: Msg | Plain) -> None:
        """A message the consumer delivered (its reply subject says where it stands)."""
        self._heard = time.monotonic()
        meta = read_reply(reply, self._stream)
        if meta is None:
            return  # not from a consumer: nothing to deliver, nothing to repair
        if meta.consumer_seq != self._delivered + 1:
            self._broken = True
        else:
            self._delivered = meta.consumer_seq
            self._last_seq = meta.stream_seq
            self._received += 1
            self._messages.append((subject, data, meta, source))
        self._arrived.set()

    async def next(self) -> Msg | None:
        """The next message, or None once stopped (see ``next_delivered``)."""
        delivered = await self.next_delivered()
        return delivered[0] if delivered is not None else None

    async def next_delivered(self) -> tuple[Msg, Delivered] | None:
        """The next message and its delivery, or None once stopped.

        Raises:
            ServerUnavailableError: the server was lost; the next call resumes after the
                last message (waiting up to ``timeout`` for a connection).
        """
        if not await self._wait():
            return None
        _, _, meta, source = self._messages.popleft()
        self._handed += 1
        if self._flow is not None:
            await self._answer_flow()
        msg = source if isinstance(source, Msg) else message_of(self._js.nc, source)
        return msg, meta

    async def _wait(self) -> bool:
        """Return True once a message waits, False once stopped (see ``next_delivered``)."""
        while not self._closed:
            if self._messages:
                return True
            if self._broken:
                await self._drop(delete=True)
            if self._sub is None:
                await self.start()
                continue
            self._arrived = anyio.Event()
            await self._answer_flow()
            with anyio.move_on_after(POLL_SECONDS):
                await self._arrived.wait()
            silent = time.monotonic() - self._heard
            if self._arrived.is_set():
                continue
            if self._js.lost(self._link) or silent > 2 * self._heartbeat:
                why = "lost the connection" if self._js.lost(self._link) else "no heartbeat"
                await self._drop(delete=False)
                raise ServerUnavailableError(
                    f"lost the NATS server ({why}; nothing heard for {silent:.1f} s):"
                    " iterate again to resume after the last message",
                    bucket=self._bucket,
                )
        return False

    async def next_batch(self) -> list[Arrival]:
        """Every message waiting, at least one, as (subject, data, delivery): for readers
        that need no headers (a scan, the index). An empty list once stopped; otherwise
        as ``next_delivered``. One wake-up for all that came in one read."""
        if not await self._wait():
            return []
        batch = [(subject, data, meta) for subject, data, meta, _ in self._messages]
        self._handed += len(self._messages)
        self._messages.clear()
        if self._flow is not None:
            await self._answer_flow()
        return batch

    async def _answer_flow(self) -> None:
        if self._flow is not None and self._handed >= self._flow[1]:
            reply, self._flow = self._flow[0], None
            with contextlib.suppress(nats.errors.Error):  # a lost connection shows elsewhere
                await nats_call(self._js.nc.publish(reply, b""))

    async def _drop(self, *, delete: bool) -> None:
        """Forget the consumer; with ``delete``, ask the server to remove it (else it goes
        by itself once nobody listens)."""
        sub, self._sub = self._sub, None
        self._generation += 1
        if sub is None:
            return
        forget_inline(self._js.nc, sub)
        await unsubscribe(sub)
        if delete and self._name and self._js.nc.is_connected:
            with (
                anyio.CancelScope(shield=True),
                contextlib.suppress(ObjectStoreError),
            ):
                await self._js.api(
                    f"CONSUMER.DELETE.{self._stream}.{self._name}", bucket=self._bucket
                )

    async def stop(self) -> None:
        """Stop: ``next`` returns None from now on; the consumer is deleted."""
        self._closed = True
        self._arrived.set()
        await self._drop(delete=True)


async def newest_per_subject(
    js: JetStream, stream: str, subject: str, *, bucket: str | None = None
) -> AsyncGenerator[list[StoredMsg], None]:
    """The newest message of every subject that matches ``subject``, in stream order, and
    any written while they come, in lists of those that came together; it ends with the
    last message pending when it caught up.

    One ordered consumer that delivers the last message per subject: the server picks
    them from its subject index, where a scan by Direct Get steps through every message
    of the stream (measured: a quarter of the server's CPU for 20,000 metas beside as
    many chunks). A repaired gap delivers every message after the last one received, so
    a subject's message may come twice: the later one is the newer. The consumer is
    deleted when the generator is closed.
    """
    consumer = OrderedConsumer(
        js, stream, subject, deliver_policy="last_per_subject", bucket=bucket
    )
    try:
        await consumer.start()
        if consumer.pending_at_start == 0:
            return
        while batch := await consumer.next_batch():
            stored = []
            for subject, data, found in batch:
                stamp = timestamp_of_ns(found.stamp_ns)
                stored.append(StoredMsg(subject, found.stream_seq, stamp, data))
                if found.pending == 0:
                    yield stored
                    return
            yield stored
    finally:
        with anyio.CancelScope(shield=True):
            await consumer.stop()
