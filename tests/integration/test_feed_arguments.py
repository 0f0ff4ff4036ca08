"""Feeds against a real server: durations the server cannot hold (a Go duration: int64
nanoseconds, about 292 years) are argument errors before anything is sent; session
feed names; hostile metas handed out, not raised."""

from __future__ import annotations

import anyio
import pytest

import natsobj
from natsobj import ExpirationPolicy, ObjectStore
from natsobj._sessions._scope import TIME_CREATED

pytestmark = pytest.mark.anyio

TOO_LONG = (1e300, 1e12)  # seconds: past a float's int, past int64 nanoseconds


async def test_ack_wait_and_nak_delay_past_what_the_server_holds_are_invalid(
    store: ObjectStore,
) -> None:
    for seconds in (*TOO_LONG, 1e-12):
        with pytest.raises(natsobj.InvalidArgumentError):
            store.changes("f", ack_wait=seconds)
    async with store.changes("g", deliver="all") as feed:
        await store.put("a", b"x")
        with anyio.fail_after(10):
            event = await anext(feed)
        for seconds in TOO_LONG:
            with pytest.raises(natsobj.InvalidArgumentError):
                await event.nak(delay=seconds)
        assert not event.settled
        await event.ack()
    await store.delete_feed("g")


async def test_a_session_feed_name_leaves_room_for_the_scope_digest(
    manager: natsobj.ObjectStoreManager, usecase: natsobj.Usecase
) -> None:
    session = usecase.for_organization(1).session(manager)
    with pytest.raises(natsobj.InvalidArgumentError, match="1 to 67"):
        session.changes("a" * 68)


async def test_a_meta_created_at_year_9999_does_not_break_session_feeds_or_watchers(
    manager: natsobj.ObjectStoreManager, usecase: natsobj.Usecase
) -> None:
    """Another writer's meta says a time-to-idle object was created at the end of time:
    telling a renewal from a put must not overflow (it raised from every replica)."""
    session = usecase.for_organization(1).session(manager)
    async with session.changes("f", deliver="all") as feed:
        await session.put(b"x", key="k", expiration_policy=ExpirationPolicy.time_to_idle(60))
        info = (await session.head("k")).info
        forged = {**info.headers, TIME_CREATED: ["9999-12-31T23:59:59Z"]}
        store = await manager.object_store(usecase.name)
        await store._core.commit(info.model_copy(update={"headers": forged}), expected=None)
        with anyio.fail_after(10):  # the put's meta is rolled up: its last state comes
            change = await anext(feed)
        assert (change.key, change.kind) == ("k", "put")
        await change.ack()
    async with session.watch() as watcher:
        with anyio.fail_after(10):
            event = await anext(watcher)
        assert event is not None
        assert event.key == "k"
