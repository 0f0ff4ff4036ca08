"""What reads cost. get_bytes gathers an object into one buffer: the peak memory it adds is
the object once plus what is in flight, not the chunks and then their join; a size the
chunks disagree with fails, and nothing partial is returned. The first connection of a
process reads the socket in big pieces too."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import nats.aio.client
import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj import ObjectStore
from natsobj._jetstream._tuning import READ_BUFFER_SIZE
from tests.conftest import replace_chunks

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024
SIZE = 64 * MiB
_STATUS = Path("/proc/self/status")


def _kib(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
async def test_get_bytes_peak_memory_is_the_object_once(store: ObjectStore) -> None:
    await store.put("big", os.urandom(SIZE))
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _kib("VmRSS")
    with anyio.fail_after(60):
        data = await store.get_bytes("big")
    growth = (_kib("VmHWM") - baseline) * 1024
    assert len(data) == SIZE
    assert growth <= SIZE + 32 * MiB, f"peak grew {growth / MiB:.0f} MiB for {SIZE // MiB} MiB"


@pytest.mark.parametrize("last", [1001, 999], ids=["longer", "shorter"])
async def test_chunks_that_disagree_with_the_meta_size_fail(
    store: ObjectStore, peer: JetStreamContext, last: int
) -> None:
    info = await store.put("x", os.urandom(3000), chunk_size=1000)
    await replace_chunks(peer, store, info.nuid, [b"a" * 1000, b"b" * 1000, b"c" * last])
    for start in (0, 500, 2500):
        with pytest.raises(natsobj.IncompleteObjectError):
            await store.get_bytes("x", start=start)
        with pytest.raises(natsobj.IncompleteObjectError):
            await store.get("x", start=start).read()


async def test_read_after_part_was_received(store: ObjectStore) -> None:
    data = os.urandom(5 * 1000 + 17)
    await store.put("x", data, chunk_size=1000)
    async with store.get("x") as result:
        head = await result.receive(300)
        assert head + await result.read() == data
    async with store.get("x", start=1500, end=4321) as result:
        first = await anext(result)
        assert first + await result.read() == data[1500:4321]


async def test_an_opened_one_chunk_read_is_verified_and_then_spent(
    store: ObjectStore, peer: JetStreamContext
) -> None:
    data = os.urandom(700)
    info = await store.put("one", data)
    async with store.get("one") as result:
        assert await result.read() == data
        assert [chunk async for chunk in result] == []
        assert await result.read() == b""
    async with store.get("one") as result:  # a chunk asked for first: the general path
        assert await anext(result) == data
        assert await result.read() == b""
    await replace_chunks(peer, store, info.nuid, [os.urandom(700)])
    async with store.get("one") as result:
        with pytest.raises(natsobj.DigestMismatchError):
            await result.read()
    await replace_chunks(peer, store, info.nuid, [data[:699]])
    async with store.get("one") as result:  # the general path says what is wrong
        with pytest.raises(natsobj.IncompleteObjectError):
            await result.read()


async def test_the_first_connection_reads_the_socket_in_big_pieces(
    server: natsobj.EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nats-py sizes the connection's stream buffer when it connects: asyncio stops
    # reading the socket past twice that, so a small one costs two syscalls a read.
    monkeypatch.setattr(nats.aio.client, "DEFAULT_BUFFER_SIZE", 32768)
    async with natsobj.connect(server.url) as manager:
        reader = manager.js.nc._transport._io_reader  # type: ignore[union-attr]
        assert reader._limit == READ_BUFFER_SIZE
