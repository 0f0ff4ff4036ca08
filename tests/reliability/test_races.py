"""Concurrent writers, readers and watchers of the same objects: nothing mixed, nothing lost,
nothing leaked."""

from __future__ import annotations

import contextlib
import hashlib
import os

import anyio
import pytest

import natsobj
from natsobj import ObjectStore
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio


async def _live_chunk_subjects(store: ObjectStore) -> set[str]:
    return {f"$O.{store.bucket}.C.{info.nuid}" for info in await store.list() if info.size}


async def test_many_writers_to_one_name_last_acknowledged_wins(store: ObjectStore) -> None:
    committed: dict[int, bytes] = {}  # revision -> data

    async def writer(index: int) -> None:
        for round_ in range(8):
            data = os.urandom(3000 + 97 * index + round_)
            info = await store.put("same", data, chunk_size=1024)
            committed[info.revision] = data

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for index in range(8):
                tg.start_soon(writer, index)
    assert len(committed) == 64
    assert await store.get_bytes("same") == committed[max(committed)]
    # Every replaced object's chunks were purged: only the winner's remain.
    assert set(await chunk_counts(store)) == await _live_chunk_subjects(store)


async def test_puts_racing_deletes_and_meta_updates_leak_nothing(store: ObjectStore) -> None:
    await store.put("obj", os.urandom(5000), chunk_size=1000)

    async def putter() -> None:
        for _ in range(20):
            await store.put("obj", os.urandom(5000), chunk_size=1000)

    async def deleter() -> None:
        for _ in range(20):
            await store.delete("obj")

    async def describer() -> None:
        for index in range(20):
            described = natsobj.ObjectMeta(name="obj", description=f"{index}")
            with contextlib.suppress(natsobj.UpdateMetaDeletedError):
                await store.update_meta("obj", described)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(putter)
            tg.start_soon(deleter)
            tg.start_soon(describer)
    info = await store.get_info("obj", show_deleted=True)
    if not info.deleted:
        # Whatever won, it is whole: a meta update never points back at purged chunks.
        assert len(await store.get_bytes("obj")) == 5000
    assert set(await chunk_counts(store)) == await _live_chunk_subjects(store)


async def test_readers_see_the_old_or_the_new_object_whole(store: ObjectStore) -> None:
    versions = [os.urandom(200_000 + i) for i in range(6)]
    digests = {hashlib.sha256(v).digest() for v in versions}
    await store.put("doc", versions[0], chunk_size=8192)
    reads = 0
    done = anyio.Event()

    async def writer() -> None:
        for data in versions[1:] * 3:
            await store.put("doc", data, chunk_size=8192)
        done.set()

    async def reader() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                data = await store.get_bytes("doc")
            except natsobj.IncompleteObjectError:
                # The object was replaced (its chunks purged) while this read was under
                # way: reported as such, never returned as a mix.
                continue
            assert hashlib.sha256(data).digest() in digests
            reads += 1

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            for _ in range(3):
                tg.start_soon(reader)
    assert reads > 0
    assert await store.get_bytes("doc") == versions[-1]


async def test_watch_under_heavy_write_load_loses_no_event(store: ObjectStore) -> None:
    writes = 600
    seen: dict[str, int] = {}
    expected: dict[str, int] = {}

    async with store.watch(updates_only=True) as watcher:

        async def writer(index: int) -> None:
            for round_ in range(writes // 6):
                info = await store.put(f"k{index}-{round_ % 10}", os.urandom(100))
                expected[info.name] = max(expected.get(info.name, 0), info.revision)

        async with anyio.create_task_group() as tg:
            for index in range(6):
                tg.start_soon(writer, index)
        # The watcher was not read while the writes went on (a slow consumer): every
        # change is still there, in order.
        count = 0
        with anyio.fail_after(30):
            async for info in watcher:
                assert info is not None
                assert info.revision > seen.get(info.name, 0)
                seen[info.name] = info.revision
                count += 1
                if count == writes:
                    break
    assert seen == expected
