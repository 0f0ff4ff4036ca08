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
