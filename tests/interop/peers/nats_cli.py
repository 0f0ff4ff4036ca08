"""The ``nats`` CLI (natscli 0.5.0, built by ``make`` into ``.gocache/bin``) as a subprocess.

natscli's ``object`` commands print text for people, not JSON (0.5.0 has no ``--json`` on
them and no ``object status``: ``object info BUCKET`` is the bucket's status), so the few
fields the tests need are read from that text: the ``Key: value`` rows of ``info``, one name
per line from ``ls --names``, one event per line from ``watch``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from .process_peer import ROOT

NATS_CLI = ROOT / ".gocache" / "bin" / "nats"
CLI_INSTALL_HINT = "run `make test` (or `make go-peers`) to build the nats CLI"
#: Every command ends within this (a 5 MiB put or get takes well under a second).
CLI_TIMEOUT = 30.0
_ROW = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?):\s(.*)$")
#: One line of ``nats object watch``: ``[time] PUT bucket > name: 1.0 KiB bytes in 1 chunks``.
WATCH_LINE = re.compile(r"^\[[^]]+\] (PUT|DEL) (\S+) > (.*?)(?:: .* bytes in (\d+) chunks)?$")


def nats_cli_missing() -> str | None:
    """Why the nats CLI cannot run here, or None when it can."""
    return None if NATS_CLI.is_file() else f"no {NATS_CLI}"


class CliError(Exception):
    """The CLI exited with a status other than 0; the message has its output."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"nats {' '.join(args)} exited with {returncode}: {output[-2000:]}")
        self.returncode = returncode
        self.output = output


def rows(text: str) -> dict[str, str]:
    """The ``Key: value`` rows of an ``info`` output (the first of each key)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            found.setdefault(match[1].strip(), match[2].strip())
    return found


class NatsCli:
    """``nats --server URL ...`` in a working directory of its own, with no user context."""

    def __init__(self, server_url: str, workdir: Path) -> None:
        self.server_url = server_url
        self.workdir = workdir
        self._env = {**os.environ, "HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir)}
        self._env.pop("NATS_CONTEXT", None)

    @classmethod
    @asynccontextmanager
    async def start(cls, server_url: str) -> AsyncIterator[NatsCli]:
        with tempfile.TemporaryDirectory(prefix="natsobj-natscli-") as workdir:
            yield cls(server_url, Path(workdir))

    def _argv(self, args: Sequence[str]) -> list[str]:
        return [str(NATS_CLI), "--server", self.server_url, *args]

    async def run(self, *args: str, stdin: bytes | None = None) -> str:
        """Run one command; its stdout and stderr together, or CliError."""
        with anyio.fail_after(CLI_TIMEOUT):
            done = await anyio.run_process(
                self._argv(args), input=stdin, cwd=self.workdir, env=self._env, check=False
            )
        output = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0:
            raise CliError(args, done.returncode, output)
        return output

    @asynccontextmanager
    async def watch(self, bucket: str) -> AsyncIterator[CliWatch]:
        """``nats object watch BUCKET`` until the context exits (then it is killed)."""
        process = await anyio.open_process(
            self._argv(["object", "watch", bucket]), cwd=self.workdir, env=self._env
        )
        try:
            yield CliWatch(process)
        finally:
            process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()


class CliWatch:
    """The events ``nats object watch`` prints: (kind, name, chunks or None)."""

    def __init__(self, process: Process) -> None:
        assert process.stdout is not None  # open_process pipes it
        self._lines = BufferedByteReceiveStream(process.stdout)

    async def take(self, count: int) -> list[tuple[str, str, int | None]]:
        events: list[tuple[str, str, int | None]] = []
        with anyio.fail_after(CLI_TIMEOUT):
            while len(events) < count:
                line = (await self._lines.receive_until(b"\n", 64 * 1024)).decode()
                match = WATCH_LINE.match(line.strip())
                assert match, f"not a watch line: {line!r}"
                chunks = int(match[4]) if match[4] is not None else None
                events.append((match[1], match[3], chunks))
        return events


__all__ = ["CLI_INSTALL_HINT", "NATS_CLI", "CliError", "NatsCli", "nats_cli_missing", "rows"]
