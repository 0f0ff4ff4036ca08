"""Running a command's async body: signals become a clean cancellation, failures one line.

Every command parses its arguments synchronously (including anything that touches the
local file system up front), then runs one async function with ``run``, which puts it on
anyio's asyncio backend and turns Ctrl-C and SIGTERM into a clean cancellation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

import anyio
import click

import natsobj

from ._errors import CliError, ExitCode, classify, one_line
from ._output import printable

__all__ = ["Interrupted", "Reported", "error", "report", "run", "warn"]

# Failures that every other operation of the command would repeat: reported once.
_STOPPING = (ExitCode.UNREACHABLE, ExitCode.CONFLICT)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the command; it exits with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


class Reported(CliError):
    """The errors were printed already; only the exit code is left."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__("", code)


async def _supervise(func: Callable[[], Awaitable[None]], received: list[int]) -> None:
    failure: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(*_STOP_SIGNALS) as signals:
                async for signum in signals:
                    received.append(signum)
                    tg.cancel_scope.cancel()
                    return

        if os.name == "posix":
            tg.start_soon(stop_on_signal)
        try:
            await func()
        except Exception as exc:
            failure.append(exc)
        tg.cancel_scope.cancel()
    if failure:
        raise failure[0]


def run(func: Callable[[], Awaitable[None]], *, stop_is_success: bool = False) -> None:
    """Run ``func`` on the asyncio backend. Ctrl-C or SIGTERM cancel it (cleanups run);
    then the command ends with 128 + the signal number, or 0 if ``stop_is_success``."""
    received: list[int] = []
    try:
        anyio.run(_supervise, func, received, backend="asyncio")
    except KeyboardInterrupt:
        received.append(signal.SIGINT)
    except BrokenPipeError as exc:
        # The reader of stdout went away (`natsobj cat ... | head`): end quietly, as
        # other tools do, and keep Python from complaining when it flushes at exit.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise Reported(ExitCode.BROKEN_PIPE) from exc
    except Exception:
        if not received:
            raise
    if received and not stop_is_success:
        raise Interrupted(received[0])


def error(message: str) -> None:
    """One error line on stderr, after whatever stdout holds so far."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    click.echo(f"natsobj: error: {message}", err=True)


def warn(message: str) -> None:
    """One warning line on stderr; the command goes on."""
    click.echo(f"natsobj: warning: {message}", err=True)


def report(
    verb: str, outcomes: Sequence[tuple[str, natsobj.ObjectStoreError | None]], *, quiet: bool
) -> None:
    """Report one operation on each of several things, in order: ``VERB WHAT`` on stdout for
    a success, one error line for a failure; then end with the first failure's exit code.

    A failure that the others would repeat (the server gone, a sealed bucket) is raised
    once instead of one line per thing.
    """
    stop = next((exc for _, exc in outcomes if exc and classify(exc) in _STOPPING), None)
    failed: list[ExitCode] = []
    for what, exc in outcomes:
        if exc is None:
            if not quiet:
                click.echo(f"{verb} {printable(what)}")
        elif stop is None:
            error(one_line(str(exc)))
            failed.append(classify(exc))
    if stop is not None:
        raise stop
    if failed:
        raise Reported(failed[0])
