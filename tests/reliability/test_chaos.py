"""Chaos: a mixed workload on an R3 bucket while nodes are killed and restarted; then every
acknowledged object is checked byte for byte and no chunk is left unaccounted for.

The run lasts ``NATSOBJ_CHAOS_SECONDS`` (30 in CI; ``make soak`` runs it for longer) and
writes its figures as JSON to ``NATSOBJ_CHAOS_REPORT`` when that is set.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
from collections import Counter
from pathlib import Path

import anyio
import pytest

import natsobj
from natsobj import EmbeddedCluster
from tests.conftest import chunk_counts
from tests.reliability.conftest import (
    MiB,
    create_replicated,
    node_index,
    retry,
    stream_leader,
    wait_healthy,
)

pytestmark = pytest.mark.anyio

SECONDS = float(os.environ.get("NATSOBJ_CHAOS_SECONDS", "30"))
WRITERS = 4
READERS = 3
NAMES_PER_WRITER = 6
SIZES = (0, 1, 1000, 64 * 1024, 300_000, 2 * MiB)
# Share of puts that store a new name (kept to the end) rather than replace one.
NEW_NAMES = 0.3

Version = tuple[int, bytes] | None


def fingerprint(data: bytes | None) -> Version:
    """What the ledger keeps of a version: its size and SHA-256 (not the bytes: a soak
    writes gigabytes); None for a deleted object."""
    return None if data is None else (len(data), hashlib.sha256(data).digest())


class Ledger:
    """Every version written to each name, in order (``None``: a delete), and which one was
    acknowledged last. A name may hold its last acknowledged version or any later one
    (failed or under way: it may or may not have landed), nothing older."""

    def __init__(self) -> None:
        self.history: dict[str, list[Version]] = {}
        self.acked: dict[str, int] = {}  # index of the last acknowledged version
        self.writing: set[str] = set()  # names with a write under way (one writer per name)

    def start(self, name: str, data: bytes | None) -> int:
        self.writing.add(name)
        versions = self.history.setdefault(name, [])
        versions.append(fingerprint(data))
        return len(versions) - 1

    def ack(self, name: str, index: int) -> None:
        self.acked[name] = index

    def allowed(self, name: str, since: int | None = None) -> list[Version]:
        """What a read of ``name`` may return if it began when ``since`` was the last
        acknowledged version (default: now)."""
        if since is None and name not in self.acked:
            return [None, *self.history.get(name, [])]  # it may never have been stored
        start = self.acked[name] if since is None else since
        return self.history[name][start:]

    def settled(self, name: str) -> bool:
        """Whether the last version written to ``name`` was acknowledged."""
        return self.acked.get(name) == len(self.history.get(name, [])) - 1


async def test_chaos_every_acknowledged_object_survives(cluster: EmbeddedCluster) -> None:
    stats: Counter[str] = Counter()
    ledger = Ledger()
    async with natsobj.connect(
        cluster.urls, timeout=2, reconnect_time_wait=0.2, max_reconnect_attempts=-1
    ) as manager:
        store = await create_replicated(manager)
        deadline = anyio.current_time() + SECONDS

        async def writer(index: int) -> None:
            rng = random.Random(index)
            while anyio.current_time() < deadline:
                if rng.random() < NEW_NAMES:
                    name = f"w{index}-new{rng.randrange(10**9)}"
                else:
                    name = f"w{index}-{rng.randrange(NAMES_PER_WRITER)}"
                current = ledger.allowed(name)
                delete = rng.random() < 0.15 and bool(current) and current[0] is not None
                version = None if delete else rng.randbytes(rng.choice(SIZES))
                position = ledger.start(name, version)
                try:
                    if version is None:
                        await store.delete(name)
                        stats["deletes acknowledged"] += 1
                    else:
                        await store.put(name, version, chunk_size=64 * 1024)
                        stats["puts acknowledged"] += 1
                        stats["bytes acknowledged"] += len(version)
                    ledger.ack(name, position)
                except natsobj.ServerError:
                    stats["writes failed with a typed error"] += 1
                    await anyio.sleep(0.2)
                finally:
                    ledger.writing.discard(name)

        async def reader(index: int) -> None:
            rng = random.Random(1000 + index)
            while anyio.current_time() < deadline:
                names = list(ledger.acked)
                if not names:
                    await anyio.sleep(0.05)
                    continue
                name = rng.choice(names)
                since = ledger.acked[name]
                writes = len(ledger.history[name])
                racing = name in ledger.writing  # e.g. a delete between its tombstone and purge
                try:
                    data: bytes | None = await store.get_bytes(name)
                except natsobj.ObjectNotFoundError:
                    data = None
                except natsobj.IncompleteObjectError:
                    # Replaced while it was read (its chunks purged): only then.
                    assert racing or len(ledger.history[name]) != writes, name
                    stats["reads overtaken by a write"] += 1
                    continue
                except natsobj.ServerError:
                    stats["reads failed with a typed error"] += 1
                    await anyio.sleep(0.2)
                    continue
                assert fingerprint(data) in ledger.allowed(name, since), name
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

            for name in sorted(ledger.history):
                data = await retry(functools.partial(final, name))
                if ledger.settled(name):
                    # Acknowledged: exactly it (same size and SHA-256 as the bytes put).
                    assert fingerprint(data) == ledger.allowed(name)[0], name
                else:
                    assert fingerprint(data) in ledger.allowed(name), name
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
