"""Losing the server: every call fails in time and says so, leaving ``connect`` never
raises, and a watcher notices the loss and resumes exactly where it was.

Each test runs its own nats-server with a store directory kept across restarts on the same
port, and kills, freezes or restarts it.
"""

from __future__ import annotations

import os
import signal
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
from tests.integration.test_cli import read_json_line, started
from tests.integration.test_watch_list import _names
from tests.integration.test_watch_list import _take as take_events
from tests.reliability.conftest import MiB, retry

pytestmark = pytest.mark.anyio

TIMEOUT = 2.0
# Calls promise to fail within their deadline plus 0.5 s; as much again for a busy machine.
LATE = TIMEOUT + 1.0
BLOCK = 256 * 1024


@asynccontextmanager
async def _served(
    tmp_path: Path,
) -> AsyncIterator[tuple[natsobj.EmbeddedServer, natsobj.ObjectStoreManager, ObjectStore]]:
    """A server of its own (store kept across restarts), a manager and a bucket on it."""
    async with (
        natsobj.EmbeddedServer(store_dir=tmp_path / "js") as server,
        natsobj.connect(
            server.url, timeout=TIMEOUT, reconnect_time_wait=0.1, max_reconnect_attempts=-1
        ) as manager,
    ):
        yield server, manager, await manager.create_object_store(unique_bucket())


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
    async with _served(tmp_path) as (server, _manager, store):
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


async def test_a_call_that_failed_is_not_carried_out_when_the_server_returns(
    tmp_path: Path,
) -> None:
    async with _served(tmp_path) as (server, manager, store):
        await store.put("kept", b"kept")
        await server.kill()
        # Sent into nats-py's buffer, these used to run once the connection came back,
        # after the caller was told they failed.
        with pytest.raises(natsobj.ServerUnavailableError):
            await manager.delete_object_store(store.bucket)
        with pytest.raises(natsobj.ServerUnavailableError):
            await store.delete("kept")
        await server.start()
        reopened = await retry(lambda: manager.object_store(store.bucket))
        assert await reopened.get_bytes("kept") == b"kept"


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


# --------------------------------------------------------------------------- watch


async def _take(watcher: natsobj.ObjectWatcher, count: int) -> list[str | None]:
    return _names(await take_events(watcher, count))


async def _resumed(watcher: natsobj.ObjectWatcher, count: int) -> list[str | None]:
    """The next ``count`` events, iterating again after a ServerUnavailableError as the
    watcher says to (a busy machine can delay a heartbeat past the limit)."""
    out: list[str | None] = []
    with anyio.fail_after(30):
        while len(out) < count:
            try:
                out += await _take(watcher, count - len(out))
            except natsobj.ServerUnavailableError:
                await anyio.sleep(0.1)
    return out


async def test_watch_surfaces_a_killed_server_and_resumes_exactly(tmp_path: Path) -> None:
    async with _served(tmp_path) as (server, _manager, store):
        await store.put("a", b"1")
        async with store.watch() as watcher:
            assert await _take(watcher, 2) == ["a", None]
            for trial in range(2):
                # Stored, perhaps not delivered yet when the server dies: it comes before
                # the error or after the resume, once either way.
                await store.put(f"before-{trial}", b"x")
                await server.kill()
                killed = time.monotonic()
                events: list[str | None] = []
                while True:
                    try:
                        events += await _take(watcher, 1)
                    except natsobj.ServerUnavailableError:
                        break
                assert time.monotonic() - killed < LATE
                await server.start()
                await retry(lambda: store.get_info("a"))  # the connection is back
                # Changes made while the watcher was away come once it resumes, in order.
                await store.put(f"after-{trial}", b"y")
                await store.update_meta("a", natsobj.ObjectMeta(name="a", description=f"{trial}"))
                events += await _resumed(watcher, 3 - len(events))
                assert events == [f"before-{trial}", f"after-{trial}", "a"]
            # Nothing repeats: the next event is the next change.
            await store.delete("a")
            assert await _resumed(watcher, 1) == ["a"]


async def test_watch_notices_a_silent_server_by_its_heartbeats(tmp_path: Path) -> None:
    async with _served(tmp_path) as (server, _manager, store), store.watch() as watcher:
        assert await _take(watcher, 1) == [None]
        assert server.pid is not None
        # A frozen server keeps the connection open: only the missing heartbeats tell.
        os.kill(server.pid, signal.SIGSTOP)
        try:
            elapsed, error = await _elapsed(lambda: anext(watcher))
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert isinstance(error, natsobj.ServerUnavailableError), error
        assert "no heartbeat" in str(error)
        assert elapsed < LATE
        await store.put("after", b"1")
        assert await _resumed(watcher, 1) == ["after"]


async def test_watch_ignores_forged_deliveries_and_repairs_a_gap(store: ObjectStore) -> None:
    await store.put("a", b"1")
    async with store.watch() as watcher:
        assert await _take(watcher, 2) == ["a", None]
        consumer = watcher._sub
        assert consumer is not None
        assert consumer._sub is not None
        deliver, nc = consumer._sub.subject, store._core.js.nc
        # Anyone may publish to the watcher's inbox: a message that is no delivery of this
        # stream is dropped, and one claiming a later consumer sequence is a gap: a new
        # consumer starts after the last event, so nothing is lost or repeated.
        await nc.publish(deliver, b"{}", reply="not.an.ack")
        await nc.publish(deliver, b"{}", reply="$JS.ACK.OTHER.c.1.99.1.0.0")
        await nc.publish(deliver, b"{}", reply=f"$JS.ACK.{store.stream}.c.1.99.9.0.0")
        await nc.flush()
        await store.put("b", b"2")
        assert await _take(watcher, 1) == ["b"]
        await store.put("c", b"3")
        assert await _take(watcher, 1) == ["c"]


async def test_cli_watch_exits_with_the_error_when_the_server_dies(tmp_path: Path) -> None:
    async with (
        _served(tmp_path) as (server, _manager, store),
        started(server.url, "watch", store.bucket, "--json", "--timeout", "2s") as (process, lines),
    ):
        assert await read_json_line(lines) == {"event": "synced"}
        await server.kill()
        with anyio.fail_after(LATE + 5):
            code = await process.wait()
        assert process.stderr is not None
        err = b"".join([chunk async for chunk in process.stderr]).decode()
    assert code == 4, err
    assert "lost the NATS server" in err
    assert "Traceback" not in err


async def test_a_listing_index_resumes_after_a_restart(tmp_path: Path) -> None:
    async with _served(tmp_path) as (server, _manager, store):
        await store.put("a", b"1")
        async with store.index(max_staleness=0) as index:
            await server.kill()
            with pytest.raises(natsobj.ServerError):
                await index.list_page()  # the staleness check cannot be made
            await server.start()
            await retry(lambda: store.put("b", b"2"))  # the connection is back
            # What was written meanwhile arrives once the index's consumer resumes.
            page = await retry(index.list_page)
            assert [i.name for i in page.objects] == ["a", "b"]
            assert index.usable
