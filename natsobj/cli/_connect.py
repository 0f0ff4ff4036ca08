"""Connection settings (the global options) and opening a manager from them."""

from __future__ import annotations

import importlib.util
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import natsobj

from ._context import load_context, selected_context
from ._errors import CliError, ExitCode, one_line

__all__ = [
    "DEFAULT_SERVER",
    "DEFAULT_TIMEOUT",
    "Settings",
    "open_bucket",
    "open_manager",
    "open_store",
]

DEFAULT_SERVER = "nats://127.0.0.1:4222"
DEFAULT_TIMEOUT = 5.0

_START_HINT = "Start one with `natsobj server`, or point --server (or NATS_URL) at a running one."


@dataclass
class Settings:
    """The global options, from the command line or the environment, and what a nats
    CLI context (``--context``, else the selected one) adds to them: ``resolved()``."""

    server: str = DEFAULT_SERVER
    user: str | None = None
    password: str | None = None
    token: str | None = None
    nkey: str | None = None
    creds: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    quiet: bool = False
    context: str | None = None
    js_domain: str | None = None
    js_api_prefix: str | None = None
    inbox_prefix: str | None = None
    tls_first: bool = False
    # The options given on the command line or in the environment: a context never
    # overrides them.
    given: set[str] = field(default_factory=set)

    def resolved(self) -> Settings:
        """These settings with the context's filled in where no option was given: the
        one ``--context`` (or NATS_CONTEXT) names, else the one ``nats context select``
        chose, if any. A domain or API prefix given as an option replaces both of the
        context's.

        Raises:
            CliError: the context is unknown or unusable.
        """
        name = self.context if self.context is not None else selected_context()
        if name is None:
            return self
        values = load_context(name)
        if self.given & {"js_domain", "js_api_prefix"}:
            values.pop("js_domain", None)
            values.pop("js_api_prefix", None)
        return replace(self, **{k: v for k, v in values.items() if k not in self.given})

    @property
    def servers(self) -> list[str]:
        return [url.strip() for url in self.server.split(",") if url.strip()]

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``natsobj.connect``: the JetStream domain or API prefix, and
        what it passes to ``nats.connect``.

        Raises:
            CliError: a credentials file cannot be used.
        """
        # nats-py waits for a full write buffer to drain without a deadline by default: a
        # server lost mid-put would hang the command for good instead of failing it.
        options: dict[str, Any] = {"flush_timeout": self.timeout}
        if self.user is not None:
            options["user"] = self.user
        if self.password is not None:
            options["password"] = self.password
        if self.token is not None:
            options["token"] = self.token
        if self.nkey is not None:
            options["nkeys_seed"] = _readable(self.nkey, "--nkey")
        if self.creds is not None:
            options["user_credentials"] = _readable(self.creds, "--creds")
        if self.inbox_prefix is not None:
            options["inbox_prefix"] = self.inbox_prefix
        if self.js_domain is not None:
            options["domain"] = self.js_domain
        if self.js_api_prefix is not None:
            options["api_prefix"] = self.js_api_prefix
        if (self.nkey or self.creds) and importlib.util.find_spec("nkeys") is None:
            raise CliError(
                "--nkey and --creds need the 'nkeys' package: pip install nkeys",
                ExitCode.BAD_INPUT,
            )
        tls = self.tls_context()
        if tls is not None:
            options["tls"] = tls
        if self.tls_first:
            options["tls_handshake_first"] = True
        return options

    def tls_context(self) -> ssl.SSLContext | None:
        if self.tls_cert is None and self.tls_key is None and self.tls_ca is None:
            return ssl.create_default_context() if self.tls_first else None
        if (self.tls_cert is None) != (self.tls_key is None):
            raise CliError("--tls-cert and --tls-key go together", ExitCode.BAD_INPUT)
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=_readable(self.tls_ca, "--tls-ca") if self.tls_ca else None,
            )
            if self.tls_cert is not None and self.tls_key is not None:
                context.load_cert_chain(
                    _readable(self.tls_cert, "--tls-cert"), _readable(self.tls_key, "--tls-key")
                )
        except (ssl.SSLError, OSError) as exc:
            raise CliError(f"cannot load the TLS files: {exc}", ExitCode.BAD_INPUT) from exc
        return context


def _readable(path: str, option: str) -> str:
    if not Path(path).expanduser().is_file():
        raise CliError(f"{option}: no such file: {path}", ExitCode.BAD_INPUT)
    return str(Path(path).expanduser())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = one_line(str(exc))
    return text or type(exc).__name__


def _auth_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "authorization" in text or "authentication" in text


@asynccontextmanager
async def open_manager(settings: Settings) -> AsyncIterator[natsobj.ObjectStoreManager]:
    """Connect with the global options. A failure to connect, or a connection lost while
    the command works, becomes one clear CliError (exit code 4)."""
    settings = settings.resolved()
    servers = settings.servers
    if not servers:
        raise CliError("--server is empty", ExitCode.BAD_INPUT)
    options = settings.connect_options()
    where = ", ".join(servers)
    entered = False
    lost: list[natsobj.ObjectStoreError] = []
    try:
        async with natsobj.connect(servers, timeout=settings.timeout, **options) as manager:
            entered = True
            try:
                yield manager
            except natsobj.ObjectStoreError as exc:
                dropped = isinstance(exc, natsobj.ServerUnavailableError) and not isinstance(
                    exc, natsobj.NoRespondersError
                )
                if dropped or not manager.nc.is_connected:
                    lost.append(exc)
                raise
    except natsobj.ObjectStoreError as exc:
        if lost or (entered and isinstance(exc, natsobj.ServerUnavailableError)):
            # The first failure, not the close that may have failed after it.
            cause = lost[0] if lost else exc
            raise CliError(
                f"lost the connection to the NATS server at {where} before the command "
                f"finished ({one_line(str(cause))})",
                ExitCode.UNREACHABLE,
            ) from cause
        if entered:
            raise
        _first_connect_failed(exc, where, settings.timeout)


def _first_connect_failed(exc: natsobj.ObjectStoreError, where: str, timeout: float) -> NoReturn:
    if isinstance(exc, natsobj.NoRespondersError):
        raise CliError(
            f"the NATS server at {where} has no JetStream (run nats-server with -js). "
            + _START_HINT,
            ExitCode.UNREACHABLE,
        ) from exc
    if not isinstance(exc, natsobj.ServerUnavailableError):
        raise exc
    last = exc.__cause__
    if last is not None and _auth_failure(last):
        raise CliError(
            f"the NATS server at {where} refused the credentials: {_describe(last)}",
            ExitCode.PERMISSION,
        ) from exc
    reason = _describe(last) if last is not None else "no answer"
    if isinstance(last, TimeoutError) or (last is not None and not str(last)):
        reason = f"no answer within {timeout:g} s"
    raise CliError(
        f"cannot connect to NATS at {where} ({reason}). {_START_HINT}",
        ExitCode.UNREACHABLE,
    ) from exc


@asynccontextmanager
async def open_store(settings: Settings, bucket: str) -> AsyncIterator[natsobj.ObjectStore]:
    """Connect and open an existing bucket."""
    async with open_manager(settings) as manager:
        yield await open_bucket(manager, bucket)


async def open_bucket(manager: natsobj.ObjectStoreManager, bucket: str) -> natsobj.ObjectStore:
    """Open an existing bucket; a missing one says how to create it (exit code 3)."""
    try:
        return await manager.object_store(bucket)
    except natsobj.BucketNotFoundError as exc:
        raise CliError(
            f"bucket {bucket!r} not found (create it with `natsobj bucket add {bucket}`)",
            ExitCode.NOT_FOUND,
        ) from exc
