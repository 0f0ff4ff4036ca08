"""Supabase uploads: a raw body or a multipart form streamed into ``ObjectStore.upload``,
with ``x-upsert``, ``cache-control``, the content type and user metadata (``x-metadata``,
base64 JSON, or the form's ``metadata``); the bucket's policy applies as natsobj enforces
it."""

from __future__ import annotations

import base64
import binascii
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import natsobj

from ._multipart import FormError, open_form
from ._stores import open_store
from ._supabase_http import ApiError, invalid, object_key, require

__all__ = ["header_metadata", "store_upload", "upload_object", "user_metadata", "wants_upsert"]


def user_metadata(raw: str | None) -> dict[str, str]:
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


def header_metadata(request: Request) -> str | None:
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


async def store_upload(
    request: Request, bucket: str, name: str, *, upsert: bool
) -> natsobj.ObjectInfo:
    """Stream the request's body (raw, or the one file of a multipart form) into the
    bucket; the bucket's policy applies as natsobj enforces it (a change made elsewhere
    within a second: the handle is reused for up to half a second, see ``_stores``)."""
    store = await open_store(request, bucket)
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
                metadata=user_metadata(meta),
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
        metadata=user_metadata(header_metadata(request)),
    )
    return await store.upload(meta_obj, request.stream(), upsert=upsert, content_type=content_type)


def wants_upsert(request: Request) -> bool:
    return request.headers.get("x-upsert", "false").lower() == "true"


async def upload_object(request: Request) -> Response:
    require(request, needs="authenticated")
    bucket, name = object_key(request)
    upsert = request.method == "PUT" or wants_upsert(request)
    info = await store_upload(request, bucket, name, upsert=upsert)
    return JSONResponse({"Id": info.nuid, "Key": f"{bucket}/{name}"})
