"""Work that must end once begun, whoever cancels the task that began it (``finish_first``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio

__all__ = ["finish_first"]

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
