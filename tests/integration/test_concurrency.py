"""Many large transfers on one connection stay within the server's buffers and verify."""

from __future__ import annotations

import os

import anyio
import pytest

from natsobj import ObjectStore

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


async def test_concurrent_large_puts_and_gets(store: ObjectStore) -> None:
    # Together far more than the server's ingest buffer (128 MiB) and its per-client
    # delivery buffer (64 MiB): without a connection-wide budget the server answers 429
    # or drops messages, and reads stall or fail.
    blobs = {f"o{i}": os.urandom(64 * MiB) for i in range(12)}
    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for name, data in blobs.items():
                tg.start_soon(store.put, name, data)
        got: dict[str, bytes] = {}

        async def fetch(name: str) -> None:
            got[name] = await store.get_bytes(name)

        async with anyio.create_task_group() as tg:
            for name in blobs:
                tg.start_soon(fetch, name)
    assert got == blobs


async def test_planned_reads_recover_from_short_runs(store: ObjectStore) -> None:
    # Chunks written back to back are read in runs asked for ahead. With a read budget
    # smaller than a run the server stops every run early; the reader must ask again
    # from where it stopped, never skip or repeat a chunk.
    data = os.urandom(6 * MiB + 5)
    await store.put("contiguous", data, chunk_size=128 * 1024)
    budget = store._core.js.read_budget
    limit, budget.limit = budget.limit, 300 * 1024
    try:
        with anyio.fail_after(60):
            assert await store.get_bytes("contiguous") == data
            assert await store.get_bytes("contiguous", start=MiB + 7) == data[MiB + 7 :]
    finally:
        budget.limit = limit  # the connection is shared with other tests


async def test_interleaved_chunks_read_whole(store: ObjectStore) -> None:
    # Concurrent puts interleave their chunks in the stream: runs cannot be planned by
    # sequence, and the reader follows the subject instead.
    blobs = {f"i{i}": os.urandom(12 * MiB) for i in range(3)}
    async with anyio.create_task_group() as tg:
        for name, data in blobs.items():
            tg.start_soon(store.put, name, data)
    for name, data in blobs.items():
        assert await store.get_bytes(name) == data
