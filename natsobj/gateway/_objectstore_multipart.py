"""Sentry Objectstore's multipart uploads (``/v1/objects:multipart...``) over natsobj.

An upload lives in the usecase's bucket under ``multipart/<upload_id>/``: a manifest
(``upload``: the key, scope and metadata headers given at initiation) and one object per
part (``part/<number>``), all with a 24-hour TTL so abandoned uploads go away by
themselves. No session name can collide with these (session names end in
``objects/<key>`` after ``key.value/`` scope components). Complete streams the parts, in
order, into one session put of the key: readers see the old object or the whole new one.
Every request names the upload's usecase, scope and key; a mismatch is "no such upload".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._errors import ObjectNotFoundError
from .._models import ObjectInfo
from .._sessions import Session
from .._store import ObjectStore
from ._objectstore_auth import DELETE, READ, WRITE
from ._objectstore_requests import (
    META_PREFIX,
    HTTPError,
    error_responses,
    json_body,
    need_key,
    put_options,
    scoped_session,
    stored_body,
)

__all__ = ["multipart_routes"]

UPLOAD_TTL = timedelta(hours=24)
EPOCH = datetime.fromtimestamp(0, UTC)
MAX_PART_NUMBER = 10_000
MAX_LIST_PARTS = 1000
MAX_MANIFEST_BYTES = 64 * 1024
MAX_COMPLETE_BODY = 1024 * 1024
_KEPT_HEADERS = frozenset(
    ("content-type", "content-encoding", "x-sn-expiration", "x-sn-origin", "x-sn-filename")
)


def multipart_routes() -> list[BaseRoute]:
    """The multipart routes, relative to the ``/v1`` mount."""
    base = "/objects:multipart/{usecase}/{scopes}"
    return [
        Route(base, error_responses(_initiate), methods=["POST"]),
        Route(base + "/{key:path}", error_responses(_upload), methods=["POST", "PUT", "DELETE"]),
        Route(
            "/objects:multipart:parts/{usecase}/{scopes}/{key:path}",
            error_responses(_parts),
            methods=["PUT", "GET"],
        ),
        Route(
            "/objects:multipart:complete/{usecase}/{scopes}/{key:path}",
            error_responses(_complete),
            methods=["POST"],
        ),
    ]


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers an upload keeps for its final put (metadata, encoding)."""
    return {
        name: value
        for name, value in headers.items()
        if name in _KEPT_HEADERS or name.startswith(META_PREFIX)
    }


def _upload_id(request: Request) -> str:
    value = request.query_params.get("upload_id", "")
    try:
        return uuid.UUID(hex=value).hex if len(value) == 32 else _no_upload()
    except ValueError:
        return _no_upload()


def _no_upload() -> NoReturn:
    raise HTTPError(404, "no such upload")


def _manifest_name(upload_id: str) -> str:
    return f"multipart/{upload_id}/upload"


def _parts_prefix(upload_id: str) -> str:
    return f"multipart/{upload_id}/part/"


async def _store(session: Session) -> ObjectStore:
    return (await session.bucket()).store


async def _initiate(request: Request) -> Response:
    """Start an upload for the path's key (or a new UUID4 key): ``{key, upload_id}``.
    The metadata headers are checked now and applied at completion."""
    session, key = scoped_session(request, WRITE)
    key = key or str(uuid.uuid4())
    put_options(request.headers)  # refuse bad metadata before any part is sent
    manifest = {"key": key, "scope": str(session.scope), "headers": kept_headers(request.headers)}
    upload_id = uuid.uuid4().hex
    data = json.dumps(manifest).encode()
    if len(data) > MAX_MANIFEST_BYTES:
        raise HTTPError(400, "metadata headers too large")
    await (await _store(session)).put(_manifest_name(upload_id), data, ttl=UPLOAD_TTL)
    return JSONResponse({"key": key, "upload_id": upload_id})


async def _upload(request: Request) -> Response:
    if request.method == "DELETE":
        return await _abort(request)
    return await _initiate(request)


async def _open(request: Request, permission: str) -> tuple[Session, str, str, dict[str, str]]:
    """The session, key, upload id and kept headers of the upload the request names.

    Raises:
        HTTPError: 404 when there is no such upload for this usecase, scope and key.
    """
    session, key = scoped_session(request, permission)
    key = need_key(key)
    upload_id = _upload_id(request)
    manifest = await read_manifest(
        await _store(session), _manifest_name(upload_id), session, key, "upload"
    )
    return session, key, upload_id, manifest["headers"]


async def read_manifest(
    store: ObjectStore, name: str, session: Session, key: str, what: str
) -> dict[str, Any]:
    """The upload manifest ``name``, if it is one for ``key`` in ``session``'s scope,
    with its ``headers`` (str to str) checked.

    Raises:
        HTTPError: 404 ("no such <what>") otherwise.
    """
    try:
        info = await store.get_info(name)
        if info.size > MAX_MANIFEST_BYTES:
            raise ValueError("manifest too large")
        manifest: Any = json.loads(await store.get(name).read())
    except (ObjectNotFoundError, ValueError):
        raise HTTPError(404, f"no such {what}") from None
    # The manifest is bucket data: any writer of the bucket could have made it.
    if (
        not isinstance(manifest, dict)
        or manifest.get("key") != key
        or manifest.get("scope") != str(session.scope)
        or not isinstance(headers := manifest.get("headers"), dict)
        or not all(isinstance(v, str) for v in headers.values())
    ):
        raise HTTPError(404, f"no such {what}")
    return manifest


