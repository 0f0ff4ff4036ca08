"""A zstd-compressed usecase object read by every other peer.

They get the stored (compressed) bytes, verified against the stored digest, and the meta's
``Content-Encoding: zstd`` header tells them how to decode them.
"""

from __future__ import annotations

import os

import pytest
import zstandard

import natsobj
from natsobj import Usecase

from .conftest import OTHER_PEERS
from .peers import Peer, digest_of

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

# Compressible, and several 128 KiB chunks once compressed.
ORIGINAL = os.urandom(200 * 1024) * 6


@pytest.mark.parametrize("reader", OTHER_PEERS, indirect=True)
async def test_peer_reads_a_zstd_object(
    reader: Peer, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    session = Usecase(bucket, compression="zstd").for_project(42, 1337).session(manager)
    await session.put(ORIGINAL, key="report.bin", content_type="application/x-report")
    head = await session.head("report.bin")
    stored = await session.get_bytes("report.bin", accept_encoding="zstd")
    assert head.info.chunks > 1
    name = session.object_name("report.bin")

    data = await reader.get(bucket, name)
    info = await reader.info(bucket, name)
    assert data == stored
    assert info.digest == digest_of(stored) == head.digest
    assert info.headers["Content-Encoding"] == ["zstd"]
    assert info.headers["Content-Type"] == ["application/x-report"]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(data) == ORIGINAL
