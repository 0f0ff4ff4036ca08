"""ListingIndex: the same pages as list_page, live updates from other connections within
the stated staleness, purges, hostile metas."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from nats.js import JetStreamContext

import natsobj

from ..conftest import publish_meta, unique_bucket

pytestmark = pytest.mark.anyio

SORTS = ["name", "size", "created", "updated"]


def names() -> list[str]:
    photos = [f"photos/{a}/IMG-{i:03d}.png" for a in range(4) for i in range(40)]
    deep = [f"photos/{a}/raw/r-{i}.raw" for a in range(2) for i in range(5)]
    docs = [f"docs/report-{i:03d}.txt" for i in range(60)]
    return photos + deep + docs + [f"readme-{i:02d}.md" for i in range(12)] + ["photos"]


@pytest.fixture(scope="module")
async def listed(server: natsobj.EmbeddedServer) -> AsyncIterator[natsobj.ObjectStore]:
    """A bucket of 243 objects (a few deleted), shared by the read-only tests."""
    async with natsobj.connect(server.url) as manager:
        bucket = unique_bucket()
        store = await manager.create_object_store(bucket)
        limiter = anyio.CapacityLimiter(32)

        async def put(index: int, name: str) -> None:
            async with limiter:
                await store.put(name, b"x" * (index * 7 % 23))

        async with anyio.create_task_group() as tg:
            for index, name in enumerate(names()):
                tg.start_soon(put, index, name)
        for name in ("docs/report-001.txt", "photos/2/IMG-007.png"):
            await store.delete(name)
        yield store
        await manager.delete_object_store(bucket)


def shown(page: natsobj.ObjectPage) -> tuple[list[str], list[str], bool]:
    return [info.name for info in page.objects], page.folders, page.has_next


async def test_the_same_pages_as_list_page(listed: natsobj.ObjectStore) -> None:
    draw = random.Random(15)
    async with listed.index() as index:
        assert len(index) == len(names()) - 2
        for _ in range(40):
            query: dict[str, Any] = {
                "prefix": draw.choice(["", "photos/", "photos/1", "docs/R", "readme-0"]),
                "delimiter": draw.choice([None, "/"]),
                "search": draw.choice([None, None, "img-01", "R"]),
                "sort_by": draw.choice(SORTS),
                "order": draw.choice(["asc", "desc"]),
                "limit": draw.choice([1, 7, 100]),
                "offset": draw.choice([0, 0, 5]),
                "show_deleted": draw.random() < 0.2,
            }
            expected = await listed.list_page(**query)
            got = await index.list_page(**query)
            assert shown(got) == shown(expected), query
            assert got.next_cursor == expected.next_cursor, query


@pytest.mark.parametrize("sort_by", SORTS)
async def test_cursors_walk_the_same_and_cross_over(
    listed: natsobj.ObjectStore, sort_by: str
) -> None:
    async with listed.index() as index:
        for order in ("asc", "desc"):
            walked: list[str] = []
            cursor = None
            for step in range(100):
                # Every other page from the cold scan, with the index's cursor, and back.
                source: Any = index if step % 2 else listed
                page = await source.list_page(sort_by=sort_by, order=order, limit=40, cursor=cursor)
                walked.extend(info.name for info in page.objects)
                if not page.has_next:
                    break
                cursor = page.next_cursor
            everything = await listed.list_page(sort_by=sort_by, order=order, limit=1000)  # type: ignore[arg-type]
            assert walked == [info.name for info in everything.objects]


async def test_sees_another_connections_writes_within_the_bound(
    server: natsobj.EmbeddedServer, store: natsobj.ObjectStore
) -> None:
    await store.put("before", b"1")
    async with natsobj.connect(server.url) as other:
        theirs = await other.object_store(store.bucket)
        async with store.index() as index, store.index(max_staleness=0) as strict:
            assert index.max_staleness == 1.0
            for step, write in enumerate(["put", "overwrite", "delete"]):
                if write == "delete":
                    await theirs.delete("x")
                else:
                    await theirs.put("x", b"y" * (step + 1))
                written = anyio.current_time()
                # max_staleness=0: every write acknowledged before the query.
                page = await strict.list_page("x")
                assert [i.size for i in page.objects] == ([] if write == "delete" else [step + 1])
                # The default: within a second, usually at once; measured here.
                while True:
                    page = await index.list_page("x")
                    if [i.size for i in page.objects] == ([] if write == "delete" else [step + 1]):
                        break
                    await anyio.sleep(0.005)
                assert anyio.current_time() - written <= index.max_staleness
            assert [i.name for i in (await index.list_page()).objects] == ["before"]


async def test_sizes_changes_reorder(store: natsobj.ObjectStore) -> None:
    for name, size in (("a", 3), ("b", 1), ("c", 2)):
        await store.put(name, b"x" * size)
    async with store.index(max_staleness=0) as index:
        page = await index.list_page(sort_by="size")
        assert [i.name for i in page.objects] == ["b", "c", "a"]
        await store.put("b", b"x" * 9)
        await store.put("d", b"")
        page = await index.list_page(sort_by="size", order="desc")
        assert [i.name for i in page.objects] == ["b", "a", "c", "d"]
        assert [i.name for i in (await index.list_page(sort_by="updated")).objects][-2:] == [
            "b",
            "d",
        ]


async def test_purged_metas_leave_the_index(store: natsobj.ObjectStore) -> None:
    for name in ("old", "keep-1", "keep-2"):
        await store.put(name, b"x")
    async with store.index(max_staleness=0) as index:
        # A rename purges the old name's meta: no event; the page that would show it
        # finds it gone, drops it and is filled from the rest.
        await store.update_meta("old", natsobj.ObjectMeta(name="zzz-new"))
        page = await index.list_page(limit=2)
        assert [i.name for i in page.objects] == ["keep-1", "keep-2"]
        assert [i.name for i in (await index.list_page()).objects] == [
            "keep-1",
            "keep-2",
            "zzz-new",
        ]
        # A bucket emptied by a purge: the staleness check finds no meta left.
        await store.empty()
        assert (await index.list_page()).objects == []
        assert len(index) == 0
        await store.put("again", b"x")
        assert [i.name for i in (await index.list_page()).objects] == ["again"]


async def test_hostile_metas_are_never_listed(
    store: natsobj.ObjectStore, peer: JetStreamContext
) -> None:
    good = [await store.put(f"ok-{i}", b"x") for i in range(3)]
    async with store.index(max_staleness=0) as index:
        await publish_meta(peer, store, "a-not-json", b"{not json")
        await publish_meta(peer, store, "a-other", {"name": "ok-0", "size": 1})
        await publish_meta(peer, store, "a-size", {"name": "a-size", "size": "big"})
        # Passes the index's quick read, fails the full check when a page reads it.
        hostile = json.loads(good[0].to_payload()) | {"name": "a-nuid", "nuid": "../x"}
        await publish_meta(peer, store, "a-nuid", hostile)
        page = await index.list_page(limit=3)
        assert [i.name for i in page.objects] == ["ok-0", "ok-1", "ok-2"]
        assert page.objects == [await store.get_info(f"ok-{i}") for i in range(3)]
        # A one-shot page checks its metas fully only once chosen: the one that failed
        # leaves it short, where the index dropped it and filled the page from the rest.
        cold = await store.list_page(limit=3)
        assert [i.name for i in cold.objects] == ["ok-0", "ok-1"]
        assert len(index) == 3


async def test_arguments_and_use_outside_the_block(store: natsobj.ObjectStore) -> None:
    for bad in (-1, float("inf"), "1", True):
        with pytest.raises(natsobj.InvalidArgumentError):
            store.index(max_staleness=bad)  # type: ignore[arg-type]
    index = store.index()
    with pytest.raises(natsobj.NotOpenError):
        await index.list_page()
    async with index:
        with pytest.raises(natsobj.InvalidArgumentError):
            await index.list_page(limit=0)
        with pytest.raises(natsobj.InvalidArgumentError):
            await index.list_page(sort_by="size", cursor="bm90IGEgY3Vyc29y")
        cursor = (await store.list_page(sort_by="name", limit=1)).next_cursor
        assert cursor is None  # an empty bucket
        assert (await index.list_page()).objects == []
    with pytest.raises(natsobj.NotOpenError):
        await index.list_page()
