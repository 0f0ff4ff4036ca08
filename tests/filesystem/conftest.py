"""Fixtures for the fsspec filesystem: one nats-server for these tests, and filesystems on it.

fsspec's sync API runs outside any event loop (it drives its own IO thread), so the server
runs in a blocking portal rather than as an async fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anyio.from_thread
import pytest

import natsobj
from natsobj.fsspec import NatsObjFileSystem


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(natsobj.EmbeddedServer()) as server,
    ):
        yield server.url


def make_fs(url: str) -> NatsObjFileSystem:
    return NatsObjFileSystem(servers=url, skip_instance_cache=True)


@pytest.fixture
def fs(nats_url: str) -> Iterator[NatsObjFileSystem]:
    filesystem = make_fs(nats_url)
    yield filesystem
    filesystem.close()


@pytest.fixture
def bucket(fs: NatsObjFileSystem) -> Iterator[str]:
    """A new bucket, deleted with what is in it after the test."""
    name = f"f{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    yield name
    fs.rm(name, recursive=True)
