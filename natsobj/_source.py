"""What a put accepts (``PutData``) and how it is cut into chunks (``iter_chunks``)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import IO, Any, Protocol, TypeAlias, cast

from ._cancellation import in_thread
from ._errors import InvalidArgumentError

__all__ = ["FILE_BLOCK_BYTES", "AsyncReadable", "PutData", "iter_chunks"]


class AsyncReadable(Protocol):
    async def read(self, size: int = -1, /) -> bytes: ...


PutData: TypeAlias = (
    bytes | bytearray | memoryview | str | IO[bytes] | AsyncIterable[bytes] | AsyncReadable
)

# Local files are read and written in blocks of this size (one worker-thread hop each).
FILE_BLOCK_BYTES = 4 * 1024 * 1024


async def iter_chunks(data: PutData, chunk_size: int) -> AsyncGenerator[bytes | memoryview, None]:
    """Yield ``data`` in chunks of exactly ``chunk_size`` bytes (the last may be shorter).

    Uniform chunks keep byte offsets computable for range reads. Blocking file reads run
    in a worker thread; nothing holds more than one chunk plus one input block. Immutable
    ``bytes`` are yielded as views, not copies; mutable buffers are copied chunk by chunk
    so a caller changing them mid-put cannot change what was hashed.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        for offset in range(0, len(view), chunk_size):
            piece = view[offset : offset + chunk_size]
            yield piece if isinstance(data, bytes) else bytes(piece)
        return
    read = getattr(data, "read", None)
    if callable(read):
        # Files are read in blocks: a worker-thread hop per chunk costs more than the read.
        block_size = max(chunk_size, FILE_BLOCK_BYTES)
        if inspect.iscoroutinefunction(read):
            blocks = _async_reads(cast(Callable[[int], Awaitable[bytes]], read), block_size)
        else:
            blocks = _thread_reads(cast(Callable[[int], bytes], read), block_size)
    elif isinstance(data, AsyncIterable):
        blocks = _blocks(data)
    else:
        raise InvalidArgumentError(
            f"cannot put {type(data).__name__}: give bytes, str, a binary file, "
            "an async iterable of bytes or a byte stream"
        )
    buffer = bytearray()
    async for block in blocks:
        if isinstance(block, str):
            raise InvalidArgumentError("put data yielded str; only bytes are accepted")
        buffer += block
        while len(buffer) >= chunk_size:
            yield bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer:
        yield bytes(buffer)


async def _blocks(source: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    async for block in source:
        if not isinstance(block, bytes | bytearray | memoryview):
            raise InvalidArgumentError(
                f"put data yielded {type(block).__name__}; only bytes are accepted"
            )
        yield bytes(block)


async def _thread_reads(read: Callable[[int], bytes], size: int) -> AsyncIterator[bytes]:
    while True:
        block = await in_thread(read, size)
        if isinstance(block, str):
            raise InvalidArgumentError("file is open in text mode; open it with 'rb'")
        if not block:
            return
        yield block


async def _async_reads(read: Callable[[int], Awaitable[bytes]], size: int) -> AsyncIterator[bytes]:
    while True:
        block = await read(size)
        if not block:
            return
        yield block
