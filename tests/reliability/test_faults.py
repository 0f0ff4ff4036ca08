"""Faults in the middle of transfers: each ends whole or with a typed error, a retry works,
no partial object is ever visible, and no chunk is left behind once cleaned up.

Server restarts mid-transfer on one node are in tests/integration/test_resume.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

import natsobj
from natsobj import EmbeddedCluster, ObjectStore
from tests.conftest import chunk_counts, unique_bucket
from tests.reliability.conftest import (
    MiB,
    create_replicated,
    node_index,
    retry,
    stream_leader,
    wait_healthy,
)

pytestmark = pytest.mark.anyio

BLOCK = 256 * 1024


async def _source(data: bytes, at: int, fault: anyio.Event) -> AsyncIterator[bytes]:
    """``data`` in blocks; ``fault`` is set once ``at`` bytes have been handed over."""
    for offset in range(0, len(data), BLOCK):
        if offset >= at and not fault.is_set():
            fault.set()
            await anyio.lowlevel.checkpoint()
        yield data[offset : offset + BLOCK]


async def _assert_clean(store: ObjectStore) -> bool:
    """Only live objects' chunks remain once the sweep ran; True if it had to purge any
    (left by a writer whose own cleanup could not reach the stream)."""
    report = await retry(lambda: store.sweep_orphans(grace=0))
    live = {f"$O.{store.bucket}.C.{i.nuid}" for i in await store.list() if i.size}
    assert set(await chunk_counts(store)) == live
    return bool(report.orphans)


async def _put_outcome(store: ObjectStore, name: str, data: bytes, old: bytes) -> None:
    """After a put that may have failed: the object is the old one or the new one, whole."""
    current = await retry(lambda: store.get_bytes(name))
    assert current in (old, data)


# --------------------------------------------------------------------------- cluster


@pytest.mark.parametrize("victim", ["leader", "client node"])
async def test_node_killed_mid_put(cluster: EmbeddedCluster, victim: str) -> None:
    async with natsobj.connect(cluster.urls, timeout=2, reconnect_time_wait=0.2) as manager:
        store = await create_replicated(manager)
        old = os.urandom(100_000)
        await store.put("obj", old)
        data = os.urandom(24 * MiB)
        fault = anyio.Event()
        leader = node_index(cluster, await stream_leader(store))
        connected = manager.nc.connected_url
        assert connected is not None
        client_node = next(i for i, s in enumerate(cluster.servers) if s.port == connected.port)
        index = leader if victim == "leader" else client_node
        outcome: list[BaseException | None] = []

        async def put() -> None:
            try:
                await store.put("obj", _source(data, 6 * MiB, fault), chunk_size=BLOCK)
                outcome.append(None)
            except natsobj.ServerError as exc:  # typed, and about the server: retryable
                outcome.append(exc)

        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                tg.start_soon(put)
                await fault.wait()
                await cluster.kill(index)
            await _put_outcome(store, "obj", data, old)
            await cluster.start(index)
            await wait_healthy(store)
            if outcome[0] is not None:
                await retry(lambda: store.put("obj", data, chunk_size=BLOCK))
            assert await retry(lambda: store.get_bytes("obj")) == data
            await _assert_clean(store)


@pytest.mark.parametrize("victim", ["leader", "client node"])
async def test_node_killed_mid_get(cluster: EmbeddedCluster, victim: str) -> None:
    async with natsobj.connect(cluster.urls, timeout=2, reconnect_time_wait=0.2) as manager:
        store = await create_replicated(manager)
        data = os.urandom(24 * MiB)
        await store.put("obj", data, chunk_size=BLOCK)
        leader = node_index(cluster, await stream_leader(store))
        connected = manager.nc.connected_url
        assert connected is not None
        client_node = next(i for i, s in enumerate(cluster.servers) if s.port == connected.port)
        index = leader if victim == "leader" else client_node
        digest = hashlib.sha256()
        received = 0
        with anyio.fail_after(90):
            try:
                async with store.get("obj") as result:
                    async for chunk in result:
                        digest.update(chunk)
                        received += len(chunk)
                        if received >= 6 * MiB and cluster.servers[index].running:
                            await cluster.kill(index)
                assert digest.digest() == hashlib.sha256(data).digest()
            except natsobj.ServerError:
                pass  # a typed error is an allowed ending; the retry below must succeed
            assert not cluster.servers[index].running
            assert await retry(lambda: store.get_bytes("obj")) == data
            await cluster.start(index)
            await wait_healthy(store)
            assert await store.get_bytes("obj") == data


# --------------------------------------------------------------------------- connection


class Proxy:
    """A TCP relay between the client and the server whose connections can be cut: the
    client sees its connection drop and reconnects through the relay."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cuts = 0
        self._scopes: list[anyio.CancelScope] = []

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        async with listener:
            self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
            task_status.started()
            await listener.serve(self._relay)

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        with anyio.CancelScope() as scope:
            self._scopes.append(scope)
            async with client, await anyio.connect_tcp("127.0.0.1", self.target_port) as server:

                async def pipe(src: anyio.abc.SocketStream, dst: anyio.abc.SocketStream) -> None:
                    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                        async for data in src:
                            await dst.send(data)
                    scope.cancel()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(pipe, client, server)
                    tg.start_soon(pipe, server, client)

    def cut(self) -> None:
        """Drop every connection through the relay (new ones are still accepted)."""
        self.cuts += 1
        scopes, self._scopes = self._scopes, []
        for scope in scopes:
            scope.cancel()


