"""NatsObjFile: an object opened through fsspec, read by ranges or written as one stream.

Reading fetches byte ranges as fsspec's cache asks for them (``readahead`` by default):
each fetch is one range get, which reads only the chunks that hold the range. The file is
pinned to the data it opened: if the object's bytes are replaced while it is open, the next
fetch raises PreconditionFailedError rather than mixing two versions.

Writing streams: every block fsspec flushes (``block_size``) is handed to one put running
on the filesystem's loop, so no more than a block is buffered here, and the put commits
the object when the file closes. A file that is discarded, left by an exception in its
``with`` block, or collected without being closed commits nothing: the put is cancelled
and its chunks purged. A file smaller than a block is stored with one put on close.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from fsspec.asyn import sync
from fsspec.caching import ReadAheadCache, register_cache
from fsspec.spec import AbstractBufferedFile

import natsobj

if TYPE_CHECKING:
    from ._filesystem import NatsObjFileSystem

__all__ = ["NatsObjFile", "SequentialReadAhead", "WriteOptions", "read_range", "write_options"]

_META_KEYS = ("description", "metadata", "headers")
_PUT_KEYS = ("content_type", "chunk_size")


@dataclass
class WriteOptions:
    """What a write stores besides the bytes, and whether it may replace an object."""

    meta: natsobj.ObjectMeta
    create: bool = False
    put_options: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def exists_error(self, path: str) -> Iterator[None]:
        """A create that lost to an existing object raises FileExistsError."""
        try:
            yield
        except natsobj.PreconditionFailedError as exc:
            if not self.create:
                raise
            raise FileExistsError(errno.EEXIST, "the object exists", path) from exc


def write_options(name: str, mode: str, kwargs: Mapping[str, Any]) -> WriteOptions:
    """The write options among ``kwargs`` (others are fsspec's, and ignored):
    ``description``, ``metadata``, ``headers`` (the meta), ``content_type``, ``chunk_size``.
    ``mode`` is fsspec's: ``overwrite`` or ``create``.

    Raises:
        ValueError: another mode.
    """
    if mode not in ("overwrite", "create"):
        raise ValueError(f"mode must be 'overwrite' or 'create', got {mode!r}")
    meta = natsobj.ObjectMeta(name=name, **{k: kwargs[k] for k in _META_KEYS if k in kwargs})
    put_options = {k: kwargs[k] for k in _PUT_KEYS if kwargs.get(k) is not None}
    if mode == "create":
        put_options["if_revision"] = 0
    return WriteOptions(meta, mode == "create", put_options)


async def read_range(
    store: natsobj.ObjectStore,
    name: str,
    start: int,
    end: int | None,
    *,
    check: Callable[[natsobj.ObjectInfo], None] | None = None,
) -> bytes:
    """``[start, end)`` of the object in one get (only the chunks that hold it are read);
    ``b""`` past its end or for an empty range. ``check`` sees the object's meta first.
    A whole object is verified against its digest."""
    if end is not None and end <= start:
        return b""
    if start == 0 and end is None and check is None:
        return await store.get_bytes(name)
    try:
        async with store.get(name, start=start, end=end) as result:
            if check is not None:
                check(result.info)
            return await result.read()
    except natsobj.RangeNotSatisfiableError:
        return b""


class SequentialReadAhead(ReadAheadCache):  # type: ignore[misc]  # fsspec is untyped
    """fsspec's ``readahead`` cache, reading ahead only when reads are sequential.

    A read that starts where the previous one ended (or at the start of the file, or in
    the block held) fetches a block more than it asks; a read that jumps elsewhere fetches
    exactly its range. Sequential readers (lines, CSV, a whole file in pieces) get few
    large fetches; random readers (parquet, zip) never pay for bytes they do not use.
    """

    name = "sequential-readahead"
    blocksize: int
    start: int
    end: int

    def __init__(self, blocksize: int, fetcher: Callable[[int, int], bytes], size: int):
        super().__init__(blocksize, fetcher, size)
        self._next = 0

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        start = start or 0
        sequential = start == self._next or self.start <= start < self.end
        blocksize = self.blocksize
        if not sequential:
            self.blocksize = 0
        try:
            data: bytes = super()._fetch(start, end)
        finally:
            self.blocksize = blocksize
        self._next = start + len(data)
        return data


register_cache(SequentialReadAhead, clobber=True)


class StreamedPut:
    """One put that runs on the filesystem's loop while another thread hands it blocks.

    The put is an asyncio task because fsspec's file API spans many sync calls; it is
    always finished (``finish``) or cancelled and awaited (``abort``), never left behind.
    """

    def __init__(self, store: natsobj.ObjectStore, options: WriteOptions):
        self._store = store
        self._options = options
        self._send: MemoryObjectSendStream[bytes] | None = None
        self._task: asyncio.Task[natsobj.ObjectInfo | None] | None = None
        self._scope: anyio.CancelScope | None = None

    async def start(self) -> None:
        # No buffer: a block is handed over only when the put takes it.
        send, receive = anyio.create_memory_object_stream[bytes](0)
        self._send = send
        scope = self._scope = anyio.CancelScope()

        async def run() -> natsobj.ObjectInfo | None:
            with scope:
                async with receive:
                    return await self._store.put(
                        self._options.meta, receive, **self._options.put_options
                    )
            return None  # aborted

        self._task = asyncio.get_running_loop().create_task(run())

    async def send(self, data: bytes) -> None:
        assert self._send is not None
        assert self._task is not None
        try:
            await self._send.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._task  # the put ended early: its error says why
            raise natsobj.IncompleteObjectError(
                "the put ended before all the data was written", name=self._options.meta.name
            ) from None

    async def finish(self) -> natsobj.ObjectInfo | None:
        assert self._send is not None
        assert self._task is not None
        await self._send.aclose()
        return await self._task

    async def abort(self) -> None:
        """Cancel the put (its chunks are purged) and wait for it to end. The stream is
        closed only after: its end would tell the put that the data is complete."""
        if self._scope is not None:
            self._scope.cancel()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self._send is not None:
            await self._send.aclose()


class NatsObjFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A natsobj object opened by ``NatsObjFileSystem.open`` (see the module docstring)."""

    fs: NatsObjFileSystem

    def __init__(
        self,
        fs: NatsObjFileSystem,
        path: str,
        mode: str = "rb",
        *,
        write: WriteOptions | None = None,
        details: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        self._write = write
        self._put: StreamedPut | None = None
        self._nuid: str | None = None
        super().__init__(fs, path, mode, **kwargs)
        if details is not None:
            self._details = details
            self._nuid = details.get("nuid")

    def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        return sync(self.fs.loop, func, *args)

    # -- reading ------------------------------------------------------------------------

    def _fetch_range(self, start: int, end: int) -> bytes:
        data: bytes = self._run(self._read, start, end)
        return data

    async def _read(self, start: int, end: int) -> bytes:
        bucket, _, name = self.path.partition("/")
        with self.fs._errors(self.path):
            store = await self.fs._store(bucket)
            return await read_range(store, name, start, end, check=self._same_data)

    def _same_data(self, info: natsobj.ObjectInfo) -> None:
        if self._nuid is None:
            self._nuid = info.nuid
        elif info.nuid != self._nuid:
            raise natsobj.PreconditionFailedError(
                f"{self.path!r} was replaced while open for reading",
                bucket=info.bucket,
                name=info.name,
            )

    # -- writing ------------------------------------------------------------------------

    def _initiate_upload(self) -> None:
        """Nothing yet: a file smaller than a block is stored with one put on close."""

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._write is not None
        data = self.buffer.getvalue()
        if self._put is None and final and self.autocommit:
            self._run(self.fs._write, self.path, data, self._write)
            return True
        if self._put is None:
            self._put = self._run(self._start_put)
        try:
            if data:
                self._run(self._put.send, data)
        except BaseException:
            self.discard()  # a failed hand-over (or an interrupt) leaves no put running
            raise
        if final and self.autocommit:
            self._finish()
        return True

    async def _start_put(self) -> StreamedPut:
        assert self._write is not None
        bucket, _, _ = self.path.partition("/")
        with self.fs._errors(self.path):
            put = StreamedPut(await self.fs._store(bucket), self._write)
        await put.start()
        return put

    def _finish(self) -> None:
        assert self._write is not None
        put, self._put = self._put, None
        if put is not None:
            with self._write.exists_error(self.path), self.fs._errors(self.path):
                self._run(put.finish)

    def commit(self) -> None:
        """Commit a file opened with ``autocommit=False`` (in a transaction) once closed."""
        self._finish()

    def discard(self) -> None:
        """Abandon the write: nothing of it is stored."""
        put, self._put = self._put, None
        if put is not None:
            self._run(put.abort)

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is not None and self.writable():
            self._abandon()
        else:
            self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if self.writable():
                self._abandon()
            else:
                super().__del__()

    def _abandon(self) -> None:
        """Close without committing."""
        try:
            self.discard()
        finally:
            self.closed = True
