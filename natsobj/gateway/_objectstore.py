"""Sentry Objectstore's HTTP API (``/v1``) over natsobj sessions.

``/v1/objects/{usecase}/{scopes}/{key}``: POST (no key; the server makes one), PUT, GET,
HEAD, DELETE, as ``getsentry/objectstore`` serves them and ``objectstore-client`` calls
them. ``{scopes}`` is matrix syntax (``org=42;project=1337``, ``_`` for none) and maps onto
natsobj's ``Usecase``/``Scope``/``Session``, so objects written here read back through
the library (and the other way round). Metadata travels as ``x-sn-*`` headers, custom
metadata as ``x-snme-*``; bodies stream both ways. Everything from the request is
validated before it names an object or a size. ``_objectstore_auth`` authorizes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .. import _errors as errors
from .._expiration import ExpirationPolicy
from .._manager import ObjectStoreManager
from .._sessions import ObjectMetadata, Session, Usecase
from .._sessions._compression import decompress
from .._sessions._scope import SessionPutOptions
from ._objectstore_auth import DELETE, READ, WRITE, AuthError, authorize

__all__ = ["objectstore_routes"]

META_PREFIX = "x-snme-"
# What the client's own percent-encoding leaves as is: visible ASCII but "%".
_HEADER_SAFE = "".join(chr(b) for b in range(0x20, 0x7F) if b != ord("%"))
# A header name we may emit for a custom metadata key (RFC 9110 token characters).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_VISIBLE = re.compile(r"[\x20-\x7e]+")
_DURATION_PART = re.compile(r"\s*(\d{1,12})\s*([a-z]+)")
_UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


class HTTPError(Exception):
    """A request refused with ``status`` and Objectstore's error body."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def objectstore_routes() -> list[BaseRoute]:
    """The routes to mount at ``/v1``; they read ``app.state.manager`` (an
    ``ObjectStoreManager``) and ``app.state.objectstore_keys`` (kid to Ed25519 public
    key; empty or missing turns authorization off)."""
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]
    from ._objectstore_multipart import multipart_routes  # it builds on this module

    return [
        Route("/objects/{usecase}/{scopes}", error_responses(_object), methods=["POST"]),
        Route("/objects/{usecase}/{scopes}/{key:path}", error_responses(_object), methods=methods),
        *multipart_routes(),
        # Batch requests are not served yet: 501, as Sentry's server answers for a backend
        # without a feature (objectstore-client 0.2.10 has no batch API).
        Route("/objects:batch/{rest:path}", _not_implemented, methods=["POST"]),
    ]


def _error(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail, "causes": []}, status_code=status)


async def _not_implemented(request: Request) -> Response:
    return _error(501, "not implemented by this gateway (natsobj)")


def _status_of(exc: errors.ObjectStoreError) -> int:
    """The HTTP status of a natsobj error: the one place they are mapped."""
    if isinstance(exc, errors.ObjectNotFoundError | errors.BucketNotFoundError):
        return 404
    if isinstance(exc, errors.InvalidArgumentError | errors.InvalidBucketNameError):
        return 400
    if isinstance(exc, errors.InvalidObjectNameError | errors.BadObjectMetaError):
        return 400
    if isinstance(exc, errors.ObjectTooLargeError):
        return 413
    if isinstance(exc, errors.BucketFullError):
        return 507
    if isinstance(exc, errors.UnsupportedFeatureError):
        return 400
    if isinstance(exc, errors.ServerUnavailableError | errors.ObjectStoreTimeoutError):
        return 503
    return 500


