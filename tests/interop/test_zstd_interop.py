"""A zstd-compressed usecase object read by nats-py's built-in store and by nats.js.

Both get the stored (compressed) bytes, verified against the stored digest, and the meta's
``Content-Encoding: zstd`` header tells them how to decode them.
"""

from __future__ import annotations

import os

import pytest
import zstandard

import natsobj
from natsobj import Usecase

from .peers import JSPeer, builtin_get, builtin_store, digest_of

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

# Compressible, and several 128 KiB chunks once compressed.
ORIGINAL = os.urandom(200 * 1024) * 6


async def put_zstd_object(
    manager: natsobj.ObjectStoreManager, bucket: str
) -> tuple[str, bytes, natsobj.ObjectMetadata]:
    session = Usecase(bucket, compression="zstd").for_project(42, 1337).session(manager)
    await session.put(ORIGINAL, key="report.bin", content_type="application/x-report")
    head = await session.head("report.bin")
    stored = await session.get_bytes("report.bin", accept_encoding="zstd")
    assert head.info.chunks > 1
    return session.object_name("report.bin"), stored, head


def decoded(data: bytes) -> bytes:
    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(data))


async def test_nats_py_builtin_reads_a_zstd_object(
    manager: natsobj.ObjectStoreManager, server_url: str, bucket: str
) -> None:
    name, stored, head = await put_zstd_object(manager, bucket)
    async with builtin_store(server_url, bucket) as store:
        data, info = await builtin_get(store, name)
    assert data == stored
    assert info.digest == digest_of(stored) == head.digest
    assert info.headers is not None
    assert info.headers["Content-Encoding"] == ["zstd"]
    assert info.headers["Content-Type"] == ["application/x-report"]
    assert decoded(data) == ORIGINAL
    await manager.delete_object_store(bucket)


async def test_nats_js_reads_a_zstd_object(
    manager: natsobj.ObjectStoreManager, js_peer: JSPeer, bucket: str
) -> None:
    name, stored, head = await put_zstd_object(manager, bucket)
    data, result = await js_peer.get(bucket, name)
    assert data == stored
    assert result["digest"] == head.digest
    assert result["info"]["headers"]["Content-Encoding"] == ["zstd"]
    assert decoded(data) == ORIGINAL
    await manager.delete_object_store(bucket)
