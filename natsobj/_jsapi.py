"""The one module that speaks JetStream through nats-py.

Requests go to the JetStream API as raw JSON so natsobj controls every field it sends
(servers since 2.12 reject fields they do not know). Errors come back as natsobj errors.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import anyio
import nats.errors

from ._errors import (
    ERR_STREAM_NAME_IN_USE,
    ERR_STREAM_NOT_FOUND,
    ERR_STREAM_SEALED,
    ERR_WRONG_LAST_SEQUENCE,
    BucketExistsError,
    BucketFullError,
    BucketNotFoundError,
    BucketSealedError,
    InvalidArgumentError,
    JetStreamAPIError,
    NoRespondersError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    PermissionDeniedError,
    PreconditionFailedError,
    ServerUnavailableError,
    map_nats_errors,
)
from ._wire import STREAM_PREFIX

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

# What may be published: memoryviews of immutable bytes save a copy per chunk (nats-py
# concatenates the payload into its protocol command either way).
Payload: TypeAlias = bytes | memoryview

STATUS = "Status"
# Unacknowledged publish bytes per connection: half the server's 128 MiB ingest buffer.
WRITE_BUDGET = 64 * 1024 * 1024
# Direct Get bytes asked for and not yet delivered, per connection: half the server's
# 64 MiB max_pending for one client, beyond which it drops messages.
READ_BUDGET = 32 * 1024 * 1024
# Below the server's default of 50 in-flight atomic batches per stream, leaving room for
# other clients.
ATOMIC_BATCHES_PER_STREAM = 32
# Batched Direct Get runs kept in flight ahead of the reader, when their sequences are known.
READ_AHEAD_RUNS = 2
_HEADER_ALLOWANCE = 512  # bytes per message the server adds to a run's size (headers)
DESCRIPTION = "Description"
# The server answers a multi_last Direct Get for at most this many subjects.
MULTI_LAST_SUBJECTS = 1024
# Bytes asked for in one batched Direct Get of many subjects' last messages.
DEFAULT_RUN_BYTES = 8 * 1024 * 1024
# A wait for an answer looks this often for what means it will never come: a refusal (the
# server refuses a publish with an asynchronous -ERR and no reply) or the loss of the
# connection the request went out on. It fails at once then, not at its deadline.
POLL_SECONDS = 0.25
# A request waits for a connection, looking this often (see JetStream.connected).
RECONNECT_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class StoredMsg:
    """A message read back from a stream."""

    subject: str
    seq: int
    time: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


# How the server words a write refused for lack of room (stream max_bytes; account limits).
_STORAGE_LIMITS = ("maximum bytes exceeded", "resource limits exceeded for account")


def api_error(
    error: Mapping[str, Any], *, bucket: str | None = None, name: str | None = None
) -> ObjectStoreError:
    """The natsobj error for a JetStream API ``error`` object."""
    code = int(error.get("code", 0) or 0)
    err_code = int(error.get("err_code", 0) or 0)
    description = str(error.get("description", "JetStream API error"))
    if err_code == ERR_STREAM_NOT_FOUND:
        return BucketNotFoundError(f"bucket {bucket!r} not found", bucket=bucket, name=name)
    if err_code == ERR_STREAM_SEALED or "sealed" in description:
        return BucketSealedError(f"bucket {bucket!r} is sealed", bucket=bucket, name=name)
    if any(limit in description for limit in _STORAGE_LIMITS):
        return BucketFullError(
            f"bucket {bucket!r} is full: {description}", bucket=bucket, name=name
        )
    if err_code == ERR_STREAM_NAME_IN_USE:
        return BucketExistsError(
            f"bucket {bucket!r} already exists with a different configuration"
            " (use update_object_store to change it)",
            bucket=bucket,
        )
    if err_code == ERR_WRONG_LAST_SEQUENCE:
        # A publish conditional on Nats-Expected-Last-Subject-Sequence lost its race.
        return PreconditionFailedError(
            f"object {name!r} changed since the expected revision ({description})",
            bucket=bucket,
            name=name,
        )
    if code == 403:
        return PermissionDeniedError(description, bucket=bucket, name=name)
    return JetStreamAPIError(
        f"{description} (code {code}, err_code {err_code})",
        code=code,
        err_code=err_code,
        bucket=bucket,
        name=name,
    )


def _status(msg: Msg) -> str | None:
    return msg.headers.get(STATUS) if msg.headers else None


def _header(msg: Msg, key: str, default: str = "") -> str:
    return msg.headers.get(key, default) if msg.headers else default


def stored_from_direct(msg: Msg) -> StoredMsg:
    """A StoredMsg from a Direct Get reply (stream info travels in headers)."""
    headers = msg.headers or {}
    return StoredMsg(
        subject=headers.get("Nats-Subject", ""),
        seq=int(headers.get("Nats-Sequence", "0")),
        time=headers.get("Nats-Time-Stamp", ""),
        data=msg.data,
        headers=headers,
    )


def header_size(headers: Mapping[str, str]) -> int:
    """Bytes of the header block nats-py sends for ``headers`` (``NATS/1.0``, a
    ``Key: value`` line each, a blank line)."""
    lines = sum(len(k.strip().encode()) + len(v.strip().encode()) + 4 for k, v in headers.items())
    return len(b"NATS/1.0\r\n") + lines + 2


def _parse_header_block(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip()] = value.strip()
    return headers


# nats-py reads the socket 32 KiB at a time; at object-store rates that costs more in
# per-read overhead than the bytes themselves (measured: 1 MiB reads make a 256 MiB get
# 15-25% faster). The setting is nats-py's module global, read on every socket read.
READ_BUFFER_SIZE = 1024 * 1024


def tune_nats_reads() -> None:
    """Make nats-py read up to READ_BUFFER_SIZE per socket read, if nobody changed it."""
    import nats.aio.client

    if nats.aio.client.DEFAULT_BUFFER_SIZE == 32768:
        nats.aio.client.DEFAULT_BUFFER_SIZE = READ_BUFFER_SIZE


_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """The headers of a message's header block, exactly as nats-py 2.16's own parser reads
    them, without its per-character generator over every header name: that generator
    was 56% of the client's CPU when listing a bucket (every Direct Get reply carries six
    or more headers)."""
    headers: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue  # nats-py drops names that are not ASCII
        if _WHITESPACE.search(key):
            continue  # nor names with whitespace inside
        headers[key] = value.strip().decode("utf-8", "replace")
    return headers


def speed_up_header_parsing(nc: NatsClient) -> None:
    """Give this connection ``parse_header_lines`` in place of nats-py's own parser.

    Only where nats-py uses that parser (not its optional fast_mail_parser path) and has
    the static method this replaces; the unit tests check both give the same result.
    """
    import nats.aio.client

    native = getattr(type(nc), "_parse_header_lines", None)
    if native is not None and getattr(nats.aio.client, "parse_email", None) is None:
        nc._parse_header_lines = parse_header_lines  # type: ignore[method-assign]


async def close_connection(nc: NatsClient, timeout: float) -> None:
    """Close ``nc`` within ``timeout`` seconds, shielded from cancellation; never raises.

    With no connection (nats-py reconnecting), the publishes nats-py kept for the next one
    are dropped first: its close would flush them onto the dead socket, raise, and skip the
    rest of its clean-up (closing the socket, waking waiting subscribers).
    """
    if not nc.is_connected:
        nc._pending = []
        nc._pending_data_size = 0
    with (
        anyio.CancelScope(shield=True),
        anyio.move_on_after(timeout),
        contextlib.suppress(Exception),
    ):
        await nc.close()


async def unsubscribe(sub: Any) -> None:
    """Drop a subscription; a connection that is already gone has dropped it for us."""
    with anyio.CancelScope(shield=True), contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()


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


class _Mux:
    """One wildcard reply subscription per connection, shared by every transfer.

    Each transfer takes a route (a reply-subject prefix) and gets the messages sent to it,
    so no transfer pays for a SUB/UNSUB round of its own.
    """

    def __init__(self, nc: NatsClient):
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
                    self._sub = await self._nc.subscribe(
                        f"{self._prefix}.>",
                        cb=self._dispatch,
                        pending_msgs_limit=0,
                        pending_bytes_limit=0,
                    )
        key = str(next(self._keys))
        self._routes[key] = handler
        return f"{self._prefix}.{key}"

    def drop(self, reply_prefix: str) -> None:
        self._routes.pop(reply_prefix.rsplit(".", 1)[-1], None)

    async def _dispatch(self, msg: Msg) -> None:
        key = msg.subject[len(self._prefix) + 1 :].split(".", 1)[0]
        handler = self._routes.get(key)
        if handler is not None:
            handler(msg)


class _Inbox:
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
        if self.on_status is not None and _status(msg) is not None:
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


class JetStream:
    """JetStream API calls and publishes over one nats-py connection."""

    def __init__(self, nc: NatsClient, *, timeout: float, api_prefix: str = "$JS.API"):
        tune_nats_reads()
        speed_up_header_parsing(nc)
        self.nc = nc
        self.mux = _Mux(nc)
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
        inbox = _Inbox()
        inbox.watchdog = self.watchdog(
            lambda: (subject, inbox.prefix), lambda: (inbox.link,), bucket=bucket, name=name
        )
        with map_nats_errors(bucket=bucket, name=name):
            inbox.prefix = await self.mux.route(inbox.put)
            try:
                inbox.link = self.link()
                await self.nc.publish(
                    subject,
                    cast(bytes, payload),  # nats-py takes any buffer; its hint says bytes
                    reply=f"{inbox.prefix}.r",
                    headers=dict(headers) if headers else None,
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
        if _status(msg) == "503" and not msg.data:
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
            await self.nc.publish(
                f"{self.prefix}.STREAM.PURGE.{stream}",
                json.dumps({"filter": subject}).encode(),
                reply=self.nc.new_inbox(),  # the API answers requests only
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
            status = _status(msg)
            if status == "404":
                return None
            if status is not None:
                raise JetStreamAPIError(
                    f"direct get failed: {status} {_header(msg, DESCRIPTION)}",
                    code=int(status),
                    bucket=bucket,
                )
            return stored_from_direct(msg)
        try:
            answer = await self.api(
                f"STREAM.MSG.GET.{stream}", {"last_by_subj": subject}, bucket=bucket
            )
        except JetStreamAPIError as exc:
            if exc.code == 404:
                return None
            raise
        raw = answer["message"]
        return StoredMsg(
            subject=raw["subject"],
            seq=int(raw["seq"]),
            time=raw.get("time", ""),
            data=base64.b64decode(raw.get("data", "")),
            headers=_parse_header_block(base64.b64decode(raw["hdrs"])) if raw.get("hdrs") else {},
        )

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
        if not 0 < len(subjects) <= MULTI_LAST_SUBJECTS:
            raise ValueError(f"1 to {MULTI_LAST_SUBJECTS} subjects per request")
        found: dict[str, StoredMsg] = {}
        held = await self.read_budget.acquire(DEFAULT_RUN_BYTES)
        try:
            async with self._routed_inbox(stream, bucket) as inbox:
                request = {"multi_last": list(subjects), "batch": len(subjects), "max_bytes": held}
                direct_get = f"{self.prefix}.DIRECT.GET.{stream}"
                with map_nats_errors(bucket=bucket):
                    inbox.link = self.link()
                    await self.nc.publish(
                        direct_get, json.dumps(request).encode(), reply=f"{inbox.prefix}.r"
                    )
                while True:
                    try:
                        msg = await inbox.get(self.timeout)
                    except TimeoutError as exc:
                        raise self.no_answer(
                            direct_get,
                            inbox.prefix,
                            what="answer",
                            waited=self.timeout,
                            bucket=bucket,
                        ) from exc
                    status = _status(msg)
                    if status in ("204", "404"):  # end of the run; none of them exist
                        return found
                    if status is not None:
                        raise JetStreamAPIError(
                            f"direct get failed: {status} {_header(msg, DESCRIPTION)}",
                            code=int(status),
                            bucket=bucket,
                        )
                    stored = stored_from_direct(msg)
                    found[stored.subject] = stored
        finally:
            self.read_budget.release(held)

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

    async def next_msgs(
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
        if not direct:
            async for msg in self._next_msgs_from_leader(stream, subject, start_seq, bucket):
                yield msg
            return
        if last_seq is not None:
            try:
                async with self._routed_inbox(stream, bucket) as inbox:
                    planned = self._planned_runs(
                        inbox,
                        stream,
                        subject,
                        start_seq,
                        last_seq,
                        batch,
                        max_bytes,
                        bucket,
                        retries,
                    )
                    async with aclosing(planned):
                        async for msg in planned:
                            start_seq = msg.seq + 1
                            yield msg
                return
            except _PlanAbandoned:
                # Messages got lost or the server went quiet: go on run by run, which
                # shrinks its runs until they get through.
                max_bytes = _smaller_run(max_bytes)
        async with self._routed_inbox(stream, bucket) as inbox:
            runs = self._direct_runs(
                inbox, stream, subject, start_seq, batch, max_bytes, bucket, retries
            )
            async with aclosing(runs):
                async for msg in runs:
                    yield msg

    @asynccontextmanager
    async def _routed_inbox(self, stream: str, bucket: str | None) -> AsyncIterator[_Inbox]:
        """An inbox of its own on the mux (late answers to an earlier one never reach it)
        for Direct Gets from ``stream``."""
        inbox = _Inbox()
        direct_get = f"{self.prefix}.DIRECT.GET.{stream}"
        inbox.watchdog = self.watchdog(
            lambda: (direct_get, inbox.prefix), lambda: (inbox.link,), bucket=bucket
        )
        with map_nats_errors(bucket=bucket):
            inbox.prefix = await self.mux.route(inbox.put)
        try:
            yield inbox
        finally:
            self.mux.drop(inbox.prefix)

    async def _direct_runs(
        self,
        inbox: _Inbox,
        stream: str,
        subject: str,
        run_seq: int,
        batch: int,
        max_bytes: int,
        bucket: str | None,
        retries: int,
    ) -> AsyncGenerator[StoredMsg, None]:
        run = 0  # reply token of the run being read; late answers to older runs are dropped
        failures = 0
        batched = True
        budget = self.read_budget
        held = 0  # read budget held by the run in flight, given back when it has arrived
        # Sequence of the last message received from the run in flight (0: none yet).
        # Each message of a batch names its predecessor in Nats-Last-Sequence (0 for the
        # first), so a message lost on the way (a slow consumer's) breaks the chain.
        run_last = 0

        def give_back(msg: Msg | None = None) -> None:
            nonlocal held
            if msg is None or msg.subject == f"{inbox.prefix}.{run}":
                budget.release(held)
                held = 0

        inbox.on_status = give_back

        async def ask() -> None:
            nonlocal run, held, run_last
            give_back()
            run_last = 0
            request: dict[str, Any] = {"seq": run_seq, "next_by_subj": subject}
            if batched:
                held = await budget.acquire(max_bytes)
                request.update(batch=batch, max_bytes=held)
            run += 1
            with map_nats_errors(bucket=bucket):
                inbox.link = self.link()
                await self.nc.publish(
                    f"{self.prefix}.DIRECT.GET.{stream}",
                    json.dumps(request).encode(),
                    reply=f"{inbox.prefix}.{run}",
                )

        try:
            await ask()
            while True:
                try:
                    msg = await inbox.get(self.timeout)
                except ServerUnavailableError:
                    # The connection the run was asked on is gone (the server may have cut
                    # it as a slow consumer: ask for less): ask again on the next one
                    # (nats-py holds the request until it has one).
                    failures += 1
                    if failures > retries:
                        raise
                    max_bytes = _smaller_run(max_bytes)
                    await ask()
                    continue
                except TimeoutError as exc:
                    self._raise_if_unavailable(inbox, stream, bucket, exc)
                    failures += 1
                    if failures > retries:
                        raise ObjectStoreTimeoutError(
                            f"no answer from the server within {self.timeout} s, {retries} retries",
                            bucket=bucket,
                        ) from exc
                    max_bytes = _smaller_run(max_bytes)
                    await ask()
                    continue
                if msg.subject != f"{inbox.prefix}.{run}":
                    continue
                status = _status(msg)
                if status == "204":  # end of a run
                    last = _header(msg, "Nats-Last-Sequence")
                    if last and int(last) >= run_seq:
                        # The server sent messages that never arrived (dropped as a slow
                        # consumer): ask again from the last one received.
                        await self._lost(failures := failures + 1, retries, bucket)
                        max_bytes = _smaller_run(max_bytes)
                        await ask()
                        continue
                    if _header(msg, "Nats-Num-Pending", "0") == "0" or not last:
                        return
                    run_seq = int(last) + 1
                    await ask()
                    continue
                if status == "404":
                    return
                if status == "503":
                    # No replica answered: a deleted bucket, or a stream between leaders.
                    error = await self.unanswered(bucket)
                    failures += 1
                    if isinstance(error, BucketNotFoundError) or failures > retries:
                        raise error
                    await anyio.sleep(0.5 * failures)
                    await ask()
                    continue
                if status is not None:
                    raise JetStreamAPIError(
                        f"direct get failed: {status} {_header(msg, DESCRIPTION)}",
                        code=int(status),
                        bucket=bucket,
                    )
                if batched and not _header(msg, "Nats-Num-Pending"):
                    batched = False  # a server before 2.11 answers one message per request
                previous = _header(msg, "Nats-Last-Sequence")
                if batched and previous and int(previous) != run_last:
                    # Messages before this one were lost: ask again after the last received.
                    await self._lost(failures := failures + 1, retries, bucket)
                    max_bytes = _smaller_run(max_bytes)
                    await ask()
                    continue
                failures = 0
                stored = stored_from_direct(msg)
                run_last = stored.seq
                run_seq = stored.seq + 1  # where to resume if this run stalls
                if not batched:
                    await ask()
                yield stored
        finally:
            give_back()

    async def _planned_runs(
        self,
        inbox: _Inbox,
        stream: str,
        subject: str,
        next_seq: int,
        last_seq: int,
        batch: int,
        max_bytes: int,
        bucket: str | None,
        retries: int,
    ) -> AsyncGenerator[StoredMsg, None]:
        """Sequences ``next_seq..last_seq``, all on ``subject``, in runs asked for ahead."""
        budget = self.read_budget
        runs: deque[_PlannedRun] = deque()  # asked for and not yet read through, in order
        by_token: dict[str, _PlannedRun] = {}
        token = 0
        plan_seq = next_seq  # the first sequence no run has asked for
        failures = 0

        def on_status(msg: Msg) -> None:
            run = by_token.get(msg.subject.rsplit(".", 1)[-1])
            if run is not None:  # the server is done sending it: others may ask now
                budget.release(run.held)
                run.held = 0

        def drop_runs() -> None:
            for run in runs:
                budget.release(run.held)
            runs.clear()
            by_token.clear()

        async def ask() -> None:
            nonlocal token, plan_seq
            held = await budget.acquire(max_bytes)
            token += 1
            run = _PlannedRun(str(token), plan_seq, min(plan_seq + batch, last_seq + 1), held)
            runs.append(run)
            by_token[run.token] = run
            count = run.end - run.start
            # The server counts headers against max_bytes too: leave room for them, or
            # every run would stop one message short of its plan.
            request = {
                "seq": run.start,
                "next_by_subj": subject,
                "batch": count,
                "max_bytes": held + count * _HEADER_ALLOWANCE,
            }
            plan_seq = run.end
            with map_nats_errors(bucket=bucket):
                if inbox.link is None:  # the first run on the wire since the plan started
                    inbox.link = self.link()
                await self.nc.publish(
                    f"{self.prefix}.DIRECT.GET.{stream}",
                    json.dumps(request).encode(),
                    reply=f"{inbox.prefix}.{run.token}",
                )

        async def restart() -> None:
            """Forget every run in flight and plan again from ``next_seq``."""
            nonlocal plan_seq
            drop_runs()
            plan_seq = next_seq
            await ask()

        inbox.on_status = on_status
        try:
            await ask()
            while next_seq <= last_seq:
                while plan_seq <= last_seq and len(runs) < READ_AHEAD_RUNS:
                    await ask()
                head = runs[0]
                if head.messages:
                    stored = head.messages.popleft()
                    if stored.seq < next_seq:
                        continue  # already yielded before a restart
                    if stored.seq > next_seq:
                        # Every sequence is on the subject, so one went missing on the
                        # way (dropped as a slow consumer).
                        raise _PlanAbandoned
                    next_seq = stored.seq + 1
                    yield stored
                    continue
                if head.ended:
                    runs.popleft()
                    del by_token[head.token]
                    if head.exhausted:
                        return  # nothing more on the subject: the caller sees what is missing
                    if next_seq < head.end:  # cut short, or lost messages: plan again
                        await restart()
                    continue
                try:
                    msg = await inbox.get(self.timeout)
                except ServerUnavailableError as exc:
                    raise _PlanAbandoned from exc  # the connection the runs went out on is gone
                except TimeoutError as exc:
                    self._raise_if_unavailable(inbox, stream, bucket, exc)
                    raise _PlanAbandoned from exc
                run = by_token.get(msg.subject.rsplit(".", 1)[-1])
                if run is None:
                    continue  # a late answer to a run given up on
                status = _status(msg)
                if status in ("204", "404"):
                    run.ended = True
                    run.exhausted = status == "404" or _header(msg, "Nats-Num-Pending") == "0"
                elif status == "503":
                    # No replica answered: a deleted bucket, or a stream between leaders.
                    error = await self.unanswered(bucket)
                    failures += 1
                    if isinstance(error, BucketNotFoundError) or failures > retries:
                        raise error
                    await anyio.sleep(0.5 * failures)
                    await restart()
                elif status is not None:
                    raise JetStreamAPIError(
                        f"direct get failed: {status} {_header(msg, DESCRIPTION)}",
                        code=int(status),
                        bucket=bucket,
                    )
                else:
                    failures = 0
                    run.messages.append(stored_from_direct(msg))
        finally:
            drop_runs()

    def _raise_if_unavailable(
        self, inbox: _Inbox, stream: str, bucket: str | None, exc: TimeoutError
    ) -> None:
        """After a read run went unanswered: raise if the server refused it, or if there
        is no connection (asking again could not help)."""
        error = self.no_answer(
            f"{self.prefix}.DIRECT.GET.{stream}",
            inbox.prefix,
            what="answer",
            waited=self.timeout,
            bucket=bucket,
        )
        if isinstance(error, ServerUnavailableError):
            raise error from exc

    @staticmethod
    async def _lost(failures: int, retries: int, bucket: str | None) -> None:
        """Raise once messages were lost ``retries`` times in a row; else pause a little."""
        if failures > retries:
            raise ServerUnavailableError(
                f"messages kept getting lost on the way ({retries} retries)", bucket=bucket
            )
        await anyio.sleep(0.1 * failures)

    async def _next_msgs_from_leader(
        self, stream: str, subject: str, seq: int, bucket: str | None
    ) -> AsyncGenerator[StoredMsg, None]:
        while True:
            try:
                answer = await self.api(
                    f"STREAM.MSG.GET.{stream}", {"seq": seq, "next_by_subj": subject}, bucket=bucket
                )
            except JetStreamAPIError as exc:
                if exc.code == 404:
                    return
                raise
            raw = answer["message"]
            stored = StoredMsg(
                subject=raw["subject"],
                seq=int(raw["seq"]),
                time=raw.get("time", ""),
                data=base64.b64decode(raw.get("data", "")),
            )
            seq = stored.seq + 1
            yield stored


def _smaller_run(max_bytes: int) -> int:
    """The run size after a run was lost: a server with a small ``max_pending`` drops a
    client it cannot deliver a large run to, so ask for less (a run holds at least one
    message whatever its size)."""
    return max(max_bytes // 4, 1)


class _Publishes:
    """What AckWindow and FastIngest share: the first error an answer brought, raised by
    the next call."""

    _js: JetStream
    _bucket: str | None
    _error: ObjectStoreError | None

    def _fail(self, error: ObjectStoreError) -> None:
        if self._error is None:
            self._error = error

    async def _check(self) -> None:
        if self._error is None:
            return
        if isinstance(self._error, NoRespondersError):
            self._error = await self._js.unanswered(self._bucket)
        raise self._error


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
        self._js = js
        self._max_bytes = max_bytes
        self._bucket = bucket
        self._inbox = ""
        self._subject = ""  # the last one published to, named if the server refuses it
        self._next_token = 0
        # token -> (size, deadline, the connection it went out on: JetStream.link)
        self._pending: dict[int, tuple[int, float, int | None]] = {}
        self._pending_bytes = 0
        self._on_wire: Counter[int] = Counter()  # unacknowledged messages per connection
        self._error: ObjectStoreError | None = None
        self._progress = anyio.Event()
        self._watchdog = js.watchdog(
            lambda: (self._subject, self._inbox), lambda: self._on_wire, bucket=bucket
        )

    async def __aenter__(self) -> AckWindow:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._inbox:
            self._js.mux.drop(self._inbox)
        # Acknowledgements that never came: their bytes are no longer ours to wait for.
        self._js.write_budget.release(sum(size for size, _, _ in self._pending.values()))
        self._pending.clear()
        self._on_wire.clear()

    def _forget(self, token: int) -> bool:
        """Stop waiting for ``token``'s acknowledgement; False if it was not awaited."""
        entry = self._pending.pop(token, None)
        if entry is None:
            return False
        size, _, link = entry
        self._pending_bytes -= size
        self._js.write_budget.release(size)
        if link is not None:
            self._on_wire[link] -= 1
            if not self._on_wire[link]:
                del self._on_wire[link]
        return True

    def _on_ack(self, msg: Msg) -> None:
        if not self._forget(int(msg.subject.rsplit(".", 1)[-1])):
            return
        status = _status(msg)
        if status == "503":
            self._fail(NoRespondersError("no stream answered", bucket=self._bucket))
        elif status is not None:
            self._fail(JetStreamAPIError(f"publish failed with status {status}", code=int(status)))
        else:
            try:
                # Messages inside an atomic batch are acknowledged with an empty body.
                ack = json.loads(msg.data) if msg.data else {}
            except ValueError:
                ack = {"error": {"description": f"unreadable ack {msg.data[:100]!r}"}}
            if "error" in ack:
                self._fail(api_error(ack["error"], bucket=self._bucket))
        self._progress.set()

    async def _wait_progress(self) -> None:
        deadline = min(d for _, d, _ in self._pending.values())
        self._progress = anyio.Event()
        try:
            await wait_for(self._progress, deadline, self._watchdog)
            return
        except TimeoutError as exc:
            if any(d <= anyio.current_time() for _, d, _ in self._pending.values()):
                raise self._js.no_answer(
                    self._subject,
                    self._inbox,
                    what="acknowledgement",
                    waited=self._js.timeout,
                    bucket=self._bucket,
                ) from exc

    async def publish(
        self, subject: str, payload: Payload, headers: Mapping[str, str] | None = None
    ) -> int:
        """Send one message into the window; returns its token."""
        await self._check()
        self._watchdog()  # nothing more for a connection lost with acknowledgements due
        while self._pending and self._pending_bytes + len(payload) > self._max_bytes:
            await self._wait_progress()
            await self._check()
        self._js.check_fits(len(payload), headers, bucket=self._bucket)
        await self._js.connected(anyio.current_time() + self._js.timeout, bucket=self._bucket)
        if not self._inbox:
            with map_nats_errors(bucket=self._bucket):
                self._inbox = await self._js.mux.route(self._on_ack)
        size = await self._js.write_budget.acquire(len(payload))
        self._next_token += 1
        token = self._next_token
        link = self._js.link()
        self._pending[token] = (size, anyio.current_time() + self._js.timeout, link)
        self._pending_bytes += size
        if link is not None:
            self._on_wire[link] += 1
        self._subject = subject
        try:
            with map_nats_errors(bucket=self._bucket):
                await self._js.nc.publish(
                    subject,
                    cast(bytes, payload),  # see request()
                    reply=f"{self._inbox}.{token}",
                    headers=dict(headers) if headers else None,
                )
        except ObjectStoreError:
            self._forget(token)  # refused before it was sent: no acknowledgement to wait for
            raise
        return token

    async def drain(self) -> None:
        """Wait until every message sent is acknowledged; raise the first error."""
        while self._pending:
            await self._check()
            await self._wait_progress()
        await self._check()

    async def settle(self) -> None:
        """Wait until every message sent is answered, overdue or lost with its connection
        (then it was stored before the connection went, or never), ignoring errors."""
        with contextlib.suppress(ObjectStoreTimeoutError, ServerUnavailableError):
            while self._pending:
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

    def __init__(
        self,
        js: JetStream,
        *,
        batch_id: str,
        max_bytes: int,
        chunk_size: int,
        bucket: str | None = None,
    ):
        self._js = js
        self._bucket = bucket
        self._batch = batch_id
        self._flow = max(1, min(max_bytes // (self.OUTSTANDING_ACKS * chunk_size), 1000))
        self._ack_every = self._flow
        self._route = ""
        self._subject = ""
        self._seq = 0
        self._acked = 0
        self._sizes: deque[tuple[int, int]] = deque()  # (batch sequence, budget held)
        self._started = False
        self._final: dict[str, Any] | None = None
        self._error: ObjectStoreError | None = None
        self._progress = anyio.Event()
        self._links: set[int] = set()  # the connections the batch went out on
        self._watchdog = js.watchdog(
            lambda: (self._subject, self._route), lambda: self._links, bucket=bucket
        )

    async def __aenter__(self) -> FastIngest:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._route:
            self._js.mux.drop(self._route)
        self._release_through(self._seq)

    def _reply(self, seq: int, op: int) -> str:
        # <prefix>.<batch id>.<initial flow>.<gap mode>.<batch sequence>.<operation>.$FI
        return f"{self._route}.{self._batch}.{self._flow}.fail.{seq}.{op}.$FI"

    def _release_through(self, seq: int) -> None:
        while self._sizes and self._sizes[0][0] <= seq:
            self._js.write_budget.release(self._sizes.popleft()[1])

    def _on_reply(self, msg: Msg) -> None:
        try:
            answer = json.loads(msg.data) if msg.data else {}
        except ValueError:
            answer = {"error": {"description": f"unreadable answer {msg.data[:100]!r}"}}
        status = _status(msg)
        if status == "503":
            self._fail(NoRespondersError("no stream answered", bucket=self._bucket))
        elif status is not None:
            self._fail(JetStreamAPIError(f"publish failed with status {status}", code=int(status)))
        elif "error" in answer:
            self._fail(api_error(answer["error"], bucket=self._bucket))
        elif "batch" in answer:  # the final acknowledgement: the batch is over
            self._final = answer
            self._release_through(self._seq)
        elif answer.get("type") == "ack":
            self._ack_every = max(1, min(int(answer.get("msgs", self._ack_every)), self._flow))
            self._acked = max(self._acked, int(answer.get("seq", 0)))
            self._release_through(self._acked)
        self._started = True  # any answer to the first message means the batch is open
        self._progress.set()

    async def _wait(self, done: Callable[[], bool]) -> None:
        """Wait until ``done()`` or an error; time out if the server goes quiet."""
        while self._error is None and not done():
            self._progress = anyio.Event()
            try:
                await wait_for(
                    self._progress, anyio.current_time() + self._js.timeout, self._watchdog
                )
            except TimeoutError as exc:
                raise self._js.no_answer(
                    self._subject,
                    self._route,
                    what="acknowledgement of a batch",
                    waited=self._js.timeout,
                    bucket=self._bucket,
                ) from exc
        await self._check()

    async def _send(self, subject: str, payload: Payload, reply: str, **kwargs: Any) -> None:
        await self._js.connected(anyio.current_time() + self._js.timeout, bucket=self._bucket)
        link = self._js.link()
        if link is not None:
            self._links.add(link)
        with map_nats_errors(bucket=self._bucket):
            # See request() for the cast.
            await self._js.nc.publish(subject, cast(bytes, payload), reply=reply, **kwargs)

    async def publish(
        self, subject: str, payload: Payload, headers: Mapping[str, str] | None = None
    ) -> int:
        """Send one message of the batch; returns its batch sequence."""
        await self._check()
        self._watchdog()  # nothing more for a connection lost with answers due
        self._js.check_fits(len(payload), headers, bucket=self._bucket)
        if not self._route:
            with map_nats_errors(bucket=self._bucket):
                self._route = await self._js.mux.route(self._on_reply)
            self._subject = subject
        size = await self._js.write_budget.acquire(len(payload))
        self._seq += 1
        self._sizes.append((self._seq, size))
        await self._send(
            subject,
            payload,
            self._reply(self._seq, 0 if self._seq == 1 else 1),
            headers=dict(headers) if headers else None,
        )
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
        await self._send(self._subject, b"", self._reply(self._seq + 1, 3))
        await self._wait(lambda: self._final is not None)
        assert self._final is not None
        stored = int(self._final.get("count", 0))
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


_SUBJECT_TOKEN = re.compile(r"[^\s.*>]+")
_SUBJECT = re.compile(r"[^\s*>]+")  # a subject to publish to: no wildcards, no spaces


def _delivery(msg: Msg, stream: str) -> Msg.Metadata | None:
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
        self._heard = 0.0  # when the consumer last sent anything (anyio's clock)
        self._delivered = 0  # consumer sequence of the last message received
        self._messages: deque[Msg] = deque()
        self._arrived = anyio.Event()
        self._received = 0
        self._handed = 0
        self._flow: tuple[str, int] | None = None  # (reply, messages to hand out first)
        self._broken = False
        self._closed = False

    async def start(self) -> None:
        """Subscribe to a new deliver subject and create a consumer that delivers to it:
        after the last message received, or by the deliver policy before any."""
        self._generation += 1
        generation = self._generation
        # Reset before the consumer exists: it may deliver before its creation is answered.
        self._delivered, self._flow, self._broken = 0, None, False
        self._heard = anyio.current_time()

        async def on_msg(msg: Msg) -> None:
            self._on_msg(generation, msg)

        deliver = self._js.nc.new_inbox()
        with map_nats_errors(bucket=self._bucket):
            sub = await self._js.nc.subscribe(deliver, cb=on_msg)
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
            await unsubscribe(sub)
            raise
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
        self._heard = anyio.current_time()
        status = _status(msg)
        if status == "100":
            # A flow control request asks for an answer on its reply subject; a heartbeat
            # names the last message sent, and a stalled flow control's subject. Only a
            # flow control subject of this stream is answered: anyone may publish here.
            flow = msg.reply or _header(msg, "Nats-Consumer-Stalled")
            if flow.startswith(f"$JS.FC.{self._stream}.") and _SUBJECT.fullmatch(flow):
                self._flow = (flow, self._received)
            last = _header(msg, "Nats-Last-Consumer")
            if not msg.reply and last and last != str(self._delivered):
                self._broken = True
        elif status is not None:  # the consumer is gone (409 Consumer Deleted, ...)
            self._broken = True
        else:
            meta = _delivery(msg, self._stream)
            if meta is None:
                return  # not from a consumer: nothing to deliver, nothing to repair
            if meta.sequence.consumer != self._delivered + 1:
                self._broken = True
            else:
                self._delivered = meta.sequence.consumer
                self._last_seq = meta.sequence.stream
                self._received += 1
                self._messages.append(msg)
        self._arrived.set()

    async def next(self) -> Msg | None:
        """The next message, or None once stopped.

        Raises:
            ServerUnavailableError: the server was lost; the next call resumes after the
                last message (waiting up to ``timeout`` for a connection).
        """
        while not self._closed:
            if self._messages:
                msg = self._messages.popleft()
                self._handed += 1
                await self._answer_flow()
                return msg
            if self._broken:
                await self._drop(delete=True)
            if self._sub is None:
                await self.start()
                continue
            self._arrived = anyio.Event()
            await self._answer_flow()
            with anyio.move_on_after(POLL_SECONDS):
                await self._arrived.wait()
            silent = anyio.current_time() - self._heard
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
        return None

    async def _answer_flow(self) -> None:
        if self._flow is not None and self._handed >= self._flow[1]:
            reply, self._flow = self._flow[0], None
            with contextlib.suppress(nats.errors.Error):  # a lost connection shows elsewhere
                await self._js.nc.publish(reply, b"")

    async def _drop(self, *, delete: bool) -> None:
        """Forget the consumer; with ``delete``, ask the server to remove it (else it goes
        by itself once nobody listens)."""
        sub, self._sub = self._sub, None
        self._generation += 1
        if sub is None:
            return
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
