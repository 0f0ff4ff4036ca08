"""Chaos: a mixed workload on an R3 bucket while nodes are killed and restarted; then every
acknowledged object is checked byte for byte and no chunk is left unaccounted for.

The run lasts ``NATSOBJ_CHAOS_SECONDS`` (30 in CI; ``make soak`` runs it for longer) and
writes its figures as JSON to ``NATSOBJ_CHAOS_REPORT`` when that is set.
"""

from __future__ import annotations

import functools
import json
import os
import random
from collections import Counter
from pathlib import Path

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster
from tests.conftest import chunk_counts, unique_bucket
from tests.reliability.conftest import MiB, node_index, retry, stream_leader, wait_healthy

pytestmark = pytest.mark.anyio

SECONDS = float(os.environ.get("NATSOBJ_CHAOS_SECONDS", "30"))
WRITERS = 4
READERS = 3
NAMES_PER_WRITER = 6
SIZES = (0, 1, 1000, 64 * 1024, 300_000, 2 * MiB)


class Ledger:
    """What each name may hold: the last acknowledged version, and versions whose write
    failed or is under way (they may or may not have landed). ``None`` means deleted."""

    def __init__(self) -> None:
        self.acked: dict[str, bytes | None] = {}
        self.unsure: dict[str, list[bytes | None]] = {}
        self.changes: Counter[str] = Counter()  # writes started per name

    def allowed(self, name: str) -> list[bytes | None]:
        return [self.acked.get(name), *self.unsure.get(name, [])]

    def start(self, name: str, version: bytes | None) -> None:
        self.changes[name] += 1
        self.unsure.setdefault(name, []).append(version)

    def ack(self, name: str, version: bytes | None) -> None:
        self.acked[name] = version
        self.unsure[name] = []


async def test_chaos_every_acknowledged_object_survives(cluster: EmbeddedCluster) -> None:
    stats: Counter[str] = Counter()
    ledger = Ledger()
    async with natsobj.connect(
        cluster.urls, timeout=2, reconnect_time_wait=0.2, max_reconnect_attempts=-1
    ) as manager:
        store = await manager.create_object_store(unique_bucket(), replicas=3)
        await wait_healthy(store)
        deadline = anyio.current_time() + SECONDS

        async def writer(index: int) -> None:
            rng = random.Random(index)
            while anyio.current_time() < deadline:
                name = f"w{index}-{rng.randrange(NAMES_PER_WRITER)}"
                delete = rng.random() < 0.15 and ledger.acked.get(name) is not None
                version = None if delete else rng.randbytes(rng.choice(SIZES))
                ledger.start(name, version)
                try:
                    if version is None:
                        await store.delete(name)
                        stats["deletes acknowledged"] += 1
                    else:
                        await store.put(name, version, chunk_size=64 * 1024)
                        stats["puts acknowledged"] += 1
                        stats["bytes acknowledged"] += len(version)
                    ledger.ack(name, version)
                except natsobj.ServerError:
                    stats["writes failed with a typed error"] += 1
                    await anyio.sleep(0.2)

        async def reader(index: int) -> None:
            rng = random.Random(1000 + index)
            while anyio.current_time() < deadline:
                names = list(ledger.acked)
                if not names:
                    await anyio.sleep(0.05)
                    continue
                name = rng.choice(names)
                before = ledger.changes[name]
                try:
                    data: bytes | None = await store.get_bytes(name)
                except natsobj.ObjectNotFoundError:
                    data = None
                except natsobj.IncompleteObjectError:
                    # Replaced while it was read (its chunks purged): only then.
                    assert ledger.changes[name] != before, name
                    stats["reads overtaken by a write"] += 1
                    continue
                except natsobj.ServerError:
                    stats["reads failed with a typed error"] += 1
                    await anyio.sleep(0.2)
                    continue
                assert data in ledger.allowed(name), name
                stats["reads verified"] += 1

        async def chaos() -> None:
            rng = random.Random(7)
            while anyio.current_time() < deadline - 4:
                await anyio.sleep(rng.uniform(1.0, 3.0))
                if rng.random() < 0.5:
                    try:
                        victim = node_index(cluster, await stream_leader(store))
                    except (natsobj.ServerError, StopIteration):
                        continue
                    stats["stream leaders killed"] += 1
                else:
                    victim = rng.randrange(cluster.size)
                    stats["random nodes killed"] += 1
                await cluster.kill(victim)
                await anyio.sleep(rng.uniform(0.5, 2.0))
                await cluster.start(victim)
                stats["nodes restarted"] += 1

        with anyio.fail_after(SECONDS + 120):
            async with anyio.create_task_group() as tg:
                for index in range(WRITERS):
                    tg.start_soon(writer, index)
                for index in range(READERS):
                    tg.start_soon(reader, index)
                tg.start_soon(chaos)
            for index, node in enumerate(cluster.servers):
                if not node.running:
                    await cluster.start(index)
            await wait_healthy(store)

            async def final(name: str) -> bytes | None:
                try:
                    return await store.get_bytes(name)
                except natsobj.ObjectNotFoundError:
                    return None

            for name in sorted(ledger.changes):
                data = await retry(functools.partial(final, name))
                if ledger.unsure.get(name):
                    assert data in ledger.allowed(name), name
                else:
                    assert data == ledger.acked.get(name), name  # acknowledged: exactly it
                stats["objects verified at the end"] += 1
                stats["bytes verified at the end"] += len(data or b"")

            # Failed writes whose own cleanup could not reach the stream leave orphans;
            # the sweep reclaims them, after which only live objects' chunks remain.
            report = await retry(lambda: store.sweep_orphans(grace=0))
            stats["orphan chunk sets swept"] += len(report.orphans)
            live = {f"$O.{store.bucket}.C.{i.nuid}" for i in await store.list() if i.size}
            assert set(await chunk_counts(store)) == live

    stats["seconds"] = int(SECONDS)
    print("chaos:", json.dumps(dict(stats), indent=1))
    assert stats["puts acknowledged"] > 0
    assert stats["reads verified"] > 0
    assert stats["nodes restarted"] > 0 or SECONDS < 10
    if path := os.environ.get("NATSOBJ_CHAOS_REPORT"):
        Path(path).write_text(json.dumps(dict(stats), indent=2) + "\n")
