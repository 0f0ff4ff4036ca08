"""The bucket core against a real server: THE compare-and-set meta write, the retry
setting (``cas_attempts``), results as anyio byte streams, watchers' ``aclose``, and put
options checked by name."""

from __future__ import annotations

import os

import anyio
import pytest
from anyio.abc import ByteReceiveStream
from anyio.streams.buffered import BufferedByteReceiveStream

import natsobj
from natsobj import ObjectInfo, ObjectStore, ObjectStoreManager
from tests.conftest import unique_bucket

pytestmark = pytest.mark.anyio


async def test_commit_is_a_compare_and_set_on_the_meta(store: ObjectStore) -> None:
    info = await store.put("c", b"data")
    described = info.model_copy(update={"description": "new"})
    with pytest.raises(natsobj.PreconditionFailedError):
        await store._core.commit(described, expected=info.revision + 1000)
    assert (await store.get_info("c")).description == ""
    committed = await store._core.commit(described, expected=info.revision)
    assert committed.revision > info.revision
    stored = await store.get_info("c")
    assert (stored.description, stored.revision) == ("new", committed.revision)
    assert await store.get_bytes("c") == b"data"


async def _racing_deletes(manager: ObjectStoreManager, races: int) -> tuple[int, ObjectInfo]:
    """Delete "k" while another client writes it between each of the first ``races``
    reads and the compare-and-set that follows; (reads, the delete's result)."""
    bucket = unique_bucket()
    store = await manager.create_object_store(bucket)
    try:
        racer = await manager.object_store(bucket)
        await store.put("k", b"v")
        core, reads = store._core, 0
        read = core.current

        async def read_then_race(
            name: str, *, strict: bool = False
        ) -> tuple[ObjectInfo | None, int]:
            nonlocal reads
            found = await read(name, strict=strict)
            reads += 1
            if reads <= races:
                await racer.put("k", os.urandom(10))  # a real write, after the read
            return found

        core.current = read_then_race  # type: ignore[method-assign]
        try:
            deleted = await store.delete("k")
        except natsobj.PreconditionFailedError:
            return reads, await store.get_info("k")
        return reads, deleted
    finally:
        await manager.delete_object_store(bucket)


async def test_cas_attempts_bound_a_write_that_keeps_losing(server: natsobj.EmbeddedServer) -> None:
    async with natsobj.connect(server.url) as connected:
        manager = ObjectStoreManager(connected.nc, cas_attempts=3)
        assert manager.cas_attempts == 3
        reads, current = await _racing_deletes(manager, races=10)
        assert reads == 3  # three compare-and-sets, all lost: the racer's object stands
        assert not current.deleted
        reads, deleted = await _racing_deletes(manager, races=2)
        assert reads == 3  # lost twice, won the third time
        assert deleted.deleted
        # Set on the manager: buckets opened afterwards use it.
        manager.cas_attempts = 1
        reads, current = await _racing_deletes(manager, races=1)
        assert (reads, current.deleted) == (1, False)


@pytest.mark.parametrize("attempts", [0, True, "3"])
async def test_cas_attempts_is_checked(manager: ObjectStoreManager, attempts: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        ObjectStoreManager(manager.nc, cas_attempts=attempts)  # type: ignore[arg-type]


async def test_a_result_is_an_anyio_byte_stream(store: ObjectStore) -> None:
    data = os.urandom(300_000)
    await store.put("b", data, chunk_size=100_000)
    async with store.get("b") as result:
        assert isinstance(result, ByteReceiveStream)
        assert await result.receive(1000) == data[:1000]
        assert len(await result.receive()) == 65536  # anyio's default size
        rest = [chunk async for chunk in result]
        # Iterating goes on with what receive left of the chunk, then whole chunks.
        assert [len(chunk) for chunk in rest] == [100_000 - 1000 - 65536, 100_000, 100_000]
        assert b"".join(rest) == data[1000 + 65536 :]
        with pytest.raises(anyio.EndOfStream):
            await result.receive()
    async with store.get("b", start=5) as result:
        assert await BufferedByteReceiveStream(result).receive_exactly(250_000) == data[5:250_005]


async def test_receive_needs_the_open_result_and_a_size(store: ObjectStore) -> None:
    await store.put("b", b"bytes")
    with pytest.raises(natsobj.NotOpenError):
        await store.get("b").receive()
    async with store.get("b") as result:
        with pytest.raises(natsobj.InvalidArgumentError):
            await result.receive(0)
        assert await result.receive(3) == b"byt"
    with pytest.raises(natsobj.NotOpenError):
        await result.receive()  # closed with the block


async def test_a_result_is_opened_once(store: ObjectStore) -> None:
    await store.put("b", b"bytes")
    result = store.get("b")
    assert await result.read() == b"bytes"
    assert result.info.size == 5
    with pytest.raises(natsobj.NotOpenError):
        async with result:
            pass


@pytest.mark.parametrize("close", ["aclose", "stop"])
async def test_watcher_aclose_ends_the_iteration(store: ObjectStore, close: str) -> None:
    async with store.watch(updates_only=True) as watcher:
        await store.put("a", b"1")
        with anyio.fail_after(10):
            first = await anext(watcher)
        assert first is not None
        assert first.name == "a"
        await getattr(watcher, close)()
        with anyio.fail_after(10):
            assert [info async for info in watcher] == []
        with pytest.raises(natsobj.NotOpenError):
            async with watcher:
                pass


async def test_an_unknown_put_option_is_refused(store: ObjectStore) -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match="chunksize"):
        await store.put_bytes("x", b"x", chunksize=10)  # type: ignore[call-arg]
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("x")
