"""``Session.extend_expiry`` against a real server: what moves for TTL, TTI and manual
objects, what a missing key answers, and that the chunks outlive the new deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

import natsobj
from natsobj import ExpirationPolicy, Usecase
from natsobj._sessions import _expiry
from tests.conftest import chunk_counts
from tests.integration.test_usecase_expiry import ttl_headers

pytestmark = pytest.mark.anyio


async def test_ttl_object_gets_a_longer_lifetime_and_its_chunks_follow(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    data = bytes(range(256)) * 2000  # several chunks
    await session.put(data, key="k", expiration_policy=ExpirationPolicy.time_to_live(1))
    before = await session.head("k")
    assert before.time_expires is not None
    assert before.time_created is not None

    after = await session.extend_expiry("k", from_now=timedelta(seconds=30))
    assert after.time_expires is not None
    assert after.time_expires - datetime.now(UTC) > timedelta(seconds=28)
    # The policy is the lifetime since creation; the creation time stays.
    assert after.time_created == before.time_created
    assert after.expiration_policy.kind == "ttl"
    assert after.expiration_policy.duration is not None
    lifetime = after.time_expires - before.time_created
    assert abs(after.expiration_policy.duration - lifetime) < timedelta(milliseconds=1)
    store = await manager.object_store(usecase.name)
    meta_ttl, chunk_ttl = await ttl_headers(store, after.info)
    assert int(meta_ttl.rstrip("s")) >= 29
    assert int(chunk_ttl.rstrip("s")) > int(meta_ttl.rstrip("s"))
    # Past the old deadline (and the old chunks' TTL would not matter: they were copied).
    await anyio.sleep(1.2)
    assert await session.get_bytes("k") == data
    assert (await session.head("k")).time_expires == after.time_expires

    # A target at or before the deadline changes nothing, in every form.
    same = await session.extend_expiry("k", from_now=1)
    assert same.info.revision == after.info.revision
    assert (await session.extend_expiry("k", at=datetime.now(UTC))).info.revision == (
        after.info.revision
    )
    creation = await session.extend_expiry("k", from_creation=timedelta(seconds=3600))
    assert creation.time_expires == before.time_created + timedelta(seconds=3600)


async def test_tti_moves_the_meta_only_and_keeps_its_duration(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    policy = ExpirationPolicy.time_to_idle(1)
    session = usecase.scope().session(manager)
    first = await session.head(await session.put(b"cache", key="c", expiration_policy=policy))
    at = datetime.now(UTC) + timedelta(seconds=20, microseconds=300)
    extended = await session.extend_expiry("c", at=at)
    assert extended.expiration_policy == policy
    assert extended.info.nuid == first.info.nuid  # the bytes were not copied
    assert extended.time_expires == at.replace(microsecond=0) + timedelta(seconds=1)
    await anyio.sleep(1.2)  # past the TTI with no read: still there
    assert await session.get_bytes("c") == b"cache"
    # A read does not shorten the extended deadline.
    assert (await session.head("c")).time_expires == extended.time_expires


async def test_manual_missing_and_bad_arguments(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"forever", key="m")
    with pytest.raises(natsobj.ExpiryExtensionRejectedError):
        await session.extend_expiry("m", from_now=60)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.extend_expiry("missing", from_now=60)
    await session.put(b"x", key="gone", expiration_policy=ExpirationPolicy.time_to_live(1))
    await session.delete("gone")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.extend_expiry("gone", from_now=60)
    for kwargs in (
        {},
        {"from_now": 1, "from_creation": 1},
        {"from_now": -1},
        {"from_now": float("nan")},
        {"at": datetime.now()},  # naive
        {"at": "tomorrow"},
        {"from_creation": True},
    ):
        with pytest.raises(natsobj.InvalidArgumentError):
            await session.extend_expiry("m", **kwargs)
    assert await session.get_bytes("m") == b"forever"


@pytest.mark.parametrize("kind", ["ttl", "tti"])
async def test_an_extension_that_loses_the_race_changes_nothing(
    manager: natsobj.ObjectStoreManager, usecase: Usecase, kind: str
) -> None:
    """An extension computed from a meta that a put replaced meanwhile: the compare-and-set
    refuses it, the newer object stays as it is, and the copy leaves no chunks behind."""
    session = usecase.scope().session(manager)
    policy = getattr(ExpirationPolicy, "time_to_live" if kind == "ttl" else "time_to_idle")(60)
    await session.put(b"old" * 1000, key="k", expiration_policy=policy)
    stale = (await session.head("k")).info
    await session.put(b"new" * 1000, key="k", expiration_policy=policy)
    newer = await session.head("k")
    store = await manager.object_store(usecase.name)
    chunks = await chunk_counts(store)
    target = _expiry.expiry_target(from_now=3600)
    with pytest.raises(natsobj.PreconditionFailedError):
        await _expiry._extend(session._context, store._core, "k", stale, target)
    after = await session.head("k")
    assert after.info.revision == newer.info.revision
    assert after.time_expires == newer.time_expires
    assert await session.get_bytes("k") == b"new" * 1000
    assert await chunk_counts(store) == chunks
