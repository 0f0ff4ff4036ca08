"""Supabase Storage's REST API (as ``supabase/storage`` serves it under ``/storage/v1``).

Roles (we have no Postgres RLS): ``service_role`` may do everything; ``authenticated`` may
read and write objects in every bucket and list and read buckets, but only
``service_role`` creates, changes, empties or deletes buckets; ``anon`` (no token, or the
anon key) may only read objects of public buckets. Signed URLs carry their own right.
Errors have Supabase's body ``{"statusCode", "code", "error", "message"}`` and, as its
server does, HTTP 400 for every client error (the real code is ``statusCode``) except a
role check, which is HTTP 403.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

import natsobj

from ._auth import AuthError, decode_token, sign_token
from ._multipart import FormError, open_form
from ._supabase_http import (
    ApiError,
    Handler,
    auth_config,
    check_readable,
    endpoint,
    field,
    invalid,
    iso,
    manager_of,
    object_key,
    read_json,
    require,
)

__all__ = ["supabase_routes"]

MAX_PATHS = 1000
LIST_LIMIT = 1500
LIST_V2_LIMIT = 1000
MAX_LIST_WINDOW = 10_000  # natsobj's page limit
UPLOAD_URL_SECONDS = 7200
# Supabase's sort columns; last_accessed_at is not updated on reads there either.
_SORT: dict[str, Literal["name", "created", "updated"]] = {
    "name": "name",
    "created_at": "created",
    "updated_at": "updated",
    "last_accessed_at": "updated",
}


# ---------------------------------------------------------------- buckets


def _bucket_json(status: natsobj.ObjectStoreStatus) -> dict[str, Any]:
    created = status.stream_info.get("created")
    return {
        "id": status.bucket,
        "name": status.bucket,
        "owner": "",
        "public": status.public,
        "type": "STANDARD",
        "file_size_limit": status.file_size_limit,
        "allowed_mime_types": status.allowed_mime_types,
        "created_at": created,
        "updated_at": created,
    }


async def list_buckets(request: Request) -> Response:
    require(request, needs="authenticated")
    statuses = await manager_of(request).object_store_statuses()
    return JSONResponse([_bucket_json(status) for status in statuses])


async def get_bucket(request: Request) -> Response:
    require(request, needs="authenticated")
    return JSONResponse(
        _bucket_json(await manager_of(request).get_bucket(request.path_params["id"]))
    )


def _policy(body: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if "public" in body:
        policy["public"] = bool(field(body, "public", bool, False))
    if "file_size_limit" in body:
        policy["file_size_limit"] = field(body, "file_size_limit", (int, str))
    if "allowed_mime_types" in body:
        mimes = field(body, "allowed_mime_types", list)
        policy["allowed_mime_types"] = mimes or None
    return policy


async def create_bucket(request: Request) -> Response:
    require(request, needs="service_role")
    body = await read_json(request)
    bucket = field(body, "id", str) or field(body, "name", str)
    if not bucket:
        raise invalid("body must have a bucket name")
    manager = manager_of(request)
    try:
        await manager.get_bucket(bucket)
    except natsobj.BucketNotFoundError:
        await manager.create_object_store(bucket, **_policy(body))
        return JSONResponse({"name": bucket})
    raise ApiError(409, "BucketAlreadyExists", "The resource already exists", error="Duplicate")


async def update_bucket(request: Request) -> Response:
    require(request, needs="service_role")
    await manager_of(request).update_bucket(
        request.path_params["id"], **_policy(await read_json(request))
    )
    return JSONResponse({"message": "Successfully updated"})


async def empty_bucket(request: Request) -> Response:
    require(request, needs="service_role")
    await manager_of(request).empty_bucket(request.path_params["id"])
    return JSONResponse({"message": "Successfully emptied"})


async def delete_bucket(request: Request) -> Response:
    require(request, needs="service_role")
    await manager_of(request).delete_bucket(request.path_params["id"])
    return JSONResponse({"message": "Successfully deleted"})


# ---------------------------------------------------------------- uploads


def _user_metadata(raw: str | None) -> dict[str, str]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise invalid("metadata is not valid JSON") from exc
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid("metadata must be an object of strings")
    return value


def _header_metadata(request: Request) -> str | None:
    raw = request.headers.get("x-metadata")
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("x-metadata is not base64 JSON") from exc


def _check_length(request: Request, store: natsobj.ObjectStore) -> None:
    """A raw body whose Content-Length is over the bucket's limit is refused before it is
    read (a streamed one is cut off by natsobj when it crosses the limit)."""
    limit = store.policy.file_size_limit
    length = request.headers.get("content-length", "")
    if limit is not None and length.isdigit() and int(length) > limit:
        message = f"The object exceeded the maximum allowed size of {limit} bytes"
        raise ApiError(413, "EntityTooLarge", message, error="Payload too large")


async def _store_upload(
    request: Request, bucket: str, name: str, *, upsert: bool
) -> natsobj.ObjectInfo:
    """Stream the request's body (raw, or the one file of a multipart form) into the
    bucket; the bucket's policy applies as natsobj enforces it."""
    store = await manager_of(request).object_store(bucket)
    content_type = request.headers.get("content-type", "application/octet-stream")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await open_form(request)
        except FormError as exc:
            raise invalid(str(exc)) from exc
        try:
            cache = form.fields.get("cacheControl")
            meta = form.fields.get("metadata") or form.fields.get("userMetadata")
            meta_obj = natsobj.ObjectMeta(
                name=name,
                headers={"Cache-Control": [f"max-age={cache}" if cache else "no-cache"]},
                metadata=_user_metadata(meta),
            )
            mime = form.fields.get("contentType") or form.content_type
            return await store.upload(meta_obj, form.data, upsert=upsert, content_type=mime)
        except FormError as exc:
            raise invalid(str(exc)) from exc
        finally:
            await form.aclose()
    _check_length(request, store)
    meta_obj = natsobj.ObjectMeta(
        name=name,
        headers={"Cache-Control": [request.headers.get("cache-control", "no-cache")]},
        metadata=_user_metadata(_header_metadata(request)),
    )
    return await store.upload(meta_obj, request.stream(), upsert=upsert, content_type=content_type)


