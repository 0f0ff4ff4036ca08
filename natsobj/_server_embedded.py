"""``EmbeddedServer``: one real ``nats-server`` process, started and stopped from Python.

Public as ``natsobj.server.EmbeddedServer``; the process, its log and the binary lookup
are in ``_server_process``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio

from ._errors import InvalidArgumentError
from ._server_process import (
    EmbeddedServerError,
    Lines,
    Run,
    ServerStartupError,
    absolute,
    connect_host,
    find_nats_server,
    kill_at_exit,
    log,
    remove_dir,
    split_addr,
)

__all__ = ["EmbeddedServer"]

_POLL = 0.01  # seconds between checks while waiting for the process

_Popen = subprocess.Popen[bytes]


def _current_dir() -> str | None:
    """Where nats-server runs; None (inherit) if the current directory was removed."""
    try:
        return os.getcwd()
    except FileNotFoundError:
        return None


class EmbeddedServer:
    """A real ``nats-server`` process, JetStream enabled, on a free loopback port.

    ``async with EmbeddedServer() as server`` starts the server and returns once it accepts
    TCP connections; on exit the process is stopped (also on error or cancellation) and a
    temporary store directory is removed. The client port is chosen on the first start and
    kept: ``restart()``, and ``start()`` after ``stop()`` or ``kill()``, reuse the same port,
    store directory and configuration, so clients can reconnect and JetStream data survives.

    ``start()``/``stop()`` also work without ``async with``; then call ``aclose()`` at the end
    to remove the temporary directory. A process still running when the object is garbage
    collected or the interpreter exits is killed.

    Relative paths are taken from the directory the object is created in: nats-server runs
    there, so ``store_dir``, ``binary`` and paths in ``extra_args`` or ``config`` (``--log
    server.log``) never land in the temporary ``work_dir``.

    Args:
        host: Address to listen on for clients.
        port: Client port; 0 picks a free one (the server's ``-p -1``).
        store_dir: JetStream store directory, created if missing and kept (made absolute
            at once). ``None`` uses a temporary directory that ``aclose()`` (the end of
            ``async with``) removes.
        jetstream: Enable JetStream (``-js``).
        binary: The ``nats-server`` to run; see ``find_nats_server`` for the default.
        extra_args: More command-line arguments, appended last.
        config: Text of a configuration file (accounts, TLS, cluster, ...). It is written to
            ``work_dir`` and passed with ``-c`` (so its ``include`` paths must be absolute).
            ``host``, ``port``, ``store_dir`` and ``name`` are passed as flags and win over
            the file.
        name: The server name (``--server_name``); required for JetStream clustering.
        startup_timeout: Seconds to wait for the server to become ready.
        stop_timeout: Seconds ``stop()`` waits after SIGTERM before it sends SIGKILL.

    Raises:
        ServerBinaryNotFoundError: From the constructor, if there is no binary.
        InvalidArgumentError: From the constructor, a port out of range or ``extra_args``
            given as one string.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store_dir: str | os.PathLike[str] | None = None,
        jetstream: bool = True,
        binary: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        config: str | None = None,
        name: str | None = None,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if port < 0 or port > 65535:
            raise InvalidArgumentError(f"port must be 0 (pick a free port) or 1-65535, not {port}")
        if isinstance(extra_args, str):
            raise InvalidArgumentError("extra_args must be a sequence of arguments, not a string")
        self._binary = find_nats_server(binary)
        self._host = host
        self._port: int | None = port or None
        self._given_store = absolute(store_dir) if store_dir is not None else None
        self._cwd = _current_dir()
        self._jetstream = jetstream
        self._extra_args = list(extra_args)
        self._config = config
        self._name = name
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._work_dir: Path | None = None
        self._dir_finalizer: weakref.finalize[[str, int], EmbeddedServer] | None = None
        self._run: Run | None = None
        self._proc_finalizer: weakref.finalize[[_Popen, int], EmbeddedServer] | None = None
        self._history = Lines()
        self._lock = anyio.Lock()

    # ------------------------------------------------------------------ properties

    @property
    def binary(self) -> Path:
        """The ``nats-server`` binary this server runs."""
        return self._binary

    @property
    def host(self) -> str:
        """The address the server listens on for clients."""
        return self._host

    @property
    def port(self) -> int:
        """The client port. Known after the first start, and kept across restarts.

        Raises:
            EmbeddedServerError: ``port=0`` was given and the server has not been started
                yet.
        """
        if self._port is None:
            raise EmbeddedServerError("the server has not been started yet: its port is not known")
        return self._port

    @property
    def url(self) -> str:
        """``nats://HOST:PORT``; a wildcard listen address is replaced by loopback."""
        host = connect_host(self._host)
        if ":" in host:
            host = f"[{host}]"
        return f"nats://{host}:{self.port}"

    @property
    def name(self) -> str | None:
        """The server name given to the constructor, if any."""
        return self._name

    @property
    def work_dir(self) -> Path | None:
        """Temporary directory for the config file and default store; ``None`` before start."""
        return self._work_dir

    @property
    def store_dir(self) -> Path | None:
        """The JetStream store directory (the server adds ``jetstream/`` inside it).

        ``None`` with ``jetstream=False``, or before the first start when no directory was
        given.
        """
        if not self._jetstream:
            return None
        if self._given_store is not None:
            return self._given_store
        if self._work_dir is not None:
            return self._work_dir / "store"
        return None

    @property
    def config_file(self) -> Path | None:
        """Where the ``config`` text was written, or ``None``."""
        if self._config is None or self._work_dir is None:
            return None
        return self._work_dir / "nats-server.conf"

    @property
    def pid(self) -> int | None:
        """Process id of the current (or last) process; ``None`` if never started."""
        return self._run.proc.pid if self._run is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive (it may have exited on its own)."""
        return self._run is not None and self._run.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit code of the last process, ``None`` while it runs or if never started."""
        return self._run.proc.poll() if self._run is not None else None

    @property
    def version(self) -> str | None:
        """The server version it logged at start-up (e.g. ``"2.15.1"``), once known."""
        return self._run.version if self._run is not None else None

    @property
    def log_lines(self) -> list[str]:
        """The most recent log lines (up to 500) of every process this object started."""
        return self._history.snapshot()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        port = self._port if self._port is not None else "?"
        return f"<EmbeddedServer {self._name or ''} {self._host}:{port} pid={self.pid} {state}>"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        """Start the server (unless ``start()`` already did) and return it."""
        try:
            if not self.running:
                await self.start()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start the server and wait until it is ready.

        On return the process runs, logged "Server is ready" (or wrote its ports file), and
        accepts a TCP connection on ``port``. If it fails, times out or the caller is
        cancelled, the process is killed and reaped before this returns or raises.

        Raises:
            EmbeddedServerError: It is already running.
            ServerStartupError: It exited or did not become ready within
                ``startup_timeout``; the message includes the reason and the last log lines.
        """
        async with self._lock:
            await self._start_locked()

    async def stop(self) -> None:
        """Stop the server gracefully: SIGTERM, then SIGKILL after ``stop_timeout`` seconds.

        On return the process has exited and been reaped. Does nothing if it is not running.
        Shielded from cancellation (it is bounded in time). The port and store are kept for
        a later ``start()``.
        """
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self._halt(graceful=True)

    async def kill(self) -> None:
        """Kill the server with SIGKILL, simulating a crash; returns once it is reaped.

        Shielded from cancellation. Does nothing if it is not running.
        """
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self._halt(graceful=False)

    async def restart(self) -> None:
        """Stop the server gracefully and start it again on the same port and store dir.

        Raises:
            ServerStartupError: The new process did not start (the old one is stopped).
        """
        async with self._lock:
            await self._halt(graceful=True)
            await self._start_locked()

    async def wait(self) -> int:
        """Wait until the process exits on its own (or is stopped); return its exit code.

        Raises:
            EmbeddedServerError: It was never started.
        """
        run = self._run
        if run is None:
            raise EmbeddedServerError("the server was never started")
        code = await anyio.to_thread.run_sync(run.proc.wait, abandon_on_cancel=True)
        await run.join_reader()
        return code

    async def aclose(self) -> None:
        """Stop the server and remove the temporary directory, if one was created.

        Shielded from cancellation. A later ``start()`` begins afresh in a new temporary
        directory (a given ``store_dir`` is kept, and so is the port).
        """
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self._halt(graceful=True)
                if self._dir_finalizer is not None:
                    self._dir_finalizer()  # removes the directory, once
                    self._dir_finalizer = None
                self._work_dir = None

    # ------------------------------------------------------------------ internals

    def _ensure_dirs(self) -> None:
        if self._work_dir is None:
            path = tempfile.mkdtemp(prefix="natsobj-server-")
            self._work_dir = Path(path)
            self._dir_finalizer = weakref.finalize(self, remove_dir, path, os.getpid())
        store = self.store_dir
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
        config_file = self.config_file
        if config_file is not None and self._config is not None:
            config_file.write_text(self._config, encoding="utf-8")

    def _command(self) -> list[str]:
        assert self._work_dir is not None
        port = self._port if self._port is not None else -1
        cmd = [str(self._binary)]
        if self.config_file is not None:
            cmd += ["-c", str(self.config_file)]
        cmd += ["-a", self._host, "-p", str(port), "--ports_file_dir", str(self._work_dir)]
        if self._name is not None:
            cmd += ["--server_name", self._name]
        store = self.store_dir
        if self._jetstream and store is not None:
            cmd += ["-js", "-sd", str(store)]
        cmd += self._extra_args
        return cmd

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self._cwd,
        )

    def _ports_file_port(self, pid: int) -> int | None:
        """The client port from the server's ``--ports_file_dir`` file, if it is there yet."""
        if self._work_dir is None:
            return None
        for path in self._work_dir.glob(f"*_{pid}.ports"):
            try:
                data: Any = json.loads(path.read_text(encoding="utf-8"))
                url = str(data["nats"][0])
            except (OSError, ValueError, KeyError, IndexError, TypeError):
                return None
            addr = split_addr(url.rpartition("/")[2])
            return addr[1] if addr is not None else None
        return None

    async def _start_locked(self) -> None:
        if self.running:
            raise EmbeddedServerError(f"{self!r} is already running")
        if self._run is not None:
            await self._run.join_reader()
        self._ensure_dirs()
        cmd = self._command()
        label = self._name or "nats-server"
        self._history.append(f"natsobj: starting {shlex.join(cmd)}")
        try:
            # Spawned synchronously (a fork/exec, milliseconds) so that no cancellation can
            # arrive between the process existing and `self._run` knowing about it.
            proc = self._spawn(cmd)
        except OSError as exc:
            raise ServerStartupError(f"cannot run {self._binary}: {exc}", command=cmd) from exc
        run = Run(proc, cmd, self._history, f"{label}[{proc.pid}]")
        self._run = run
        self._proc_finalizer = weakref.finalize(self, kill_at_exit, proc, os.getpid())
        try:
            port: int | None = None
            with anyio.move_on_after(self._startup_timeout) as scope:
                port = await self._wait_ready(run)
            if scope.cancelled_caught or port is None:
                raise self._startup_error(
                    run,
                    f"not ready within {self._startup_timeout:g} s (startup_timeout)",
                    detail=False,
                )
        except BaseException:
            await run.halt(graceful=False, timeout=0)
            self._detach_finalizer()
            raise
        self._port = port
        log.debug("%s ready on port %d", run.label, port)

    async def _wait_ready(self, run: Run) -> int:
        port: int | None = None
        while port is None:
            if run.ready and run.client_addr is not None:
                port = run.client_addr[1]
            else:
                port = self._ports_file_port(run.proc.pid)
            if port is None:
                await self._check_alive(run)
                await anyio.sleep(_POLL)
        host = connect_host(self._host)
        while True:
            try:
                stream = await anyio.connect_tcp(host, port)
            except OSError:
                await self._check_alive(run)
                await anyio.sleep(_POLL * 5)
            else:
                await stream.aclose()
                return port

    async def _check_alive(self, run: Run) -> None:
        code = run.proc.poll()
        if code is not None:
            await run.join_reader()
            raise self._startup_error(run, f"exited with code {code}")

    def _startup_error(self, run: Run, what: str, *, detail: bool = True) -> ServerStartupError:
        why = run.failure_reason() if detail else None
        reason = f"{what}: {why}" if why else what
        return ServerStartupError(
            reason,
            pid=run.proc.pid,
            returncode=run.proc.poll(),
            command=run.command,
            log_lines=run.lines.snapshot(),
        )

    async def _halt(self, *, graceful: bool) -> None:
        run = self._run
        if run is not None:
            await run.halt(graceful=graceful, timeout=self._stop_timeout)
        self._detach_finalizer()

    def _detach_finalizer(self) -> None:
        if self._proc_finalizer is not None:
            self._proc_finalizer.detach()
            self._proc_finalizer = None