@contextlib.asynccontextmanager
async def _through_proxy(
    server: natsobj.EmbeddedServer,
) -> AsyncIterator[tuple[Proxy, ObjectStore]]:
    proxy = Proxy(server.port)
    async with anyio.create_task_group() as tg:
        await tg.start(proxy.serve)
        async with natsobj.connect(
            f"nats://127.0.0.1:{proxy.port}", timeout=2, reconnect_time_wait=0.1
        ) as manager:
            store = await manager.create_object_store(unique_bucket())
            yield proxy, store
            await manager.delete_object_store(store.bucket)
        tg.cancel_scope.cancel()


async def test_connection_dropped_mid_get_and_mid_put(server: natsobj.EmbeddedServer) -> None:
    async with _through_proxy(server) as (proxy, store):
        data = os.urandom(24 * MiB)
        await store.put("obj", data, chunk_size=BLOCK)
        digest = hashlib.sha256()
        with anyio.fail_after(60):
            try:
                async with store.get("obj") as result:
                    async for chunk in result:
                        digest.update(chunk)
                        if proxy.cuts == 0:
                            proxy.cut()
                assert digest.digest() == hashlib.sha256(data).digest()
            except natsobj.ServerError:
                pass
            assert await retry(lambda: store.get_bytes("obj")) == data

            new = os.urandom(24 * MiB)
            fault = anyio.Event()
            failed: list[natsobj.ServerError] = []

            async def put() -> None:
                try:
                    await store.put("obj", _source(new, 6 * MiB, fault), chunk_size=BLOCK)
                except natsobj.ServerError as exc:
                    failed.append(exc)

            async with anyio.create_task_group() as tg:
                tg.start_soon(put)
                await fault.wait()
                proxy.cut()
            await _put_outcome(store, "obj", new, data)
            if failed:
                await retry(lambda: store.put("obj", new, chunk_size=BLOCK))
            assert await store.get_bytes("obj") == new
            await _assert_clean(store)
        assert proxy.cuts == 2


# --------------------------------------------------------------------------- quota


@pytest.mark.parametrize("atomic", [False, True])
async def test_max_bytes_hit_mid_put(manager: natsobj.ObjectStoreManager, atomic: bool) -> None:
    store = await manager.create_object_store(
        unique_bucket(), max_bytes=2 * MiB, atomic_puts=atomic
    )
    old = os.urandom(100_000)
    await store.put("obj", old)
    before = await chunk_counts(store)
    with anyio.fail_after(30), pytest.raises(natsobj.BucketFullError) as caught:
        await store.put("obj", os.urandom(4 * MiB), chunk_size=BLOCK)
    assert caught.value.bucket == store.bucket
    assert await store.get_bytes("obj") == old
    assert await chunk_counts(store) == before  # the failed put's chunks are gone
    assert (await store.status()).size < 200_000
    fits = os.urandom(MiB)
    await store.put("obj", fits)  # room is back for what fits
    assert await store.get_bytes("obj") == fits
    await manager.delete_object_store(store.bucket)


# --------------------------------------------------------------------------- slow consumer


# 8 MiB is one Direct Get run; 24 MiB takes runs asked for ahead, by sequence.
@pytest.mark.parametrize("size", [8 * MiB, 24 * MiB])
async def test_slow_consumer_is_cut_off_and_the_get_still_completes(
    tmp_path: Path, size: int
) -> None:
    # A reader that blocks its event loop stops reading the socket; with a small
    # max_pending the server drops the connection as a slow consumer, and the messages it
    # had queued for it are lost.
    config = "max_payload: 256KB\nmax_pending: 512KB\nwrite_deadline: 1s\n"
    async with (
        natsobj.EmbeddedServer(config=config, store_dir=tmp_path / "js") as server,
        natsobj.connect(server.url, timeout=2, reconnect_time_wait=0.1) as manager,
    ):
        store = await manager.create_object_store("slow")
        data = os.urandom(size)
        await store.put("obj", data, chunk_size=128 * 1024)
        reconnects = manager.nc.stats["reconnects"]
        digest = hashlib.sha256()
        stalled = False
        with anyio.fail_after(60):
            try:
                async with store.get("obj") as result:
                    async for chunk in result:
                        if not stalled:
                            time.sleep(2)  # noqa: ASYNC251 - the point: a consumer that stalls
                            stalled = True
                        digest.update(chunk)
                # The read resumed after the cut and delivered every byte, verified.
                assert digest.digest() == hashlib.sha256(data).digest()
            except natsobj.ServerError:
                pass  # gave up cleanly (the connection took too long to come back)
            assert await retry(lambda: store.get_bytes("obj")) == data
        assert any("Slow Consumer" in line for line in server.log_lines)
        assert manager.nc.stats["reconnects"] > reconnects