def error_responses(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` with every failure turned into a status and Objectstore's JSON body,
    never a stack trace (a 404 of a GET or HEAD has no body, as Sentry's)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (HTTPError, AuthError) as exc:
            return _error(exc.status, exc.detail)
        except ClientDisconnect:
            return _error(400, "the client disconnected during the upload")
        except errors.ObjectStoreError as exc:
            status = _status_of(exc)
            if status == 404 and request.method in ("GET", "HEAD"):
                return Response(status_code=404)
            detail = str(exc) if status < 500 else f"storage failed ({type(exc).__name__})"
            return _error(status, detail)

    return endpoint


async def _object(request: Request) -> Response:
    """One object route: dispatch on the method."""
    return await _HANDLERS[request.method](request)


def _parse_scope(text: str) -> tuple[tuple[str, str], ...]:
    if text == "_":
        return ()
    pairs = []
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            raise HTTPError(400, f"invalid scope {part!r}: expected key=value")
        pairs.append((name, value))
    return tuple(pairs)


def _check_segments(request: Request, usecase: str, scopes: str) -> None:
    """Refuse an encoded ``/`` in the usecase or scope segment. Routing matches the
    decoded path, where ``org=1%2Fk`` would become scope ``org=1`` and a key; Sentry's
    server routes the path as sent and refuses such a scope."""
    raw_path = request.scope.get("raw_path")
    if raw_path is None:
        return
    segments = raw_path.decode("latin-1").split("/")
    # The resource segment: "objects", "objects:multipart", "objects:multipart:parts", ...
    at = next((i for i, seg in enumerate(segments) if seg.split(":")[0] == "objects"), -1)
    sent = [unquote(segment) for segment in segments[at + 1 : at + 3]]
    if at < 0 or sent != [usecase, scopes]:
        raise HTTPError(400, "the usecase and scope segments must not contain an encoded '/'")


def scoped_session(request: Request, permission: str) -> tuple[Session, str | None]:
    """The session the path names, once the request is authorized for ``permission``,
    and the key (None when the path has none)."""
    params = request.path_params
    usecase = str(params["usecase"])
    _check_segments(request, usecase, str(params["scopes"]))
    pairs = _parse_scope(str(params["scopes"]))
    keys = getattr(request.app.state, "objectstore_keys", None) or {}
    authorize(request, keys, usecase, pairs, permission)
    manager: ObjectStoreManager = request.app.state.manager
    scope = Usecase(usecase).scope()
    for name, value in pairs:
        scope = scope.push(name, value)
    key = params.get("key") or None
    return scope.session(manager), key


def need_key(key: str | None) -> str:
    if key is None:
        raise HTTPError(400, "the path names no object key")
    return key


# -- writes -------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """A humantime duration as Sentry writes them (``30s``, ``7days``, ``1d 2h``)."""
    total = 0.0
    rest = text.strip().lower()
    if not rest:
        raise HTTPError(400, "empty duration")
    while rest:
        match = _DURATION_PART.match(rest)
        if match is None or match.group(2) not in _UNITS:
            raise HTTPError(400, f"invalid duration {text!r}")
        total += int(match.group(1)) * _UNITS[match.group(2)]
        rest = rest[match.end() :].strip()
    return timedelta(seconds=total)


def parse_expiration(value: str | None) -> ExpirationPolicy:
    """``x-sn-expiration``: ``manual`` (or absent), ``ttl:<duration>``, ``tti:<duration>``."""
    if value is None or value == "manual":
        return ExpirationPolicy.manual()
    kind, _, duration = value.partition(":")
    try:
        if kind == "ttl":
            return ExpirationPolicy.time_to_live(parse_duration(duration))
        if kind == "tti":
            return ExpirationPolicy.time_to_idle(parse_duration(duration))
    except errors.InvalidArgumentError as exc:
        raise HTTPError(400, f"invalid x-sn-expiration {value!r}: {exc}") from None
    raise HTTPError(400, f"invalid x-sn-expiration {value!r}")


def _decoded(value: str, what: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise HTTPError(400, f"{what} is not percent-encoded UTF-8") from None


def put_options(headers: Mapping[str, str]) -> tuple[str, SessionPutOptions]:
    """The body's encoding (``identity`` or ``zstd``) and the session put options that
    the request headers ask for (``x-sn-*``, ``x-snme-*``, Content-Type).

    Raises:
        HTTPError: 400 for an unsupported encoding or a malformed header.
    """
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "zstd"):
        raise HTTPError(400, f"unsupported Content-Encoding {encoding!r}: only zstd")
    custom = {
        name[len(META_PREFIX) :]: _decoded(value, name)
        for name, value in headers.items()
        if name.startswith(META_PREFIX)
    }
    origin = headers.get("x-sn-origin")
    filename = headers.get("x-sn-filename")
    return encoding, SessionPutOptions(
        compression="zstd" if encoding == "zstd" else "none",
        content_type=headers.get("content-type"),
        metadata=custom,
        expiration_policy=parse_expiration(headers.get("x-sn-expiration")),
        origin=None if origin is None else _decoded(origin, "x-sn-origin"),
        filename=None if filename is None else _decoded(filename, "x-sn-filename"),
    )


def stored_body(chunks: AsyncIterator[bytes], encoding: str) -> AsyncIterator[bytes]:
    """The bytes to put: zstd bodies decoded as they stream (natsobj compresses again)."""
    return decompress(chunks, name="(upload)") if encoding == "zstd" else chunks


async def _put(request: Request) -> Response:
    """Store the body under the path's key (PUT) or a new UUID4 key (POST, no key).

    The body arrives as the client sent it: with ``Content-Encoding: zstd`` it is
    decoded as it streams and stored zstd-compressed again (natsobj compresses its own
    frame), so the stored object is what a natsobj session put would have written.
    Readers see the old object or the new one, never a partial one.
    """
    session, key = scoped_session(request, WRITE)
    if request.method == "PUT":
        key = need_key(key)
    elif key is not None:
        raise HTTPError(405, "POST creates an object with a server key: use PUT for a key")
    if request.query_params.get("upload_type") == "resumable":
        raise HTTPError(501, "resumable uploads are not implemented by this gateway")
    encoding, options = put_options(request.headers)
    key = await session.put(stored_body(request.stream(), encoding), key, **options)
    return JSONResponse({"key": key}, status_code=201 if request.method == "POST" else 200)


async def _delete(request: Request) -> Response:
    """Delete the key; 204 whether or not it existed."""
    session, key = scoped_session(request, DELETE)
    await session.delete(need_key(key))
    return Response(status_code=204)


async def _patch(request: Request) -> Response:
    scoped_session(request, WRITE)
    raise HTTPError(501, "extend_expiry is not implemented by this gateway")


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


class _ObjectBody(StreamingResponse):
    """A streamed object whose get is closed when the response ends, however it ends."""

    def __init__(self, stack: AsyncExitStack, chunks: AsyncIterator[bytes], **kw: Any):
        super().__init__(chunks, **kw)
        self._stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._stack:
            await super().__call__(scope, receive, send)


async def _get(request: Request) -> Response:
    """Stream the object (200), or 404 with no body. A read is an access: it moves a
    time-to-idle deadline. zstd objects go out as stored unless the client's
    Accept-Encoding excludes zstd; then they are decoded as they stream."""
    session, key = scoped_session(request, READ)
    stored = _accepts_stored(request)
    response = session.get(need_key(key), decompress=not stored)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(response)
        meta = response.metadata
        headers = metadata_headers(meta, response.encoding)
        if response.encoding == meta.compression:  # the stored bytes, whose size we know
            headers["content-length"] = str(meta.size)
        # From here the response owns the open get and closes it when it ends.
        body_stack = stack.pop_all()
    return _ObjectBody(body_stack, aiter(response), headers=headers)


async def _head(request: Request) -> Response:
    """The metadata headers (204), or 404. Counts as an access for time to idle."""
    session, key = scoped_session(request, READ)
    meta = await session.head(need_key(key))
    return Response(status_code=204, headers=metadata_headers(meta, meta.compression))


_HANDLERS: Mapping[str, Callable[[Request], Awaitable[Response]]] = {
    "GET": _get,
    "HEAD": _head,
    "PUT": _put,
    "POST": _put,
    "DELETE": _delete,
    "PATCH": _patch,
}
