"""The NATS connection behind one fsspec filesystem.

fsspec runs an async filesystem's coroutines on its own event loop (the ``fsspecIO`` thread)
for sync callers, or on the caller's loop with ``asynchronous=True``. A nats-py connection
belongs to the loop it was made on, so the connection is made lazily, on the loop of the
first call, reused by every later call on that loop, and closed on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import natsobj

__all__ = ["DEFAULT_URL", "Connection", "connect_options", "servers_from"]

DEFAULT_URL = "nats://127.0.0.1:4222"
CLOSE_TIMEOUT = 5.0


def servers_from(servers: str | Sequence[str] | None, env: Mapping[str, str]) -> list[str]:
    """The server URLs: ``servers`` (a URL, comma-separated URLs, or a list), else
    ``NATS_URL`` from ``env``, else ``DEFAULT_URL``.

    Raises:
        InvalidArgumentError: ``servers`` is neither a str nor a list of str, or is empty.
    """
    if servers is None:
        servers = env.get("NATS_URL") or DEFAULT_URL
    if isinstance(servers, str):
        urls = [url.strip() for url in servers.split(",") if url.strip()]
    elif isinstance(servers, Sequence) and all(isinstance(url, str) for url in servers):
        urls = [url.strip() for url in servers if url.strip()]
    else:
        raise natsobj.InvalidArgumentError(
            f"servers must be a URL or a list of URLs, got {servers!r}"
        )
    if not urls:
        raise natsobj.InvalidArgumentError("servers names no NATS URL")
    return urls


class Connection:
    """A manager made on first use, on the running loop, and the buckets opened through it.

    A call from another loop than the one the manager was made on (a filesystem made with
    ``asynchronous=True`` and used under a new event loop) gets a new connection; the old
    one is closed on its own loop if that loop still runs, else dropped with it.
    """

    def __init__(self, servers: list[str], options: Mapping[str, Any]):
        self.servers = servers
        self.options = dict(options)
        self._manager: natsobj.ObjectStoreManager | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._stores: dict[str, natsobj.ObjectStore] = {}

    @property
    def current(self) -> natsobj.ObjectStoreManager | None:
        """The manager, if connected (for statistics; None before the first call)."""
        return self._manager

    async def manager(self) -> natsobj.ObjectStoreManager:
        """The manager on the running loop, connecting on first use.

        Raises:
            ServerUnavailableError: no server answered (as ``natsobj.connect``).
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._leave_loop()
            self._loop, self._lock = loop, asyncio.Lock()
        assert self._lock is not None
        async with self._lock:
            if self._manager is None:
                self._manager = await natsobj.connect(self.servers, **self.options)
            return self._manager

    async def store(self, bucket: str) -> natsobj.ObjectStore:
        """The bucket, opened once per connection.

        Raises:
            BucketNotFoundError, InvalidBucketNameError.
        """
        manager = await self.manager()
        store = self._stores.get(bucket)
        if store is None:
            store = self._stores[bucket] = await manager.object_store(bucket)
        return store

    def forget(self, bucket: str) -> None:
        """Open ``bucket`` afresh next time (it was deleted, or recreated)."""
        self._stores.pop(bucket, None)

    async def close(self) -> None:
        """Close the connection (on the loop it was made on); the next call reconnects."""
        manager, self._manager = self._manager, None
        self._stores.clear()
        if manager is not None:
            await manager.close()

    def close_blocking(self) -> None:
        """Close from a thread that is not the connection's loop (``fs.close()``, the
        finalizer at exit). From the loop's own thread the close is scheduled, not awaited."""
        loop = self._loop
        if self._manager is None or loop is None:
            return
        if sys.is_finalizing() or loop.is_closed() or not loop.is_running():
            self._manager = None  # its loop is gone: nothing can close it any more
            self._stores.clear()
            return
        future = asyncio.run_coroutine_threadsafe(self.close(), loop)
        if _on_loop(loop):
            return
        with contextlib.suppress(Exception):
            future.result(CLOSE_TIMEOUT)

    def _leave_loop(self) -> None:
        """Let go of a connection made on another loop, closing it there if it runs."""
        manager, loop = self._manager, self._loop
        self._manager = None
        self._stores.clear()
        if manager is not None and loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(manager.close(), loop)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def connect_options(options: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The keyword arguments for ``natsobj.connect``: ``options`` plus ``timeout``, and a
    ``flush_timeout`` (nats-py waits for a full write buffer without a deadline by default,
    so a server lost mid-write would hang the filesystem for good)."""
    out = dict(options)
    out["timeout"] = timeout
    out.setdefault("flush_timeout", timeout)
    return out
