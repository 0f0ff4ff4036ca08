"""Two ``natsobj serve`` gateways over one R3 cluster: what one stores the other serves, and
killing a NATS node and a gateway mid-transfer loses no acknowledged upload and leaves
nothing partial (and, after the orphan sweep, no stray chunk).

The gateways are real subprocesses (killed with SIGKILL, as a crash), the cluster is
three loopback nats-servers; the transfers run through Supabase's and Objectstore's routes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import httpx
import pytest

import natsobj
from natsobj import EmbeddedCluster, ObjectStore, Usecase
from tests.conftest import chunk_counts
from tests.gateway.conftest import SECRET, token
from tests.gateway.test_serve_cli import free_port, wait_ready
from tests.reliability.conftest import (
    MiB,
    create_replicated,
    node_index,
    retry,
    stream_leader,
    wait_healthy,
)

pytestmark = pytest.mark.anyio

BLOCK = 256 * 1024
UPLOAD = 3 * MiB
UPLOADERS = 6
SCOPE = "org=7"
AUTH = {"Authorization": f"Bearer {token('service_role', ttl=600)}"}


@dataclass
class Gateway:
    url: str
    process: anyio.abc.Process


@contextlib.asynccontextmanager
async def gateway(servers: list[str]) -> AsyncIterator[Gateway]:
    """``natsobj serve`` over ``servers`` on a free port, ready, until the block ends (or
    until the test kills it)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
    args = ["serve", "--server", ",".join(servers), "--port", str(port), "--timeout", "2s"]
    process = await anyio.open_process(
        [sys.executable, "-m", "natsobj.cli", *args, "--jwt-secret", SECRET, "-q"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url)
        yield Gateway(url, process)
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.aclose()


def supabase_path(bucket: str, name: str) -> str:
    return f"/storage/v1/object/{bucket}/{name}"


def objectstore_path(usecase: str, key: str) -> str:
    return f"/v1/objects/{usecase}/{SCOPE}/{key}"


async def create_usecase_r3(manager: natsobj.ObjectStoreManager, name: str) -> ObjectStore:
    """The usecase's bucket made R3 before any gateway opens it (sessions would make R1)."""
    store = await manager.create_object_store(
        name, replicas=3, metadata={"natsobj.usecase.compression": "none"}, message_ttl=True
    )
    await wait_healthy(store)
    return store


async def test_one_gateway_stores_and_the_other_serves(cluster: EmbeddedCluster) -> None:
    urls = cluster.urls
    async with natsobj.connect(urls, timeout=5) as manager:
        store = await create_replicated(manager)
        usecase = f"u{store.bucket[1:]}"
        await create_usecase_r3(manager, usecase)
        async with (
            gateway(urls) as one,
            gateway(urls[::-1]) as two,
            httpx.AsyncClient(base_url=one.url, headers=AUTH, timeout=20) as up,
            httpx.AsyncClient(base_url=two.url, headers=AUTH, timeout=20) as down,
        ):
            data = os.urandom(2 * MiB + 17)
            path = supabase_path(store.bucket, "a/b.bin")
            assert (await up.post(path, content=data)).status_code == 200
            got = await down.get(path)
            assert (got.status_code, got.content) == (200, data)
            assert (await down.get(path, headers={"Range": "bytes=-17"})).content == data[-17:]
            key = objectstore_path(usecase, "k1")
            assert (await up.put(key, content=data[:1000])).status_code == 200
            got = await down.get(key)
            assert (got.status_code, got.content) == (200, data[:1000])
            assert await store.get_bytes("a/b.bin") == data
            session = Usecase(usecase).scope().push("org", "7").session(manager)
            assert await session.get_bytes("k1") == data[:1000]


@dataclass
class Attempt:
    """One upload: where it went, what it sent, and whether the gateway said 200."""

    route: str  # "supabase" or "objectstore"
    name: str
    data: bytes
    acked: bool = False
    answer: str = ""

    def path(self, bucket: str, usecase: str) -> str:
        if self.route == "supabase":
            return supabase_path(bucket, self.name)
        return objectstore_path(usecase, self.name)


async def send(http: httpx.AsyncClient, attempt: Attempt, path: str, halfway: anyio.Event) -> None:
    """PUT ``attempt.data`` streamed in blocks, setting ``halfway`` past 1 MiB."""

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, len(attempt.data), BLOCK):
            if offset >= MiB:
                halfway.set()
            yield attempt.data[offset : offset + BLOCK]
            await anyio.sleep(0.02)

    try:
        answer = await http.put(path, content=body())
    except httpx.HTTPError as exc:
        attempt.answer = repr(exc)
        return  # the gateway died or cut the connection: not acknowledged
    attempt.acked = answer.status_code == 200
    attempt.answer = f"{answer.status_code} {answer.text[:200]}"


