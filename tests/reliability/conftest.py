"""Helpers for tests against a 3-node cluster: who leads a bucket, and waiting for health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster, ObjectStore
from tests.conftest import unique_bucket

MiB = 1024 * 1024
T = TypeVar("T")


@pytest.fixture
async def cluster(anyio_backend: object) -> AsyncIterator[EmbeddedCluster]:
    """A fresh 3-node cluster for a test that kills nodes."""
    async with EmbeddedCluster(3, startup_timeout=60) as running:
        yield running


# "no suitable peers for placement": right after a cluster starts, the meta leader may not
# know every peer yet.
ERR_NO_SUITABLE_PEERS = 10005


async def create_replicated(manager: natsobj.ObjectStoreManager) -> ObjectStore:
    """A fresh R3 bucket, healthy."""
    bucket = unique_bucket()
    with anyio.fail_after(60):
        while True:
            try:
                store = await manager.create_object_store(bucket, replicas=3)
                break
            except natsobj.JetStreamAPIError as exc:
                if exc.err_code != ERR_NO_SUITABLE_PEERS:
                    raise
                await anyio.sleep(0.3)
    await wait_healthy(store)
    return store


async def stream_leader(store: ObjectStore) -> str:
    """Name (``n1``..``n3``) of the node leading the bucket's stream."""
    info = await store._core.js.stream_info(store.stream, bucket=store.bucket)
    leader: str = (info.get("cluster") or {}).get("leader", "")
    return leader


def node_index(cluster: EmbeddedCluster, name: str) -> int:
    return next(i for i, server in enumerate(cluster.servers) if server.name == name)


async def wait_healthy(store: ObjectStore, *, replicas: int = 3, timeout: float = 60) -> None:
    """Wait until the bucket's stream has a leader and every replica is current."""
    with anyio.fail_after(timeout):
        while True:
            try:
                info = await store._core.js.stream_info(store.stream, bucket=store.bucket)
            except natsobj.ServerError:
                await anyio.sleep(0.2)
                continue
            state = info.get("cluster") or {}
            peers = state.get("replicas") or []
            if (
                state.get("leader")
                and len(peers) == replicas - 1
                and all(p.get("current") and not p.get("offline") for p in peers)
            ):
                return
            await anyio.sleep(0.2)


async def retry(call: Callable[[], Awaitable[T]], *, timeout: float = 60) -> T:
    """Await ``call()`` until it stops raising ServerError (a cluster electing a leader)."""
    with anyio.fail_after(timeout):
        while True:
            try:
                return await call()
            except natsobj.ServerError:
                await anyio.sleep(0.3)
