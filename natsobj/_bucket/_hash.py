"""StreamingHash: the SHA-256 of a stream of chunks, for puts and whole-object reads."""

from __future__ import annotations

import hashlib
import queue
import threading

import anyio

from .._jetstream import Payload

__all__ = ["StreamingHash"]


class StreamingHash:
    """SHA-256 of a stream of chunks; past the first few MiB it runs in a worker thread.

    hashlib releases the GIL on large buffers, so on a multi-core machine the hash of a big
    object costs the event loop almost nothing. Small objects never start the thread. The
    thread's backlog is bounded: when the loop hands over chunks faster than the thread
    hashes them (a busy machine), ``update`` waits for it, so the backlog never holds more
    than ``max_backlog`` bytes plus one chunk.
    """

    INLINE_BYTES = 4 * 1024 * 1024
    MAX_BACKLOG = 16 * 1024 * 1024

    def __init__(self, max_backlog: int = MAX_BACKLOG) -> None:
        self.max_backlog = max_backlog
        self._hash = hashlib.sha256()
        self._inline = 0
        self._queue: queue.SimpleQueue[Payload | None] | None = None
        self._thread: threading.Thread | None = None
        self._backlog = 0  # bytes given to the thread and not hashed yet
        self._hashed = threading.Condition()

    async def update(self, data: Payload) -> None:
        if self._queue is None:
            if self._inline + len(data) <= self.INLINE_BYTES:
                self._inline += len(data)
                self._hash.update(data)
                return
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="natsobj-sha256", daemon=True)
            self._thread.start()
        with self._hashed:
            self._backlog += len(data)
        self._queue.put(data)
        if self._backlog > self.max_backlog:
            # Not cancellable, and need not be: the thread always makes progress.
            await anyio.to_thread.run_sync(self._wait_for_thread)

    def _wait_for_thread(self) -> None:
        with self._hashed:
            self._hashed.wait_for(lambda: self._backlog <= self.max_backlog // 2)

    def _run(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            self._hash.update(data)
            with self._hashed:
                self._backlog -= len(data)
                self._hashed.notify()

    async def digest(self) -> bytes:
        """The digest of everything given to ``update``."""
        await self.close()
        return self._hash.digest()

    async def close(self) -> None:
        """Stop the worker thread (it finishes what it was given)."""
        thread, self._thread = self._thread, None
        if thread is not None and self._queue is not None:
            self._queue.put(None)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)
