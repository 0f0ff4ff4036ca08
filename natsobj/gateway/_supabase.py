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
import json
import time
from typing import Any, Literal

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import natsobj

from ._auth import AuthError, decode_token, sign_token
from ._stores import open_store
from ._supabase_download import download, download_public, object_info, serve
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
from ._supabase_upload import (
    header_metadata,
    store_upload,
    upload_object,
    user_metadata,
    wants_upsert,
)

__all__ = ["supabase_routes"]

MAX_PATHS = 1000
REMOVE_CONCURRENCY = 16
REMOVE_ATTEMPTS = 3
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


_BUCKET_SORT = ("id", "name", "created_at", "updated_at")


def _whole(raw: str | None, name: str, least: int) -> int | None:
    if raw is None:
        return None
    # ASCII digits only (str.isdigit takes '²', which int refuses), and few of them.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < least:
        raise invalid(f"querystring/{name} must be an integer >= {least}")
    return int(raw)


async def list_buckets(request: Request) -> Response:
    """``?search`` (a substring of the name, as Supabase's LIKE), ``sortColumn``,
    ``sortOrder``, then ``offset`` and ``limit``."""
    require(request, needs="authenticated")
    query = request.query_params
    limit = _whole(query.get("limit"), "limit", 1)
    offset = _whole(query.get("offset"), "offset", 0) or 0
    column, order = query.get("sortColumn", "name"), query.get("sortOrder", "asc")
    if column not in _BUCKET_SORT or order not in ("asc", "desc"):
        raise invalid(f"sortColumn must be one of {_BUCKET_SORT}, sortOrder asc or desc")
    statuses = await manager_of(request).object_store_statuses()
    rows = [_bucket_json(s) for s in statuses if query.get("search", "") in s.bucket]
    rows.sort(key=lambda row: row[column] or "", reverse=order == "desc")
    end = None if limit is None else offset + limit
    return JSONResponse(rows[offset:end])


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
    return JSONResponse(_one_list(folders, files, column, order)[offset : offset + limit])


def _one_list(
    folders: list[dict[str, Any]], files: list[dict[str, Any]], column: str, order: str
) -> list[dict[str, Any]]:
    """As Supabase's ``storage.search``: by name, folders and files together (lowercase,
    byte order); by another column, the folders by name first, then the files. Every
    folder is there and the files are the first ``offset + limit``, so the first
    ``offset + limit`` rows are right."""
    descending = order == "desc"
    if column == "name":
        rows = folders + files
        rows.sort(key=lambda row: row["name"].lower().encode(), reverse=descending)
        return rows
    folders.sort(key=lambda row: row["name"].lower().encode(), reverse=descending)
    return folders + files


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
    """Copy (also across buckets). ``copyMetadata: false`` gives the copy the user metadata
    of ``x-metadata`` (else none) and the ``metadata`` overrides (``mimetype``,
    ``cacheControl``), as Supabase's copy does."""
    require(request, needs="authenticated")
    body = await read_json(request)
    bucket, source, to_bucket, destination = _transfer_keys(body)
    manager = manager_of(request)
    store = await manager.object_store(bucket)
    to_store = await manager.object_store(to_bucket) if to_bucket != bucket else None
    keep = field(body, "copyMetadata", bool, True)
    metadata = None if keep else user_metadata(header_metadata(request)) or {}
    overrides = {} if keep else _header_overrides(body)
    if "Content-Type" in overrides:
        _check_mime((to_store or store).policy.allowed_mime_types, overrides["Content-Type"])
    info = await store.copy(
        source, destination, to_store=to_store, metadata=metadata, upsert=wants_upsert(request)
    )
    if overrides:  # a second commit: natsobj's copy keeps the source's headers
        info = await _override_headers(to_store or store, info, overrides)
    return JSONResponse({"Id": info.nuid, "Key": f"{to_bucket}/{destination}"})


def _header_overrides(body: dict[str, Any]) -> dict[str, str]:
    """The copy's new Content-Type / Cache-Control (``metadata.mimetype``,
    ``metadata.cacheControl``), checked before anything is copied."""
    overrides = field(body, "metadata", dict, {})
    replace: dict[str, str] = {}
    for header, key in (("Content-Type", "mimetype"), ("Cache-Control", "cacheControl")):
        value = overrides.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise invalid(f"metadata.{key} must be a non-empty string")
        if value is not None:
            replace[header] = value
    return replace


def _check_mime(allowed: list[str] | None, content_type: str) -> None:
    """A new content type the destination bucket refuses: 415, before anything is copied."""
    essence = content_type.split(";", 1)[0].strip().lower()
    wildcard = essence.split("/", 1)[0] + "/*"
    if allowed is not None and essence not in allowed and wildcard not in allowed:
        message = f"mime type {content_type} is not supported"
        raise ApiError(415, "InvalidMimeType", message, error="invalid_mime_type")


