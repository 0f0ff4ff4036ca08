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
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

import natsobj

from ._auth import AuthConfig, AuthError, Caller, caller_of, decode_token, sign_token
from ._multipart import FormError, open_form

__all__ = ["supabase_routes"]

_log = logging.getLogger("natsobj.gateway")

MAX_PATHS = 1000
LIST_LIMIT = 1500
LIST_V2_LIMIT = 1000
MAX_LIST_WINDOW = 10_000  # natsobj's page limit
UPLOAD_URL_SECONDS = 7200
MAX_JSON_BYTES = 1 << 20
# Supabase's sort columns; last_accessed_at is not updated on reads there either.
_SORT: dict[str, Literal["name", "created", "updated"]] = {
    "name": "name",
    "created_at": "created",
    "updated_at": "updated",
    "last_accessed_at": "updated",
}


class ApiError(Exception):
    """A failure as Supabase reports it: ``statusCode``, ``code`` (its ErrorCode), the
    legacy ``error`` name; ``http`` overrides the HTTP status (else 400, or 5xx as is)."""

    def __init__(
        self, status: int, code: str, message: str, *, error: str = "", http: int | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.error, self.message = status, code, error or code, message
        self.http = http


def _invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidRequest", message, error="Invalid Input")


# natsobj error -> (statusCode, code, error), as supabase/storage's ERRORS. Subclasses first.
_ERRORS: tuple[tuple[type[natsobj.ObjectStoreError], int, str, str], ...] = (
    (natsobj.BucketNotFoundError, 404, "NoSuchBucket", "Bucket not found"),
    (natsobj.ObjectNotFoundError, 404, "NoSuchKey", "not_found"),
    (natsobj.UpdateMetaDeletedError, 404, "NoSuchKey", "not_found"),
    (natsobj.BucketExistsError, 409, "BucketAlreadyExists", "Duplicate"),
    (natsobj.ObjectExistsError, 409, "KeyAlreadyExists", "Duplicate"),
    (natsobj.BucketNotEmptyError, 409, "ResourceNotEmpty", "ResourceNotEmpty"),
    (natsobj.PreconditionFailedError, 409, "InvalidRequest", "InvalidRequest"),
    (natsobj.ObjectTooLargeError, 413, "EntityTooLarge", "Payload too large"),
    (natsobj.InvalidMimeTypeError, 415, "InvalidMimeType", "invalid_mime_type"),
    (natsobj.RangeNotSatisfiableError, 400, "InvalidRange", "invalid_range"),
    (natsobj.InvalidBucketNameError, 400, "InvalidBucketName", "Invalid Input"),
    (natsobj.InvalidObjectNameError, 400, "InvalidKey", "Invalid Input"),
    (natsobj.InvalidArgumentError, 400, "InvalidRequest", "Invalid Input"),
    (natsobj.BucketSealedError, 403, "AccessDenied", "Unauthorized"),
    (natsobj.PermissionDeniedError, 403, "AccessDenied", "Unauthorized"),
    (natsobj.ObjectStoreTimeoutError, 504, "DatabaseTimeout", "DatabaseTimeout"),
    (natsobj.ServerUnavailableError, 503, "InternalError", "ServiceUnavailable"),
)


def error_response(exc: ApiError) -> JSONResponse:
    body = {
        "statusCode": str(exc.status),
        "code": exc.code,
        "error": exc.error,
        "message": exc.message,
    }
    http = exc.http or (exc.status if exc.status >= 500 else 400)
    return JSONResponse(body, status_code=http)


def _from_store_error(exc: natsobj.ObjectStoreError) -> ApiError:
    for kind, status, code, error in _ERRORS:
        if isinstance(exc, kind):
            return ApiError(status, code, str(exc) if status < 500 else error, error=error)
    return ApiError(500, "InternalError", "Internal Server Error", error="internal")


Handler = Callable[[Request], Awaitable[Response]]


def _endpoint(handler: Handler) -> Handler:
    """Map every failure of ``handler`` to Supabase's error body; never a stack trace."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except AuthError as exc:  # a bearer token that cannot be trusted, as Supabase's
            return error_response(ApiError(403, "AccessDenied", str(exc), error="Unauthorized"))
        except natsobj.ObjectStoreError as exc:
            return error_response(_from_store_error(exc))
        except ClientDisconnect:
            return error_response(ApiError(499, "AbortedTerminate", "the client went away"))
        except Exception:  # a bug or an unmapped failure: logged here, never shown
            _log.exception("%s %s failed", request.method, request.url.path)
            return error_response(ApiError(500, "InternalError", "Internal Server Error"))

    return endpoint


# ---------------------------------------------------------------- request helpers


def _auth(request: Request) -> AuthConfig:
    config: AuthConfig = request.app.state.auth
    return config


def _manager(request: Request) -> natsobj.ObjectStoreManager:
    manager: natsobj.ObjectStoreManager = request.app.state.manager
    return manager


def _caller(request: Request, *, needs: str = "anon") -> Caller:
    caller = caller_of(request, _auth(request))
    order = ("anon", "authenticated", "service_role")
    if order.index(caller.role) < order.index(needs):
        message = f"Access denied: this operation needs the {needs} role"
        raise ApiError(403, "AccessDenied", message, error="Unauthorized", http=403)
    return caller


def _key(request: Request) -> tuple[str, str]:
    """The bucket and object name from the path, refusing dot segments and empty parts."""
    bucket, name = request.path_params["bucket"], request.path_params.get("path", "")
    parts = name.split("/")
    if not name or any(part in ("", ".", "..") for part in parts):
        raise _invalid(f"invalid object name {name!r}")
    return bucket, name


async def _json(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise ApiError(
                413, "EntityTooLarge", "request body too large", error="Payload too large"
            )
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise _invalid("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise _invalid("body must be a JSON object")
    return value


def _field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None
) -> Any:
    value = body.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise _invalid(f"{name} has the wrong type")
    return value


def _iso(stamp: datetime | None) -> str | None:
    return stamp.isoformat().replace("+00:00", "Z") if stamp is not None else None


async def _readable(request: Request, bucket: str, caller: Caller) -> None:
    """anon may read only public buckets."""
    if caller.role == "anon" and not (await _manager(request).get_bucket(bucket)).public:
        raise ApiError(404, "NoSuchBucket", "Bucket not found", error="Bucket not found")


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
    _caller(request, needs="authenticated")
    statuses = await _manager(request).object_store_statuses()
    return JSONResponse([_bucket_json(status) for status in statuses])


async def get_bucket(request: Request) -> Response:
    _caller(request, needs="authenticated")
    return JSONResponse(_bucket_json(await _manager(request).get_bucket(request.path_params["id"])))


def _policy(body: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if "public" in body:
        policy["public"] = bool(_field(body, "public", bool, False))
    if "file_size_limit" in body:
        policy["file_size_limit"] = _field(body, "file_size_limit", (int, str))
    if "allowed_mime_types" in body:
        mimes = _field(body, "allowed_mime_types", list)
        policy["allowed_mime_types"] = mimes or None
    return policy


async def create_bucket(request: Request) -> Response:
    _caller(request, needs="service_role")
    body = await _json(request)
    bucket = _field(body, "id", str) or _field(body, "name", str)
    if not bucket:
        raise _invalid("body must have a bucket name")
    manager = _manager(request)
    try:
        await manager.get_bucket(bucket)
    except natsobj.BucketNotFoundError:
        await manager.create_object_store(bucket, **_policy(body))
        return JSONResponse({"name": bucket})
    raise ApiError(409, "BucketAlreadyExists", "The resource already exists", error="Duplicate")


async def update_bucket(request: Request) -> Response:
    _caller(request, needs="service_role")
    await _manager(request).update_bucket(
        request.path_params["id"], **_policy(await _json(request))
    )
    return JSONResponse({"message": "Successfully updated"})


async def empty_bucket(request: Request) -> Response:
    _caller(request, needs="service_role")
    await _manager(request).empty_bucket(request.path_params["id"])
    return JSONResponse({"message": "Successfully emptied"})


async def delete_bucket(request: Request) -> Response:
    _caller(request, needs="service_role")
    await _manager(request).delete_bucket(request.path_params["id"])
    return JSONResponse({"message": "Successfully deleted"})


# ---------------------------------------------------------------- uploads


def _user_metadata(raw: str | None) -> dict[str, str]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise _invalid("metadata is not valid JSON") from exc
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _invalid("metadata must be an object of strings")
    return value


def _header_metadata(request: Request) -> str | None:
    raw = request.headers.get("x-metadata")
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid("x-metadata is not base64 JSON") from exc


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
    store = await _manager(request).object_store(bucket)
    content_type = request.headers.get("content-type", "application/octet-stream")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await open_form(request)
        except FormError as exc:
            raise _invalid(str(exc)) from exc
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
            raise _invalid(str(exc)) from exc
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
    _caller(request, needs="authenticated")
    bucket, name = _key(request)
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
    store = await _manager(request).object_store(bucket)
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
    caller = _caller(request)
    bucket, name = _key(request)
    await _readable(request, bucket, caller)
    return await _serve(request, bucket, name)


async def download_public(request: Request) -> Response:
    bucket, name = _key(request)
    if not (await _manager(request).get_bucket(bucket)).public:  # as Supabase: not found
        raise ApiError(404, "NoSuchBucket", "Bucket not found", error="Bucket not found")
    return await _serve(request, bucket, name)


async def object_info(request: Request) -> Response:
    caller = _caller(request)
    bucket, name = _key(request)
    await _readable(request, bucket, caller)
    info = await (await _manager(request).object_store(bucket)).get_info(name)
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
            "last_modified": _iso(info.mtime),
            "created_at": _iso(info.created),
        }
    )


# ---------------------------------------------------------------- list, move, copy, remove


def _row(name: str, info: natsobj.ObjectInfo) -> dict[str, Any]:
    cache = info.headers.get("Cache-Control", ["no-cache"])
    return {
        "name": name,
        "id": info.nuid,
        "updated_at": _iso(info.mtime),
        "created_at": _iso(info.created),
        "last_accessed_at": _iso(info.mtime),
        "metadata": {
            "eTag": f'"{info.digest}"',
            "size": info.size,
            "mimetype": info.content_type,
            "cacheControl": cache[0] if cache else "no-cache",
            "lastModified": _iso(info.mtime),
            "contentLength": info.size,
            "httpStatusCode": 200,
        },
    }


async def list_objects(request: Request) -> Response:
    _caller(request, needs="authenticated")
    bucket = request.path_params["bucket"]
    body = await _json(request)
    prefix = _field(body, "prefix", str, "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    limit = _field(body, "limit", int, 100)
    offset = _field(body, "offset", int, 0)
    sort = _field(body, "sortBy", dict, {})
    column = sort.get("column", "name")
    order = sort.get("order", "asc")
    if column not in _SORT or order not in ("asc", "desc") or not 0 < limit <= LIST_LIMIT:
        raise _invalid("bad sortBy or limit")
    if offset < 0 or offset + limit > MAX_LIST_WINDOW:
        raise _invalid(f"offset + limit must be 1 to {MAX_LIST_WINDOW}")
    store = await _manager(request).object_store(bucket)
    # Supabase pages over folders then files together: read up to offset + limit of them.
    page = await store.list_page(
        prefix,
        delimiter="/",
        search=_field(body, "search", str) or None,
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
        raise _invalid("invalid cursor") from exc
    if not all(isinstance(part, str) for part in (column, order, cursor)):
        raise _invalid("invalid cursor")
    return column, order, cursor


async def list_objects_v2(request: Request) -> Response:
    _caller(request, needs="authenticated")
    bucket = request.path_params["bucket"]
    body = await _json(request)
    limit = _field(body, "limit", int, LIST_V2_LIMIT)
    sort = _field(body, "sortBy", dict, {})
    column, order, cursor = sort.get("column", "name"), sort.get("order", "asc"), None
    if raw_cursor := _field(body, "cursor", str):  # as Supabase's, it carries the sort
        column, order, cursor = _decode_cursor(raw_cursor)
    if column not in _SORT or order not in ("asc", "desc") or limit < 1:
        raise _invalid("bad sortBy or limit")
    store = await _manager(request).object_store(bucket)
    page = await store.list_page(
        _field(body, "prefix", str, ""),
        delimiter="/" if _field(body, "with_delimiter", bool, False) else None,
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
    bucket = _field(body, "bucketId", str)
    source = _field(body, "sourceKey", str)
    destination = _field(body, "destinationKey", str)
    if not bucket or not source or not destination:
        raise _invalid("bucketId, sourceKey and destinationKey are needed")
    for key in (source, destination):
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise _invalid(f"invalid object name {key!r}")
    return bucket, source, _field(body, "destinationBucket", str) or bucket, destination


async def move_object(request: Request) -> Response:
    _caller(request, needs="authenticated")
    bucket, source, to_bucket, destination = _transfer_keys(await _json(request))
    manager = _manager(request)
    store = await manager.object_store(bucket)
    to_store = await manager.object_store(to_bucket) if to_bucket != bucket else None
    await store.move(source, destination, to_store=to_store)
    return JSONResponse({"message": "Successfully moved"})


async def copy_object(request: Request) -> Response:
    _caller(request, needs="authenticated")
    bucket, source, to_bucket, destination = _transfer_keys(await _json(request))
    manager = _manager(request)
    store = await manager.object_store(bucket)
    to_store = await manager.object_store(to_bucket) if to_bucket != bucket else None
    info = await store.copy(source, destination, to_store=to_store, upsert=_upsert(request))
    return JSONResponse({"Id": info.nuid, "Key": f"{to_bucket}/{destination}"})


async def remove_objects(request: Request) -> Response:
    _caller(request, needs="authenticated")
    names = _field(await _json(request), "prefixes", list, [])
    if not names or len(names) > MAX_PATHS or not all(isinstance(n, str) for n in names):
        raise _invalid(f"prefixes must be 1 to {MAX_PATHS} names")
    store = await _manager(request).object_store(request.path_params["bucket"])
    results = await store.delete_many(names)
    return JSONResponse([_row(r.name, r.info) for r in results if r.ok and r.info is not None])


# ---------------------------------------------------------------- signed URLs


def _sign(request: Request, bucket: str, name: str, seconds: int, scope: str, **extra: Any) -> str:
    secret = _auth(request).jwt_secret
    if not secret:
        raise _invalid("the gateway has no JWT secret to sign with")
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
        raise _invalid("expiresIn must be a whole number of seconds >= 1")
    return seconds


def _signed_path(kind: str, bucket: str, name: str, token: str) -> str:
    return f"/object/{kind}/{quote(bucket)}/{quote(name)}?token={token}"


async def sign_url(request: Request) -> Response:
    caller = _caller(request)
    bucket, name = _key(request)
    await _readable(request, bucket, caller)
    seconds = _expires_in(await _json(request))
    await (await _manager(request).object_store(bucket)).get_info(name)
    token = _sign(request, bucket, name, seconds, "download")
    return JSONResponse({"signedURL": _signed_path("sign", bucket, name, token)})


async def sign_urls(request: Request) -> Response:
    caller = _caller(request)
    bucket = request.path_params["bucket"]
    await _readable(request, bucket, caller)
    body = await _json(request)
    seconds = _expires_in(body)
    paths = _field(body, "paths", list, [])
    if not paths or len(paths) > MAX_PATHS or not all(isinstance(p, str) for p in paths):
        raise _invalid(f"paths must be 1 to {MAX_PATHS} names")
    store = await _manager(request).object_store(bucket)
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
        raise _invalid("querystring must have required property 'token'")
    try:
        claims = decode_token(token, _auth(request).jwt_secret)
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
    bucket, name = _key(request)
    _verify(request, bucket, name, "download")
    return await _serve(request, bucket, name)


async def sign_upload_url(request: Request) -> Response:
    caller = _caller(request, needs="authenticated")
    bucket, name = _key(request)
    await _manager(request).object_store(bucket)
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
    bucket, name = _key(request)
    claims = _verify(request, bucket, name, "upload")
    await _store_upload(request, bucket, name, upsert=claims.get("upsert") is True)
    return JSONResponse({"Key": f"{bucket}/{name}"})


async def delete_object(request: Request) -> Response:
    _caller(request, needs="authenticated")
    bucket, name = _key(request)
    await (await _manager(request).object_store(bucket)).delete(name)
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
    return [Route(path, _endpoint(handler), methods=methods) for path, handler, methods in table]