async def read_back(attempt: Attempt, store: ObjectStore, session: natsobj.Session) -> bytes | None:
    """The stored bytes of ``attempt``'s name through the library (None: not there)."""
    try:
        if attempt.route == "supabase":
            return await store.get_bytes(attempt.name)
        return await session.get_bytes(attempt.name)
    except natsobj.ObjectNotFoundError:
        return None


async def test_killing_a_node_and_a_gateway_mid_transfer_loses_no_acknowledged_upload(
    cluster: EmbeddedCluster,
) -> None:
    urls = cluster.urls
    attempts: list[Attempt] = []
    async with natsobj.connect(
        urls, timeout=2, reconnect_time_wait=0.2, max_reconnect_attempts=-1
    ) as manager:
        store = await create_replicated(manager)
        usecase = f"u{store.bucket[1:]}"
        usecase_store = await create_usecase_r3(manager, usecase)
        session = Usecase(usecase).scope().push("org", "7").session(manager)
        victim = node_index(cluster, await stream_leader(store))
        async with (
            gateway(urls) as one,
            gateway(urls[::-1]) as two,
            httpx.AsyncClient(base_url=one.url, headers=AUTH, timeout=30) as to_one,
            httpx.AsyncClient(base_url=two.url, headers=AUTH, timeout=30) as to_two,
        ):
            halfway = anyio.Event()  # an upload through gateway one is 1 MiB in

            healed = anyio.Event()  # the node is back and the bucket healthy

            async def uploader(index: int) -> None:
                """Through gateway one: until it dies. Through gateway two: until an
                upload started after the cluster healed is acknowledged (at most 20)."""
                http = (to_one, to_two)[index % 2]
                route = ("supabase", "objectstore")[index // 2 % 2]
                for round_ in range(20):
                    attempt = Attempt(route, f"u{index}-{round_}", os.urandom(UPLOAD))
                    attempts.append(attempt)
                    after_healing = healed.is_set()
                    flag = halfway if http is to_one else anyio.Event()
                    await send(http, attempt, attempt.path(store.bucket, usecase), flag)
                    if (http is to_one and round_ == 2) or (after_healing and attempt.acked):
                        return
                    with anyio.move_on_after(1 if attempt.acked else 0.2):
                        await healed.wait()
                answers = [a.answer for a in attempts if a.name.startswith(f"u{index}-")]
                raise AssertionError(f"gateway two took no upload after healing: {answers}")

            async def reader() -> None:
                """Whatever gateway two answers 200 for is a whole acknowledged upload."""
                while True:
                    for attempt in [a for a in attempts if a.acked]:
                        with contextlib.suppress(httpx.HTTPError):
                            got = await to_two.get(attempt.path(store.bucket, usecase))
                            if got.status_code == 200:
                                assert got.content == attempt.data, attempt.name
                                reads.append(attempt.name)
                    await anyio.sleep(0.05)

            reads: list[str] = []
            with anyio.fail_after(60):
                async with anyio.create_task_group() as outer:
                    outer.start_soon(reader)
                    async with anyio.create_task_group() as tg:
                        for index in range(UPLOADERS):
                            tg.start_soon(uploader, index)
                        await halfway.wait()
                        await cluster.kill(victim)
                        one.process.kill()
                        await anyio.sleep(1.0)
                        await cluster.start(victim)
                        await wait_healthy(store)
                        healed.set()
                    outer.cancel_scope.cancel()
                assert one.process.returncode is None or one.process.returncode < 0
        await check_ledger(attempts, store, usecase_store, session)
    print("gateway cluster:", len(reads), "whole reads through gateway two during the kills")


async def check_ledger(
    attempts: list[Attempt],
    store: ObjectStore,
    usecase_store: ObjectStore,
    session: natsobj.Session,
) -> None:
    """Acknowledged uploads read back whole; others are whole or absent; after the
    sweep, only live objects' chunks remain in either bucket."""
    with anyio.fail_after(60):
        await wait_healthy(store)
        await wait_healthy(usecase_store)
        acked = 0
        for attempt in attempts:
            data = await retry(functools.partial(read_back, attempt, store, session))
            if attempt.acked:
                acked += 1
                assert data == attempt.data, attempt.name
            else:
                assert data in (None, attempt.data), attempt.name
        assert acked > 0
        assert any(not attempt.acked for attempt in attempts)  # the kills did cut some
        expected = {a.name for a in attempts if a.route == "supabase"}
        expected |= {session.object_name(a.name) for a in attempts if a.route == "objectstore"}
        for bucket in (store, usecase_store):
            listed = await retry(bucket.list)
            assert {info.name for info in listed} <= expected
            report = await retry(functools.partial(bucket.sweep_orphans, grace=0))
            print("gateway cluster:", bucket.bucket, len(report.orphans), "orphans swept")
            live = {f"$O.{bucket.bucket}.C.{i.nuid}" for i in await bucket.list() if i.size}
            assert set(await chunk_counts(bucket)) == live
    print("gateway cluster:", acked, "of", len(attempts), "uploads acknowledged")
