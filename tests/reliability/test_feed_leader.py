"""A durable change feed on an R3 bucket loses nothing when its consumer's leader is killed
while replicas consume and a writer writes."""

from __future__ import annotations

import contextlib
import functools

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster, ObjectStore
from tests.reliability.conftest import create_replicated, node_index, retry, wait_healthy

pytestmark = pytest.mark.anyio

OBJECTS = 300


async def consumer_leader(store: ObjectStore, feed: str) -> str:
    """The node leading the feed's consumer, once it has one."""
    with anyio.fail_after(30):
        while True:
            with contextlib.suppress(natsobj.ServerError):
                info = await store._core.js.api(
                    f"CONSUMER.INFO.{store.stream}.{feed}", bucket=store.bucket
                )
                leader = (info.get("cluster") or {}).get("leader", "")
                if isinstance(leader, str) and leader:
                    return leader
            await anyio.sleep(0.2)


async def test_a_feed_loses_nothing_when_its_leader_is_killed(cluster: EmbeddedCluster) -> None:
    names = [f"o/{i}" for i in range(OBJECTS)]
    handled: set[str] = set()
    everything = anyio.Event()
    async with natsobj.connect(cluster.urls, timeout=2, reconnect_time_wait=0.2) as manager:
        store = await create_replicated(manager)

        async def replica() -> None:
            async with store.changes("svc", deliver="all", ack_wait=2) as feed:
                while True:
                    try:
                        async for event in feed:
                            handled.add(event.name)
                            with contextlib.suppress(natsobj.ServerError):
                                await event.ack()  # unconfirmed: it may come again
                            if len(handled) == len(names):
                                everything.set()
                    except natsobj.ServerUnavailableError:
                        continue  # iterate again: nothing unsettled is lost

        async with anyio.create_task_group() as tg:
            for index, name in enumerate(names):
                if index == 20:
                    for _ in range(2):
                        tg.start_soon(replica)
                if index == OBJECTS // 2:
                    victim = node_index(cluster, await consumer_leader(store, "svc"))
                    await cluster.kill(victim)
                await retry(functools.partial(store.put, name, b"x"))
            with anyio.fail_after(60):
                await everything.wait()
            tg.cancel_scope.cancel()
        assert handled == set(names)
        await cluster.start(victim)
        await wait_healthy(store)