async def _override_headers(
    store: natsobj.ObjectStore, info: natsobj.ObjectInfo, replace: dict[str, str]
) -> natsobj.ObjectInfo:
    lower = {key.lower() for key in replace}
    headers = {k: v for k, v in info.headers.items() if k.lower() not in lower}
    headers.update({key: [value] for key, value in replace.items()})
    meta = natsobj.ObjectMeta(
        name=info.name, description=info.description, headers=headers, metadata=info.metadata
    )
    return await store.update_meta(info.name, meta)


async def remove_objects(request: Request) -> Response:
    require(request, needs="authenticated")
    names = field(await read_json(request), "prefixes", list, [])
    if not names or len(names) > MAX_PATHS or not all(isinstance(n, str) for n in names):
        raise invalid(f"prefixes must be 1 to {MAX_PATHS} names")
    store = await manager_of(request).object_store(request.path_params["bucket"])
    deleted: list[natsobj.ObjectInfo | None] = [None] * len(names)
    limiter = anyio.CapacityLimiter(REMOVE_CONCURRENCY)

    async def remove(index: int, name: str) -> None:
        async with limiter:
            deleted[index] = await _delete_as_it_was(store, name)

    async with anyio.create_task_group() as tg:
        for index, name in enumerate(names):
            tg.start_soon(remove, index, name)
    return JSONResponse([_row(info.name, info) for info in deleted if info is not None])


async def _delete_as_it_was(store: natsobj.ObjectStore, name: str) -> natsobj.ObjectInfo | None:
    """Delete a live object and return it as it was (Supabase answers with the deleted
    rows); None when there is none. The delete is conditional on the revision read, so
    what is reported is what was deleted; a write in between is read again (after
    ``REMOVE_ATTEMPTS`` reads the name is left as it is, unreported). A meta natsobj
    cannot read (another client's) is deleted and not reported."""
    for _ in range(REMOVE_ATTEMPTS):
        try:
            info = await store.get_info(name)
            await store.delete(name, if_revision=info.revision)
            return info
        except (natsobj.ObjectNotFoundError, natsobj.InvalidObjectNameError):
            return None
        except natsobj.PreconditionFailedError:
            continue
        except natsobj.BadObjectMetaError:
            await store.delete(name)
            return None
    return None


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
    """As Supabase's server writes it: the name as it is, not percent-encoded (storage-js
    runs ``encodeURI`` over the URL; encoding here too would encode it twice)."""
    return f"/object/{kind}/{bucket}/{name}?token={token}"


async def sign_url(request: Request) -> Response:
    caller = require(request)
    bucket, name = object_key(request)
    await check_readable(request, bucket, caller)
    seconds = _expires_in(await read_json(request))
    await (await open_store(request, bucket)).get_info(name)
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
    store = await open_store(request, bucket)
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
    return await serve(request, bucket, name)


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
        upsert=wants_upsert(request),
    )
    return JSONResponse({"url": _signed_path("upload/sign", bucket, name, token), "token": token})


async def upload_signed(request: Request) -> Response:
    bucket, name = object_key(request)
    claims = _verify(request, bucket, name, "upload")
    await store_upload(request, bucket, name, upsert=claims.get("upsert") is True)
    return JSONResponse({"Key": f"{bucket}/{name}"})


async def delete_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, name = object_key(request)
    await (await manager_of(request).object_store(bucket)).delete(name)
    return JSONResponse({"message": "Successfully deleted"})


# ---------------------------------------------------------------- CDN, unknown routes


async def purge_cache(request: Request) -> Response:
    """``DELETE /cdn[/{bucket}[/{path}]]``: natsobj serves no CDN, so there is nothing to
    purge; the caller and the bucket are checked as Supabase checks them."""
    require(request, needs="service_role")
    if "bucket" in request.path_params:
        await manager_of(request).get_bucket(request.path_params["bucket"])
    return JSONResponse({"message": "success", "statusCode": "200"})


async def not_found(request: Request) -> Response:
    """A route (or a method on it) Supabase's server does not have: its 404 body."""
    message = f"Route {request.method}:{request.url.path} not found"
    raise ApiError(404, "InvalidRequest", message, error="Not Found", http=404)


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
        ("/cdn", purge_cache, ["DELETE"]),
        ("/cdn/{bucket}", purge_cache, ["DELETE"]),
        ("/cdn/{bucket}/{path:path}", purge_cache, ["DELETE"]),
        # Last: anything else, and a known path with another method, is Supabase's 404.
        ("/{rest:path}", not_found, ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return [Route(path, endpoint(handler), methods=methods) for path, handler, methods in table]
