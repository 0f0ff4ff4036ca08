"""Fixtures for the interop tests: a real nats-server per module and the two peers.

The nats.js peer needs Node and ``tests/interop/js/node_modules`` (``npm ci``). Locally the
tests that use it skip when either is missing; with ``CI`` set they fail instead, because CI
must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

import natsobj

from .peers import INSTALL_HINT, JSPeer, js_peer_missing


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """nats-py is asyncio-only."""
    return "asyncio"


@pytest.fixture(scope="module")
async def server_url(anyio_backend: str) -> AsyncIterator[str]:
    """One embedded nats-server (JetStream, free loopback port, temp dir) per test module."""
    async with natsobj.EmbeddedServer() as server:
        yield server.url


@pytest.fixture
async def manager(server_url: str) -> AsyncIterator[natsobj.ObjectStoreManager]:
    async with natsobj.connect(server_url) as manager:
        yield manager


@pytest.fixture
def bucket() -> str:
    """A bucket name no other test in the module uses."""
    return f"t{uuid.uuid4().hex[:12]}"


def _in_ci() -> bool:
    """``CI`` is set (to anything but an empty, ``0``, ``false`` or ``no`` value)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def js_peer(server_url: str) -> JSPeer:
    """The ``@nats-io/obj`` peer; skips locally, fails in CI, when it is not installed."""
    reason = js_peer_missing()
    if reason is not None:
        if _in_ci():
            pytest.fail(
                f"nats.js interop peer unavailable and CI is set: {reason}; {INSTALL_HINT}",
                pytrace=False,
            )
        pytest.skip(f"nats.js interop peer unavailable ({reason}): {INSTALL_HINT}")
    return JSPeer(server_url)
