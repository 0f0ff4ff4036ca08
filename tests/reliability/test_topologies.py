"""The shapes NATS is deployed in, on loopback: a hub with a leaf node in its own JetStream
domain, a bucket mirrored into the leaf's domain, and a supercluster of two clusters."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster, EmbeddedLeafTopology, EmbeddedSupercluster
from tests.conftest import unique_bucket
from tests.reliability.conftest import retry, stream_leader, wait_healthy

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


@pytest.fixture(scope="module")
async def leaf(anyio_backend: object) -> AsyncIterator[EmbeddedLeafTopology]:
    """A 3-node hub (domain ``hub``) and a leaf node (domain ``leaf``)."""
    async with EmbeddedLeafTopology(3, startup_timeout=60) as topology:
        yield topology


async def test_every_operation_in_the_hub_domain_from_the_leaf(
    leaf: EmbeddedLeafTopology,
) -> None:
    data = os.urandom(MiB + 5)
    bucket = unique_bucket()
    async with (
        natsobj.connect(leaf.leaf.url, domain="hub") as by_domain,
        natsobj.connect(leaf.leaf.url, api_prefix="$JS.hub.API") as by_prefix,
        natsobj.connect(leaf.hub.urls[1]) as at_hub,
    ):
        store = await by_domain.create_object_store(bucket, replicas=3)
        await wait_healthy(await at_hub.object_store(bucket))
        other = await by_prefix.object_store(bucket)
        async with other.watch(updates_only=True) as watcher:
            await store.put("a/big", data, chunk_size=128 * 1024)
            assert await other.get_bytes("a/big") == data
            async with other.get("a/big", start=MiB, end=MiB + 5) as part:
                assert await part.read() == data[MiB:]
            await other.update_meta("a/big", natsobj.ObjectMeta(name="a/moved"))
            await store.add_link("link", await store.get_info("a/moved"))
            assert await other.get_bytes("link") == data
            await store.copy("a/moved", "copy")
            await other.delete("a/moved")
            with anyio.fail_after(10):
                events = [await anext(watcher) for _ in range(5)]
        assert [(e.name, e.deleted) for e in events if e is not None] == [
            ("a/big", False),
            ("a/moved", False),  # a rename purges the old name's meta: no event
            ("link", False),
            ("copy", False),
            ("a/moved", True),
        ]
        assert sorted(i.name for i in await other.list()) == ["copy", "link"]
        assert (await at_hub.object_store(bucket)).bucket == bucket  # it is the hub's
        assert bucket in await by_prefix.object_store_names()
        assert (await store.status()).replicas == 3
        # The leaf's own JetStream has no such bucket: the domain is what reached the hub.
        async with natsobj.connect(leaf.leaf.url) as local:
            assert bucket not in await local.object_store_names()
        # And the other way: a hub client reaches the leaf's JetStream by its domain.
        async with natsobj.connect(leaf.hub.url, domain="leaf") as to_leaf:
            edge = await to_leaf.create_object_store(unique_bucket())
            await edge.put("x", b"at the edge")
            async with natsobj.connect(leaf.leaf.url) as local:
                assert await (await local.object_store(edge.bucket)).get_bytes("x") == (
                    b"at the edge"
                )
        await by_domain.delete_object_store(bucket)


async def test_a_mirror_in_the_leaf_domain_reads_and_refuses_writes() -> None:
    async with (
        EmbeddedLeafTopology(1) as topology,
        natsobj.connect(topology.hub.url) as hub,
        natsobj.connect(topology.leaf.url) as edge,
    ):
        origin = await hub.create_object_store("docs")
        data = os.urandom(300_000)
        await origin.put("a", data, chunk_size=64 * 1024)
        await origin.put("b", b"bee")
        mirror = await edge.create_object_store_mirror("docs", origin_domain="hub", ttl=3600)
        assert mirror.read_only
        assert not origin.read_only
        await _until_mirrored(mirror, "a", data)
        await _until_mirrored(mirror, "b", b"bee")  # the last write: the mirror is current
        async with mirror.watch(updates_only=True) as watcher:
            await origin.put("a", b"new a")
            await origin.delete("b")
            with anyio.fail_after(10):
                changed = [await anext(watcher) for _ in range(2)]
        assert [(i.name, i.deleted) for i in changed if i is not None] == [
            ("a", False),
            ("b", True),
        ]
        assert await mirror.get_bytes("a") == b"new a"
        assert [i.name for i in await mirror.list()] == ["a"]
        # The origin's purges of the replaced "a" and the deleted "b" were not mirrored:
        # the mirror's sweep does them.
        swept = await mirror.sweep_orphans(grace=0)
        assert sorted((o.bytes, o.purged) for o in swept.orphans) == [(3, True), (len(data), True)]
        assert (await mirror.sweep_orphans(grace=0)).orphans == []
        await _every_write_refused(mirror)
        await _every_write_refused(await edge.object_store("docs"))
        # The same mirror again opens it; another origin is another configuration.
        assert await edge.create_object_store_mirror("docs", origin_domain="hub", ttl=3600)
        with pytest.raises(natsobj.BucketExistsError):
            await edge.create_object_store_mirror("docs", origin_api_prefix="$JS.x.API")
        with pytest.raises(natsobj.InvalidArgumentError):
            await edge.create_object_store_mirror("docs")
        with pytest.raises(natsobj.InvalidArgumentError):
            await edge.create_object_store_mirror("docs", origin_api_prefix="$JS.API")
        # The edge keeps serving what it mirrored while the hub is gone.
        await topology.hub.stop(0)
        assert await mirror.get_bytes("a") == b"new a"
        assert (await mirror.get_info("a")).size == 5


async def _until_mirrored(mirror: natsobj.ObjectStore, name: str, data: bytes) -> None:
    with anyio.fail_after(10):
        while True:
            try:
                if await mirror.get_bytes(name) == data:
                    return
            except natsobj.ObjectNotFoundError:
                pass
            await anyio.sleep(0.05)


async def _every_write_refused(store: natsobj.ObjectStore) -> None:
    assert store.read_only
    info = await store.get_info("a")
    writes: list[Callable[[], Awaitable[object]]] = [
        lambda: store.put("x", b"y"),
        lambda: store.put_file(__file__, name="x"),
        lambda: store.delete("a"),
        lambda: store.update_meta("a", natsobj.ObjectMeta(name="z")),
        lambda: store.add_link("l", info),
        lambda: store.add_bucket_link("l", store),
        lambda: store.move("a", "z"),
        lambda: store.delete_many(["a"]),
        lambda: store.empty(),
        lambda: store.seal(),
    ]
    for write in writes:
        with pytest.raises(natsobj.ReadOnlyStoreError, match="mirror"):
            await write()
    assert await store.get_bytes("a") == b"new a"


async def test_placement_by_cluster_and_tags_across_a_supercluster() -> None:
    tags = {"east": [["az:e1"], ["az:e2"]], "west": [["az:w1"], ["az:w2"]]}
    async with (
        EmbeddedSupercluster(("east", "west"), 2, server_tags=tags) as sc,
        natsobj.connect(sc["east"].url) as east,
        natsobj.connect(sc["west"].urls[1]) as west,
    ):
        assert [s.name for s in sc["west"].servers] == ["west-n1", "west-n2"]
        placed = {
            "west": natsobj.Placement(cluster="west"),
            "west-n2": natsobj.Placement(tags=["az:w2"]),
            "east-n1": natsobj.Placement(cluster="east", tags=["az:e1"]),
        }
        for where, placement in placed.items():
            store = await east.create_object_store(unique_bucket(), placement=placement)
            leader = await stream_leader(store)
            assert leader.startswith(where), (where, leader)
            # The gateways may not carry the new stream's subjects yet: nothing stored.
            await retry(functools.partial(store.put, "x", b"placed", chunk_size=2), timeout=10)
            assert await (await west.object_store(store.bucket)).get_bytes("x") == b"placed"
        r2 = await west.create_object_store(
            unique_bucket(), replicas=2, placement=natsobj.Placement(cluster="east")
        )
        await wait_healthy(r2, replicas=2)
        info = await r2._core.js.stream_info(r2.stream, bucket=r2.bucket)
        assert info["cluster"]["name"] == "east"
        await retry(lambda: r2.put("y", os.urandom(1000)), timeout=10)
        assert len(await (await east.object_store(r2.bucket)).get_bytes("y")) == 1000


def test_topology_arguments_are_checked() -> None:
    bad: list[Callable[[], object]] = [
        lambda: EmbeddedCluster(1, domain="a.b"),
        lambda: EmbeddedCluster(1, remotes="nats-leaf://127.0.0.1:1"),
        lambda: EmbeddedLeafTopology(hub_domain="same", leaf_domain="same"),
        lambda: EmbeddedSupercluster(("one",)),
        lambda: EmbeddedSupercluster(("a", "a")),
        lambda: EmbeddedSupercluster(server_tags={"north": [["x"]]}),
    ]
    for make in bad:
        with pytest.raises(natsobj.InvalidArgumentError):
            make()
