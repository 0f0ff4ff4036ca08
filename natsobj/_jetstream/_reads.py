"""Reading a stream's messages by Direct Get: batched runs, one at a time or planned
ahead by sequence, each a small class whose state is its fields."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import (
    BucketNotFoundError,
    JetStreamAPIError,
    ObjectStoreTimeoutError,
    ServerUnavailableError,
)
from ._mapping import map_nats_errors, nats_call
from ._messages import (
    Msg,
    StoredMsg,
    direct_get_failed,
    header,
    status,
    stored_from_api,
    stored_from_direct,
)
from ._mux import Inbox

if TYPE_CHECKING:
    from ._client import JetStream

__all__ = ["DEFAULT_RUN_BYTES", "MULTI_LAST_SUBJECTS", "READ_AHEAD_RUNS", "last_msgs", "next_msgs"]

# Batched Direct Get runs kept in flight ahead of the reader, when their sequences are known.
READ_AHEAD_RUNS = 2
_HEADER_ALLOWANCE = 512  # bytes per message the server adds to a run's size (headers)
# The server answers a multi_last Direct Get for at most this many subjects.
MULTI_LAST_SUBJECTS = 1024
# Bytes asked for in one batched Direct Get of many subjects' last messages.
DEFAULT_RUN_BYTES = 8 * 1024 * 1024


@asynccontextmanager
async def routed_inbox(js: JetStream, stream: str, bucket: str | None) -> AsyncIterator[Inbox]:
    """An inbox of its own on the mux (late answers to an earlier one never reach it)
    for Direct Gets from ``stream``."""
    inbox = Inbox()
    direct_get = f"{js.prefix}.DIRECT.GET.{stream}"
    inbox.watchdog = js.watchdog(
        lambda: (direct_get, inbox.prefix), lambda: (inbox.link,), bucket=bucket
    )
    with map_nats_errors(bucket=bucket):
        inbox.prefix = await js.mux.route(inbox.put)
    try:
        yield inbox
    finally:
        js.mux.drop(inbox.prefix)


async def last_msgs(
    js: JetStream, stream: str, subjects: Sequence[str], *, bucket: str | None
) -> dict[str, StoredMsg]:
    """JetStream.last_msgs: one batched ``multi_last`` Direct Get."""
    if not 0 < len(subjects) <= MULTI_LAST_SUBJECTS:
        raise ValueError(f"1 to {MULTI_LAST_SUBJECTS} subjects per request")
    found: dict[str, StoredMsg] = {}
    held = await js.read_budget.acquire(DEFAULT_RUN_BYTES)
    try:
        async with routed_inbox(js, stream, bucket) as inbox:
            request = {"multi_last": list(subjects), "batch": len(subjects), "max_bytes": held}
            direct_get = f"{js.prefix}.DIRECT.GET.{stream}"
            with map_nats_errors(bucket=bucket):
                inbox.link = js.link()
                await nats_call(
                    js.nc.publish(
                        direct_get, json.dumps(request).encode(), reply=f"{inbox.prefix}.r"
                    )
                )
            while True:
                try:
                    msg = await inbox.get(js.timeout)
                except TimeoutError as exc:
                    raise js.no_answer(
                        direct_get, inbox.prefix, what="answer", waited=js.timeout, bucket=bucket
                    ) from exc
                code = status(msg)
                if code in ("204", "404"):  # end of the run; none of them exist
                    return found
                if code is not None:
                    raise direct_get_failed(msg, code, bucket=bucket)
                stored = stored_from_direct(msg)
                found[stored.subject] = stored
    finally:
        js.read_budget.release(held)


@dataclass(frozen=True)
class Read:
    """What a read asks for: messages on ``subject`` of ``stream``, in runs of ``batch``."""

    stream: str
    subject: str
    batch: int
    bucket: str | None
    retries: int


def _smaller_run(max_bytes: int) -> int:
    """The run size after a run was lost: a server with a small ``max_pending`` drops a
    client it cannot deliver a large run to, so ask for less (a run holds at least one
    message whatever its size)."""
    return max(max_bytes // 4, 1)


class _Runs:
    """What both kinds of runs share: the inbox, the failures in a row, and asking."""

    def __init__(self, js: JetStream, inbox: Inbox, read: Read, max_bytes: int):
        self.js = js
        self.inbox = inbox
        self.read = read
        self.max_bytes = max_bytes
        self.failures = 0  # in a row: reset by every message received

    async def send(self, request: dict[str, Any], token: str) -> None:
        with map_nats_errors(bucket=self.read.bucket):
            await nats_call(
                self.js.nc.publish(
                    f"{self.js.prefix}.DIRECT.GET.{self.read.stream}",
                    json.dumps(request).encode(),
                    reply=f"{self.inbox.prefix}.{token}",
                )
            )

    def raise_if_unavailable(self, exc: TimeoutError) -> None:
        """After a run went unanswered: raise if the server refused it, or if there is no
        connection (asking again could not help)."""
        error = self.js.no_answer(
            f"{self.js.prefix}.DIRECT.GET.{self.read.stream}",
            self.inbox.prefix,
            what="answer",
            waited=self.js.timeout,
            bucket=self.read.bucket,
        )
        if isinstance(error, ServerUnavailableError):
            raise error from exc

    async def wait_for_leader(self) -> None:
        """After a 503 (no replica answered): raise if the bucket is gone or this keeps
        happening, else wait a little (a stream between leaders gets one soon)."""
        error = await self.js.unanswered(self.read.bucket)
        self.failures += 1
        if isinstance(error, BucketNotFoundError) or self.failures > self.read.retries:
            raise error
        await anyio.sleep(0.5 * self.failures)


class _DirectRuns(_Runs):
    """One run in flight at a time, from the message after the last one received; the
    next run is asked for when the reader reaches the end of the current one."""

    def __init__(self, js: JetStream, inbox: Inbox, read: Read, seq: int, max_bytes: int):
        super().__init__(js, inbox, read, max_bytes)
        self.seq = seq  # where the next run starts: after the last message received
        self.run = 0  # reply token of the run being read; late answers to older runs are dropped
        self.batched = True  # False on a server before 2.11: one message per request
        self.held = 0  # read budget held by the run in flight, given back when it has arrived
        # Sequence of the last message received from the run in flight (0: none yet).
        # Each message of a batch names its predecessor in Nats-Last-Sequence (0 for the
        # first), so a message lost on the way (a slow consumer's) breaks the chain.
        self.run_last = 0
        inbox.on_status = self.give_back

    def give_back(self, msg: Msg | None = None) -> None:
        if msg is None or msg.subject == f"{self.inbox.prefix}.{self.run}":
            self.js.read_budget.release(self.held)
            self.held = 0

    async def ask(self, *, smaller: bool = False) -> None:
        if smaller:
            self.max_bytes = _smaller_run(self.max_bytes)
        self.give_back()
        self.run_last = 0
        request: dict[str, Any] = {"seq": self.seq, "next_by_subj": self.read.subject}
        if self.batched:
            self.held = await self.js.read_budget.acquire(self.max_bytes)
            request.update(batch=self.read.batch, max_bytes=self.held)
        self.run += 1
        self.inbox.link = self.js.link()
        await self.send(request, str(self.run))

    async def lost(self) -> None:
        """Messages of the run never arrived (dropped as a slow consumer): ask again from
        the last one received, or raise once that happened ``retries`` times in a row."""
        self.failures += 1
        if self.failures > self.read.retries:
            raise ServerUnavailableError(
                f"messages kept getting lost on the way ({self.read.retries} retries)",
                bucket=self.read.bucket,
            )
        await anyio.sleep(0.1 * self.failures)
        await self.ask(smaller=True)

    async def answer(self) -> Msg | None:
        """The next answer to the run in flight; None for an answer to an older run, or
        when the run stalled and was asked for again (smaller: the server may have cut
        the connection as a slow consumer; nats-py holds the request for the next one)."""
        try:
            msg = await self.inbox.get(self.js.timeout)
        except ServerUnavailableError:  # the connection the run was asked on is gone
            self.failures += 1
            if self.failures > self.read.retries:
                raise
        except TimeoutError as exc:
            self.raise_if_unavailable(exc)
            self.failures += 1
            if self.failures > self.read.retries:
                raise ObjectStoreTimeoutError(
                    f"no answer from the server within {self.js.timeout} s,"
                    f" {self.read.retries} retries",
                    bucket=self.read.bucket,
                ) from exc
        else:
            return msg if msg.subject == f"{self.inbox.prefix}.{self.run}" else None
        await self.ask(smaller=True)
        return None

    async def on_status(self, msg: Msg, code: str) -> bool:
        """Act on a status answer; False once the read is over."""
        if code == "204":  # end of a run
            last = header(msg, "Nats-Last-Sequence")
            if last and int(last) >= self.seq:
                await self.lost()  # the server sent messages that never arrived
                return True
            if header(msg, "Nats-Num-Pending", "0") == "0" or not last:
                return False
            self.seq = int(last) + 1
            await self.ask()
            return True
        if code == "404":
            return False
        if code == "503":  # a deleted bucket, or a stream between leaders
            await self.wait_for_leader()
            await self.ask()
            return True
        raise direct_get_failed(msg, code, bucket=self.read.bucket)

    async def accept(self, msg: Msg) -> StoredMsg | None:
        """The message, or None if messages before it were lost (asked for again)."""
        if self.batched and not header(msg, "Nats-Num-Pending"):
            self.batched = False  # a server before 2.11 answers one message per request
        previous = header(msg, "Nats-Last-Sequence")
        if self.batched and previous and int(previous) != self.run_last:
            await self.lost()
            return None
        self.failures = 0
        stored = stored_from_direct(msg)
        self.run_last = stored.seq
        self.seq = stored.seq + 1  # where to resume if this run stalls
        if not self.batched:
            await self.ask()
        return stored

    async def messages(self) -> AsyncGenerator[StoredMsg, None]:
        try:
            await self.ask()
            while True:
                msg = await self.answer()
                if msg is None:
                    continue
                code = status(msg)
                if code is not None:
                    if not await self.on_status(msg, code):
                        return
                    continue
                stored = await self.accept(msg)
                if stored is not None:
                    yield stored
        finally:
            self.give_back()


class _PlanAbandoned(Exception):
    """Planned runs stop: messages were lost, the server went quiet or the connection
    the runs went out on is gone."""


@dataclass
class _PlannedRun:
    """One batched Direct Get asked for ahead: sequences ``start`` to ``end - 1``."""

    token: str
    start: int
    end: int
    held: int  # read budget, given back when the server has sent the whole run
    messages: deque[StoredMsg] = field(default_factory=deque)
    ended: bool = False
    exhausted: bool = False  # the server has nothing on the subject past this run


class _PlannedRuns(_Runs):
    """Sequences ``next_seq..last_seq``, all on the subject, in runs asked for ahead:
    READ_AHEAD_RUNS of them in flight, so the server sends the next run while the reader
    works through the current one."""

    def __init__(
        self, js: JetStream, inbox: Inbox, read: Read, next_seq: int, last_seq: int, max_bytes: int
    ):
        super().__init__(js, inbox, read, max_bytes)
        self.next_seq = next_seq  # the next sequence to yield
        self.last_seq = last_seq
        self.plan_seq = next_seq  # the first sequence no run has asked for
        self.runs: deque[_PlannedRun] = deque()  # asked for and not yet read through, in order
        self.by_token: dict[str, _PlannedRun] = {}
        self.token = 0
        inbox.on_status = self.give_back

    def give_back(self, msg: Msg) -> None:
        run = self.by_token.get(msg.subject.rsplit(".", 1)[-1])
        if run is not None:  # the server is done sending it: others may ask now
            self.js.read_budget.release(run.held)
            run.held = 0

    def drop_runs(self) -> None:
        for run in self.runs:
            self.js.read_budget.release(run.held)
        self.runs.clear()
        self.by_token.clear()

    async def ask(self) -> None:
        held = await self.js.read_budget.acquire(self.max_bytes)
        self.token += 1
        end = min(self.plan_seq + self.read.batch, self.last_seq + 1)
        run = _PlannedRun(str(self.token), self.plan_seq, end, held)
        self.runs.append(run)
        self.by_token[run.token] = run
        count = run.end - run.start
        # The server counts headers against max_bytes too: leave room for them, or
        # every run would stop one message short of its plan.
        request = {
            "seq": run.start,
            "next_by_subj": self.read.subject,
            "batch": count,
            "max_bytes": held + count * _HEADER_ALLOWANCE,
        }
        self.plan_seq = run.end
        if self.inbox.link is None:  # the first run on the wire since the plan started
            self.inbox.link = self.js.link()
        await self.send(request, run.token)

    async def restart(self) -> None:
        """Forget every run in flight and plan again from ``next_seq``."""
        self.drop_runs()
        self.plan_seq = self.next_seq
        await self.ask()

    def take(self, head: _PlannedRun) -> StoredMsg | None:
        """The head run's next message; None if it was yielded before a restart."""
        stored = head.messages.popleft()
        if stored.seq < self.next_seq:
            return None
        if stored.seq > self.next_seq:
            # Every sequence is on the subject, so one went missing on the way (dropped
            # as a slow consumer).
            raise _PlanAbandoned
        self.next_seq = stored.seq + 1
        return stored

    async def finish(self, head: _PlannedRun) -> bool:
        """The head run has ended: True if nothing more is on the subject."""
        self.runs.popleft()
        del self.by_token[head.token]
        if head.exhausted:
            return True  # the caller sees what is missing
        if self.next_seq < head.end:  # cut short, or lost messages: plan again
            await self.restart()
        return False

    async def answer(self) -> None:
        """Take the next answer into its run."""
        try:
            msg = await self.inbox.get(self.js.timeout)
        except ServerUnavailableError as exc:
            raise _PlanAbandoned from exc  # the connection the runs went out on is gone
        except TimeoutError as exc:
            self.raise_if_unavailable(exc)
            raise _PlanAbandoned from exc
        run = self.by_token.get(msg.subject.rsplit(".", 1)[-1])
        if run is None:
            return  # a late answer to a run given up on
        code = status(msg)
        if code in ("204", "404"):
            run.ended = True
            run.exhausted = code == "404" or header(msg, "Nats-Num-Pending") == "0"
        elif code == "503":  # a deleted bucket, or a stream between leaders
            await self.wait_for_leader()
            await self.restart()
        elif code is not None:
            raise direct_get_failed(msg, code, bucket=self.read.bucket)
        else:
            self.failures = 0
            run.messages.append(stored_from_direct(msg))

    async def messages(self) -> AsyncGenerator[StoredMsg, None]:
        try:
            await self.ask()
            while self.next_seq <= self.last_seq:
                while self.plan_seq <= self.last_seq and len(self.runs) < READ_AHEAD_RUNS:
                    await self.ask()
                head = self.runs[0]
                if head.messages:
                    stored = self.take(head)
                    if stored is not None:
                        yield stored
                elif head.ended:
                    if await self.finish(head):
                        return
                else:
                    await self.answer()
        finally:
            self.drop_runs()


