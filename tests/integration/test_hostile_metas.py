"""Metas and chunks written by a misbehaving peer (a raw nats-py client with write access
to the bucket). Whatever it publishes is a bad meta for the one name whose subject it is
on: no read, purge or listing ever reaches another object through it, and a delete or put
of that name repairs it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj import ObjectMeta, ObjectStore
from natsobj._wire import encode_name
from tests.conftest import chunk_counts, publish_meta, replace_chunks

pytestmark = pytest.mark.anyio

BAD = natsobj.BadObjectMetaError
VICTIM = os.urandom(3000)


async def _victim(store: ObjectStore) -> natsobj.ObjectInfo:
    return await store.put("victim", VICTIM, chunk_size=1000)


async def _assert_unharmed(store: ObjectStore, victim: natsobj.ObjectInfo) -> None:
    assert await store.get_bytes("victim") == VICTIM
    counts = await chunk_counts(store)
    assert counts[f"$O.{store.bucket}.C.{victim.nuid}"] == 3


async def _initial_names(store: ObjectStore) -> list[str]:
    names: list[str] = []
    with anyio.fail_after(10):
        async with store.watch() as watcher:
            async for info in watcher:
                if info is None:
                    return names
                names.append(info.name)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- NUIDs


@pytest.mark.parametrize(
    "nuid",
    [">", "*", "C.>", "victim.*", "a b", "\t", "x" * 21, "x" * 23, "-" * 22, "é" * 22, ""],
)
async def test_a_nuid_that_is_not_one_is_a_bad_meta_everywhere(
    store: ObjectStore, peer: JetStreamContext, nuid: str
) -> None:
    victim = await _victim(store)
    evil = await store.put("evil", b"e" * 10)
    hostile = json.loads(evil.to_payload()) | {"nuid": nuid}

    async def corrupt() -> None:
        await publish_meta(peer, store, "evil", hostile)

    await corrupt()
    with pytest.raises(BAD) as caught:
        await store.get_info("evil")
    assert (caught.value.bucket, caught.value.name) == (store.bucket, "evil")
    with pytest.raises(BAD):
        await store.get_bytes("evil")
    with pytest.raises(BAD):
        async with store.get("evil", start=1, end=5) as result:
            await result.read()
    with pytest.raises(BAD):
        await store.update_meta("evil", ObjectMeta(name="evil", description="d"))
    with pytest.raises(BAD):
        await store.copy("evil", "copied")
    with pytest.raises(BAD):
        await store.move("evil", "moved")
    assert [i.name for i in await store.list(show_deleted=True)] == ["victim"]
    assert [i.name for i in (await store.list_page()).objects] == ["victim"]
    assert await _initial_names(store) == ["victim"]
    report = await store.sweep_orphans(grace=0)
    assert [o.nuid for o in report.orphans] == [evil.nuid]  # the bad meta's old chunks
    await _assert_unharmed(store, victim)

    # A delete repairs the name with a tombstone, and purges nothing through it.
    tombstone = await store.delete("evil")
    assert (tombstone.name, tombstone.deleted, tombstone.nuid) == ("evil", True, "")
    await _assert_unharmed(store, victim)
    # So does a put over it.
    await corrupt()
    await store.put("evil", b"fixed")
    assert await store.get_bytes("evil") == b"fixed"
    await _assert_unharmed(store, victim)
    # And a delete by prefix.
    await corrupt()
    [deleted] = await store.delete_prefix("ev")
    assert deleted.ok
    await _assert_unharmed(store, victim)


async def test_wildcard_chunk_subjects_are_never_swept_by_wildcard(
    store: ObjectStore, peer: JetStreamContext
) -> None:
    # The server stores messages on wildcard-looking subjects literally; a purge filtered
    # by one would take every chunk in the bucket.
    for token in ("*", ">", "x.*", "x.y"):
        await peer.publish(f"$O.{store.bucket}.C.{token}", b"junk")
    orphan = "O" * 22
    await peer.publish(f"$O.{store.bucket}.C.{orphan}", b"real orphan")
    victim = await _victim(store)
    report = await store.sweep_orphans(grace=0)
    assert [o.nuid for o in report.orphans] == [orphan]
    assert all(o.purged for o in report.orphans)
    await _assert_unharmed(store, victim)
    counts = await chunk_counts(store)
    assert counts[f"$O.{store.bucket}.C.*"] == 1
    assert f"$O.{store.bucket}.C.{orphan}" not in counts


# --------------------------------------------------------------------------- digests


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


UNUSABLE_DIGESTS: list[tuple[str, Callable[[str, bytes], Any]]] = [
    ("truncated", lambda digest, raw: digest[:-6]),
    ("31 bytes", lambda digest, raw: "SHA-256=" + _b64(raw[:31])),
    ("33 bytes", lambda digest, raw: "SHA-256=" + _b64(raw + b"x")),
    ("62 hex digits", lambda digest, raw: "SHA-256=" + raw.hex()[:62]),
    ("MD5", lambda digest, raw: "MD5=" + _b64(raw[:16])),
    ("SHA-512", lambda digest, raw: "SHA-512=" + _b64(hashlib.sha512(raw).digest())),
    ("no algorithm", lambda digest, raw: _b64(raw)),
    ("prefix only", lambda digest, raw: "SHA-256="),
    ("not a string", lambda digest, raw: 12345),
    ("missing", lambda digest, raw: None),
]


@pytest.mark.parametrize("size", [500, 3000], ids=["one chunk", "three chunks"])
@pytest.mark.parametrize(
    ("case", "spoil"), UNUSABLE_DIGESTS, ids=[case for case, _ in UNUSABLE_DIGESTS]
)
async def test_a_digest_that_cannot_be_sha256_never_turns_verification_off(
    store: ObjectStore,
    peer: JetStreamContext,
    case: str,
    spoil: Callable[[str, bytes], Any],
    size: int,
) -> None:
    data = os.urandom(size)
    info = await store.put("t", data, chunk_size=1000)
    tampered = bytes(b ^ 0xFF for b in data)
    await replace_chunks(peer, store, info.nuid, [tampered[i : i + 1000] for i in (0, 1000, 2000)])
    raw = json.loads(info.to_payload())
    digest = spoil(info.digest, hashlib.sha256(data).digest())
    if digest is None:
        del raw["digest"]
    else:
        raw["digest"] = digest
    await publish_meta(peer, store, "t", raw)
    with pytest.raises(BAD):
        await store.get_bytes("t")
    with pytest.raises(BAD):
        async with store.get("t") as result:
            await result.read()
    assert "t" not in [i.name for i in await store.list()]


DIGEST_FORMS: list[tuple[str, Callable[[bytes], str]]] = [
    ("canonical", lambda raw: "SHA-256=" + _b64(raw)),
    ("unpadded", lambda raw: "SHA-256=" + _b64(raw).rstrip("=")),
    ("standard base64", lambda raw: "SHA-256=" + base64.b64encode(raw).decode()),
    ("hex", lambda raw: "SHA-256=" + raw.hex()),
    ("lowercase prefix", lambda raw: "sha-256=" + _b64(raw)),
]


@pytest.mark.parametrize(("case", "form"), DIGEST_FORMS, ids=[case for case, _ in DIGEST_FORMS])
async def test_digests_as_real_peers_write_them_are_read_and_checked(
    store: ObjectStore, peer: JetStreamContext, case: str, form: Callable[[bytes], str]
) -> None:
    data = os.urandom(3000)
    info = await store.put("t", data, chunk_size=1000)
    raw = json.loads(info.to_payload()) | {"digest": form(hashlib.sha256(data).digest())}
    await publish_meta(peer, store, "t", raw)
    assert await store.get_bytes("t") == data
    await replace_chunks(peer, store, info.nuid, [data[:1000], bytes(1000), data[2000:]])
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_bytes("t")


async def test_a_wrong_chunk_size_never_shifts_a_range(
    store: ObjectStore, peer: JetStreamContext
) -> None:
    data = os.urandom(3000)
    info = await store.put("t", data, chunk_size=1000)
    # 1001 still gives 3 chunks for 3000 bytes, so a range is located by arithmetic.
    raw = json.loads(info.to_payload()) | {"options": {"max_chunk_size": 1001}}
    await publish_meta(peer, store, "t", raw)
    assert await store.get_bytes("t") == data  # a whole read is verified by its digest
    with pytest.raises(natsobj.IncompleteObjectError):
        async with store.get("t", start=1500, end=1600) as result:
            await result.read()


# --------------------------------------------------------------------------- names


async def test_a_meta_naming_another_object_is_a_bad_meta_for_its_subject(
    store: ObjectStore, peer: JetStreamContext
) -> None:
    await store.put("a", b"aaa")
    b = await store.put("b", b"bbb")
    # a's subject holds b's meta (same name, same chunks): once listed as a second "b".
    claims_b = json.loads(b.to_payload())

    async def corrupt() -> None:
        await publish_meta(peer, store, "a", claims_b)

    await corrupt()
    # The same meta on a subject with an extra token, ending in b's.
    await peer.publish(
        f"$O.{store.bucket}.M.x.{encode_name('b')}", b.to_payload(), headers={"Nats-Rollup": "sub"}
    )
    assert [i.name for i in await store.list(show_deleted=True)] == ["b"]
    assert [i.name for i in (await store.list_page(show_deleted=True)).objects] == ["b"]
    assert await _initial_names(store) == ["b"]
    with pytest.raises(BAD) as caught:
        await store.get_info("a")
    assert caught.value.name == "a"
    assert (await store.get_info("b")).revision == b.revision
    # The subject's name can be repaired: deleted (it was PreconditionFailedError forever)...
    tombstone = await store.delete("a")
    assert (tombstone.name, tombstone.deleted) == ("a", True)
    assert (await store.get_info("a", show_deleted=True)).deleted
    assert await store.get_bytes("b") == b"bbb"  # b's chunks were not purged through a
    # ... or put.
    await corrupt()
    await store.put("a", b"new a")
    assert await store.get_bytes("a") == b"new a"
    assert await store.get_bytes("b") == b"bbb"
    assert sorted(i.name for i in await store.list()) == ["a", "b"]


# --------------------------------------------------------------------------- links and buckets


@pytest.mark.parametrize(
    "fields",
    [
        {"options": {"link": {"bucket": "*", "name": "victim"}}},
        {"options": {"link": {"bucket": ">"}}},
        {"options": {"link": {"bucket": "a.b", "name": "victim"}}},
        {"options": {"link": {"bucket": "SAME", "name": "\ud800"}}},
        {"options": {"link": {"bucket": "SAME", "name": "x" * 3000}}},
        {"bucket": "*"},
        {"size": -1},
        {"chunks": -3},
        {"options": {"max_chunk_size": 0}},
    ],
    ids=[
        "link bucket *",
        "bucket link >",
        "dotted link bucket",
        "surrogate link name",
        "huge link name",
        "bucket *",
        "negative size",
        "negative chunks",
        "zero chunk size",
    ],
)
async def test_fields_that_become_subjects_or_sizes_are_checked(
    store: ObjectStore, peer: JetStreamContext, fields: dict[str, Any]
) -> None:
    victim = await _victim(store)
    info = await store.put("l", b"l" * 10)
    raw = json.loads(info.to_payload()) | fields
    if "options" in fields and "link" in fields["options"]:
        raw |= {"size": 0, "chunks": 0, "digest": ""}
        link = raw["options"]["link"]
        if link["bucket"] == "SAME":
            link["bucket"] = store.bucket
    await publish_meta(peer, store, "l", raw)
    with pytest.raises(BAD):
        await store.get_info("l")
    with pytest.raises(BAD):
        await store.get_bytes("l")
    assert [i.name for i in await store.list()] == ["victim"]
    await store.delete("l")
    await _assert_unharmed(store, victim)


# --------------------------------------------------------------------------- sessions


async def test_sessions_treat_a_hostile_meta_as_bad(
    manager: natsobj.ObjectStoreManager, usecase: natsobj.Usecase, peer: JetStreamContext
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    await session.put(VICTIM, "victim")
    await session.put(b"k" * 10, "k")
    store = (await session.bucket()).store
    info = await store.get_info(session.object_name("k"))
    await publish_meta(peer, store, info.name, json.loads(info.to_payload()) | {"nuid": ">"})
    with pytest.raises(BAD):
        await session.get_bytes("k")
    with pytest.raises(BAD):
        await session.head("k")
    assert [m.key for m in await session.list()] == ["victim"]
    await session.delete("k")
    assert await session.get_bytes("victim") == VICTIM
