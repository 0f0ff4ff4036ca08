"""Fixtures shared by every test: one real nats-server per session, a bucket per test."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Generator

import anyio
import nats
import pytest
from nats.js.client import JetStreamContext

import natsobj
from natsobj._wire import encode_name

# The server removes expired messages on a timer; give it this long past a TTL.
SERVER_GRACE = 5.0


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the session's server gets the server's warnings and errors
    in its report: a refusal such as "error creating store" says why only in the log."""
    report = yield
    running = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(running, natsobj.EmbeddedServer):
        lines = [line for line in running.log_lines if "[ERR]" in line or "[WRN]" in line]
        report.sections.append(("nats-server warnings and errors", "\n".join(lines[-40:])))
    return report


@pytest.fixture(scope="session")
async def server() -> AsyncIterator[natsobj.EmbeddedServer]:
    async with natsobj.EmbeddedServer() as running:
        yield running


@pytest.fixture
async def manager(server: natsobj.EmbeddedServer) -> AsyncIterator[natsobj.ObjectStoreManager]:
    async with natsobj.connect(server.url) as connected:
        yield connected


def unique_bucket() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def store(manager: natsobj.ObjectStoreManager) -> AsyncIterator[natsobj.ObjectStore]:
    bucket = unique_bucket()
    created = await manager.create_object_store(bucket)
    yield created
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(bucket)


@pytest.fixture
async def usecase(manager: natsobj.ObjectStoreManager) -> AsyncIterator[natsobj.Usecase]:
    """A fresh usecase storing uncompressed; its bucket is deleted afterwards."""
    name = f"u{uuid.uuid4().hex[:12]}"
    yield natsobj.Usecase(name, compression="none")
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def subject_counts(store: natsobj.ObjectStore, subjects: str) -> dict[str, int]:
    """Messages per subject matching ``subjects`` in the bucket's stream, read from the server."""
    info = await store._core.js.api(f"STREAM.INFO.{store.stream}", {"subjects_filter": subjects})
    counts: dict[str, int] = info.get("state", {}).get("subjects") or {}
    return counts


async def chunk_counts(store: natsobj.ObjectStore) -> dict[str, int]:
    """Chunk messages per NUID subject in the bucket: what orphan checks look at."""
    return await subject_counts(store, f"$O.{store.bucket}.C.>")


async def wait_until_removed(store: natsobj.ObjectStore, name: str) -> None:
    """Wait (at most SERVER_GRACE) until the server has removed ``name``'s meta (a TTL)."""
    with anyio.fail_after(SERVER_GRACE):
        while True:
            try:
                await store.get_info(name, show_deleted=True)
            except natsobj.ObjectNotFoundError:
                return
            await anyio.sleep(0.2)


# --------------------------------------------------------------------------- a misbehaving peer


@pytest.fixture
async def peer(server: natsobj.EmbeddedServer) -> AsyncIterator[JetStreamContext]:
    """A raw nats-py JetStream client: publishes what a misbehaving peer with write access
    to a bucket could, bypassing natsobj."""
    nc = await nats.connect(server.url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def publish_meta(
    peer: JetStreamContext, store: natsobj.ObjectStore, name: str, meta: object
) -> None:
    """Store ``meta`` (JSON-encoded unless bytes) as ``name``'s meta, as another client would."""
    payload = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    subject = f"$O.{store.bucket}.M.{encode_name(name)}"
    await peer.publish(subject, payload, headers={"Nats-Rollup": "sub"})


async def replace_chunks(
    peer: JetStreamContext, store: natsobj.ObjectStore, nuid: str, chunks: list[bytes]
) -> None:
    """Replace the chunks stored under ``nuid`` with ``chunks`` (tampering with an object)."""
    subject = f"$O.{store.bucket}.C.{nuid}"
    await peer.purge_stream(store.stream, subject=subject)
    for chunk in chunks:
        await peer.publish(subject, chunk)
