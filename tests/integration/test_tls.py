"""Failures known at once fail at once: TLS handshakes the client cannot complete, and
messages over the server's max_payload (checked before anything is sent)."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import AsyncIterator

import pytest
import trustme

import natsobj
from natsobj._jetstream import header_size
from natsobj._wire import TTL_HEADER
from tests.conftest import chunk_counts, unique_bucket

pytestmark = pytest.mark.anyio

# nats-py alone reports these in well under 0.1 s; the whole timeout is 5 s.
AT_ONCE = 1.0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_config(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A server configuration that requires TLS with a certificate from ``ca``."""
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    return f'tls {{ cert_file: "{folder / "cert.pem"}", key_file: "{folder / "key.pem"}" }}'


@pytest.fixture
async def tls_server(tls_config: str) -> AsyncIterator[natsobj.EmbeddedServer]:
    async with natsobj.EmbeddedServer(config=tls_config) as running:
        yield running


async def _refused(url: str) -> tuple[float, natsobj.ServerUnavailableError]:
    start = time.monotonic()
    with pytest.raises(natsobj.ServerUnavailableError) as caught:
        async with natsobj.connect(url):
            pass
    return time.monotonic() - start, caught.value


async def test_a_trusted_certificate_connects(
    tls_server: natsobj.EmbeddedServer, ca: trustme.CA
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with natsobj.connect(f"tls://127.0.0.1:{tls_server.port}", tls=context) as manager:
        store = await manager.create_object_store(unique_bucket())
        await store.put("x", b"over tls")
        assert await store.get_bytes("x") == b"over tls"


@pytest.mark.parametrize("scheme", ["tls", "nats"])
async def test_an_untrusted_certificate_fails_at_once(
    tls_server: natsobj.EmbeddedServer, scheme: str
) -> None:
    # "nats": a plain client, which nats-py upgrades (with the system's CAs) because the
    # server requires TLS.
    elapsed, error = await _refused(f"{scheme}://127.0.0.1:{tls_server.port}")
    assert elapsed < AT_ONCE
    assert isinstance(error.__cause__, ssl.SSLCertVerificationError)
    assert "certificate is not trusted" in str(error)
    assert "natsobj server" not in str(error)  # a server is there: starting one is no help


# --------------------------------------------------------------------------- max_payload

MAX_PAYLOAD = 64 * 1024


@pytest.fixture
async def small_payloads() -> AsyncIterator[natsobj.ObjectStoreManager]:
    async with (
        natsobj.EmbeddedServer(config=f"max_payload: {MAX_PAYLOAD}") as server,
        natsobj.connect(server.url) as manager,
    ):
        yield manager


@pytest.mark.parametrize("size", [100_000, 1_000_000], ids=["one chunk", "many chunks"])
async def test_a_chunk_over_max_payload_fails_before_it_is_sent(
    small_payloads: natsobj.ObjectStoreManager, size: int
) -> None:
    store = await small_payloads.create_object_store(unique_bucket())
    start = time.monotonic()
    with pytest.raises(natsobj.InvalidArgumentError, match="max_payload of 65536"):
        await store.put("x", os.urandom(size), chunk_size=100_000)
    assert time.monotonic() - start < AT_ONCE
    assert await chunk_counts(store) == {}
    # The connection is fine, and a chunk size under the limit works.
    data = os.urandom(size)
    await store.put("x", data, chunk_size=60_000)
    assert await store.get_bytes("x") == data


async def test_headers_count_against_max_payload(
    small_payloads: natsobj.ObjectStoreManager,
) -> None:
    # Chunks of a put with a TTL carry a header: a chunk that fits alone does not fit with
    # it. nats-py would send it, and the server would close the connection.
    store = await small_payloads.create_object_store(unique_bucket(), message_ttl=True)
    fits = MAX_PAYLOAD - header_size({TTL_HEADER: "60s"})
    data = os.urandom(3 * fits)
    with pytest.raises(natsobj.InvalidArgumentError, match="headers included"):
        await store.put("x", data, chunk_size=fits + 1, ttl=60)
    await store.put("x", data, chunk_size=fits, ttl=60)
    assert await store.get_bytes("x") == data
