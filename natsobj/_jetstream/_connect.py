"""Connections: the first connect (fails fast, with the reason), closing one whatever
its state, and waiting for a server's JetStream to answer (cluster readiness)."""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import nats.errors
from nats.aio.client import Client

from .._errors import ServerUnavailableError
from ._mapping import nats_call
from ._tuning import tune_nats_reads

__all__ = ["close_connection", "first_connect", "wait_jetstream"]

logger = logging.getLogger("natsobj")

# First-connect resets tolerated per server before the connect fails.
_RESETS_PER_SERVER = 2


class _FirstConnectFailed(Exception):
    """Raised from nats-py's error callback to stop it retrying the first connect."""


async def _log_error(exc: Exception) -> None:
    logger.debug("nats connection error: %s", exc)


class _FirstTries:
    """nats-py retries a first connect as often as it would reconnect (minutes by
    default): this error callback ends it at the first failure of every server, keeping
    the failures (the last becomes the cause). Reconnects after a successful connect are
    left to nats-py."""

    def __init__(self, servers: int, user_cb: Callable[[Exception], Awaitable[None]]):
        self.servers = servers
        self.user_cb = user_cb
        self.failures: list[Exception] = []
        self.resets = 0
        self.connected = False

    async def error_cb(self, exc: Exception) -> None:
        await self.user_cb(exc)
        if self.connected:
            return
        if (
            isinstance(exc, ConnectionResetError)
            and self.resets < _RESETS_PER_SERVER * self.servers
        ):
            # A server refusing the credentials says why and closes at once; the reason
            # can be lost in the reset. Another try usually hears it.
            self.resets += 1
            return
        self.failures.append(exc)
        if len(self.failures) >= self.servers:
            raise _FirstConnectFailed from exc


@asynccontextmanager
async def first_connect(
    servers: Sequence[str], *, timeout: float, **options: Any
) -> AsyncIterator[Client]:
    """A nats-py connection to one of ``servers``, closed on exit (within ``timeout``).

    Takes what ``nats.connect`` takes. Fails within about ``connect_timeout`` per server
    with ServerUnavailableError saying why (an untrusted TLS certificate at once).
    """
    options.setdefault("connect_timeout", timeout)
    # Before connecting: nats-py sizes the socket's stream buffer at connect time.
    tune_nats_reads()
    count = max(len(servers), 1)
    tries = _FirstTries(count, options.pop("error_cb", None) or _log_error)
    nc = Client()
    try:
        attempts = count * (1 + _RESETS_PER_SERVER)
        wait = float(options.get("reconnect_time_wait", 2))
        with anyio.fail_after(attempts * (options["connect_timeout"] + wait + 1) + 1):
            await nc.connect(list(servers), error_cb=tries.error_cb, **options)
    except Exception as exc:
        cause = tries.failures[-1] if tries.failures else exc
        # A refused first connect (bad credentials) leaves nats-py's socket open otherwise.
        # A failed TLS handshake has closed it, and there nats-py's close would wait until
        # the timeout for the plain stream under it.
        if not isinstance(cause, ssl.SSLError):
            await close_connection(nc, timeout)
        raise ServerUnavailableError(_connect_failure(servers, cause)) from cause
    tries.connected = True
    try:
        yield nc
    finally:
        await close_connection(nc, timeout)


def _connect_failure(servers: Sequence[str], cause: Exception) -> str:
    """Why a first connect failed, and what to do about it."""
    reason = str(cause) or type(cause).__name__
    where = f"cannot connect to NATS at {', '.join(servers)}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"{where}: the server's TLS certificate is not trusted ({reason}). "
            "Pass tls=ssl.SSLContext trusting its CA (or the CLI's --tls-ca)."
        )
    if isinstance(cause, ssl.SSLError):
        return f"{where}: the TLS handshake failed ({reason})."
    return f"{where}: {reason}. Start a server with `natsobj server` or natsobj.EmbeddedServer()."


async def close_connection(nc: Client, timeout: float) -> None:
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
        await nats_call(nc.close())


async def _quiet(*_args: object) -> None:
    return None


async def wait_jetstream(
    url: str,
    last: dict[str, str],
    *,
    subject: str = "$JS.API.INFO",
    payload: bytes = b"",
    then: str | None = None,
) -> None:
    """Poll ``subject`` (a JetStream API request, ``$JS.API.INFO`` by default) at ``url``
    until it answers without an error, then send the request ``then`` (if given) once,
    its answer ignored; the last failure is kept in ``last[url]``."""
    while True:
        try:
            nc = await nats.connect(
                url,
                connect_timeout=1,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                error_cb=_quiet,
                disconnected_cb=_quiet,
                closed_cb=_quiet,
            )
        except (OSError, nats.errors.Error, TimeoutError) as exc:
            last[url] = f"connect: {exc!r}"
            await anyio.sleep(0.1)
            continue
        try:
            while True:
                try:
                    msg = await nc.request(subject, payload, timeout=1)
                    reply: Any = json.loads(msg.data)
                except (nats.errors.Error, TimeoutError, ValueError) as exc:
                    last[url] = repr(exc)
                    if nc.is_closed:
                        break
                else:
                    if isinstance(reply, dict) and "error" not in reply:
                        if then is not None:
                            with contextlib.suppress(nats.errors.Error, TimeoutError):
                                await nc.request(then, b"", timeout=1)
                        return
                    last[url] = str(reply.get("error") if isinstance(reply, dict) else reply)
                await anyio.sleep(0.1)
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await nc.close()
