"""StreamingHash: the digest matches hashlib's, and the worker thread's backlog stays bounded."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from natsobj._bucket._hash import StreamingHash

pytestmark = pytest.mark.anyio

CHUNK = 256 * 1024


async def test_digest_matches_hashlib_across_the_inline_and_threaded_parts() -> None:
    data = os.urandom(StreamingHash.INLINE_BYTES * 3 + 12345)
    digest = StreamingHash()
    for offset in range(0, len(data), CHUNK):
        await digest.update(memoryview(data)[offset : offset + CHUNK])
    assert await digest.digest() == hashlib.sha256(data).digest()


class _SlowSha256:
    """hashlib's SHA-256, slowed down as on a machine whose cores are busy elsewhere."""

    def __init__(self) -> None:
        self._inner = hashlib.sha256()

    def update(self, data: bytes) -> None:
        time.sleep(0.002)
        self._inner.update(data)

    def digest(self) -> bytes:
        return self._inner.digest()


async def test_a_slow_hashing_thread_holds_back_the_caller() -> None:
    digest = StreamingHash()
    digest._hash = _SlowSha256()  # type: ignore[assignment]
    data = os.urandom(CHUNK)
    peak = 0
    for _ in range(256):  # 64 MiB, far more than the backlog may hold
        await digest.update(data)
        peak = max(peak, digest._backlog)
    assert peak <= StreamingHash.MAX_BACKLOG + CHUNK
    expected = hashlib.sha256(data * 256).digest()
    assert await digest.digest() == expected
