"""Bucket management: create (idempotent), bind, update, list, delete, status."""

from __future__ import annotations

from datetime import timedelta

import pytest

import natsobj
from natsobj import ObjectStoreConfig, ObjectStoreManager
from tests.conftest import unique_bucket

pytestmark = pytest.mark.anyio


async def test_create_with_every_field(manager: ObjectStoreManager) -> None:
    bucket = unique_bucket()
    store = await manager.create_object_store(
        bucket,
        description="all fields",
        ttl=3600,
        max_bytes=10 * 1024 * 1024,
        storage="memory",
        replicas=1,
        compression=True,
        metadata={"team": "x"},
    )
    status = await store.status()
    assert status.bucket == bucket
    assert status.description == "all fields"
    assert status.ttl == timedelta(hours=1)
    assert status.storage == "memory"
    assert status.replicas == 1
    assert status.compressed
    assert status.metadata == {"team": "x"}
    assert status.backing_store == "JetStream"
    assert not status.sealed
    config = status.stream_info["config"]
    assert config["max_bytes"] == 10 * 1024 * 1024
    assert config["discard"] == "new"
    assert config["allow_rollup_hdrs"]
    assert config["allow_direct"]
    assert config["subjects"] == [f"$O.{bucket}.C.>", f"$O.{bucket}.M.>"]
    await manager.delete_object_store(bucket)


async def test_create_from_config_object(manager: ObjectStoreManager) -> None:
    config = ObjectStoreConfig(bucket=unique_bucket(), ttl=timedelta(minutes=5))
    store = await manager.create_object_store(config)
    assert (await store.status()).ttl == timedelta(minutes=5)
    await manager.delete_object_store(config.bucket)


async def test_create_existing(manager: ObjectStoreManager) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket, description="d")
    again = await manager.create_object_store(bucket, description="d")
    assert again.bucket == bucket
    with pytest.raises(natsobj.BucketExistsError):
        await manager.create_object_store(bucket, description="different")
    updated = await manager.update_object_store(
        ObjectStoreConfig(bucket=bucket, description="different", metadata={"k": "v"})
    )
    status = await updated.status()
    assert (status.description, status.metadata) == ("different", {"k": "v"})
    await manager.delete_object_store(bucket)


async def test_names_bind_delete(manager: ObjectStoreManager) -> None:
    buckets = sorted(unique_bucket() for _ in range(3))
    for bucket in buckets:
        await manager.create_object_store(bucket)
    names = await manager.object_store_names()
    assert set(buckets) <= set(names)
    statuses = await manager.object_store_statuses()
    assert set(buckets) <= {s.bucket for s in statuses}
    store = await manager.object_store(buckets[0])
    await store.put("x", b"1")
    assert await (await manager.object_store(buckets[0])).get_bytes("x") == b"1"
    for bucket in buckets:
        await manager.delete_object_store(bucket)
    assert not set(buckets) & set(await manager.object_store_names())


async def test_bad_config_values(manager: ObjectStoreManager) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.create_object_store(unique_bucket(), ttl=-1)
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.create_object_store(unique_bucket(), replicas=0)
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.create_object_store(unique_bucket(), storage="tape")
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.create_object_store(unique_bucket(), max_bytes=-5)


async def test_replicas_beyond_cluster(manager: ObjectStoreManager) -> None:
    with pytest.raises(natsobj.JetStreamAPIError):
        await manager.create_object_store(unique_bucket(), replicas=3)


async def test_max_bytes_hit_mid_put_leaves_nothing(manager: ObjectStoreManager) -> None:
    store = await manager.create_object_store(unique_bucket(), max_bytes=1024 * 1024)
    await store.put("small", b"fits")
    with pytest.raises(natsobj.ObjectStoreError):
        await store.put("big", b"x" * (3 * 1024 * 1024))
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("big")
    assert [i.name for i in await store.list()] == ["small"]
    status = await store.status()
    assert status.stream_info["state"]["messages"] == 2  # small's chunk and meta
    await manager.delete_object_store(store.bucket)


@pytest.mark.parametrize(("refusals", "created"), [(2, True), (3, False)])
async def test_create_tries_again_after_the_servers_store_failure(
    manager: ObjectStoreManager, monkeypatch: pytest.MonkeyPatch, refusals: int, created: bool
) -> None:
    # nats-server answers any failure to set up a stream's storage with err_code 10049 and
    # the cause only in its log; some are passing, so create tries 3 times in all.
    real_api = manager.js.api
    creates: list[str] = []

    async def refusing_api(endpoint: str, *args: object, **kwargs: object) -> dict[str, object]:
        if endpoint.startswith("STREAM.CREATE."):
            creates.append(endpoint)
            if len(creates) <= refusals:
                raise natsobj.JetStreamAPIError(
                    "error creating store for stream", code=500, err_code=10049
                )
        return await real_api(endpoint, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(manager.js, "api", refusing_api)
    bucket = unique_bucket()
    if created:
        store = await manager.create_object_store(bucket)
        assert (await store.status()).bucket == bucket
    else:
        with pytest.raises(natsobj.JetStreamAPIError) as refused:
            await manager.create_object_store(bucket)
        assert refused.value.err_code == 10049
        assert bucket not in await manager.object_store_names()
    assert len(creates) == min(refusals + 1, 3)
