"""Fixtures for the interop tests: a real nats-server per module and the peers on it.

``writer`` and ``reader`` are peers chosen by name through indirect parametrization (see
PEER_FIXTURES). The nats.js peer needs Node and ``tests/interop/js/node_modules`` (``npm
ci``), the nats.go peer its program built by ``make`` (``.gocache/bin/gopeer``). Locally the
tests that use a peer skip when it is missing; with ``CI`` set they fail instead, because CI
must run them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest

import natsobj

from .peers import (
    GO_INSTALL_HINT,
    JS_INSTALL_HINT,
    BuiltinPeer,
    NatsobjPeer,
    Peer,
    ProcessPeer,
    go_peer_missing,
    js_peer_missing,
)
from .peers import go_peer as start_go_peer
from .peers import js_peer as start_js_peer
from .peers.nats_cli import CLI_INSTALL_HINT, NatsCli, nats_cli_missing

#: Peer name -> the fixture that provides it; a new peer is one more line and fixture.
PEER_FIXTURES = {
    "natsobj": "natsobj_peer",
    "nats.go": "go_peer",
    "nats.js": "js_peer",
    "nats-py": "builtin_peer",
}
PEERS = list(PEER_FIXTURES)
#: The peers whose reading (or writing) natsobj-only features are checked against.
OTHER_PEERS = [name for name in PEERS if name != "natsobj"]


@pytest.fixture(scope="module")
async def server_url(anyio_backend: str) -> AsyncIterator[str]:
    """One embedded nats-server (JetStream, free loopback port, temp dir) per test module."""
    async with natsobj.EmbeddedServer() as server:
        yield server.url


@pytest.fixture(scope="module")
async def manager(server_url: str) -> AsyncIterator[natsobj.ObjectStoreManager]:
    async with natsobj.connect(server_url) as manager:
        yield manager


@pytest.fixture
async def bucket(manager: natsobj.ObjectStoreManager) -> AsyncIterator[str]:
    """A bucket name no other test uses; it and ``other_bucket`` are deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    for used in (name, f"{name}-x"):
        with contextlib.suppress(natsobj.BucketNotFoundError):
            await manager.delete_object_store(used)


@pytest.fixture
def other_bucket(bucket: str) -> str:
    """A second bucket name for the test (links and copies across buckets)."""
    return f"{bucket}-x"


@pytest.fixture(scope="module")
def natsobj_peer(manager: natsobj.ObjectStoreManager) -> NatsobjPeer:
    return NatsobjPeer(manager)


@pytest.fixture(scope="module")
async def builtin_peer(server_url: str) -> AsyncIterator[BuiltinPeer]:
    async with BuiltinPeer.connect(server_url) as peer:
        yield peer


def _in_ci() -> bool:
    """``CI`` is set (to anything but an empty, ``0``, ``false`` or ``no`` value)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_installed(peer: str, reason: str | None, hint: str) -> None:
    """Skip (locally) or fail (in CI) when a peer program is not installed."""
    if reason is None:
        return
    if _in_ci():
        pytest.fail(
            f"{peer} interop peer unavailable and CI is set: {reason}; {hint}", pytrace=False
        )
    pytest.skip(f"{peer} interop peer unavailable ({reason}): {hint}")


@pytest.fixture(scope="module")
async def js_peer(server_url: str) -> AsyncIterator[ProcessPeer]:
    """The ``@nats-io/obj`` peer (one Node process per module); skips locally, fails in CI,
    when it is not installed."""
    require_installed("nats.js", js_peer_missing(), JS_INSTALL_HINT)
    async with start_js_peer(server_url) as peer:
        yield peer


@pytest.fixture(scope="module")
async def go_peer(server_url: str) -> AsyncIterator[ProcessPeer]:
    """The nats.go ``jetstream`` object store peer (one Go process per module); skips
    locally, fails in CI, when it is not built."""
    require_installed("nats.go", go_peer_missing(), GO_INSTALL_HINT)
    async with start_go_peer(server_url) as peer:
        yield peer


def _named_peer(request: pytest.FixtureRequest) -> Peer:
    peer: Peer = request.getfixturevalue(PEER_FIXTURES[request.param])
    return peer


@pytest.fixture
def writer(request: pytest.FixtureRequest) -> Peer:
    """The peer that writes, by name (``indirect`` parametrization)."""
    return _named_peer(request)


@pytest.fixture
def reader(request: pytest.FixtureRequest) -> Peer:
    """The peer that reads what was written, by name (``indirect`` parametrization)."""
    return _named_peer(request)


@pytest.fixture(scope="module")
async def nats_cli(server_url: str) -> AsyncIterator[NatsCli]:
    """The ``nats`` CLI against the module's server; skips locally, fails in CI, when it is
    not built."""
    require_installed("nats CLI", nats_cli_missing(), CLI_INSTALL_HINT)
    async with NatsCli.start(server_url) as cli:
        yield cli
