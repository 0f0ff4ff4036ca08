"""The Many API: a batch of puts, gets, heads and deletes with bounded concurrency.

Operations are validated as they are queued; ``send()`` first reads the metas of every get
and head in batched Direct Gets (a thousand in one request), then runs the operations
``max_concurrency`` at a time in one task group and streams each result as it completes,
tagged with its operation, key and position.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Self, Unpack

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._checks import RequiresAsyncWith
from .._errors import (
    InvalidArgumentError,
    ManyOperationsError,
    ObjectStoreError,
    unwrap_single_error,
)
from .._manager import DEFAULT_MANY_CONCURRENCY
from .._models import ObjectInfo
from .._source import PutData
from ._ops import (
    GetResponse,
    SessionContext,
    delete,
    get_request,
    live,
    prefetch,
    put_request,
    run_put,
)
from ._scope import ObjectMetadata, SessionPutOptions

__all__ = ["Many", "OperationResult", "OperationResults"]

Operation = Literal["put", "get", "head", "delete"]
MAX_CONCURRENCY = 1000


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The outcome of one queued operation.

    ``index`` is its position in the batch; ``metadata`` is set for a successful put, get
    or head; ``payload`` holds a get's bytes; ``error`` is set when it failed (an
    ``ObjectNotFoundError`` for a get or head of a missing key).
    """

    operation: Operation
    key: str
    index: int
    metadata: ObjectMetadata | None = None
    payload: bytes | None = None
    error: ObjectStoreError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# A queued operation: given the prefetched meta of its key (or None), its result.
_Run = Callable[[ObjectInfo | None], Awaitable[OperationResult]]
# What an operation gives back: the object's metadata and a get's payload.
_Outcome = tuple[ObjectMetadata | None, bytes | None]


@dataclass(frozen=True, slots=True)
class _Queued:
    key: str
    run: _Run
    wants_meta: bool


class Many:
    """Operations queued on a session (``session.many()``), sent together.

    Each queueing method validates its arguments at once (bad input raises there) and
    returns the batch, so calls chain.
    """

    def __init__(self, context: SessionContext, *, max_concurrency: int = DEFAULT_MANY_CONCURRENCY):
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidArgumentError(f"max_concurrency must be an int, got {max_concurrency!r}")
        if not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise InvalidArgumentError(
                f"max_concurrency must be 1 to {MAX_CONCURRENCY}, got {max_concurrency}"
            )
        self._context = context
        self.max_concurrency = max_concurrency
        self._queued: list[_Queued] = []

    def __len__(self) -> int:
        return len(self._queued)

    def _queue(
        self,
        operation: Operation,
        key: str,
        run: Callable[[ObjectInfo | None], Awaitable[_Outcome]],
    ) -> Many:
        index = len(self._queued)

        async def tagged(prefetched: ObjectInfo | None) -> OperationResult:
            try:
                metadata, payload = await run(prefetched)
            except ObjectStoreError as exc:
                return OperationResult(operation, key, index, error=exc)
            return OperationResult(operation, key, index, metadata=metadata, payload=payload)

        self._queued.append(_Queued(key, tagged, wants_meta=operation in ("get", "head")))
        return self

    def put(
        self, contents: PutData, key: str | None = None, **options: Unpack[SessionPutOptions]
    ) -> Many:
        """Queue a put (arguments as ``Session.put``; a missing key is generated now)."""
        context, request = self._context, put_request(contents, key, options)

        async def run(_: ObjectInfo | None) -> _Outcome:
            return await run_put(context, request), None

        return self._queue("put", request.key, run)

    def get(
        self,
        key: str,
        *,
        decompress: bool = True,
        accept_encoding: str | list[str] | None = None,
    ) -> Many:
        """Queue a get; its result carries the metadata and the whole payload."""
        context = self._context
        request = get_request(key, decompress=decompress, accept_encoding=accept_encoding)

        async def run(prefetched: ObjectInfo | None) -> _Outcome:
            async with GetResponse(context, request, prefetched) as response:
                return response.metadata, await response.read()

        return self._queue("get", request.key, run)

    def head(self, key: str) -> Many:
        """Queue a head."""
        context = self._context
        context.object_name(key)  # validates the key now

        async def run(prefetched: ObjectInfo | None) -> _Outcome:
            return (await live(context, key, prefetched))[1], None

        return self._queue("head", key, run)

    def delete(self, key: str) -> Many:
        """Queue a delete (of a missing key too: that is not an error)."""
        context = self._context
        context.object_name(key)

        async def run(_: ObjectInfo | None) -> _Outcome:
            await delete(context, key)
            return None, None

        return self._queue("delete", key, run)

    def send(self) -> OperationResults:
        """Run the queued operations: ``async with many.send() as results``, then
        ``async for result in results`` (in completion order) or
        ``await results.error_for_failures()``. Leaving the block cancels what is left."""
        return OperationResults(self._context, list(self._queued), self.max_concurrency)

    async def error_for_failures(self) -> None:
        """Send, wait for every operation, and raise if any failed.

        Raises:
            ManyOperationsError: carrying every failed result.
        """
        async with self.send() as results:
            await results.error_for_failures()


class OperationResults(RequiresAsyncWith, anyio.AsyncContextManagerMixin):
    """The results of a sent batch, as they complete (see ``Many.send``): use inside
    ``async with``, which runs the batch (else NotOpenError)."""

    _usage = "async with many.send() as results: async for result in results"

    def __init__(self, context: SessionContext, queued: list[_Queued], max_concurrency: int):
        self._context = context
        self._queued = deque(queued)
        self._workers = min(max_concurrency, len(queued))
        self._prefetched: dict[str, ObjectInfo] = {}
        self._receive: MemoryObjectReceiveStream[OperationResult] | None = None

    @contextlib.asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self, None]:
        send, receive = anyio.create_memory_object_stream[OperationResult](max(self._workers, 1))
        try:
            with unwrap_single_error():
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._run_all, send)
                    self._receive = receive
                    try:
                        yield self
                    finally:
                        task_group.cancel_scope.cancel()  # what is left is not wanted any more
        finally:
            self._receive = None  # iterating now: NotOpenError
            receive.close()

    async def _run_all(self, send: MemoryObjectSendStream[OperationResult]) -> None:
        async with send:
            keys = {q.key for q in self._queued if q.wants_meta}
            if keys:
                # A failure here is not fatal: each operation then looks its key up itself.
                with contextlib.suppress(ObjectStoreError):
                    self._prefetched = await prefetch(self._context, keys)
            async with anyio.create_task_group() as workers:
                for _ in range(self._workers):
                    workers.start_soon(self._work, send.clone())

    async def _work(self, send: MemoryObjectSendStream[OperationResult]) -> None:
        async with send:
            while self._queued:
                queued = self._queued.popleft()
                prefetched = self._prefetched.get(queued.key) if queued.wants_meta else None
                await send.send(await queued.run(prefetched))

    def __aiter__(self) -> OperationResults:
        return self

    async def __anext__(self) -> OperationResult:
        if self._receive is None:
            raise self._not_open()
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def error_for_failures(self) -> None:
        """Wait for every remaining result; raise one error carrying every failure.

        Raises:
            ManyOperationsError: ``failures`` lists the failed results in completion order.
        """
        failures = [result async for result in self if not result.ok]
        if failures:
            detail = "; ".join(f"{r.operation} {r.key!r}: {r.error}" for r in failures[:5])
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise ManyOperationsError(
                f"{len(failures)} of the batch's operations failed: {detail}{more}", failures
            )