def _upsert(request: Request) -> bool:
    return request.headers.get("x-upsert", "false").lower() == "true"


async def upload_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, name = object_key(request)
    upsert = request.method == "PUT" or _upsert(request)
    info = await _store_upload(request, bucket, name, upsert=upsert)
    return JSONResponse({"Id": info.nuid, "Key": f"{bucket}/{name}"})


# ---------------------------------------------------------------- downloads


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


def _object_headers(info: natsobj.ObjectInfo) -> dict[str, str]:
    cache = info.headers.get("Cache-Control", ["no-cache"])
    return {
        "Content-Type": info.content_type,
        "Cache-Control": cache[0] if cache else "no-cache",
        "ETag": f'"{info.digest}"',
        "Last-Modified": _http_date(info.mtime),
        "Accept-Ranges": "bytes",
    }


async def _serve(request: Request, bucket: str, name: str) -> Response:
    store = await manager_of(request).object_store(bucket)
    info = await store.get_info(name)
    headers = _object_headers(info)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "download" in request.query_params:
        filename = request.query_params["download"] or name.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    span = _range(request.headers.get("range"), info.size)
    start, end = span or (0, info.size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)

    async def body() -> AsyncIterator[bytes]:
        async with store.get(
            name, start=start if span else None, end=end if span else None
        ) as result:
            async for chunk in result:
                yield chunk

    return StreamingResponse(body(), status_code=status, headers=headers)


