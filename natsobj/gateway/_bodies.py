"""Object bytes as an HTTP response, for the Supabase and the Objectstore downloads.

A body of up to ``WHOLE_BODY_MAX`` bytes is read whole (verified) and sent in one piece:
most objects are small, and a streaming response costs a task group and a send per chunk
more (measured: see docs/gateway.md). A bigger body streams, with bounded memory; the
response then owns the open get and closes it when it ends, however it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, Protocol

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["WHOLE_BODY_MAX", "ObjectBody", "Readable", "object_response"]

WHOLE_BODY_MAX = 256 * 1024


class Readable(Protocol):
    """An open get (``ObjectStore.get``, ``Session.get``): its bytes whole or by chunk."""

    async def read(self) -> bytes: ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class ObjectBody(StreamingResponse):
    """A streamed object whose open get (in ``stack``) is closed when the response ends,
    however it ends."""

    def __init__(self, stack: AsyncExitStack, chunks: AsyncIterator[bytes], **kw: Any):
        super().__init__(chunks, **kw)
        self._stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._stack:
            await super().__call__(scope, receive, send)


async def object_response(
    stack: AsyncExitStack,
    result: Readable,
    length: int | None,
    *,
    status_code: int,
    headers: dict[str, str],
) -> Response:
    """The bytes of ``result`` (opened in ``stack``) as the response.

    ``length`` (the bytes to come; None when not known, as for bytes decompressed on the
    way) up to ``WHOLE_BODY_MAX``: read now, verified, so a failure is an error answer
    rather than a connection cut short, and ``stack`` stays the caller's. Otherwise the
    bytes stream and the response takes ``stack`` over (``pop_all``): it closes the get
    when it ends.
    """
    if length is not None and length <= WHOLE_BODY_MAX:
        return Response(await result.read(), status_code=status_code, headers=headers)
    owned = stack.pop_all()
    return ObjectBody(owned, aiter(result), status_code=status_code, headers=headers)
