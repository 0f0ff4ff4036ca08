"""Supabase downloads: object bytes (authenticated, public, signed) and object info, with
``Range``, ``If-None-Match``/``If-Modified-Since`` (304) and ``download=`` as
``supabase/storage``'s renderers answer them. Bodies up to 256 KiB are read whole and
sent in one piece, bigger ones stream from NATS as they are read; bucket handles are
reused for up to half a second (``_stores``)."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import natsobj

from ._bodies import object_response
from ._stores import open_store
from ._supabase_http import ApiError, check_readable, iso, object_key, require

__all__ = ["download", "download_public", "object_info", "serve"]

# What a header value may be as stored (the meta is anyone's: no line breaks, no bytes
# outside Latin-1 that the response could not encode): visible ASCII and spaces.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]+")


def _header_value(value: str, default: str) -> str:
    """``value`` if a response header can carry it as it is, else ``default``."""
    return value if _HEADER_VALUE.fullmatch(value) else default


def _http_date(stamp: datetime | None) -> str:
    return format_datetime(stamp, usegmt=True) if stamp is not None else ""


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` from a ``bytes=`` Range header (one range), None for the whole."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if not first:
            start, end = max(size - int(last), 0), size
        else:
            start = int(first)
            end = min(int(last) + 1, size) if last else size
    except ValueError:
        return None
    if start < 0 or end <= start:
        raise ApiError(400, "InvalidRange", "invalid range provided", error="invalid_range")
    return start, end


def _cache_control(info: natsobj.ObjectInfo) -> str:
    cache = info.headers.get("Cache-Control", ["no-cache"])
    return cache[0] if cache else "no-cache"


def _etag(info: natsobj.ObjectInfo) -> str:
    """The digest, quoted (one that is no header value, or holds a quote, reads as empty)."""
    digest = str(info.digest)
    return f'"{digest}"' if '"' not in digest and _HEADER_VALUE.fullmatch(digest) else '""'


def _object_headers(info: natsobj.ObjectInfo) -> dict[str, str]:
    """The object's response headers; a stored value no header can carry is replaced."""
    return {
        "Content-Type": _header_value(info.content_type, "application/octet-stream"),
        "Cache-Control": _header_value(_cache_control(info), "no-cache"),
        "ETag": _etag(info),
        "Last-Modified": _http_date(info.mtime),
        "Accept-Ranges": "bytes",
    }


def _not_modified(request: Request, info: natsobj.ObjectInfo, etag: str) -> bool:
    """``If-None-Match`` decides when given (RFC 9110 13.1.3); else ``If-Modified-Since``
    against the modification time in whole seconds (as Last-Modified says it). A date
    that does not parse is ignored."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag in (tag.strip() for tag in if_none_match.split(",")) or if_none_match == "*"
    since = request.headers.get("if-modified-since")
    if not since or info.mtime is None:
        return False
    try:
        stamp = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if stamp.tzinfo is None:
        return False
    return info.mtime.replace(microsecond=0) <= stamp


def _disposition(download: str) -> str:
    """As Supabase's renderer: ``download`` with no name is a bare ``attachment;``."""
    if not download:
        return "attachment;"
    name = quote(download, safe="!*'()")  # what encodeURIComponent leaves, as Supabase's
    return f"attachment; filename={name}; filename*=UTF-8''{name}"


def _span_headers(
    request: Request, info: natsobj.ObjectInfo, headers: dict[str, str]
) -> tuple[int, tuple[int, int] | None]:
    """Add what the request asks beyond the object's headers (``download=``, a Range) to
    ``headers``; the status and the span of a Range (None: the whole object)."""
    if request.scope["query_string"] and "download" in request.query_params:
        headers["Content-Disposition"] = _disposition(request.query_params["download"])
    span = _range(request.headers.get("range"), info.size)
    start, end = span or (0, info.size)
    headers["Content-Length"] = str(end - start)
    if span is None:
        return 200, None
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return 206, span


async def serve(request: Request, bucket: str, name: str) -> Response:
    """The object's bytes (or its headers for HEAD): 200, 206 for a Range, 304 when the
    client's copy is current. Up to 256 KiB are read whole (verified) and sent in one
    piece; more stream.

    A whole-object GET takes its headers from the meta its get reads (one meta read), so
    its body is always the object they describe. A Range reads the meta, then the bytes:
    if the object is replaced in between, the body streams (the new version's bytes,
    never a mix; cut short if the size changed) rather than going out whole under the
    old version's length.
    """
    store = await open_store(request, bucket)
    async with AsyncExitStack() as stack:
        result = None
        if request.method == "GET" and "range" not in request.headers:
            result = await stack.enter_async_context(store.get(name))
            info = result.info
        else:
            info = await store.get_info(name)
        headers = _object_headers(info)
        if _not_modified(request, info, headers["ETag"]):
            return Response(status_code=304, headers=headers)
        status, span = _span_headers(request, info, headers)
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        if result is None:
            start, end = span or (None, None)
            result = await stack.enter_async_context(store.get(name, start=start, end=end))
        # Replaced since its meta was read (a Range): stream, as the size may differ.
        same = result.info.nuid == info.nuid
        length = int(headers["Content-Length"]) if same else None
        return await object_response(stack, result, length, status_code=status, headers=headers)


async def download(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    return await serve(request, bucket, name)


async def download_public(request: Request) -> Response:
    bucket, name = object_key(request)
    if not (await open_store(request, bucket)).policy.public:  # as Supabase: not found
        raise ApiError(404, "NoSuchBucket", "Bucket not found", error="Bucket not found")
    return await serve(request, bucket, name)


async def object_info(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    info = await (await open_store(request, bucket)).get_info(name)
    return JSONResponse(
        {
            "id": info.nuid,
            "name": name,
            "version": str(info.revision),
            "bucket_id": bucket,
            "size": info.size,
            "content_type": info.content_type,
            "cache_control": _cache_control(info),
            "etag": f'"{info.digest}"',
            "metadata": info.metadata,
            "last_modified": iso(info.mtime),
            "created_at": iso(info.created),
        }
    )
