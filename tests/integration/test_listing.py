"""list_page on thousands of objects: prefixes, folders, search, sort orders, pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import natsobj

from ..conftest import unique_bucket

pytestmark = pytest.mark.anyio

ALBUMS = 10
PER_ALBUM = 150
DOCS = 600
TOP = 30


def names() -> list[str]:
    photos = [f"photos/{a}/img-{i:03d}.png" for a in range(ALBUMS) for i in range(PER_ALBUM)]
    docs = [f"docs/report-{i:04d}.txt" for i in range(DOCS)]
    return photos + docs + [f"readme-{i:02d}.md" for i in range(TOP)]


@pytest.fixture(scope="module")
async def listed(server: natsobj.EmbeddedServer) -> AsyncIterator[natsobj.ObjectStore]:
    """A bucket of 2,130 objects, shared by the read-only tests of this module."""
    async with natsobj.connect(server.url) as manager:
        bucket = unique_bucket()
        store = await manager.create_object_store(bucket)
        limiter = anyio.CapacityLimiter(64)

        async def put(index: int, name: str) -> None:
            async with limiter:
                await store.put(name, b"x" * (index % 97))

        async with anyio.create_task_group() as tg:
            for index, name in enumerate(names()):
                tg.start_soon(put, index, name)
        yield store
        await manager.delete_object_store(bucket)


async def all_pages(store: natsobj.ObjectStore, **options: object) -> list[natsobj.ObjectInfo]:
    out: list[natsobj.ObjectInfo] = []
    cursor = None
    while True:
        page = await store.list_page(cursor=cursor, **options)  # type: ignore[arg-type]
        out.extend(page.objects)
        if not page.has_next:
            return out
        cursor = page.next_cursor


async def test_prefix_and_name_order(listed: natsobj.ObjectStore) -> None:
    page = await listed.list_page("docs/", limit=1000)
    assert [i.name for i in page.objects] == sorted(n for n in names() if n.startswith("docs/"))
    assert page.next_cursor is None
    assert not page.folders
    desc = await listed.list_page("photos/3/", order="desc", limit=5)
    assert [i.name for i in desc.objects] == [
        f"photos/3/img-{i:03d}.png" for i in range(149, 144, -1)
    ]
    assert desc.has_next


@pytest.mark.parametrize("sort_by", ["name", "size", "created", "updated"])
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_cursor_pages_cover_everything_in_order(
    listed: natsobj.ObjectStore, sort_by: str, order: str
) -> None:
    everything = await listed.list()
    infos = await all_pages(listed, sort_by=sort_by, order=order, limit=1000)
    assert len(infos) == len(everything) == len(names())

    def key(info: natsobj.ObjectInfo) -> tuple[object, str]:
        value = {
            "name": "",
            "size": info.size,
            "created": info.created,
            "updated": info.mtime,
        }[sort_by]
        return (value, info.name)

    assert [i.name for i in infos] == [
        i.name for i in sorted(everything, key=key, reverse=order == "desc")
    ]


async def test_offset_pages_match_cursor_pages(listed: natsobj.ObjectStore) -> None:
    by_cursor = await all_pages(listed, prefix="docs/", sort_by="size", limit=150)
    by_offset: list[natsobj.ObjectInfo] = []
    for offset in range(0, DOCS, 150):
        page = await listed.list_page("docs/", sort_by="size", limit=150, offset=offset)
        by_offset.extend(page.objects)
    assert [i.name for i in by_offset] == [i.name for i in by_cursor]
    assert len(by_offset) == DOCS


async def test_folders_with_a_delimiter(listed: natsobj.ObjectStore) -> None:
    top = await listed.list_page(delimiter="/")
    assert top.folders == ["docs/", "photos/"]
    assert [i.name for i in top.objects] == [f"readme-{i:02d}.md" for i in range(TOP)]
    albums = await listed.list_page("photos/", delimiter="/")
    assert albums.folders == [f"photos/{a}/" for a in range(ALBUMS)]
    assert albums.objects == []
    inside = await listed.list_page("photos/7/", delimiter="/", limit=10)
    assert inside.folders == []
    assert len(inside.objects) == 10
    assert inside.has_next
    # Folders come with the first page only.
    assert (await listed.list_page(delimiter="/", offset=1)).folders == []


async def test_search_is_a_case_insensitive_name_prefix(listed: natsobj.ObjectStore) -> None:
    found = await listed.list_page("docs/", search="REPORT-001", limit=100)
    assert [i.name for i in found.objects] == [f"docs/report-{i:04d}.txt" for i in range(10, 20)]
    assert (await listed.list_page("docs/", search="port")).objects == []
    folders = await listed.list_page("", delimiter="/", search="PH")
    assert (folders.folders, folders.objects) == (["photos/"], [])


async def test_bad_arguments(listed: natsobj.ObjectStore) -> None:
    page = await listed.list_page(limit=1)
    assert page.next_cursor is not None
    with pytest.raises(natsobj.InvalidArgumentError):
        await listed.list_page(cursor=page.next_cursor, sort_by="size")
    for bad in (
        {"limit": 0},
        {"limit": 10_001},
        {"offset": -1},
        {"sort_by": "owner"},
        {"order": "up"},
        {"cursor": "garbage!"},
        {"delimiter": ""},
    ):
        with pytest.raises(natsobj.InvalidArgumentError):
            await listed.list_page(**bad)


async def test_deleted_objects_on_request(store: natsobj.ObjectStore) -> None:
    for name in ("a", "b", "c"):
        await store.put(name, b"x")
    await store.delete("b")
    assert [i.name for i in (await store.list_page()).objects] == ["a", "c"]
    shown = await store.list_page(show_deleted=True)
    assert [(i.name, i.deleted) for i in shown.objects] == [
        ("a", False),
        ("b", True),
        ("c", False),
    ]
    assert (await store.list_page()).objects == (await store.list_page(limit=2)).objects


async def test_an_empty_bucket(store: natsobj.ObjectStore) -> None:
    page = await store.list_page(delimiter="/")
    assert (page.objects, page.folders, page.next_cursor) == ([], [], None)


async def test_metas_published_without_rollup(store: natsobj.ObjectStore) -> None:
    """nats.js update() publishes without rollup: older metas stay on the subject."""
    from natsobj._wire import meta_subject

    for name in ("a", "b", "c"):
        await store.put(name, b"x")
    for name, update in (("a", {"size": 50}), ("b", {"deleted": True}), ("a", {"size": 60})):
        current = await store.get_info(name, show_deleted=True)
        payload = current.model_copy(update=update).to_payload()
        await store._core.js.publish(meta_subject(store.bucket, name), payload)
    page = await store.list_page(sort_by="size", order="desc", limit=1)
    assert [(i.name, i.size) for i in page.objects] == [("a", 60)]
    names = [i.name for i in await all_pages(store, sort_by="size", limit=1)]
    assert names == ["c", "a"]
    assert [r.name for r in await store.delete_prefix("b")] == []
