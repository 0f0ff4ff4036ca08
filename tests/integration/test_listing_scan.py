"""Listings of a bucket bigger than one Direct Get run: read through an ordered consumer
that delivers each object's newest meta. The same answers as the small-bucket path, bad
metas skipped alike, and no consumer left behind."""

from __future__ import annotations

import json

import anyio
import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj._bucket._core import META_RUN
from natsobj._wire import meta_subject
from tests.conftest import publish_meta

pytestmark = pytest.mark.anyio

COUNT = META_RUN + 150  # past one run: the consumer path


async def _fill(store: natsobj.ObjectStore, count: int) -> None:
    limiter = anyio.CapacityLimiter(64)

    async def put(index: int) -> None:
        async with limiter:
            await store.put(f"dir-{index % 7}/obj-{index:05d}", b"x" * (index % 50))

    async with anyio.create_task_group() as tg:
        for index in range(count):
            tg.start_soon(put, index)


async def test_a_big_bucket_lists_alike_and_leaves_no_consumer(
    store: natsobj.ObjectStore, peer: JetStreamContext
) -> None:
    await _fill(store, COUNT)
    # A writer without rollup (nats.js update) leaves older metas on the subject.
    renamed = await store.get_info("dir-0/obj-00000")
    newer = renamed.model_copy(update={"description": "newer"}).to_payload()
    await store._core.js.publish(meta_subject(store.bucket, renamed.name), newer)
    await store.delete("dir-1/obj-00001")
    # Hostile metas: each spoils its own name only, and nothing crashes the scan.
    await publish_meta(peer, store, "bad/not-json", b"{not json")
    await publish_meta(peer, store, "bad/deep", b'{"name": ' + b"[" * 100_000 + b"]" * 100_000)
    await publish_meta(peer, store, "bad/other-name", {"name": "dir-2/obj-00002", "size": 1})
    await publish_meta(peer, store, "bad/size", {"name": "bad/size", "size": "huge"})

    listed = await store.list()
    names = sorted(info.name for info in listed)
    expected = sorted(f"dir-{i % 7}/obj-{i:05d}" for i in range(COUNT) if i != 1)
    assert names == expected
    assert {i.name: i.description for i in listed}["dir-0/obj-00000"] == "newer"
    assert all(info.mtime is not None and info.revision > 0 for info in listed)

    by_size = await store.list_page(sort_by="size", order="desc", limit=5)
    assert [i.size for i in by_size.objects] == [49] * 5
    folders = await store.list_page(delimiter="/", limit=10)
    assert folders.folders == [f"dir-{i}/" for i in range(7)]  # bad metas make none
    updated = await store.list_page(sort_by="updated", order="desc", limit=1)
    assert updated.objects[0].name == "dir-0/obj-00000"  # written last of the live ones
    shown = await store.list_page("dir-1/", show_deleted=True, limit=1000)
    assert sum(i.deleted for i in shown.objects) == 1

    info = await peer.stream_info(store.stream)
    assert info.state.consumer_count == 0


async def test_a_big_bucket_page_matches_the_live_index(store: natsobj.ObjectStore) -> None:
    await _fill(store, COUNT)
    async with store.index(max_staleness=0) as index:
        for sort_by in ("name", "size", "created", "updated"):
            cold = await store.list_page(sort_by=sort_by, order="desc", limit=40, offset=500)
            live = await index.list_page(sort_by=sort_by, order="desc", limit=40, offset=500)
            assert [i.name for i in cold.objects] == [i.name for i in live.objects]
            assert cold.next_cursor == live.next_cursor


async def test_a_scan_stopped_midway_deletes_its_consumer(
    store: natsobj.ObjectStore, peer: JetStreamContext
) -> None:
    await _fill(store, COUNT)
    metas = store._core.metas()
    first = await anext(metas)
    assert first
    await metas.aclose()
    info = await peer.stream_info(store.stream)
    assert info.state.consumer_count == 0
    raw = json.loads(first[0].data)
    assert raw["name"].startswith("dir-")


async def test_a_user_who_may_not_create_consumers_lists_with_direct_get() -> None:
    stream = "OBJ_scan"
    lister = {
        "user": "lister",
        "password": "pw",
        "permissions": {
            "publish": [
                "$JS.API.INFO",
                f"$JS.API.STREAM.INFO.{stream}",
                f"$JS.API.DIRECT.GET.{stream}",
                f"$JS.API.DIRECT.GET.{stream}.>",
            ],
            "subscribe": ["_INBOX_lister.>"],
        },
    }
    users = {"users": [{"user": "root", "password": "pw"}, lister]}
    async with natsobj.EmbeddedServer(config="authorization " + json.dumps(users)) as server:
        async with natsobj.connect(server.url, user="root", password="pw") as root:
            await _fill(await root.create_object_store("scan"), COUNT)
        async with natsobj.connect(
            server.url, user="lister", password="pw", inbox_prefix="_INBOX_lister"
        ) as manager:
            store = await manager.object_store("scan")
            with anyio.fail_after(20):
                assert len(await store.list()) == COUNT
                page = await store.list_page(sort_by="size", limit=3)
            assert [i.size for i in page.objects] == [0, 0, 0]


async def test_a_meta_stored_with_a_status_header_is_an_ordinary_meta(
    store: natsobj.ObjectStore, peer: JetStreamContext
) -> None:
    """Only the server's status line makes a status message: a peer's meta that carries
    a ``Status`` header neither stops a consumer's reader nor sends it round in circles."""
    info = await store.put("victim", b"data")
    subject = meta_subject(store.bucket, "victim")
    payload = info.model_copy(update={"description": "odd headers"}).to_payload()
    await peer.publish(subject, payload, headers={"Status": "409", "Nats-Rollup": "sub"})
    with anyio.fail_after(10):
        async with store.watch() as watcher:
            first = await anext(watcher)
            assert first is not None
            assert first.description == "odd headers"
        async with store.index(max_staleness=0) as index:
            page = await index.list_page()
        assert [i.name for i in page.objects] == ["victim"]
        assert [i.name for i in (await store.list_page()).objects] == ["victim"]
        assert [i.description for i in await store.list()] == ["odd headers"]
    assert await store.get_bytes("victim") == b"data"
