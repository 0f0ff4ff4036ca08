"""Feed durations the server cannot hold (a Go duration: int64 nanoseconds, about 292
years) are argument errors, before anything reaches the server."""

from __future__ import annotations

import anyio
import pytest

import natsobj
from natsobj import ObjectStore

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
