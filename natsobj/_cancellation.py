"""Work that must end once begun, whoever cancels the task that began it (``finish_first``),
and the thread hops built on it (``in_thread``, ``open_file``, ``closing``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import anyio

__all__ = ["closing", "finish_first", "in_thread", "open_file"]

T = TypeVar("T")


async def finish_first(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work()`` to its end even if the calling task is cancelled meanwhile, then
    raise the cancellation; ``work`` must bound its own time.

    ``anyio.CancelScope(shield=True)`` holds off an anyio scope's cancellation only: a
    native ``Task.cancel()`` (``asyncio.timeout``, ``wait_for``, a second cancel while a
    put cleans up) is thrown into shielded code all the same. So ``work`` runs as a task of
    its own, which neither kind of cancellation reaches, and the caller waits for it to
    end however often it is cancelled: no task is left behind. Cancelled meanwhile, the
    caller gets a CancelledError once ``work`` is over (an anyio scope's comes at the next
    checkpoint, as after a shield); ``work``'s result or error is then dropped, so
    ``work`` records what a caller cleaning up must know.
    """
    task = asyncio.ensure_future(work())
    interrupted = False
    with anyio.CancelScope(shield=True):
        while not task.done():
            try:
                await asyncio.wait({task})  # never cancels ``task``
            except asyncio.CancelledError:
                interrupted = True
    if interrupted:
        if not task.cancelled():
            task.exception()  # retrieved: it is superseded by the cancellation
        raise asyncio.CancelledError("cancelled while finishing work that must end")
    return task.result()


async def in_thread(func: Callable[..., T], *args: object) -> T:
    """``anyio.to_thread.run_sync(func, *args)``, returning only once the thread is done.

    anyio's own waits for the thread against its cancel scopes, but a native cancellation
    returns at once and leaves the thread running: a write landing after the file was
    closed and removed, a file opened after its caller gave up on it.
    """
    return await finish_first(lambda: anyio.to_thread.run_sync(func, *args))


async def open_file(
    path: str | os.PathLike[str], mode: Literal["rb", "xb"]
) -> anyio.AsyncFile[bytes]:
    """``anyio.open_file``, whoever cancels: a file opened while the caller was cancelled is
    closed again, not leaked. Close it with ``closing``."""
    opened: list[anyio.AsyncFile[bytes]] = []

    async def work() -> None:
        opened.append(await anyio.open_file(path, mode))

    try:
        await finish_first(work)
    except BaseException:
        for handle in opened:
            await finish_first(handle.aclose)
        raise
    return opened[0]


@asynccontextmanager
async def closing(handle: anyio.AsyncFile[bytes]) -> AsyncIterator[anyio.AsyncFile[bytes]]:
    """``async with handle``, whose close is not lost to a native cancellation (anyio's
    checks for cancellation before its thread hop, and the file would be left open)."""
    try:
        yield handle
    finally:
        await finish_first(handle.aclose)
