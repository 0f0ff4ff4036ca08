"""Losing the server: every call fails in time and says so, leaving ``connect`` never
raises, and a watcher notices the loss and resumes exactly where it was.

Each test runs its own nats-server with a store directory kept across restarts on the same
port, and kills, freezes or restarts it.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

import natsobj
from natsobj import ObjectStore
from tests.conftest import chunk_counts, unique_bucket
from tests.reliability.conftest import MiB, retry

pytestmark = pytest.mark.anyio

TIMEOUT = 2.0
# Calls promise to fail within their deadline plus 0.5 s; as much again for a busy machine.
LATE = TIMEOUT + 1.0
BLOCK = 256 * 1024


@asynccontextmanager
async def _served(tmp_path: Path) -> AsyncIterator[tuple[natsobj.EmbeddedServer, ObjectStore]]:
    """A server of its own (store kept across restarts) and a bucket on it."""
    async with (
        natsobj.EmbeddedServer(store_dir=tmp_path / "js") as server,
        natsobj.connect(
            server.url, timeout=TIMEOUT, reconnect_time_wait=0.1, max_reconnect_attempts=-1
        ) as manager,
    ):
        yield server, await manager.create_object_store(unique_bucket())


async def _elapsed(call: Callable[[], Awaitable[Any]]) -> tuple[float, BaseException | None]:
    """How long ``call()`` took, and what it raised."""
    start = time.monotonic()
    try:
        await call()
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


async def _killed_mid_put(server: natsobj.EmbeddedServer, store: ObjectStore) -> float:
    """Kill the server 8 MiB into a 32 MiB put; return how long after the kill the put
    failed (it must fail with ServerUnavailableError)."""
    data = os.urandom(32 * MiB)
    fault = anyio.Event()

    async def source() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), BLOCK):
            if offset == 8 * MiB:
                fault.set()
                await anyio.sleep(0.2)  # the kill lands while chunks await their acks
            yield data[offset : offset + BLOCK]

    killed_at: list[float] = []

    async def kill() -> None:
        await fault.wait()
        await server.kill()
        killed_at.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(kill)
        with pytest.raises(natsobj.ServerUnavailableError):
            await store.put("big", source(), chunk_size=BLOCK)
    return time.monotonic() - killed_at[0]


async def test_calls_fail_in_time_with_server_unavailable_and_resume_after(
    tmp_path: Path,
) -> None:
    async with _served(tmp_path) as (server, store):
        kept = await store.put("kept", b"kept")
        # Its chunks went out on the lost connection: it fails before its deadline.
        assert await _killed_mid_put(server, store) < TIMEOUT

        # The next calls fail with the same class, each within its own deadline (a put
        # waits for the server once, not for a look-up and again for its chunk).
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "get_info": lambda: store.get_info("kept"),
            "list": store.list,
            "get_bytes": lambda: store.get_bytes("kept"),
            "put": lambda: store.put("small", b"small"),
            "status": store.status,
        }
        for what, call in calls.items():
            elapsed, error = await _elapsed(call)
            assert isinstance(error, natsobj.ServerUnavailableError), (what, error)
            assert elapsed < LATE, (what, elapsed)
            assert "outbound buffer" not in str(error)

        await server.start()
        # The connection comes back by itself, and the failed put left nothing behind:
        # its purge waited for the new connection, behind the chunks it purges.
        assert await retry(lambda: store.get_bytes("kept")) == b"kept"
        assert await chunk_counts(store) == {f"$O.{store.bucket}.C.{kept.nuid}": 1}
        assert [i.name for i in await store.list()] == ["kept"]


async def test_leaving_connect_never_raises_with_the_server_gone(tmp_path: Path) -> None:
    async with natsobj.EmbeddedServer(store_dir=tmp_path / "js") as server:
        # A put cut off by the kill leaves its purge in nats-py's buffer: closing used to
        # flush that onto the dead socket and raise from __aexit__.
        start = 0.0
        async with natsobj.connect(server.url, timeout=TIMEOUT) as manager:
            store = await manager.create_object_store(unique_bucket())
            await _killed_mid_put(server, store)
            start = time.monotonic()
        assert time.monotonic() - start < LATE

        await server.start()
        # A connection that never comes back leaves the chunks to the orphan sweep.
        async with natsobj.connect(server.url, timeout=TIMEOUT) as manager:
            store = await manager.object_store(store.bucket)
            await store.sweep_orphans(grace=0)
            assert await chunk_counts(store) == {}
            assert await store.list() == []
