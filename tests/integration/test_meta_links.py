"""get_info, update_meta, delete and links, with the rules nats.go enforces."""

from __future__ import annotations

import json
from typing import Any

import pytest

import natsobj
from natsobj import ObjectMeta, ObjectStore, ObjectStoreManager
from tests.conftest import chunk_counts, subject_counts

pytestmark = pytest.mark.anyio


async def test_get_info_missing_and_deleted(store: ObjectStore) -> None:
    with pytest.raises(natsobj.ObjectNotFoundError) as caught:
        await store.get_info("nope")
    assert isinstance(caught.value, FileNotFoundError)
    assert caught.value.name == "nope"
    assert caught.value.bucket == store.bucket
    await store.put("d", b"x")
    tombstone = await store.delete("d")
    assert tombstone.deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("d")
    info = await store.get_info("d", show_deleted=True)
    assert info.deleted
    assert info.size == 0
    assert info.chunks == 0
    assert info.digest == ""
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_bytes("d")
    assert await store.get_bytes("d", show_deleted=True) == b""


async def test_delete_purges_chunks_and_is_idempotent(store: ObjectStore) -> None:
    await store.put("d", b"x" * 300_000)
    await store.delete("d")
    assert await chunk_counts(store) == {}
    again = await store.delete("d")
    assert again.deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.delete("never-existed")


async def test_update_meta_in_place(store: ObjectStore) -> None:
    put = await store.put(ObjectMeta(name="u", description="old", metadata={"a": "1"}), b"data")
    updated = await store.update_meta(
        "u", ObjectMeta(name="u", description="new", headers={"H": ["v"]})
    )
    assert updated.description == "new"
    info = await store.get_info("u")
    assert (info.description, info.headers, info.metadata) == ("new", {"H": ["v"]}, {})
    assert (info.nuid, info.digest, info.size) == (put.nuid, put.digest, put.size)
    assert await store.get_bytes("u") == b"data"


async def test_rename(store: ObjectStore) -> None:
    await store.put("old", b"payload")
    await store.update_meta("old", ObjectMeta(name="new", description="moved"))
    assert await store.get_bytes("new") == b"payload"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("old", show_deleted=True)  # the old meta subject is purged
    assert [i.name for i in await store.list()] == ["new"]


@pytest.mark.parametrize("racer", ["put", "delete"])
async def test_a_write_racing_a_rename_is_kept_and_the_rename_taken_back(
    server: natsobj.EmbeddedServer,
    store: ObjectStore,
    monkeypatch: pytest.MonkeyPatch,
    racer: str,
) -> None:
    # Another writer writes "old" after the rename published "new" and before it purged
    # "old". The purge takes only the meta it renamed, so that write stays; it purged the
    # chunks "new" points to, so the rename is taken back.
    await store.put("old", b"renamed")
    purge = store._core.js.purge

    async def racer_first(*args: Any, **kwargs: Any) -> int:
        async with natsobj.connect(server.url) as other:
            other_store = await other.object_store(store.bucket)
            if racer == "put":
                await other_store.put("old", b"racer")
            else:
                await other_store.delete("old")
        return await purge(*args, **kwargs)

    monkeypatch.setattr(store._core.js, "purge", racer_first)
    with pytest.raises(natsobj.PreconditionFailedError, match="taken back"):
        await store.update_meta("old", ObjectMeta(name="new"))
    monkeypatch.undo()
    if racer == "put":
        assert await store.get_bytes("old") == b"racer"
    else:
        assert (await store.get_info("old", show_deleted=True)).deleted
    gone = await store.get_info("new", show_deleted=True)
    assert gone.deleted
    assert gone.nuid == ""  # no client can purge chunks through this tombstone
    assert [i.name for i in await store.list()] == (["old"] if racer == "put" else [])
    assert set(await chunk_counts(store)) <= {
        f"$O.{store.bucket}.C.{i.nuid}" for i in await store.list()
    }


