"""Watch and list, including the initial-values marker and its options."""

from __future__ import annotations

import anyio
import pytest

import natsobj
from natsobj import ObjectInfo, ObjectStore

pytestmark = pytest.mark.anyio


async def _take(watcher: natsobj.ObjectWatcher, count: int) -> list[ObjectInfo | None]:
    out: list[ObjectInfo | None] = []
    with anyio.fail_after(10):
        async for event in watcher:
            out.append(event)
            if len(out) == count:
                break
    return out


def _names(events: list[ObjectInfo | None]) -> list[str | None]:
    return [e.name if e else None for e in events]


async def test_list_empty_and_filled(store: ObjectStore) -> None:
    assert await store.list() == []
    for name in ("b/2", "a/1", "c"):
        await store.put(name, name.encode())
    await store.delete("c")
    assert [i.name for i in await store.list()] == ["b/2", "a/1"]
    assert [i.name for i in await store.list(show_deleted=True)] == ["b/2", "a/1", "c"]
    assert [i.name for i in await store.list(prefix="a/")] == ["a/1"]
    await store.put("b/2", b"again")
    assert [i.name for i in await store.list()] == ["a/1", "b/2"]


async def test_list_many(store: ObjectStore) -> None:
    async with anyio.create_task_group() as tg:
        for i in range(1500):
            tg.start_soon(store.put, f"n{i:05d}", b"x")
    listed = await store.list()
    assert sorted(i.name for i in listed) == [f"n{i:05d}" for i in range(1500)]


async def test_watch_initial_values_then_updates(store: ObjectStore) -> None:
    await store.put("one", b"1")
    await store.put("two", b"2")
    await store.put("one", b"1b")
    async with store.watch() as watcher:
        assert _names(await _take(watcher, 3)) == ["two", "one", None]
        await store.put("three", b"3")
        await store.delete("two")
        events = await _take(watcher, 2)
    assert _names(events) == ["three", "two"]
    assert events[1] is not None
    assert events[1].deleted
    assert events[0] is not None
    assert events[0].mtime is not None
    assert events[0].revision > 0


async def test_watch_empty_bucket_marker_first(store: ObjectStore) -> None:
    async with store.watch() as watcher:
        assert await _take(watcher, 1) == [None]
        await store.put("x", b"1")
        assert _names(await _take(watcher, 1)) == ["x"]


async def test_watch_include_history(store: ObjectStore) -> None:
    await store.put("a", b"1")
    await store.update_meta("a", natsobj.ObjectMeta(name="a", description="v2"))
    async with store.watch(include_history=True) as watcher:
        events = await _take(watcher, 2)
    # Rollup keeps only the last meta per subject, so history has one entry per object.
    assert _names(events) == ["a", None]


async def test_watch_updates_only(store: ObjectStore) -> None:
    await store.put("old", b"1")
    async with store.watch(updates_only=True) as watcher:
        await store.put("new", b"2")
        assert _names(await _take(watcher, 1)) == ["new"]


async def test_watch_ignore_deletes(store: ObjectStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("a")
    async with store.watch(ignore_deletes=True) as watcher:
        assert _names(await _take(watcher, 2)) == ["b", None]
        await store.delete("b")
        await store.put("c", b"3")
        assert _names(await _take(watcher, 1)) == ["c"]


async def test_watch_bad_options(store: ObjectStore) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        store.watch(include_history=True, updates_only=True)
