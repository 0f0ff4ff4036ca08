"""What every Objectstore route shares: errors as responses, the session a path
names (authorized), and put options from request headers (``x-sn-*``, ``x-snme-*``).

Everything here reads the request as untrusted input and refuses it with an
``HTTPError`` (or ``AuthError``) before it names an object or a size.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import unquote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .. import _errors as errors
from .._expiration import ExpirationPolicy
from .._manager import ObjectStoreManager
from .._sessions import Session, Usecase
from .._sessions._compression import decompress
from .._sessions._scope import SessionPutOptions
from ._objectstore_auth import AuthError, authorize
from ._objectstore_keys import KeyDirectory

META_PREFIX = "x-snme-"
# The largest JSON body a request may send (an extend_expiry, a multipart complete).
MAX_JSON_BODY = 1024 * 1024
# Durations past this are refused (a timedelta holds about 2.7 million years).
_MAX_DURATION_SECONDS = timedelta(days=999_999_999).total_seconds()
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


def _error(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail, "causes": []}, status_code=status)


def _status_of(exc: errors.ObjectStoreError) -> int:
    """The HTTP status of a natsobj error: the one place they are mapped."""
    if isinstance(exc, errors.ObjectNotFoundError | errors.BucketNotFoundError):
        return 404
    if isinstance(exc, errors.InvalidArgumentError | errors.InvalidBucketNameError):
        return 400
    if isinstance(exc, errors.InvalidObjectNameError | errors.BadObjectMetaError):
        return 400
    if isinstance(exc, errors.ExpiryExtensionRejectedError):
        return 409
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
    keys = getattr(request.app.state, "objectstore_keys", None) or KeyDirectory()
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


def parse_duration(text: str) -> timedelta:
    """A humantime duration as Sentry writes them (``30s``, ``7days``, ``1d 2h``).

    Raises:
        HTTPError: 400 for a malformed one, or one past what a timedelta holds.
    """
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
    if total > _MAX_DURATION_SECONDS:
        raise HTTPError(400, f"duration {text!r} is too long")
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


async def json_body(request: Request, limit: int = MAX_JSON_BODY) -> object:
    """The request's JSON body, read up to ``limit`` bytes.

    Raises:
        HTTPError: 413 for a longer body, 400 for one that is not JSON.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPError(413, f"the request body is over {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPError(400, "the request body is not JSON") from None


ExpiryTarget = tuple[datetime | None, timedelta | None, timedelta | None]


async def expiry_request(request: Request) -> ExpiryTarget:
    """``Session.extend_expiry``'s ``at``, ``from_creation``, ``from_now`` from a PATCH
    body (see ``_patch``).

    Raises:
        HTTPError: 400 for a body of another shape or a bad time or duration.
    """
    body = await json_body(request)
    spec = body.get("extend_expiry") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise HTTPError(400, 'the body must be {"extend_expiry": {...}}')
    if set(spec) == {"at"} and isinstance(spec["at"], str):
        try:
            at = datetime.fromisoformat(spec["at"])
        except ValueError:
            raise HTTPError(400, f"invalid time {spec['at']!r}") from None
        if at.tzinfo is None:
            raise HTTPError(400, "the time needs a zone")
        return at, None, None
    after, base = spec.get("after"), spec.get("from")
    if set(spec) != {"after", "from"} or not isinstance(after, str) or len(after) > 100:
        raise HTTPError(400, 'extend_expiry takes "at", or "after" and "from"')
    if base not in ("now", "creation"):
        raise HTTPError(400, '"from" must be "now" or "creation"')
    duration = parse_duration(after)
    return (None, None, duration) if base == "now" else (None, duration, None)


_RANGE = re.compile(r"(\d{0,19})-(\d{0,19})")


def byte_range(header: str | None) -> tuple[int | None, int | None]:
    """``Session.get``'s ``start``/``end`` for a ``Range`` header, as Sentry's server
    reads it: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``; (None, None) for no header or
    several ranges (the whole object is sent).

    Raises:
        HTTPError: 400 for another unit or a malformed range.
    """
    if header is None:
        return None, None
    unit, sep, spec = header.strip().lower().partition("=")
    if not sep or unit.strip() != "bytes":
        raise HTTPError(400, f"invalid Range header: unit {unit.strip()!r}, expected bytes")
    if "," in spec:
        return None, None
    match = _RANGE.fullmatch(spec.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise HTTPError(400, "invalid Range header: invalid byte range")
    first, last = match.group(1), match.group(2)
    if not first:
        if int(last) == 0:
            raise HTTPError(400, "invalid Range header: invalid byte range")
        return -int(last), None
    if last and int(last) < int(first):
        raise HTTPError(400, "invalid Range header: invalid byte range")
    return int(first), int(last) + 1 if last else None
