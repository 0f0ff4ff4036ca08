"""copy and move: same bucket and across buckets, with links, metadata and policies."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

import natsobj
from natsobj import ObjectMeta

from ..conftest import chunk_counts, unique_bucket

pytestmark = pytest.mark.anyio

DATA = random.Random(6).randbytes(300_001)
META = ObjectMeta(
    name="src/a.png", description="d", headers={"X-K": ["1", "2"]}, metadata={"k": "v"}
)


@pytest.fixture
async def other(manager: natsobj.ObjectStoreManager) -> AsyncIterator[natsobj.ObjectStore]:
    bucket = unique_bucket()
    store = await manager.create_object_store(bucket)
    yield store
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(bucket)


@pytest.mark.parametrize("across", [False, True], ids=["same-bucket", "cross-bucket"])
async def test_copy_keeps_data_and_meta(
    store: natsobj.ObjectStore, other: natsobj.ObjectStore, across: bool
) -> None:
    source = await store.put(META, DATA, chunk_size=65536)
    target = other if across else store
    copied = await store.copy("src/a.png", "dst/b.png", to_store=other if across else None)
    assert copied.bucket == target.bucket
    assert copied.nuid != source.nuid
    assert (copied.size, copied.digest, copied.chunk_size) == (len(DATA), source.digest, 65536)
    info = await target.get_info("dst/b.png")
    assert (info.description, info.headers["X-K"], info.metadata) == ("d", ["1", "2"], {"k": "v"})
    assert await target.get_bytes("dst/b.png") == DATA
    assert await store.get_bytes("src/a.png") == DATA  # the source is untouched
    # Deleting the copy leaves the source whole (chunks are not shared).
    await target.delete("dst/b.png")
    assert await store.get_bytes("src/a.png") == DATA


async def test_copy_replaces_metadata_and_respects_upsert(store: natsobj.ObjectStore) -> None:
    await store.put(META, DATA)
    await store.put("taken", b"x")
    taken_created = (await store.get_info("taken")).created
    copied = await store.copy("src/a.png", "c", metadata={"new": "1"})
    assert copied.metadata == {"new": "1"}
    assert copied.description == "d"
    with pytest.raises(natsobj.ObjectExistsError):
        await store.copy("src/a.png", "taken")
    replaced = await store.copy("src/a.png", "taken", upsert=True)
    assert await store.get_bytes("taken") == DATA
    # The replaced object's chunks were purged; only source, c and taken remain.
    assert len(await chunk_counts(store)) == 3
    # Like any overwrite, it keeps the replaced object's creation time.
    assert replaced.created == taken_created
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.copy("missing", "x")


async def test_copy_into_a_stricter_bucket_is_refused(
    manager: natsobj.ObjectStoreManager, store: natsobj.ObjectStore
) -> None:
    bucket = unique_bucket()
    strict = await manager.create_object_store(
        bucket, file_size_limit=1000, allowed_mime_types=["image/*"]
    )
    try:
        await store.put(META, DATA)
        await store.put("notes.txt", b"small")
        with pytest.raises(natsobj.ObjectTooLargeError):
            await store.copy("src/a.png", "a.png", to_store=strict)
        with pytest.raises(natsobj.InvalidMimeTypeError):
            await store.copy("notes.txt", "notes.txt", to_store=strict)
        assert await chunk_counts(strict) == {}
    finally:
        await manager.delete_object_store(bucket)


async def test_move_within_a_bucket_copies_no_data(store: natsobj.ObjectStore) -> None:
    source = await store.put(META, DATA)
    created = (await store.get_info("src/a.png")).created
    before = await chunk_counts(store)
    moved = await store.move("src/a.png", "dst/a.png")
    assert moved.nuid == source.nuid
    assert await chunk_counts(store) == before  # same chunks, nothing copied or purged
    assert await store.get_bytes("dst/a.png") == DATA
    info = await store.get_info("dst/a.png")
    assert (info.description, info.metadata, info.created) == ("d", {"k": "v"}, created)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("src/a.png")
    tombstone = await store.get_info("src/a.png", show_deleted=True)
    assert tombstone.deleted
    assert tombstone.nuid == ""
    # Reusing the old name does not touch the moved object's chunks.
    await store.put("src/a.png", b"new")
    await store.delete("src/a.png")
    assert await store.get_bytes("dst/a.png") == DATA
    assert [i.name for i in await store.list()] == ["dst/a.png"]


async def test_move_across_buckets(store: natsobj.ObjectStore, other: natsobj.ObjectStore) -> None:
    await store.put(META, DATA)
    created = (await store.get_info("src/a.png")).created
    moved = await store.move("src/a.png", "a.png", to_store=other)
    assert moved.bucket == other.bucket
    assert await other.get_bytes("a.png") == DATA
    info = await other.get_info("a.png")
    assert (info.metadata, info.created) == ({"k": "v"}, created)
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def test_move_refuses_a_taken_destination(store: natsobj.ObjectStore) -> None:
    await store.put("a", b"a")
    await store.put("b", b"b")
    with pytest.raises(natsobj.ObjectExistsError):
        await store.move("a", "b")
    assert await store.get_bytes("a") == b"a"
    await store.move("a", "b", upsert=True)
    assert await store.get_bytes("b") == b"a"
    assert len(await chunk_counts(store)) == 1  # b's old chunks were purged
    assert (await store.move("b", "b")).name == "b"


async def test_links_are_copied_and_moved_as_links(
    store: natsobj.ObjectStore, other: natsobj.ObjectStore
) -> None:
    target = await store.put(META, DATA)
    await store.add_link("link", target)
    await store.add_bucket_link("blink", other)
    copied = await store.copy("link", "link-copy", to_store=other)
    assert copied.is_link
    assert copied.link == natsobj.ObjectLink(bucket=store.bucket, name="src/a.png")
    assert await other.get_bytes("link-copy") == DATA  # follows back into the source bucket
    moved = await store.move("link", "link-moved")
    assert moved.is_link
    assert await store.get_bytes("link-moved") == DATA
    across = await store.move("blink", "blink", to_store=other)
    assert across.link == natsobj.ObjectLink(bucket=other.bucket)
    # Moving a link never touched the target's chunks.
    assert await store.get_bytes("src/a.png") == DATA


async def test_readers_never_see_a_partial_copy(store: natsobj.ObjectStore) -> None:
    await store.put(META, DATA, chunk_size=4096)
    seen: list[int] = []
    done = anyio.Event()

    async def watch_destination() -> None:
        while not done.is_set():
            with contextlib.suppress(natsobj.ObjectNotFoundError):
                seen.append(len(await store.get_bytes("copy")))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_destination)
        await store.copy("src/a.png", "copy")
        done.set()
    assert set(seen) <= {len(DATA)}