async def test_rename_onto_live_object_refused(store: ObjectStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    with pytest.raises(natsobj.ObjectExistsError):
        await store.update_meta("a", ObjectMeta(name="b"))
    assert await store.get_bytes("a") == b"1"


async def test_rename_onto_deleted_object_allowed(store: ObjectStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    await store.update_meta("a", ObjectMeta(name="b"))
    assert await store.get_bytes("b") == b"1"


async def test_update_meta_of_missing_or_deleted(store: ObjectStore) -> None:
    with pytest.raises(natsobj.UpdateMetaDeletedError):
        await store.update_meta("nope", ObjectMeta(name="nope"))
    await store.put("d", b"x")
    await store.delete("d")
    with pytest.raises(natsobj.UpdateMetaDeletedError):
        await store.update_meta("d", ObjectMeta(name="d", description="x"))


async def test_unknown_meta_keys_survive(store: ObjectStore) -> None:
    info = await store.put("k", b"abc")
    # Another client's meta with keys natsobj does not know.
    raw = json.loads(info.to_payload())
    raw["x-future"] = {"nested": [1, 2]}
    raw["options"]["x-opt"] = True
    subject = f"$O.{store.bucket}.M.{natsobj._wire.encode_name('k')}"
    await store._core.js.publish(subject, json.dumps(raw).encode(), headers={"Nats-Rollup": "sub"})
    await store.update_meta("k", ObjectMeta(name="k", description="d"))
    after_update = await store._core.js.last_msg(store.stream, subject, direct=False)
    assert after_update is not None
    assert json.loads(after_update.data)["x-future"] == {"nested": [1, 2]}
    assert json.loads(after_update.data)["options"]["x-opt"] is True
    await store.delete("k")
    after_delete = await store._core.js.last_msg(store.stream, subject, direct=False)
    assert after_delete is not None
    payload = json.loads(after_delete.data)
    assert payload["x-future"] == {"nested": [1, 2]}
    assert payload["deleted"] is True


async def test_object_link(store: ObjectStore) -> None:
    target = await store.put("target", b"linked bytes")
    link = await store.add_link("lnk", target)
    assert link.is_link
    assert link.link is not None
    assert (link.link.bucket, link.link.name) == (store.bucket, "target")
    assert link.nuid
    assert link.size == 0
    assert await store.get_bytes("lnk") == b"linked bytes"
    async with store.get("lnk") as result:
        assert result.info.name == "target"
    # Replacing a link with a link is allowed.
    other = await store.put("other", b"other")
    await store.add_link("lnk", other)
    assert await store.get_bytes("lnk") == b"other"


async def test_cross_bucket_link(store: ObjectStore, manager: ObjectStoreManager) -> None:
    from tests.conftest import unique_bucket

    other = await manager.create_object_store(unique_bucket())
    try:
        target = await other.put("there", b"far away")
        await store.add_link("here", target)
        assert await store.get_bytes("here") == b"far away"
        blink = await store.add_bucket_link("everything", other)
        assert blink.link is not None
        assert blink.link.is_bucket_link
        assert blink.link.bucket == other.bucket
        with pytest.raises(natsobj.LinkIsBucketError):
            await store.get_bytes("everything")
    finally:
        await manager.delete_object_store(other.bucket)


async def test_link_rules(store: ObjectStore) -> None:
    target = await store.put("t", b"x")
    link = await store.add_link("l", target)
    with pytest.raises(natsobj.NoLinkToLinkError):
        await store.add_link("l2", link)
    await store.put("existing", b"y")
    with pytest.raises(natsobj.ObjectExistsError):
        await store.add_link("existing", target)
    tombstone = await store.delete("t")
    with pytest.raises(natsobj.NoLinkToDeletedError):
        await store.add_link("l3", tombstone)
    with pytest.raises(natsobj.LinkNotAllowedError):
        await store.put(
            ObjectMeta(
                name="p",
                options=natsobj.ObjectMetaOptions(link=natsobj.ObjectLink(bucket="b", name="n")),
            ),
            b"",
        )


async def test_link_to_deleted_target_reads_as_missing(store: ObjectStore) -> None:
    target = await store.put("t", b"x")
    await store.add_link("l", target)
    await store.delete("t")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_bytes("l")


async def test_js_style_link_without_nuid(store: ObjectStore) -> None:
    # nats.js link(): no nuid, no size, no rollup header.
    await store.put("obj1", b"js linked")
    payload = json.dumps(
        {
            "name": "lnk1",
            "bucket": store.bucket,
            "options": {"link": {"bucket": store.bucket, "name": "obj1"}},
        }
    ).encode()
    await store._core.js.publish(
        f"$O.{store.bucket}.M.{natsobj._wire.encode_name('lnk1')}", payload
    )
    assert await store.get_bytes("lnk1") == b"js linked"
    info = await store.get_info("lnk1")
    assert info.is_link
    assert info.nuid == ""
    await store.delete("lnk1")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("lnk1")


async def test_meta_without_rollup_dedupes_in_list(store: ObjectStore) -> None:
    # nats.js update() publishes without Nats-Rollup, so old meta messages remain.
    info = await store.put("dup", b"abc")
    subject = f"$O.{store.bucket}.M.{natsobj._wire.encode_name('dup')}"
    newer = json.loads(info.to_payload()) | {"description": "second"}
    await store._core.js.publish(subject, json.dumps(newer).encode())
    assert (await subject_counts(store, subject))[subject] == 2
    listed = await store.list()
    assert [(i.name, i.description) for i in listed] == [("dup", "second")]
