"""Durable change feeds deliver the changes nats.js and nats-py writers make, like
natsobj's own: puts, deletes and links (where the writer has them), with the writers'
metas as they wrote them."""

from __future__ import annotations

import anyio
import pytest

import natsobj
from natsobj import ChangeFeed, FeedEvent

from .conftest import OTHER_PEERS
from .peers import Cap, Meta, Peer

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]


async def next_event(feed: ChangeFeed) -> FeedEvent:
    with anyio.fail_after(10):
        event = await anext(feed)
    await event.ack()
    return event


@pytest.mark.parametrize("writer", OTHER_PEERS, indirect=True)
async def test_a_feed_delivers_other_writers_changes(
    writer: Peer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await writer.create_bucket(bucket)
    store = await manager.object_store(bucket)
    async with store.changes("interop", deliver="all") as feed:
        written = await writer.put(bucket, Meta("images/a.png", description="d"), b"x" * 1000)
        put = await next_event(feed)
        assert (put.kind, put.name, put.info.size) == ("put", "images/a.png", 1000)
        assert put.info.description == "d"
        assert put.info.digest == written.digest
        if Cap.ADD_LINK not in writer.lacks:
            await writer.add_link(bucket, "images/link", bucket, "images/a.png")
            link = await next_event(feed)
            assert (link.kind, link.name) == ("link", "images/link")
        await writer.delete(bucket, "images/a.png")
        deleted = await next_event(feed)
        assert (deleted.kind, deleted.name) == ("delete", "images/a.png")
        assert put.revision < deleted.revision
    info = await store.feed_info("interop")
    assert info.last_acked == deleted.revision