async def _part_infos(store: ObjectStore, upload_id: str) -> dict[int, ObjectInfo]:
    prefix = _parts_prefix(upload_id)
    out: dict[int, ObjectInfo] = {}
    for info in await store.list(prefix=prefix):
        number = info.name[len(prefix) :]
        if _digits(number) and 1 <= int(number) <= MAX_PART_NUMBER:
            out[int(number)] = info
    return out


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` takes other scripts' digits too), at most 6."""
    return 0 < len(text) <= 6 and text.isascii() and text.isdigit()


def _part_number(text: str | None) -> int:
    if text is None or not _digits(text) or not 1 <= int(text) <= MAX_PART_NUMBER:
        raise HTTPError(400, f"part_number must be 1 to {MAX_PART_NUMBER}")
    return int(text)


async def _parts(request: Request) -> Response:
    """PUT uploads one part (``{etag}``); GET lists the uploaded parts, in pages."""
    if request.method == "GET":
        return await _list_parts(request)
    session, _, upload_id, _ = await _open(request, WRITE)
    number = _part_number(request.query_params.get("part_number"))
    if "content-length" not in request.headers:
        raise HTTPError(411, "a part needs a Content-Length")
    expected_md5 = None
    if (md5_header := request.headers.get("content-md5")) is not None:
        try:
            expected_md5 = base64.b64decode(md5_header, validate=True)
        except binascii.Error:
            raise HTTPError(400, "Content-MD5 is not base64") from None
    md5 = hashlib.md5(usedforsecurity=False)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            md5.update(chunk)
            yield chunk

    store = await _store(session)
    name = f"{_parts_prefix(upload_id)}{number:05d}"
    info = await store.put(name, body(), ttl=UPLOAD_TTL)
    if expected_md5 is not None and md5.digest() != expected_md5:
        await store.delete(name)
        raise HTTPError(400, "the part does not match its Content-MD5")
    return JSONResponse({"etag": info.digest})


async def _list_parts(request: Request) -> Response:
    session, _, upload_id, _ = await _open(request, READ)
    query = request.query_params
    marker = int(m) if _digits(m := query.get("part_number_marker", "0")) else -1
    limit = int(n) if _digits(n := query.get("max_parts", str(MAX_LIST_PARTS))) else 0
    if marker < 0 or not 1 <= limit <= MAX_LIST_PARTS:
        raise HTTPError(400, f"part_number_marker >= 0 and max_parts 1 to {MAX_LIST_PARTS}")
    infos = sorted(
        (n, i)
        for n, i in (await _part_infos(await _store(session), upload_id)).items()
        if n > marker
    )
    page = infos[:limit]
    parts = [
        {
            "part_number": number,
            "etag": info.digest,
            "last_modified": (info.mtime or EPOCH).isoformat(),
            "size": info.size,
        }
        for number, info in page
    ]
    truncated = len(infos) > limit
    return JSONResponse(
        {
            "parts": parts,
            "is_truncated": truncated,
            "next_part_number_marker": page[-1][0] if truncated else None,
        }
    )


def _wanted_parts(body: object) -> list[tuple[int, str]]:
    parts = body.get("parts") if isinstance(body, dict) else None
    if not isinstance(parts, list) or not parts:
        raise HTTPError(400, 'the body must be {"parts": [{"part_number", "etag"}, ...]}')
    out: list[tuple[int, str]] = []
    for part in parts:
        number = part.get("part_number") if isinstance(part, dict) else None
        etag = part.get("etag") if isinstance(part, dict) else None
        if type(number) is not int or not isinstance(etag, str):
            raise HTTPError(400, "each part needs an int part_number and a str etag")
        if out and number <= out[-1][0]:
            raise HTTPError(400, "parts must be in ascending part_number order, once each")
        out.append((number, etag))
    return out


def _complete_error(code: str, message: str) -> Response:
    # Sentry answers complete with 200 and the outcome in the body; the client reads it.
    return JSONResponse({"error": {"code": code, "message": message}})


async def _complete(request: Request) -> Response:
    """Assemble the listed parts, in order, into the key (``{key}``), then drop the upload.
    A missing part or a changed etag is ``{"error": {"code": "InvalidPart"}}``."""
    session, key, upload_id, headers = await _open(request, WRITE)
    wanted = _wanted_parts(await json_body(request, MAX_COMPLETE_BODY))
    store = await _store(session)
    have = await _part_infos(store, upload_id)
    chosen: list[ObjectInfo] = []
    for number, etag in wanted:
        info = have.get(number)
        if info is None or info.digest != etag:
            return _complete_error("InvalidPart", f"part {number} is missing or changed")
        chosen.append(info)
    encoding, options = put_options(headers)

    async def parts() -> AsyncIterator[bytes]:
        for info in chosen:
            async with store.get(info.name) as result:
                async for chunk in result:
                    yield chunk

    await session.put(stored_body(parts(), encoding), key, **options)
    await _drop(store, upload_id, have)
    return JSONResponse({"key": key})


async def _drop(store: ObjectStore, upload_id: str, parts: Mapping[int, ObjectInfo]) -> None:
    names = [info.name for info in parts.values()] + [_manifest_name(upload_id)]
    for start in range(0, len(names), 32):
        await store.delete_many(names[start : start + 32])


async def _abort(request: Request) -> Response:
    """Drop the upload and its parts (204)."""
    session, _, upload_id, _ = await _open(request, DELETE)
    store = await _store(session)
    await _drop(store, upload_id, await _part_infos(store, upload_id))
    return Response(status_code=204)
