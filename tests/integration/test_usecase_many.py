"""The Many API against a real server: mixed results, error_for_failures, bounds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

import natsobj
from natsobj import Usecase
from natsobj._sessions._ops import run_put

pytestmark = pytest.mark.anyio


@pytest.fixture
async def session(manager: natsobj.ObjectStoreManager) -> AsyncIterator[natsobj.Session]:
    name = f"m{uuid.uuid4().hex[:12]}"
    yield Usecase(name).for_project(1, 2).session(manager)
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def test_mixed_successes_and_failures(session: natsobj.Session) -> None:
    await session.put(b"existing", key="there", origin="10.0.0.1")
    many = (
        session.many(max_concurrency=3)
        .put(b"one", key="new-1", metadata={"n": "1"})
        .put(b"two")
        .get("there")
        .get("missing")
        .head("there")
        .head("missing")
        .delete("gone-already")
    )
    assert len(many) == 7
    async with many.send() as results:
        seen = [result async for result in results]
    assert sorted(r.index for r in seen) == list(range(7))
    by_index = {r.index: r for r in seen}
    put1, put2, get_ok, get_missing, head_ok, head_missing, delete = (by_index[i] for i in range(7))
    assert (put1.operation, put1.key, put1.ok) == ("put", "new-1", True)
    assert put1.metadata is not None
    assert put1.metadata.custom == {"n": "1"}
    assert put2.ok
    assert uuid.UUID(put2.key).version == 4  # generated when queued
    assert (get_ok.operation, get_ok.payload) == ("get", b"existing")
    assert get_ok.metadata is not None
    assert get_ok.metadata.origin == "10.0.0.1"
    assert head_ok.metadata is not None
    assert head_ok.payload is None
    for failed in (get_missing, head_missing):
        assert not failed.ok
        assert failed.key == "missing"
        assert isinstance(failed.error, natsobj.ObjectNotFoundError)
    assert delete.ok
    assert delete.operation == "delete"
    assert await session.get_bytes(put2.key) == b"two"


async def test_error_for_failures_carries_every_failure(session: natsobj.Session) -> None:
    await session.put(b"x", key="a")
    many = session.many().delete("a").get("nope-1").head("nope-2").put(b"y", key="b")
    with pytest.raises(natsobj.ManyOperationsError) as caught:
        await many.error_for_failures()
    failures = caught.value.failures
    assert sorted((f.operation, f.key) for f in failures) == [
        ("get", "nope-1"),
        ("head", "nope-2"),
    ]
    assert all(isinstance(f.error, natsobj.ObjectNotFoundError) for f in failures)
    assert "2 of the batch's operations failed" in str(caught.value)
    # The successes still happened.
    assert await session.get_bytes("b") == b"y"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.head("a")

    await session.many().put(b"z", key="c").get("b").error_for_failures()  # no failure
    async with session.many().send() as results:  # an empty batch
        assert [r async for r in results] == []


async def test_concurrency_is_bounded(
    session: natsobj.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = peak = 0
    original = run_put

    async def tracked(context: Any, request: Any) -> natsobj.ObjectMetadata:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await anyio.sleep(0.02)
            return await original(context, request)
        finally:
            running -= 1

    monkeypatch.setattr("natsobj._sessions._many.run_put", tracked)  # what a batch runs
    many = session.many(max_concurrency=4)
    for i in range(20):
        many.put(f"object {i}".encode(), key=f"k{i}")
    await many.error_for_failures()
    assert peak == 4
    assert len(await session.list()) == 20


async def test_leaving_early_cancels_the_rest(session: natsobj.Session) -> None:
    many = session.many(max_concurrency=1)
    for i in range(50):
        many.put(b"x", key=f"k{i}")
    with anyio.fail_after(10):
        async with many.send() as results:
            first = await anext(aiter(results))
    assert first.ok
    assert len(await session.list()) < 50


async def test_an_error_in_the_block_comes_out_as_itself(session: natsobj.Session) -> None:
    many = session.many(max_concurrency=1)
    for i in range(50):
        many.put(b"x", key=f"k{i}")
    results = many.send()

    async def fail_after_the_first() -> None:
        async with results:
            assert (await anext(aiter(results))).ok
            raise LookupError("mine")

    with anyio.fail_after(10), pytest.raises(LookupError, match="mine"):  # not a group
        await fail_after_the_first()
    assert len(await session.list()) < 50
    with pytest.raises(natsobj.NotOpenError):
        await anext(aiter(results))


async def test_bad_input_is_refused_when_queued(session: natsobj.Session) -> None:
    many = session.many()
    bad_calls: list[Callable[[], object]] = [
        lambda: many.put(b"x", key=""),
        lambda: many.put(b"x", compression="lz4"),  # type: ignore[arg-type]
        lambda: many.put(b"x", metadata={"k": 1}),  # type: ignore[dict-item]
        lambda: many.put(b"x", compresion="none"),  # type: ignore[call-arg]
        lambda: many.get(""),
        lambda: many.get("k", accept_encoding="br"),
        lambda: many.head(""),
        lambda: many.delete(None),  # type: ignore[arg-type]
        lambda: session.many(max_concurrency=0),
        lambda: session.many(max_concurrency=True),
        lambda: session.many(max_concurrency=1001),
    ]
    for bad in bad_calls:
        with pytest.raises(natsobj.InvalidArgumentError):
            bad()
    assert len(many) == 0


async def test_default_concurrency_is_set_on_the_connection(
    server: natsobj.EmbeddedServer,
) -> None:
    async with natsobj.connect(server.url, many_concurrency=2) as manager:
        session = Usecase("configured").scope().session(manager)
        assert manager.many_concurrency == 2
        assert session.many().max_concurrency == 2
        assert session.many(max_concurrency=7).max_concurrency == 7
    for bad in (0, -1, 2.5, True):
        with pytest.raises(natsobj.InvalidArgumentError):
            async with natsobj.connect(server.url, many_concurrency=bad):  # type: ignore[arg-type]
                pass


async def test_prefetch_reads_metas_in_batches(session: natsobj.Session) -> None:
    many = session.many(max_concurrency=32)
    keys = [f"k{i}" for i in range(1030)]  # more than one multi_last request (1024)
    for key in keys:
        many.put(key.encode(), key=key, compression="none")
    await many.error_for_failures()
    await session.delete("k0")
    found = await session.prefetch([*keys, "missing"])
    assert set(found) == set(keys)  # "missing" has no meta
    assert found["k0"].deleted  # its tombstone
    assert found["k1029"].name == session.object_name("k1029")
    assert found["k5"].size == 2
    # A batch answers from the prefetched metas; the deleted key is not found.
    many = session.many().get("k0").get("k7").head("k1029")
    async with many.send() as results:
        outcome = {r.operation + r.key: r async for r in results}
    assert isinstance(outcome["getk0"].error, natsobj.ObjectNotFoundError)
    assert outcome["getk7"].payload == b"k7"
    assert outcome["headk1029"].ok
