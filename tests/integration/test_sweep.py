"""The orphan sweep: finds what no live meta references, purges it, spares the rest."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import anyio
import pytest

import natsobj
from natsobj import ObjectStore
from natsobj._jetstream import new_nuid
from natsobj._wire import meta_subject
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio


async def _crashed_put(store: ObjectStore, chunks: int, size: int = 1000) -> str:
    """Chunks of a put whose writer died before its meta: what a killed client leaves."""
    nuid = new_nuid()
    for _ in range(chunks):
        await store._core.js.publish(f"$O.{store.bucket}.C.{nuid}", os.urandom(size))
    return nuid


async def test_dry_run_reports_and_sweep_purges_only_orphans(store: ObjectStore) -> None:
    live = await store.put("live", os.urandom(300_000), chunk_size=100_000)
    orphan = await _crashed_put(store, chunks=3, size=1000)
    await anyio.sleep(0.05)

    report = await store.sweep_orphans(grace=0, dry_run=True)
    assert report.dry_run
    assert report.live_objects == 1
    assert report.chunk_subjects == 2
    assert [o.nuid for o in report.orphans] == [orphan]
    assert report.messages == 3
    assert report.bytes == 3000
    assert report.purged_messages == 0
    assert orphan in {s.rsplit(".", 1)[-1] for s in await chunk_counts(store)}

    report = await store.sweep_orphans(grace=timedelta(0))
    assert [(o.nuid, o.purged) for o in report.orphans] == [(orphan, True)]
    assert report.purged_messages == 3
    assert await chunk_counts(store) == {f"$O.{store.bucket}.C.{live.nuid}": 3}
    assert (await store.sweep_orphans(grace=0)).orphans == []
    assert len(await store.get_bytes("live")) == 300_000


async def test_recent_chunks_are_left_alone(store: ObjectStore) -> None:
    await _crashed_put(store, chunks=2)
    report = await store.sweep_orphans(grace=60)
    assert report.orphans == []
    assert report.recent == 1
    assert len(await chunk_counts(store)) == 1


async def test_leftovers_of_deletes_and_lost_metas_are_swept(store: ObjectStore) -> None:
    deleted = await store.put("deleted", os.urandom(5000), chunk_size=1000)
    # A delete whose purge never happened: the tombstone is written, the chunks stay.
    tombstone = deleted.model_copy(update={"deleted": True, "size": 0, "chunks": 0, "digest": ""})
    await store._core.commit(tombstone, expected=None)
    # A meta that vanished (expired by TTL, or purged by hand) before its chunks.
    lost = await store.put("lost", os.urandom(3000), chunk_size=1000)
    await store._core.js.purge(store.stream, meta_subject(store.bucket, "lost"))
    # A meta written by another client, readable only as loose JSON: its chunks stay.
    other = await store.put("other", b"kept by a lenient reading")
    raw = json.loads(other.to_payload()) | {"size": "not a number"}
    await store._core.js.publish(meta_subject(store.bucket, "other"), json.dumps(raw).encode())

    report = await store.sweep_orphans(grace=0)
    assert {o.nuid for o in report.orphans} == {deleted.nuid, lost.nuid}
    assert report.messages == 8
    assert set(await chunk_counts(store)) == {f"$O.{store.bucket}.C.{other.nuid}"}


async def test_sweep_while_writers_are_active_loses_nothing(store: ObjectStore) -> None:
    orphans = {await _crashed_put(store, chunks=2) for _ in range(3)}
    await anyio.sleep(1.2)
    written: dict[str, bytes] = {}
    swept: set[str] = set()

    async def writer(index: int) -> None:
        for round_ in range(15):
            data = os.urandom(20_000 + index * 1000 + round_)
            await store.put(f"w{index}", data, chunk_size=4096)
            written[f"w{index}"] = data

    async def sweeper() -> None:
        for _ in range(6):
            report = await store.sweep_orphans(grace=1)
            swept.update(o.nuid for o in report.orphans)
            await anyio.sleep(0.05)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for index in range(4):
                tg.start_soon(writer, index)
            tg.start_soon(sweeper)
    assert orphans <= swept
    for name, data in written.items():
        assert await store.get_bytes(name) == data
    live = {info.nuid for info in await store.list()}
    assert {s.rsplit(".", 1)[-1] for s in await chunk_counts(store)} == live


@pytest.mark.parametrize("grace", [-1, "1h", None, True])
async def test_bad_grace(store: ObjectStore, grace: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.sweep_orphans(grace=grace)  # type: ignore[arg-type]


async def test_missing_bucket(manager: natsobj.ObjectStoreManager) -> None:
    store = await manager.create_object_store("sweep_gone")
    await manager.delete_object_store("sweep_gone")
    with pytest.raises(natsobj.BucketNotFoundError):
        await store.sweep_orphans()


async def test_cli_sweep(server: natsobj.EmbeddedServer, store: ObjectStore) -> None:
    from tests.integration.test_cli import assert_error, natsobj_cli

    await store.put("live", b"live data")
    orphan = await _crashed_put(store, chunks=2, size=10)
    dry = await natsobj_cli(server.url, "sweep", store.bucket, "--dry-run", "--grace", "0s")
    assert dry.code == 0, dry.stderr
    assert f"would purge {orphan}" in dry.out
    assert "1 orphan(s), 2 chunks" in dry.out
    assert len(await chunk_counts(store)) == 2

    done = await natsobj_cli(server.url, "sweep", store.bucket, "--grace", "0", "--json")
    assert done.code == 0, done.stderr
    report = done.json()
    assert report["orphans"][0]["nuid"] == orphan
    assert report["orphans"][0]["purged"] is True
    assert (report["messages"], report["bytes"], report["grace"]) == (2, 20, 0.0)
    assert len(await chunk_counts(store)) == 1

    young = await natsobj_cli(server.url, "sweep", store.bucket, "--json")
    assert young.json()["orphans"] == []
    assert_error(await natsobj_cli(server.url, "sweep", "no_such_bucket"), 3)
    assert_error(await natsobj_cli(server.url, "sweep", "bad.name"), 2)
