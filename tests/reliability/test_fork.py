"""Forked processes (multiprocessing's fork start method, preforking servers, task-queue
workers) that use natsobj after a parent already did: their puts, gets and deletes never
touch each other's objects, and a child's exit leaves the parent's server running."""

from __future__ import annotations

import hashlib
import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier

import anyio
import pytest

import natsobj
from natsobj import ObjectStore
from natsobj._jetstream import new_nuid
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio

WORKERS = 4
OBJECTS = 6
CHUNK = 1000
FORK = multiprocessing.get_context("fork")


def _data(worker: int, index: int) -> bytes:
    """3.5 chunks of bytes only this worker's object ``index`` holds."""
    return hashlib.sha256(f"{worker}/{index}".encode()).digest() * 110


def _worker(url: str, bucket: str, worker: int, start: Barrier, out: Connection) -> None:
    """Put, read back and delete this worker's objects while the others do the same; send
    the NUIDs it used, or what went wrong."""

    async def run() -> list[str]:
        async with natsobj.connect(url) as manager:
            store = await manager.object_store(bucket)
            await anyio.to_thread.run_sync(start.wait)
            nuids = []
            for index in range(OBJECTS):
                name = f"w{worker}/{index}"
                nuids.append((await store.put(name, _data(worker, index), chunk_size=CHUNK)).nuid)
                assert await store.get_bytes(name) == _data(worker, index)
                if index % 2:
                    await store.delete(name)
            for index in range(0, OBJECTS, 2):
                assert await store.get_bytes(f"w{worker}/{index}") == _data(worker, index)
            return nuids

    try:
        out.send(anyio.run(run))
    except BaseException as exc:  # reported to the parent, which fails the test
        out.send(f"worker {worker}: {exc!r}")
    finally:
        out.close()


async def test_forked_workers_never_share_chunks(
    server: natsobj.EmbeddedServer, store: ObjectStore
) -> None:
    # natsobj imported and used before the fork: the NUID generator has state to inherit.
    await store.put("parent", b"p" * 2500, chunk_size=CHUNK)
    parent_next = new_nuid()
    start = FORK.Barrier(WORKERS)
    pipes = [FORK.Pipe(duplex=False) for _ in range(WORKERS)]
    workers = [
        FORK.Process(target=_worker, args=(server.url, store.bucket, i, start, send))
        for i, (_, send) in enumerate(pipes)
    ]
    for process in workers:
        process.start()
    try:
        results = []
        for receive, _ in pipes:
            with anyio.fail_after(60):
                results.append(await anyio.to_thread.run_sync(receive.recv))
    finally:
        for process in workers:
            process.join(10)
            if process.is_alive():
                process.kill()
    errors = [r for r in results if isinstance(r, str)]
    assert errors == []
    nuids = [nuid for result in results for nuid in result]
    assert len(set(nuids)) == WORKERS * OBJECTS
    assert parent_next not in nuids
    # Every object is what its worker put; every deleted one left nothing behind.
    live = {i.name: i for i in await store.list()}
    expected = {f"w{w}/{i}" for w in range(WORKERS) for i in range(0, OBJECTS, 2)}
    assert set(live) == expected | {"parent"}
    for name in expected:
        worker, index = name[1:].split("/")
        assert await store.get_bytes(name) == _data(int(worker), int(index))
    assert set(await chunk_counts(store)) == {
        f"$O.{store.bucket}.C.{info.nuid}" for info in live.values()
    }


def _exit_like_a_prefork_worker(server: natsobj.EmbeddedServer) -> None:
    # What the child's interpreter does at a normal exit: run the finalizers it inherited.
    for finalizer in (server._proc_finalizer, server._dir_finalizer):
        if finalizer is not None:
            finalizer()


async def test_a_forked_child_exiting_leaves_the_parents_server_running() -> None:
    async with natsobj.EmbeddedServer() as server:
        store_dir = server.store_dir
        assert store_dir is not None
        assert store_dir.exists()
        child = FORK.Process(target=_exit_like_a_prefork_worker, args=(server,))
        child.start()
        await anyio.to_thread.run_sync(child.join, 30)
        assert child.exitcode == 0
        assert store_dir.exists()
        async with natsobj.connect(server.url) as manager:
            store = await manager.create_object_store("after_fork")
            await store.put("x", b"still here")
            assert await store.get_bytes("x") == b"still here"