async def download(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    return await _serve(request, bucket, name)


async def download_public(request: Request) -> Response:
    bucket, name = object_key(request)
    if not (await manager_of(request).get_bucket(bucket)).public:  # as Supabase: not found
        raise ApiError(404, "NoSuchBucket", "Bucket not found", error="Bucket not found")
    return await _serve(request, bucket, name)


async def object_info(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    info = await (await manager_of(request).object_store(bucket)).get_info(name)
    cache = info.headers.get("Cache-Control", ["no-cache"])
    return JSONResponse(
        {
            "id": info.nuid,
            "name": name,
            "version": str(info.revision),
            "bucket_id": bucket,
            "size": info.size,
            "content_type": info.content_type,
            "cache_control": cache[0] if cache else "no-cache",
            "etag": f'"{info.digest}"',
            "metadata": info.metadata,
            "last_modified": iso(info.mtime),
            "created_at": iso(info.created),
        }
    )


# ---------------------------------------------------------------- list, move, copy, remove


def _row(name: str, info: natsobj.ObjectInfo) -> dict[str, Any]:
    cache = info.headers.get("Cache-Control", ["no-cache"])
    return {
        "name": name,
        "id": info.nuid,
        "updated_at": iso(info.mtime),
        "created_at": iso(info.created),
        "last_accessed_at": iso(info.mtime),
        "metadata": {
            "eTag": f'"{info.digest}"',
            "size": info.size,
            "mimetype": info.content_type,
            "cacheControl": cache[0] if cache else "no-cache",
            "lastModified": iso(info.mtime),
            "contentLength": info.size,
            "httpStatusCode": 200,
        },
    }


async def list_objects(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket = request.path_params["bucket"]
    body = await read_json(request)
    prefix = field(body, "prefix", str, "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    limit = field(body, "limit", int, 100)
    offset = field(body, "offset", int, 0)
    sort = field(body, "sortBy", dict, {})
    column = sort.get("column", "name")
    order = sort.get("order", "asc")
    if column not in _SORT or order not in ("asc", "desc") or not 0 < limit <= LIST_LIMIT:
        raise invalid("bad sortBy or limit")
    if offset < 0 or offset + limit > MAX_LIST_WINDOW:
        raise invalid(f"offset + limit must be 1 to {MAX_LIST_WINDOW}")
    index = await request.app.state.indexes.index(bucket)
    # Supabase pages over folders then files together: read up to offset + limit of them.
    page = await index.list_page(
        prefix,
        delimiter="/",
        search=field(body, "search", str) or None,
        sort_by=_SORT[column],
        order=order,
        limit=offset + limit,
    )
    folders = [
        {
            "name": f.removeprefix(prefix).rstrip("/"),
            "id": None,
            "updated_at": None,
            "created_at": None,
            "last_accessed_at": None,
            "metadata": None,
        }
        for f in page.folders
    ]
    files = [_row(info.name.removeprefix(prefix), info) for info in page.objects]
    return JSONResponse((folders + files)[offset : offset + limit])


def _decode_cursor(raw: str) -> tuple[str, str, str]:
    try:
        column, order, cursor = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError) as exc:
        raise invalid("invalid cursor") from exc
    if not all(isinstance(part, str) for part in (column, order, cursor)):
        raise invalid("invalid cursor")
    return column, order, cursor


async def list_objects_v2(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket = request.path_params["bucket"]
    body = await read_json(request)
    limit = field(body, "limit", int, LIST_V2_LIMIT)
    sort = field(body, "sortBy", dict, {})
    column, order, cursor = sort.get("column", "name"), sort.get("order", "asc"), None
    if raw_cursor := field(body, "cursor", str):  # as Supabase's, it carries the sort
        column, order, cursor = _decode_cursor(raw_cursor)
    if column not in _SORT or order not in ("asc", "desc") or limit < 1:
        raise invalid("bad sortBy or limit")
    index = await request.app.state.indexes.index(bucket)
    page = await index.list_page(
        field(body, "prefix", str, ""),
        delimiter="/" if field(body, "with_delimiter", bool, False) else None,
        sort_by=_SORT[column],
        order=order,
        limit=min(limit, LIST_V2_LIMIT),
        cursor=cursor,
    )
    next_cursor = None
    if page.next_cursor is not None:
        state = json.dumps([column, order, page.next_cursor]).encode()
        next_cursor = base64.urlsafe_b64encode(state).decode()
    objects = []
    for info in page.objects:
        row = _row(info.name, info)
        objects.append({**row, "bucket_id": bucket, "version": str(info.revision)})
    return JSONResponse(
        {
            "hasNext": page.has_next,
            "nextCursor": next_cursor,
            "nextCursorKey": page.objects[-1].name if page.has_next and page.objects else None,
            "folders": [{"name": folder, "key": folder} for folder in page.folders],
            "objects": objects,
        }
    )


def _transfer_keys(body: dict[str, Any]) -> tuple[str, str, str, str]:
    bucket = field(body, "bucketId", str)
    source = field(body, "sourceKey", str)
    destination = field(body, "destinationKey", str)
    if not bucket or not source or not destination:
        raise invalid("bucketId, sourceKey and destinationKey are needed")
    for key in (source, destination):
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise invalid(f"invalid object name {key!r}")
    return bucket, source, field(body, "destinationBucket", str) or bucket, destination


async def move_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, source, to_bucket, destination = _transfer_keys(await read_json(request))
    manager = manager_of(request)
    store = await manager.object_store(bucket)
    to_store = await manager.object_store(to_bucket) if to_bucket != bucket else None
    await store.move(source, destination, to_store=to_store)
    return JSONResponse({"message": "Successfully moved"})


async def copy_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, source, to_bucket, destination = _transfer_keys(await read_json(request))
    manager = manager_of(request)
    store = await manager.object_store(bucket)
    to_store = await manager.object_store(to_bucket) if to_bucket != bucket else None
    info = await store.copy(source, destination, to_store=to_store, upsert=_upsert(request))
    return JSONResponse({"Id": info.nuid, "Key": f"{to_bucket}/{destination}"})


async def remove_objects(request: Request) -> Response:
    require(request, needs="authenticated")
    names = field(await read_json(request), "prefixes", list, [])
    if not names or len(names) > MAX_PATHS or not all(isinstance(n, str) for n in names):
        raise invalid(f"prefixes must be 1 to {MAX_PATHS} names")
    store = await manager_of(request).object_store(request.path_params["bucket"])
    results = await store.delete_many(names)
    return JSONResponse([_row(r.name, r.info) for r in results if r.ok and r.info is not None])


# ---------------------------------------------------------------- signed URLs


def _sign(request: Request, bucket: str, name: str, seconds: int, scope: str, **extra: Any) -> str:
    secret = auth_config(request).jwt_secret
    if not secret:
        raise invalid("the gateway has no JWT secret to sign with")
    now = int(time.time())
    claims = {**extra, "iat": now, "exp": now + seconds, "url": f"{bucket}/{name}", "scope": scope}
    return sign_token(claims, secret)


def _expires_in(body: dict[str, Any]) -> int:
    raw = body.get("expiresIn")
    try:
        seconds = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise invalid("expiresIn must be a whole number of seconds >= 1")
    return seconds


def _signed_path(kind: str, bucket: str, name: str, token: str) -> str:
    return f"/object/{kind}/{quote(bucket)}/{quote(name)}?token={token}"


async def sign_url(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    seconds = _expires_in(await read_json(request))
    await (await manager_of(request).object_store(bucket)).get_info(name)
    token = _sign(request, bucket, name, seconds, "download")
    return JSONResponse({"signedURL": _signed_path("sign", bucket, name, token)})


async def sign_urls(request: Request) -> Response:
    caller = require(request)
    bucket = request.path_params["bucket"]
    await check_readable(request, bucket, caller)
    body = await read_json(request)
    seconds = _expires_in(body)
    paths = field(body, "paths", list, [])
    if not paths or len(paths) > MAX_PATHS or not all(isinstance(p, str) for p in paths):
        raise invalid(f"paths must be 1 to {MAX_PATHS} names")
    store = await manager_of(request).object_store(bucket)
    items = []
    for path in paths:
        try:
            await store.get_info(path)
        except (natsobj.ObjectNotFoundError, natsobj.InvalidObjectNameError):
            error = "Either the object does not exist or you do not have access to it"
            items.append({"error": error, "path": path, "signedURL": None})
            continue
        token = _sign(request, bucket, path, seconds, "download")
        items.append(
            {"error": None, "path": path, "signedURL": _signed_path("sign", bucket, path, token)}
        )
    return JSONResponse(items)


def _verify(request: Request, bucket: str, name: str, scope: str) -> dict[str, Any]:
    token = request.query_params.get("token", "")
    if not token:
        raise invalid("querystring must have required property 'token'")
    try:
        claims = decode_token(token, auth_config(request).jwt_secret)
    except AuthError as exc:
        if exc.expired:
            raise ApiError(400, "ExpiredToken", "The provided token has expired.") from exc
        raise ApiError(400, "InvalidJWT", str(exc)) from exc
    if claims.get("scope") != scope:
        raise ApiError(400, "InvalidSignature", f"Token is not scoped for {scope}")
    if claims.get("url") != f"{bucket}/{name}":
        raise ApiError(400, "InvalidSignature", "Invalid signature")
    return claims


async def download_signed(request: Request) -> Response:
    bucket, name = object_key(request)
    _verify(request, bucket, name, "download")
    return await _serve(request, bucket, name)


async def sign_upload_url(request: Request) -> Response:
    caller = require(request, needs="authenticated")
    bucket, name = object_key(request)
    await manager_of(request).object_store(bucket)
    token = _sign(
        request,
        bucket,
        name,
        UPLOAD_URL_SECONDS,
        "upload",
        owner=caller.sub,
        upsert=_upsert(request),
    )
    return JSONResponse({"url": _signed_path("upload/sign", bucket, name, token), "token": token})


async def upload_signed(request: Request) -> Response:
    bucket, name = object_key(request)
    claims = _verify(request, bucket, name, "upload")
    await _store_upload(request, bucket, name, upsert=claims.get("upsert") is True)
    return JSONResponse({"Key": f"{bucket}/{name}"})


async def delete_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, name = object_key(request)
    await (await manager_of(request).object_store(bucket)).delete(name)
    return JSONResponse({"message": "Successfully deleted"})


def supabase_routes() -> list[BaseRoute]:
    """The routes, relative to ``/storage/v1``."""
    obj = "/object"
    key = "{bucket}/{path:path}"
    table: list[tuple[str, Handler, list[str]]] = [
        ("/bucket", list_buckets, ["GET"]),
        ("/bucket", create_bucket, ["POST"]),
        ("/bucket/{id}", get_bucket, ["GET"]),
        ("/bucket/{id}", update_bucket, ["PUT"]),
        ("/bucket/{id}", delete_bucket, ["DELETE"]),
        ("/bucket/{id}/empty", empty_bucket, ["POST"]),
        (f"{obj}/move", move_object, ["POST"]),
        (f"{obj}/copy", copy_object, ["POST"]),
        (f"{obj}/list/{{bucket}}", list_objects, ["POST"]),
        (f"{obj}/list-v2/{{bucket}}", list_objects_v2, ["POST"]),
        (f"{obj}/info/authenticated/{key}", object_info, ["GET"]),
        (f"{obj}/info/public/{key}", object_info, ["GET"]),
        (f"{obj}/info/{key}", object_info, ["GET"]),
        (f"{obj}/sign/{{bucket}}", sign_urls, ["POST"]),
        (f"{obj}/sign/{key}", sign_url, ["POST"]),
        (f"{obj}/sign/{key}", download_signed, ["GET", "HEAD"]),
        (f"{obj}/upload/sign/{key}", sign_upload_url, ["POST"]),
        (f"{obj}/upload/sign/{key}", upload_signed, ["PUT"]),
        (f"{obj}/public/{key}", download_public, ["GET", "HEAD"]),
        (f"{obj}/authenticated/{key}", download, ["GET", "HEAD"]),
        (f"{obj}/{{bucket}}", remove_objects, ["DELETE"]),
        (f"{obj}/{key}", download, ["GET", "HEAD"]),
        (f"{obj}/{key}", upload_object, ["POST", "PUT"]),
        (f"{obj}/{key}", delete_object, ["DELETE"]),
    ]
    return [Route(path, endpoint(handler), methods=methods) for path, handler, methods in table]
