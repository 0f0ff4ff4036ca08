"""JetStream over one nats-py connection: API requests as raw JSON (natsobj controls
every field it sends: servers since 2.12 reject fields they do not know), publishes,
stored messages, and the checks that make a wait fail as soon as its answer cannot come
(a lost connection, a refused subject). Errors come back as natsobj errors."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import anyio
from nats.aio.client import Client

from .._errors import (
    BucketNotFoundError,
    InvalidArgumentError,
    JetStreamAPIError,
    NoRespondersError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    PermissionDeniedError,
    ServerUnavailableError,
)
from .._wire import STREAM_PREFIX
from ._consumer import newest_per_subject
from ._mapping import api_error, map_nats_errors, nats_call
from ._messages import (
    Msg,
    Payload,
    StoredMsg,
    direct_get_failed,
    header_size,
    status,
    stored_from_api,
    stored_from_direct,
)
from ._mux import POLL_SECONDS, Inbox, Mux, Watchdog
from ._reads import Read, last_msgs, next_msgs
from ._tuning import raise_heap_trim_threshold, speed_up_header_parsing, tune_nats_reads
from ._writes import ByteBudget

__all__ = ["JetStream"]

# Unacknowledged publish bytes per connection: half the server's 128 MiB ingest buffer.
WRITE_BUDGET = 64 * 1024 * 1024
# Direct Get bytes asked for and not yet delivered, per connection: half the server's
# 64 MiB max_pending for one client, beyond which it drops messages.
READ_BUDGET = 32 * 1024 * 1024
# Below the server's default of 50 in-flight atomic batches per stream, leaving room for
# other clients.
ATOMIC_BATCHES_PER_STREAM = 32
# A request waits for a connection, looking this often (see JetStream.connected).
RECONNECT_POLL_SECONDS = 0.05


class JetStream:
    """JetStream API calls and publishes over one nats-py connection."""

    def __init__(self, nc: Client, *, timeout: float, api_prefix: str = "$JS.API"):
        tune_nats_reads()
        raise_heap_trim_threshold()
        speed_up_header_parsing(nc)
        self.nc = nc
        self.mux = Mux(nc)
        self.write_budget = ByteBudget(WRITE_BUDGET)
        self.read_budget = ByteBudget(READ_BUDGET)
        self._batch_limiters: dict[str, anyio.CapacityLimiter] = {}
        self.timeout = timeout
        self.prefix = api_prefix

    async def request(
        self,
        subject: str,
        payload: Payload = b"",
        *,
        headers: Mapping[str, str] | None = None,
        bucket: str | None = None,
        name: str | None = None,
    ) -> Msg:
        """Publish and wait for the one reply, through the shared reply subscription.

        Without a connection, the request waits for one (see ``connected``). It fails
        within ``timeout`` plus POLL_SECONDS: with ServerUnavailableError as soon as the
        connection it went out on is lost (its answer cannot come), or at the deadline
        while there is no connection; else with ObjectStoreTimeoutError at the deadline.
        """
        self.check_fits(len(payload), headers, bucket=bucket, name=name)
        deadline = anyio.current_time() + self.timeout
        await self.connected(deadline, bucket=bucket, name=name)
        inbox = Inbox()
        inbox.watchdog = self.watchdog(
            lambda: (subject, inbox.prefix), lambda: (inbox.link,), bucket=bucket, name=name
        )
        with map_nats_errors(bucket=bucket, name=name):
            inbox.prefix = await self.mux.route(inbox.put)
            try:
                inbox.link = self.link()
                await nats_call(
                    self.nc.publish(
                        subject,
                        cast(bytes, payload),  # nats-py takes any buffer; its hint says bytes
                        reply=f"{inbox.prefix}.r",
                        headers=dict(headers) if headers else None,
                    )
                )
                try:
                    msg = await inbox.get(max(deadline - anyio.current_time(), POLL_SECONDS))
                except TimeoutError as exc:
                    raise self.no_answer(
                        subject,
                        inbox.prefix,
                        what="answer",
                        waited=self.timeout,
                        bucket=bucket,
                        name=name,
                    ) from exc
            finally:
                self.mux.drop(inbox.prefix)
        if status(msg) == "503" and not msg.data:
            raise NoRespondersError(
                f"no responders for {subject}: is JetStream enabled?", bucket=bucket, name=name
            )
        return msg

    def link(self) -> int | None:
        """The connection a message published now goes out on (nats-py's count of
        reconnects), or None while there is none: nats-py then keeps the message in its
        buffer and sends it on the next connection."""
        return int(self.nc.stats["reconnects"]) if self.nc.is_connected else None

    async def connected(
        self, deadline: float, *, bucket: str | None = None, name: str | None = None
    ) -> None:
        """Return once there is a connection; ServerUnavailableError at ``deadline``
        (anyio's clock).

        Requests and messages for a stream go out on a live connection only: one left in
        nats-py's buffer would be carried out whenever a connection comes back, after its
        sender was told it failed (a chunk stored after the purge of its failed put, a
        bucket deleted after the delete raised).
        """
        while not self.nc.is_connected:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                raise ServerUnavailableError(
                    f"no connection to the NATS server within {self.timeout} s"
                    " (nats-py is reconnecting)",
                    bucket=bucket,
                    name=name,
                )
            await anyio.sleep(min(remaining, RECONNECT_POLL_SECONDS))

    def lost(self, link: int | None) -> bool:
        """Whether the connection ``link`` names is gone. Answers to what went out on it
        can never arrive: the server sends them to that connection only."""
        return link is not None and self.link() != link

    def watchdog(
        self,
        subjects: Callable[[], Sequence[str]],
        links: Callable[[], Iterable[int | None]],
        *,
        bucket: str | None = None,
        name: str | None = None,
    ) -> Watchdog:
        """A check for waits: raises PermissionDeniedError once the server has refused one
        of ``subjects()`` (after this call: an earlier refusal is not this operation's), and
        ServerUnavailableError once one of ``links()`` is lost."""
        before = self.nc.last_error

        def check() -> None:
            if self.nc.last_error is not before:
                self.raise_if_denied(*subjects(), bucket=bucket, name=name)
            if any(self.lost(link) for link in links()):
                raise ServerUnavailableError(
                    "lost the connection to the NATS server before it answered",
                    bucket=bucket,
                    name=name,
                )

        return check

    def no_answer(
        self,
        *subjects: str,
        what: str,
        waited: float,
        bucket: str | None = None,
        name: str | None = None,
    ) -> ServerUnavailableError | ObjectStoreTimeoutError:
        """The error for an answer (to a request on ``subjects``) that did not come in
        ``waited`` seconds; raises PermissionDeniedError if the server refused it."""
        self.raise_if_denied(*subjects, bucket=bucket, name=name)
        if not self.nc.is_connected:
            return ServerUnavailableError(
                f"no connection to the NATS server: no {what} within {waited} s"
                " (nats-py is reconnecting)",
                bucket=bucket,
                name=name,
            )
        return ObjectStoreTimeoutError(
            f"the NATS server sent no {what} within {waited} s", bucket=bucket, name=name
        )

    def check_fits(
        self,
        size: int,
        headers: Mapping[str, str] | None,
        *,
        bucket: str | None = None,
        name: str | None = None,
    ) -> None:
        """Refuse a message over the server's max_payload before it is sent. nats-py counts
        the payload alone; the server counts the headers too, and closes the connection of
        a client that sends more."""
        limit = int(self.nc.max_payload or 0)
        total = size + (header_size(headers) if headers else 0)
        if limit and total > limit:
            raise InvalidArgumentError(
                f"a message of {total} bytes (headers included) is over the server's"
                f" max_payload of {limit} bytes: a put needs a chunk_size below that",
                bucket=bucket,
                name=name,
            )

    def raise_if_denied(
        self, *subjects: str, bucket: str | None = None, name: str | None = None
    ) -> None:
        """Raise PermissionDeniedError if the server refused a publish to, or a
        subscription on, one of ``subjects`` (or a reply inbox under them).

        The server answers a denied publish with an asynchronous ``-ERR`` and nothing else,
        so the request times out; nats-py keeps that error as the connection's last.
        """
        # nats-py lower-cases the whole -ERR line, subject included.
        error = str(self.nc.last_error or "").lower()
        if "permissions violation" not in error:
            return
        _, _, denied = error.partition(' to "')
        denied = denied.rstrip('"').removesuffix(".>")
        refused = [
            s for s in subjects if s and (s.lower() == denied or s.lower().startswith(f"{denied}."))
        ]
        if denied and refused:
            raise PermissionDeniedError(
                f"Permissions Violation: this connection may not use {refused[0]}",
                bucket=bucket,
                name=name,
            )

    async def api(
        self,
        endpoint: str,
        payload: Mapping[str, Any] | None = None,
        *,
        bucket: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Call ``$JS.API.<endpoint>`` and return the JSON answer; errors are raised."""
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else b""
        msg = await self.request(f"{self.prefix}.{endpoint}", body, bucket=bucket, name=name)
        try:
            answer = json.loads(msg.data)
        except ValueError as exc:
            raise JetStreamAPIError(f"unreadable JetStream API answer: {msg.data[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise JetStreamAPIError(f"unexpected JetStream API answer: {answer!r}")
        if "error" in answer:
            raise api_error(answer["error"], bucket=bucket, name=name)
        return answer

    async def account_info(self) -> dict[str, Any]:
        try:
            return await self.api("INFO")
        except ServerUnavailableError as exc:
            raise ServerUnavailableError("JetStream is not enabled for this account") from exc

    async def stream_info(self, stream: str, *, bucket: str | None = None) -> dict[str, Any]:
        return await self.api(f"STREAM.INFO.{stream}", bucket=bucket)

    async def stream_names(self, subject: str) -> list[str]:
        names: list[str] = []
        while True:
            answer = await self.api("STREAM.NAMES", {"offset": len(names), "subject": subject})
            page = answer.get("streams") or []
            names.extend(page)
            if not page or len(names) >= int(answer.get("total", 0)):
                return names

    async def purge(
        self, stream: str, subject: str, *, through: int | None = None, bucket: str | None = None
    ) -> int:
        """Purge ``subject``'s messages (only those up to sequence ``through``, if given:
        a message stored after what the caller looked at stays); returns how many."""
        request: dict[str, Any] = {"filter": subject}
        if through is not None:
            request["seq"] = through + 1  # the server purges below this sequence
        answer = await self.api(f"STREAM.PURGE.{stream}", request, bucket=bucket)
        return int(answer.get("purged", 0))

    async def purge_soon(self, stream: str, subject: str, *, bucket: str | None = None) -> None:
        """Purge ``subject`` now, or with no connection, once there is one again: the
        request then waits in nats-py's buffer for it, and nobody waits for the answer (a
        connection that never comes back leaves the messages to the orphan sweep).
        No other write is buffered so (see ``connected``): no chunk can land after the
        purge."""
        if self.nc.is_connected:
            await self.purge(stream, subject, bucket=bucket)
            return
        with map_nats_errors(bucket=bucket):
            await nats_call(
                self.nc.publish(
                    f"{self.prefix}.STREAM.PURGE.{stream}",
                    json.dumps({"filter": subject}).encode(),
                    reply=self.nc.new_inbox(),  # the API answers requests only
                )
            )

    async def publish(
        self,
        subject: str,
        payload: Payload,
        *,
        headers: Mapping[str, str] | None = None,
        bucket: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Publish one message and wait for the stream's acknowledgement (see ``request``)."""
        try:
            msg = await self.request(subject, payload, headers=headers, bucket=bucket, name=name)
        except NoRespondersError as exc:
            raise await self.unanswered(bucket, name=name) from exc
        # The first message of an atomic batch is answered with an empty body.
        ack = json.loads(msg.data) if msg.data else {}
        if "error" in ack:
            raise api_error(ack["error"], bucket=bucket, name=name)
        return dict(ack)

    async def last_msg(
        self, stream: str, subject: str, *, direct: bool, bucket: str | None = None
    ) -> StoredMsg | None:
        """The last message on ``subject``, or None if there is none.

        Direct Get is served by any replica (fast, not read-after-write on R>1); the
        other path asks the stream leader.
        """
        if direct:
            try:
                msg = await self.request(
                    f"{self.prefix}.DIRECT.GET.{stream}.{subject}", bucket=bucket
                )
            except NoRespondersError as exc:
                raise await self.unanswered(bucket) from exc
            code = status(msg)
            if code == "404":
                return None
            if code is not None:
                raise direct_get_failed(msg, code, bucket=bucket)
            return stored_from_direct(msg)
        try:
            answer = await self.api(
                f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject}, bucket=bucket
            )
        except JetStreamAPIError as exc:
            if exc.code == 404:
                return None
            raise
        return stored_from_api(answer)

    async def unanswered(
        self, bucket: str | None, *, name: str | None = None
    ) -> BucketNotFoundError | ServerUnavailableError:
        """The error for a request to a bucket's stream that nobody answered (status 503).

        Either the bucket is gone, or on a cluster its stream is between leaders (its
        replicas stop serving until one is elected): the stream info tells which.
        """
        try:
            if bucket is not None:
                await self.stream_info(f"{STREAM_PREFIX}{bucket}", bucket=bucket)
        except BucketNotFoundError as exc:
            return exc
        except ObjectStoreError:
            pass  # no answer about the stream either: it is unavailable, maybe not gone
        return ServerUnavailableError(
            f"bucket {bucket!r} did not answer: its stream has no leader right now"
            " (a cluster electing one); try again",
            bucket=bucket,
            name=name,
        )

    async def last_msgs(
        self, stream: str, subjects: Sequence[str], *, bucket: str | None = None
    ) -> dict[str, StoredMsg]:
        """The last message of each of ``subjects`` (at most MULTI_LAST_SUBJECTS) that has
        one, by subject, in one batched Direct Get (server 2.11+, ``allow_direct``).

        Subjects missing from the answer have no message, or did not fit in one run of
        DEFAULT_RUN_BYTES: callers look those up one by one.
        """
        return await last_msgs(self, stream, subjects, bucket=bucket)

    def batch_limiter(self, stream: str) -> anyio.CapacityLimiter:
        """Bounds this connection's atomic batches in flight on one stream (the server
        refuses more than 50 per stream by default, with error 10210)."""
        limiter = self._batch_limiters.get(stream)
        if limiter is None:
            limiter = self._batch_limiters[stream] = anyio.CapacityLimiter(
                ATOMIC_BATCHES_PER_STREAM
            )
        return limiter

    def server_at_least(self, major: int, minor: int) -> bool:
        version = self.nc.connected_server_version
        return (version.major, version.minor) >= (major, minor)

    def next_msgs(
        self,
        stream: str,
        subject: str,
        *,
        start_seq: int,
        batch: int,
        max_bytes: int,
        direct: bool,
        bucket: str | None = None,
        retries: int = 3,
        last_seq: int | None = None,
    ) -> AsyncGenerator[StoredMsg, None]:
        """Yield messages on ``subject`` (wildcards allowed) from ``start_seq`` on.

        Uses batched Direct Get (server 2.11+, no consumer) in runs of ``batch`` messages
        or ``max_bytes``; the next run is asked for when the reader reaches the end of the
        current one, so memory is bounded by one run whatever the reader's pace. Each
        message has its own deadline (``timeout``); a run that stalls (connection lost,
        server restarted) is asked for again from the message after the last one received,
        ``retries`` times in a row. Without Direct Get the stream leader is asked one
        message at a time.

        When the caller knows that every message up to ``last_seq`` is on ``subject`` (an
        object's chunks written back to back), the runs are planned by sequence and
        ``READ_AHEAD_RUNS`` of them are kept in flight, so the server sends the next run
        while the reader works through the current one; memory stays bounded by those runs.

        Messages keep their headers: dropping them (``no_hdr``, 2.12+) was measured to cost
        the server about 30% more CPU for the same throughput, and the sequence numbers
        they carry make resuming exact.
        """
        read = Read(stream, subject, batch, bucket, retries)
        return next_msgs(
            self, read, start_seq=start_seq, max_bytes=max_bytes, direct=direct, last_seq=last_seq
        )

    def newest_per_subject(
        self, stream: str, subject: str, *, bucket: str | None = None
    ) -> AsyncGenerator[list[StoredMsg], None]:
        """The newest message of every subject on ``subject``, in lists, through an ordered
        consumer (see ``_consumer.newest_per_subject``); close it when done."""
        return newest_per_subject(self, stream, subject, bucket=bucket)
