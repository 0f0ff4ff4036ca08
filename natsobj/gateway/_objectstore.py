"""Sentry Objectstore's HTTP API (``/v1``) over natsobj sessions.

``/v1/objects/{usecase}/{scopes}/{key}``: POST (no key; the server makes one), PUT, GET,
HEAD, DELETE, as ``getsentry/objectstore`` serves them and ``objectstore-client`` calls
them. ``{scopes}`` is matrix syntax (``org=42;project=1337``, ``_`` for none) and maps onto
natsobj's ``Usecase``/``Scope``/``Session``, so objects written here read back through
the library (and the other way round). Metadata travels as ``x-sn-*`` headers, custom
metadata as ``x-snme-*``; bodies stream both ways (a download of up to 256 KiB goes
out in one piece, ``_bodies``). Everything from the request is validated before it
names an object or a size. ``_objectstore_auth`` authorizes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._errors import RangeNotSatisfiableError
from .._sessions import ObjectMetadata
from . import _objectstore_resumable as resumable
from ._bodies import object_response
from ._objectstore_auth import DELETE, READ, WRITE
from ._objectstore_multipart import multipart_routes
from ._objectstore_requests import (
    META_PREFIX,
    HTTPError,
    byte_range,
    error_responses,
    expiry_request,
    need_key,
    put_options,
    scoped_session,
    stored_body,
)

__all__ = ["objectstore_routes"]

# What the clients' own percent-encoding of header values leaves as is: visible ASCII but %.
_HEADER_SAFE = "".join(chr(b) for b in range(0x20, 0x7F) if b != ord("%"))
# A header name we may emit for a custom metadata key (RFC 9110 token characters).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_VISIBLE = re.compile(r"[\x20-\x7e]+")
_ACCEPT_RANGES = {"accept-ranges": "bytes"}


def objectstore_routes() -> list[BaseRoute]:
    """The routes to mount at ``/v1``; they read ``app.state.manager`` (an
    ``ObjectStoreManager``) and ``app.state.objectstore_keys`` (kid to Ed25519 public
    key; empty or missing turns authorization off)."""
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]
    return [
        Route("/objects/{usecase}/{scopes}", error_responses(_object), methods=["POST"]),
        Route("/objects/{usecase}/{scopes}/{key:path}", error_responses(_object), methods=methods),
        *multipart_routes(),
        # Batch requests are not served yet: 501, as Sentry's server answers for a backend
        # without a feature (objectstore-client 0.2.10 has no batch API).
        Route("/objects:batch/{rest:path}", error_responses(_not_implemented), methods=["POST"]),
    ]


async def _not_implemented(request: Request) -> Response:
    raise HTTPError(501, "not implemented by this gateway (natsobj)")


async def _object(request: Request) -> Response:
    """One object route: dispatch on the method."""
    return await _HANDLERS[request.method](request)


# -- writes -------------------------------------------------------------------------------


async def _put(request: Request) -> Response:
    """Store the body under the path's key (PUT) or a new UUID4 key (POST, no key).

    The body arrives as the client sent it: with ``Content-Encoding: zstd`` it is
    decoded as it streams and stored zstd-compressed again (natsobj compresses its own
    frame), so the stored object is what a natsobj session put would have written.
    Readers see the old object or the new one, never a partial one.
    """
    query = request.query_params
    if request.method == "POST" and request.path_params.get("key"):
        raise HTTPError(405, "POST creates an object with a server key: use PUT for a key")
    if query.get("upload_type") == "resumable":
        return await resumable.create(request)
    if request.method == "PUT" and "session" in query:
        return await resumable.write(request)
    session, key = scoped_session(request, WRITE)
    if request.method == "PUT":
        key = need_key(key)
    encoding, options = put_options(request.headers)
    key = await session.put(stored_body(request.stream(), encoding), key, **options)
    return JSONResponse({"key": key}, status_code=201 if request.method == "POST" else 200)


async def _delete(request: Request) -> Response:
    """Delete the key; 204 whether or not it existed. With ``?session=``: cancel that
    resumable upload."""
    if "session" in request.query_params:
        return await resumable.cancel(request)
    session, key = scoped_session(request, DELETE)
    await session.delete(need_key(key))
    return Response(status_code=204)


async def _patch(request: Request) -> Response:
    """``extend_expiry``: body ``{"extend_expiry": {"at": <RFC 3339>}}`` or
    ``{"extend_expiry": {"after": <duration>, "from": "now" | "creation"}}``. 204 when the
    deadline is at or past the target (moved or not), 404 for a missing or expired key,
    409 for an object that never expires or that a put or delete replaced meanwhile."""
    session, key = scoped_session(request, WRITE)
    at, from_creation, from_now = await expiry_request(request)
    await session.extend_expiry(
        need_key(key), at=at, from_creation=from_creation, from_now=from_now
    )
    return Response(status_code=204)


# -- reads --------------------------------------------------------------------------------


def format_duration(delta: timedelta) -> str:
    """``delta`` as the client parses it: ``1d 2h 3m 4s`` (whole seconds, ``0s``)."""
    minutes, seconds = divmod(delta.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = ((delta.days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    return " ".join(f"{value}{unit}" for value, unit in parts if value) or "0s"


def _header_value(value: str) -> str:
    return quote(value, safe=_HEADER_SAFE)


def metadata_headers(meta: ObjectMetadata, encoding: str) -> dict[str, str]:
    """The response headers for ``meta``. Stored values may come from any client with
    write access to the bucket: they are percent-encoded or dropped, never sent raw."""
    content_type = meta.content_type
    if not _VISIBLE.fullmatch(content_type):
        content_type = "application/octet-stream"
    out = {"content-type": content_type, "x-sn-size": str(meta.size)}
    if encoding != "none":
        out["content-encoding"] = encoding
    policy = meta.expiration_policy
    if policy.duration is not None:
        out["x-sn-expiration"] = f"{policy.kind}:{format_duration(policy.duration)}"
    if meta.time_created is not None:
        out["x-sn-time-created"] = meta.time_created.isoformat()
    if meta.time_expires is not None:
        out["x-sn-time-expires"] = meta.time_expires.isoformat()
    if meta.origin is not None:
        out["x-sn-origin"] = _header_value(meta.origin)
    if meta.filename is not None:
        out["x-sn-filename"] = _header_value(meta.filename)
        out["content-disposition"] = f"attachment; filename*=UTF-8''{quote(meta.filename)}"
    for name, value in meta.custom.items():
        lowered = name.lower()
        if _TOKEN.fullmatch(lowered) and len(lowered) <= 256:
            out[META_PREFIX + lowered] = _header_value(value)
    return out


def _accepts_stored(request: Request) -> bool:
    """Whether to send zstd objects as stored (``Content-Encoding: zstd``).

    Sentry's server always does, and its clients decode by the response's header; they
    send no Accept-Encoding or Python's default ``identity``. So only an Accept-Encoding
    that names some other coding (a browser's ``gzip, br``) but not ``zstd`` or ``*``
    gets the bytes decoded."""
    header = request.headers.get("accept-encoding")
    if header is None:
        return True
    names = set()
    for part in header.split(","):
        name, *params = (p.strip().lower() for p in part.split(";"))
        if name and not any(p.replace(" ", "") in ("q=0", "q=0.0") for p in params):
            names.add(name)
    return not names - {"identity"} or bool(names & {"zstd", "*"})


async def _get(request: Request) -> Response:
    """The object (200), a byte range of its stored bytes (206), or 404 with no body.
    Up to 256 KiB are read whole (verified) and sent in one piece, more stream. A read is
    an access: it moves a time-to-idle deadline. zstd objects go out as stored unless
    the client's Accept-Encoding excludes zstd; then they are decoded as they stream (and
    a ``Range`` is ignored: it counts stored bytes)."""
    session, key = scoped_session(request, READ)
    stored = _accepts_stored(request)
    start, end = byte_range(request.headers.get("range"))
    ranged = start is not None and stored
    if not ranged:
        start = end = None
    response = session.get(need_key(key), decompress=not stored, start=start, end=end)
    async with AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(response)
        except RangeNotSatisfiableError as exc:
            headers = {"content-range": f"bytes */{exc.size}", **_ACCEPT_RANGES}
            return Response(status_code=416, headers=headers)
        meta = response.metadata
        headers = {**metadata_headers(meta, response.encoding), **_ACCEPT_RANGES}
        status = 200
        length: int | None = None  # the body's bytes, when known
        if ranged:
            first, last = response.range
            headers["content-range"] = f"bytes {first}-{last - 1}/{meta.size}"
            status, length = 206, last - first
        elif response.encoding == meta.compression:  # the stored bytes, whose size we know
            length = meta.size
        if length is not None:
            headers["content-length"] = str(length)
        return await object_response(stack, response, length, status_code=status, headers=headers)


async def _head(request: Request) -> Response:
    """The metadata headers (204), or 404. Counts as an access for time to idle."""
    session, key = scoped_session(request, READ)
    meta = await session.head(need_key(key))
    headers = {**metadata_headers(meta, meta.compression), **_ACCEPT_RANGES}
    return Response(status_code=204, headers=headers)


_HANDLERS: Mapping[str, Callable[[Request], Awaitable[Response]]] = {
    "GET": _get,
    "HEAD": _head,
    "PUT": _put,
    "POST": _put,
    "DELETE": _delete,
    "PATCH": _patch,
}
