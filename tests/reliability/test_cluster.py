"""Replicated buckets on a 3-node cluster: every operation, read-after-write, placement."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster
from tests.conftest import chunk_counts, unique_bucket
from tests.reliability.conftest import MiB, stream_leader, wait_healthy

pytestmark = pytest.mark.anyio

TAGS = [["az:a"], ["az:b"], ["az:c"]]


@pytest.fixture(scope="module")
async def tagged_cluster(anyio_backend: object) -> AsyncIterator[EmbeddedCluster]:
    """One cluster for the tests here that kill nothing; nodes tagged az:a, az:b, az:c."""
    async with EmbeddedCluster(
        3, name="tagged", server_tags=TAGS, config="max_payload: 2MB\n", startup_timeout=60
    ) as c:
        yield c


async def test_r3_bucket_every_operation_through_every_node(
    tagged_cluster: EmbeddedCluster,
) -> None:
    urls = tagged_cluster.urls
    async with (
        natsobj.connect(urls[0]) as m1,
        natsobj.connect(urls[1]) as m2,
        natsobj.connect(urls[2]) as m3,
    ):
        assert m3.nc.max_payload == 2 * MiB  # the extra config reached every node
        bucket = unique_bucket()
        store1 = await m1.create_object_store(bucket, replicas=3, description="replicated")
        await wait_healthy(store1)
        status = await store1.status()
        assert status.replicas == 3
        stores = [store1, await m2.object_store(bucket), await m3.object_store(bucket)]
        async with stores[2].watch(updates_only=True) as watcher:
            # Read-after-write through the other nodes (followers serve Direct Get).
            for round_ in range(20):
                writer = stores[round_ % 3]
                data = os.urandom([0, 10, 200_000, 1 * MiB][round_ % 4])
                info = await writer.put(f"obj{round_ % 5}", data, chunk_size=64 * 1024)
                for reader in stores:
                    assert (await reader.get_info(info.name)).nuid == info.nuid
                    assert await reader.get_bytes(info.name) == data
            with anyio.fail_after(10):
                events = [await anext(watcher) for _ in range(20)]
        assert len({e.revision for e in events if e is not None}) == 20
        for store in stores:
            assert sorted(i.name for i in await store.list()) == [f"obj{i}" for i in range(5)]
        await stores[1].delete("obj0")
        for store in stores:
            with pytest.raises(natsobj.ObjectNotFoundError):
                await store.get_info("obj0")
        renamed = await stores[2].update_meta("obj1", natsobj.ObjectMeta(name="renamed"))
        assert await stores[0].get_bytes("renamed") == await stores[1].get_bytes(renamed.name)
        live = {f"$O.{bucket}.C.{i.nuid}" for i in await store1.list() if i.size}
        assert set(await chunk_counts(store1)) == live
        await m1.delete_object_store(bucket)


async def test_placement_by_tags_and_cluster(tagged_cluster: EmbeddedCluster) -> None:
    async with natsobj.connect(tagged_cluster.urls[0]) as manager:
        for index, tags in enumerate(TAGS):
            bucket = unique_bucket()
            store = await manager.create_object_store(
                bucket, placement=natsobj.Placement(tags=tags)
            )
            assert await stream_leader(store) == f"n{index + 1}"
            await store.put("x", b"placed")
            assert await store.get_bytes("x") == b"placed"
            await manager.delete_object_store(bucket)
        placed = await manager.create_object_store(
            unique_bucket(), replicas=3, placement=natsobj.Placement(cluster="tagged")
        )
        await wait_healthy(placed)
        assert (await placed.status()).stream_info["config"]["placement"]["cluster"] == "tagged"
        await manager.delete_object_store(placed.bucket)


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"placement": natsobj.Placement(tags=["az:nowhere"])}, "no suitable peers"),
        ({"placement": natsobj.Placement(cluster="elsewhere")}, "no suitable peers"),
        ({"replicas": 5}, "no suitable peers"),
    ],
)
async def test_impossible_placement_is_a_clear_error(
    tagged_cluster: EmbeddedCluster, options: dict[str, object], why: str
) -> None:
    async with natsobj.connect(tagged_cluster.urls[0]) as manager:
        bucket = unique_bucket()
        with pytest.raises(natsobj.JetStreamAPIError) as caught:
            await manager.create_object_store(bucket, **options)  # type: ignore[arg-type]
        assert why in str(caught.value).lower()
        assert bucket not in await manager.object_store_names()


async def test_replicas_can_be_changed(tagged_cluster: EmbeddedCluster) -> None:
    async with natsobj.connect(tagged_cluster.urls) as manager:
        store = await manager.create_object_store(unique_bucket())
        data = os.urandom(500_000)
        await store.put("x", data)
        config = natsobj.ObjectStoreConfig(bucket=store.bucket, replicas=3)
        store = await manager.update_object_store(config)
        await wait_healthy(store)
        assert (await store.status()).replicas == 3
        assert await store.get_bytes("x") == data
        await manager.delete_object_store(store.bucket)
