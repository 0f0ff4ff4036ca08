"""The machinery of the sync facade: one event loop thread per client, and the small
typed helpers that turn an async method into a blocking one.

A ``Client`` owns an anyio blocking portal (an event loop in a daemon thread). Every sync
object holds its client and the async object it wraps (``_async``); each of its methods
runs the async method in the portal's loop and waits for the outcome in the caller's
thread, so there is one copy of the logic: the async one. An error raised there is
re-raised here as it is (natsobj's own classes; the traceback shows both the caller's
frames and the loop's). A KeyboardInterrupt (Ctrl-C) while waiting cancels the operation
in the loop and is re-raised at once; leaving the client's ``with`` then closes what is
left, bounded by the connection's timeouts.

Resources (reads, watchers, batches) are entered and left in one task of the loop (the
portal's ``wrap_async_context_manager``), as anyio's cancel scopes and task groups need;
the client closes any still open when it closes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from natsobj import NotOpenError

__all__ = [
    "Client",
    "Resource",
    "Wrapper",
    "blocking",
    "blocking_into",
    "blocks_in_thread",
    "opening",
    "takes_args_of",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
A = TypeVar("A")
W = TypeVar("W")
CM = TypeVar("CM", bound=AbstractAsyncContextManager[Any])

_END = object()  # what ``_next`` returns once an async iterator is exhausted


class Client:
    """An event loop in a thread, shared by a connection and everything opened through it.

    ``close()`` closes the resources still open (last opened first), then what was entered
    with ``enter`` (the connection), then stops the loop; closing again does nothing.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(
            start_blocking_portal("asyncio", name="natsobj-sync")
        )
        # Runs after everything entered later is left: what still runs in the loop then
        # (a call abandoned to Ctrl-C, even if the caller went on) is cancelled, not
        # waited for.
        self._stack.callback(self._portal.call, self._portal.stop, True)
        self._open: dict[int, Resource[Any]] = {}
        self._lock = threading.Lock()
        self.closed = False

    def call(self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``await fn(*args, **kwargs)`` in the loop: its result, or its exception raised
        here. Ctrl-C while waiting cancels it there."""
        return self._wait(functools.partial(fn, *args, **kwargs))

    def call_sync(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` run in the loop's thread (for what makes anyio objects)."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return self._wait(run)

    def _wait(self, call: Callable[[], Awaitable[T]]) -> T:
        if self.closed:
            raise NotOpenError("the sync client is closed: connect again")
        future = self._portal.start_task_soon(call)
        # A plain lock, not ``future.result()``: a KeyboardInterrupt in Condition.wait can
        # leave the thread stuck re-acquiring the condition's lock.
        done = threading.Lock()
        done.acquire()
        future.add_done_callback(lambda _: done.release())
        try:
            done.acquire()
        except BaseException:
            future.cancel()  # a KeyboardInterrupt here: stop the operation in the loop
            raise
        return future.result()

    def enter(self, cm: AbstractAsyncContextManager[T]) -> T:
        """Enter ``cm`` in one task of the loop; it is left when the client closes."""
        return self._stack.enter_context(self._portal.wrap_async_context_manager(cm))

    def wrap(self, cm: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
        """``cm`` as a blocking context manager, entered and left in one task of the loop."""
        if self.closed:
            raise NotOpenError("the sync client is closed: connect again")
        return self._portal.wrap_async_context_manager(cm)

    def track(self, resource: Resource[Any], is_open: bool) -> None:
        with self._lock:
            if is_open:
                self._open[id(resource)] = resource
            else:
                self._open.pop(id(resource), None)

    def close(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        """Close what is still open, then the connection, then the loop thread. With an
        exception (Ctrl-C included), operations still running in the loop are cancelled."""
        if self.closed:
            return
        try:
            with self._lock:
                left = list(self._open.values())
            for resource in reversed(left):
                with contextlib.suppress(Exception):
                    resource.close()
        finally:
            self.closed = True
            self._stack.__exit__(exc_type, exc, tb)


class Wrapper(Generic[A]):
    """A sync object over the async ``_async``, run in ``_client``'s loop."""

    def __init__(self, client: Client, wrapped: A):
        self._client = client
        self._async = wrapped

    def __repr__(self) -> str:
        return f"sync.{self._async!r}"


def blocking(
    method: Callable[Concatenate[A, P], Awaitable[R]],
) -> Callable[Concatenate[Wrapper[A], P], R]:
    """The blocking twin of an async method: same arguments, same result, same errors."""

    @functools.wraps(method)
    def call(self: Wrapper[A], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._client.call(method, self._async, *args, **kwargs)

    return call


def blocking_into(
    method: Callable[Concatenate[A, P], Awaitable[R]], wrap: Callable[[Client, R], W]
) -> Callable[Concatenate[Wrapper[A], P], W]:
    """The blocking twin of an async method whose result is itself wrapped (a store)."""

    @functools.wraps(method)
    def call(self: Wrapper[A], /, *args: P.args, **kwargs: P.kwargs) -> W:
        return wrap(self._client, self._client.call(method, self._async, *args, **kwargs))

    return call


def opening(
    method: Callable[Concatenate[A, P], R], wrap: Callable[[Client, R], W]
) -> Callable[Concatenate[Wrapper[A], P], W]:
    """The twin of a plain method that makes a resource (``get``, ``watch``): the resource
    is made in the loop (its arguments checked there) and returned wrapped, unopened."""

    @functools.wraps(method)
    def call(self: Wrapper[A], /, *args: P.args, **kwargs: P.kwargs) -> W:
        return wrap(self._client, self._client.call_sync(method, self._async, *args, **kwargs))

    return call


def takes_args_of(like: Callable[P, object]) -> Callable[[Callable[..., R]], Callable[P, R]]:
    """Type the decorated function as taking ``like``'s arguments (for mypy and
    ``inspect.signature``): a blocking twin that hands them on as they are."""

    def same(function: Callable[..., R]) -> Callable[P, R]:
        signature = inspect.signature(like)
        returns = inspect.signature(function).return_annotation
        function.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
        return function

    return same


async def _next(iterator: Any) -> Any:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _END


class Resource(Wrapper[CM]):
    """A sync resource over an async one: ``with`` opens it (in one task of the loop) and
    closing it, or leaving the block, releases it. One left open is closed with its
    client. Iterating it outside ``with`` raises NotOpenError, as the async one does."""

    _entered: AbstractContextManager[Any] | None = None

    def __enter__(self) -> Self:
        entered = self._client.wrap(self._async)
        entered.__enter__()
        self._entered = entered
        self._client.track(self, True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entered, self._entered = self._entered, None
        self._client.track(self, False)
        if entered is not None:
            entered.__exit__(exc_type, exc, tb)

    def close(self) -> None:
        """Release what the open resource holds (as leaving its ``with``); idempotent."""
        self.__exit__(None, None, None)

    def _next_item(self) -> Any:
        """The async iterator's next item, or StopIteration."""
        item = self._client.call(_next, self._async)
        if item is _END:
            raise StopIteration
        return item


def blocks_in_thread(iterable: Iterable[Any]) -> AsyncIterator[Any]:
    """An async iterable over a sync iterable of blocks, each pulled in a worker thread (a
    generator may block). Buffers other than bytes, bytearray and memoryview (a numpy
    array) are copied to bytes; anything else passes as it is, for the put to refuse."""

    async def blocks() -> AsyncIterator[Any]:
        iterator = iter(iterable)
        while (block := await anyio.to_thread.run_sync(next, iterator, _END)) is not _END:
            if not isinstance(block, bytes | bytearray | memoryview | str):
                with contextlib.suppress(TypeError):
                    block = memoryview(block).tobytes()  # type: ignore[arg-type]
            yield block

    return blocks()
