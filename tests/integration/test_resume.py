"""Transfers across a server restart, and memory under a slow reader."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
import pytest

import natsobj
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def test_get_resumes_after_server_restart(tmp_path: Path) -> None:
    data = os.urandom(48 * MiB)
    async with (
        natsobj.EmbeddedServer(store_dir=tmp_path / "js") as server,
        natsobj.connect(server.url, timeout=3, reconnect_time_wait=0.2) as manager,
    ):
        store = await manager.create_object_store("resume")
        await store.put("big", data)
        digest = hashlib.sha256()
        received = 0
        restarted = False
        with anyio.fail_after(60):
            async with store.get("big") as result:
                async for chunk in result:
                    digest.update(chunk)
                    received += len(chunk)
                    if not restarted and received >= 10 * MiB:
                        await server.restart()
                        restarted = True
        assert restarted
        assert received == len(data)
        assert digest.digest() == hashlib.sha256(data).digest()


async def test_put_across_server_restart_completes_or_leaves_nothing(tmp_path: Path) -> None:
    async with (
        natsobj.EmbeddedServer(store_dir=tmp_path / "js") as server,
        natsobj.connect(server.url, timeout=2, reconnect_time_wait=0.2) as manager,
    ):
        store = await manager.create_object_store("resume")
        old = await store.put("obj", b"old")
        data = os.urandom(64 * MiB)

        async def restart_soon() -> None:
            await anyio.sleep(0.05)
            await server.restart()

        outcome: BaseException | None = None
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(restart_soon)
                try:
                    await store.put("obj", data)
                except natsobj.ObjectStoreError as exc:
                    outcome = exc
        current = await store.get_bytes("obj")
        counts = await chunk_counts(store)
        if outcome is None:
            assert current == data
            assert set(counts) == {f"$O.{store.bucket}.C.{(await store.get_info('obj')).nuid}"}
        else:
            assert current == b"old"
            assert counts == {f"$O.{store.bucket}.C.{old.nuid}": 1}


async def test_slow_reader_memory_is_bounded(store: natsobj.ObjectStore) -> None:
    await store.put("big", os.urandom(96 * MiB), chunk_size=MiB)
    baseline = _rss()
    peak = baseline
    async with store.get("big") as result:
        async for _ in result:
            await anyio.sleep(0.005)  # a reader slower than the server
            peak = max(peak, _rss())
    # Two 8 MiB runs in flight plus the chunk at hand, with room for allocator noise.
    assert peak - baseline < 40 * MiB
