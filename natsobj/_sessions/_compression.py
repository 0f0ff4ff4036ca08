"""zstd compression of object bytes as streams, off the event loop.

Objects are compressed as they are put (one zstd frame per put) and decompressed as they
are read; the decoder reads across frames, so objects written as several frames by other
tools read back whole. ``zstandard`` is an optional dependency (``natsobj[zstd]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import aclosing
from types import ModuleType
from typing import Literal, TypeAlias, cast

import anyio

from .._errors import BadObjectMetaError, InvalidArgumentError, UnsupportedFeatureError
from .._source import PutData, iter_chunks

__all__ = ["Compression"]

Compression: TypeAlias = Literal["zstd", "none"]
COMPRESSIONS: tuple[Compression, ...] = ("zstd", "none")
# Input is compressed in blocks of this size; blocks this big go to a worker thread
# (zstandard releases the GIL), smaller ones are cheaper to do inline.
BLOCK_BYTES = 1024 * 1024
THREAD_BYTES = 64 * 1024
ZSTD_LEVEL = 3


def validate_compression(value: object, what: str = "compression") -> Compression:
    """``value`` if it is ``"zstd"`` or ``"none"``."""
    if value == "zstd":
        return "zstd"
    if value == "none":
        return "none"
    raise InvalidArgumentError(f"{what} must be 'zstd' or 'none', got {value!r}")


def validate_accept_encoding(value: object) -> frozenset[str]:
    """The encodings a reader takes as stored: ``"zstd"``, ``"*"``, or a list of them."""
    if value is None:
        return frozenset()
    values: Iterable[object] = (value,) if isinstance(value, str) else value  # type: ignore[assignment]
    try:
        accepted = frozenset(values)
    except TypeError:
        raise InvalidArgumentError(
            f"accept_encoding must be 'zstd', '*' or a list of them, got {value!r}"
        ) from None
    if not accepted or not accepted <= {"zstd", "*"}:
        raise InvalidArgumentError(
            f"accept_encoding must be 'zstd', '*' or a list of them, got {value!r}"
        )
    return cast(frozenset[str], accepted)


def zstd() -> ModuleType:
    """The ``zstandard`` module, or a clear error when it is not installed."""
    try:
        import zstandard
    except ImportError as exc:
        raise UnsupportedFeatureError(
            "zstd compression needs the zstandard package: pip install 'natsobj[zstd]' "
            "(or put with compression='none')"
        ) from exc
    return zstandard


async def _run(step: Callable[[bytes], bytes], data: bytes) -> bytes:
    if len(data) >= THREAD_BYTES:
        return await anyio.to_thread.run_sync(step, data)
    return step(data)


async def compress(data: PutData) -> AsyncIterator[bytes]:
    """``data`` (anything ``ObjectStore.put`` takes) as one zstd frame, streamed."""
    compressor = zstd().ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    blocks = iter_chunks(data, BLOCK_BYTES)
    async with aclosing(blocks):
        async for block in blocks:
            out = await _run(compressor.compress, bytes(block))
            if out:
                yield out
    yield compressor.flush()


async def decompress(chunks: AsyncIterable[bytes], *, name: str) -> AsyncIterator[bytes]:
    """The decompressed bytes of zstd ``chunks`` (one or more frames), streamed.

    Truncation is left to the digest check of the stored bytes, which covers it.

    Raises:
        BadObjectMetaError: the bytes are not zstd although the meta says they are.
    """
    module = zstd()
    decoder = module.ZstdDecompressor().decompressobj(read_across_frames=True)
    try:
        async for chunk in chunks:
            out = await _run(decoder.decompress, chunk)
            if out:
                yield out
    except module.ZstdError as exc:
        raise BadObjectMetaError(
            f"object {name!r} is marked zstd-compressed but is not valid zstd: {exc}", name=name
        ) from exc
