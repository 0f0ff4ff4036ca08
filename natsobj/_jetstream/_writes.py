"""Pipelined publishes: the connection's byte budget, the acknowledgement window of a
put, and a fast-ingest batch (ADR-50), over one base that holds what they share."""

from __future__ import annotations

import contextlib
import json
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, cast

import anyio

from .._errors import (
    JetStreamAPIError,
    NoRespondersError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    ServerUnavailableError,
)
from ._mapping import api_error, map_nats_errors, nats_call
from ._messages import Msg, Payload, status
from ._mux import wait_for

if TYPE_CHECKING:
    from ._client import JetStream

__all__ = ["AckWindow", "ByteBudget", "FastIngest"]


class ByteBudget:
    """Bytes one connection may have in flight against one of the server's buffers.

    Every transfer on the connection draws from it, so many concurrent puts or gets
    cannot together overrun the server (which answers 429 on ingest, or drops a slow
    client's messages on delivery).
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._freed = anyio.Event()

    async def acquire(self, size: int) -> int:
        """Wait for ``size`` bytes (at most the whole budget); return what was taken."""
        size = min(size, self.limit)
        while self._used and self._used + size > self.limit:
            await self._freed.wait()
        self._used += size
        return size

    def release(self, size: int) -> None:
        if size:
            self._used -= size
            self._freed.set()
            self._freed = anyio.Event()


class _Publishes:
    """What AckWindow and FastIngest share: a route on the connection's mux for the
    answers, the write budget each unanswered message holds (given back when it is
    answered, and all of it on leaving ``async with``), the first error an answer brought
    (raised by the next call), and waits bounded by the timeout and the watchdog."""

    _what = "acknowledgement"  # what an answer is called in a timeout's message

    def __init__(self, js: JetStream, bucket: str | None):
        self._js = js
        self._bucket = bucket
        self._route = ""
        self._subject = ""  # the last one published to, named if the server refuses it
        self._held: dict[int, int] = {}  # write budget per message awaiting an answer
        self._links: Counter[int] = Counter()  # messages awaiting an answer, per connection
        self._error: ObjectStoreError | None = None
        self._progress = anyio.Event()
        self._watchdog = js.watchdog(
            lambda: (self._subject, self._route), lambda: self._links, bucket=bucket
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._route:
            self._js.mux.drop(self._route)
        # Answers that never came: their bytes are no longer ours to wait for.
        self._js.write_budget.release(sum(self._held.values()))
        self._held.clear()
        self._links.clear()

    def _on_answer(self, msg: Msg) -> None:
        raise NotImplementedError

    def _fail(self, error: ObjectStoreError) -> None:
        if self._error is None:
            self._error = error

    async def _check(self) -> None:
        if self._error is None:
            return
        if isinstance(self._error, NoRespondersError):
            self._error = await self._js.unanswered(self._bucket)
        raise self._error

    def _answer(self, msg: Msg) -> dict[str, Any] | None:
        """The JSON answer ``msg`` carries (``{}`` for an empty one), or None when it says
        the publish failed (the failure is kept for the next call)."""
        code = status(msg)
        if code == "503":
            self._fail(NoRespondersError("no stream answered", bucket=self._bucket))
            return None
        if code is not None:
            self._fail(
                JetStreamAPIError(
                    f"publish failed with status {code}",
                    code=int(code) if code.isdigit() else 0,
                    bucket=self._bucket,
                )
            )
            return None
        try:
            answer = json.loads(msg.data) if msg.data else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {"error": {"description": f"unreadable answer {msg.data[:100]!r}"}}
        if "error" in answer:
            self._fail(api_error(answer["error"], bucket=self._bucket))
            return None
        return answer

    async def _start(
        self, subject: str, payload: Payload, headers: Mapping[str, str] | None
    ) -> int:
        """Before sending a message: raise a failure an answer brought (or a lost
        connection's), refuse one over max_payload, route the answers and wait for a
        connection. Returns the write budget the message then holds."""
        await self._check()
        self._watchdog()  # nothing more for a connection lost with answers due
        self._js.check_fits(len(payload), headers, bucket=self._bucket)
        if not self._route:
            with map_nats_errors(bucket=self._bucket):
                self._route = await self._js.mux.route(self._on_answer)
        self._subject = subject
        await self._js.connected(anyio.current_time() + self._js.timeout, bucket=self._bucket)
        return await self._js.write_budget.acquire(len(payload))

    async def _send(
        self,
        subject: str,
        payload: Payload,
        reply: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        with map_nats_errors(bucket=self._bucket):
            await nats_call(
                self._js.nc.publish(
                    subject,
                    cast(bytes, payload),  # nats-py takes any buffer; its hint says bytes
                    reply=reply,
                    headers=dict(headers) if headers else None,
                )
            )

    async def _wait_answer(
        self, deadline: float, overdue: Callable[[], bool] | None = None
    ) -> None:
        """Wait for the next answer until ``deadline``; past it, raise the error for an
        answer that did not come (unless ``overdue()`` says none is due yet)."""
        self._progress = anyio.Event()
        try:
            await wait_for(self._progress, deadline, self._watchdog)
        except TimeoutError as exc:
            if overdue is None or overdue():
                raise self._js.no_answer(
                    self._subject,
                    self._route,
                    what=self._what,
                    waited=self._js.timeout,
                    bucket=self._bucket,
                ) from exc


class AckWindow(_Publishes):
    """Pipelined publishes with a bounded number of unacknowledged bytes.

    ``publish`` returns as soon as the message is handed to the connection, unless the
    window is full, in which case it waits for the oldest acknowledgements. The first
    error the stream answers with is raised by the next ``publish`` or by ``drain``.
    Every acknowledgement has a deadline of ``timeout`` seconds from its publish; once the
    connection a message went out on is lost (its acknowledgement cannot come) the window
    fails with ServerUnavailableError within POLL_SECONDS.
    """

    def __init__(self, js: JetStream, *, max_bytes: int, bucket: str | None = None):
        super().__init__(js, bucket)
        self._max_bytes = max_bytes
        self._next_token = 0
        # token -> (deadline, the connection it went out on: JetStream.link)
        self._due: dict[int, tuple[float, int | None]] = {}
        self._pending_bytes = 0

    def _forget(self, token: int) -> bool:
        """Stop waiting for ``token``'s acknowledgement; False if it was not awaited."""
        size = self._held.pop(token, None)
        if size is None:
            return False
        _, link = self._due.pop(token)
        self._pending_bytes -= size
        self._js.write_budget.release(size)
        if link is not None:
            self._links[link] -= 1
            if not self._links[link]:
                del self._links[link]
        return True

    def _on_answer(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        if not token.isdigit() or not self._forget(int(token)):
            return
        # Messages inside an atomic batch are acknowledged with an empty body.
        self._answer(msg)
        self._progress.set()

    async def _wait_progress(self) -> None:
        now = anyio.current_time
        await self._wait_answer(
            min(d for d, _ in self._due.values()),
            lambda: any(d <= now() for d, _ in self._due.values()),
        )

    async def publish(
        self, subject: str, payload: Payload, headers: Mapping[str, str] | None = None
    ) -> int:
        """Send one message into the window; returns its token."""
        await self._check()
        self._watchdog()
        while self._held and self._pending_bytes + len(payload) > self._max_bytes:
            await self._wait_progress()
            await self._check()
        size = await self._start(subject, payload, headers)
        self._next_token += 1
        token = self._next_token
        link = self._js.link()
        self._held[token] = size
        self._due[token] = (anyio.current_time() + self._js.timeout, link)
        self._pending_bytes += size
        if link is not None:
            self._links[link] += 1
        try:
            await self._send(subject, payload, f"{self._route}.{token}", headers)
        except ObjectStoreError:
            self._forget(token)  # refused before it was sent: no acknowledgement to wait for
            raise
        return token

    async def drain(self) -> None:
        """Wait until every message sent is acknowledged; raise the first error."""
        while self._held:
            await self._check()
            await self._wait_progress()
        await self._check()

    async def settle(self) -> None:
        """Wait until every message sent is answered, overdue or lost with its connection
        (then it was stored before the connection went, or never), ignoring errors."""
        with contextlib.suppress(ObjectStoreTimeoutError, ServerUnavailableError):
            while self._held:
                await self._wait_progress()


class FastIngest(_Publishes):
    """One fast-ingest batch (server 2.14+, stream ``allow_batched``): chunks published
    with flow control carried in their reply subjects, acknowledged every few messages
    instead of one by one (ADR-50).

    The same shape as ``AckWindow``: ``publish`` each message, then ``drain``, which ends
    the batch without storing anything more and checks that the server stored every
    message (gap mode ``fail``: the batch stops at the first gap). At most about
    ``max_bytes`` are unacknowledged; the server may ask for acknowledgements more often,
    never less. A batch fails with ServerUnavailableError within POLL_SECONDS once the
    connection it went out on is lost.
    """

    # Acknowledgement intervals allowed in flight, as ADR-50 recommends (1-3).
    OUTSTANDING_ACKS = 2
    _what = "acknowledgement of a batch"

    def __init__(
        self,
        js: JetStream,
        *,
        batch_id: str,
        max_bytes: int,
        chunk_size: int,
        bucket: str | None = None,
    ):
        super().__init__(js, bucket)
        self._batch = batch_id
        self._flow = max(1, min(max_bytes // (self.OUTSTANDING_ACKS * chunk_size), 1000))
        self._ack_every = self._flow
        self._seq = 0
        self._acked = 0
        self._started = False
        self._final: dict[str, Any] | None = None
        # Budget is held per batch sequence, in order: an acknowledgement covers all
        # messages up to its sequence.
        self._order: deque[int] = deque()

    def _reply(self, seq: int, op: int) -> str:
        # <prefix>.<batch id>.<initial flow>.<gap mode>.<batch sequence>.<operation>.$FI
        return f"{self._route}.{self._batch}.{self._flow}.fail.{seq}.{op}.$FI"

    def _release_through(self, seq: int) -> None:
        while self._order and self._order[0] <= seq:
            self._js.write_budget.release(self._held.pop(self._order.popleft()))

    def _on_answer(self, msg: Msg) -> None:
        answer = self._answer(msg) or {}  # None: a failure, kept for the next call
        if "batch" in answer:  # the final acknowledgement: the batch is over
            self._final = answer
            self._release_through(self._seq)
        elif answer.get("type") == "ack":
            with contextlib.suppress(TypeError, ValueError, OverflowError):
                self._ack_every = max(1, min(int(answer.get("msgs", self._ack_every)), self._flow))
                self._acked = max(self._acked, int(answer.get("seq", 0)))
            self._release_through(self._acked)
        self._started = True  # any answer to the first message means the batch is open
        self._progress.set()

    async def _wait(self, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` or an error; time out if the server goes quiet."""
        while self._error is None and not done():
            await self._wait_answer(anyio.current_time() + self._js.timeout)
        await self._check()

    async def _send_batched(
        self, payload: Payload, seq: int, op: int, headers: Mapping[str, str] | None = None
    ) -> None:
        link = self._js.link()
        if link is not None:
            self._links[link] += 1  # not answered one by one: kept until the batch ends
        await self._send(self._subject, payload, self._reply(seq, op), headers)

    async def publish(
        self, subject: str, payload: Payload, headers: Mapping[str, str] | None = None
    ) -> int:
        """Send one message of the batch; returns its batch sequence."""
        size = await self._start(subject, payload, headers)
        self._seq += 1
        self._held[self._seq] = size
        self._order.append(self._seq)
        await self._send_batched(payload, self._seq, 0 if self._seq == 1 else 1, headers)
        if self._seq == 1:
            await self._wait(lambda: self._started)
        limit = self._ack_every * self.OUTSTANDING_ACKS
        await self._wait(lambda: self._seq - self._acked < limit)
        return self._seq

    async def drain(self) -> None:
        """End the batch and wait until the server has stored every message sent."""
        await self._check()
        if not self._seq:
            return
        await self._js.connected(anyio.current_time() + self._js.timeout, bucket=self._bucket)
        # The end of the batch: batch sequence one past the last message, operation 3.
        await self._send_batched(b"", self._seq + 1, 3)
        await self._wait(lambda: self._final is not None)
        assert self._final is not None
        stored = self._final.get("count", 0)
        if stored != self._seq:
            raise ObjectStoreError(
                f"the server stored {stored} of {self._seq} messages of a batch",
                bucket=self._bucket,
            )

    async def settle(self) -> None:
        """Let messages in flight land (the batch ends on the server by itself)."""
        with contextlib.suppress(ObjectStoreError):
            if self._seq and self._final is None and self._error is None:
                await self.drain()