async def _from_leader(js: JetStream, read: Read, seq: int) -> AsyncGenerator[StoredMsg, None]:
    """Without Direct Get: the stream leader, one message per request."""
    while True:
        try:
            answer = await js.api(
                f"STREAM.MSG.GET.{read.stream}",
                {"seq": seq, "next_by_subj": read.subject},
                bucket=read.bucket,
            )
        except JetStreamAPIError as exc:
            if exc.code == 404:
                return
            raise
        stored = stored_from_api(answer)
        seq = stored.seq + 1
        yield stored


async def next_msgs(
    js: JetStream,
    read: Read,
    *,
    start_seq: int,
    max_bytes: int,
    direct: bool,
    last_seq: int | None,
) -> AsyncGenerator[StoredMsg, None]:
    """JetStream.next_msgs (which documents it)."""
    if not direct:
        async with aclosing(_from_leader(js, read, start_seq)) as msgs:
            async for msg in msgs:
                yield msg
        return
    if last_seq is not None:
        try:
            async with routed_inbox(js, read.stream, read.bucket) as inbox:
                planned = _PlannedRuns(js, inbox, read, start_seq, last_seq, max_bytes).messages()
                async with aclosing(planned):
                    async for msg in planned:
                        start_seq = msg.seq + 1
                        yield msg
            return
        except _PlanAbandoned:
            # Messages got lost or the server went quiet: go on run by run, which
            # shrinks its runs until they get through.
            max_bytes = _smaller_run(max_bytes)
    async with routed_inbox(js, read.stream, read.bucket) as inbox:
        runs = _DirectRuns(js, inbox, read, start_seq, max_bytes).messages()
        async with aclosing(runs):
            async for msg in runs:
                yield msg
