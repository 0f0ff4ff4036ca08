"""Resumable uploads, as ``objectstore-client`` (0.2.10) makes them.

- create: ``PUT .../{key}?upload_type=resumable`` (``POST .../{scopes}`` for a server
  key) with ``Upload-Length`` (the bytes to come, compressed as ``Content-Encoding``
  says) and the metadata headers: ``{"key", "session", "granularity": 0}``.
- write: ``PUT .../{key}?session=<token>`` with ``Upload-Offset: <n>`` and a body:
  204 with ``Upload-Offset`` (the bytes now held), or 201 once the object is whole; 409
  with ``Upload-Offset`` when ``n`` is not the bytes held.
- progress: the same with ``Upload-Offset: *`` and no body.
- cancel: ``DELETE .../{key}?session=<token>`` (204).
- an unknown session, or one of another usecase, scope or key: 404.

An upload lives in the usecase's bucket under ``resumable/<token>/``: a manifest (key,
scope, length, metadata headers) and the bytes received as segments of up to
``SEGMENT_BYTES`` named by their offset, each its own put, so a write cut off midway keeps
every whole segment it sent (the client asks for the offset and sends the rest); an
upload holds at most ``MAX_SEGMENTS`` segments (400 past them). All with a 24-hour TTL.
The write that makes the bytes whole streams the segments, in order, into one session
put of the key (readers see the old object or the whole new one), marks the manifest
complete (a later progress answers 201) and drops the segments.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._errors import ObjectNotFoundError, PreconditionFailedError
from .._sessions import Session
from .._store import ObjectStore
from ._objectstore_auth import DELETE, WRITE
from ._objectstore_multipart import MAX_MANIFEST_BYTES, UPLOAD_TTL, kept_headers, read_manifest
from ._objectstore_requests import HTTPError, need_key, put_options, scoped_session, stored_body

__all__ = ["cancel", "create", "write"]

SEGMENT_BYTES = 8 * 1024 * 1024
# The segments one upload may hold: each write walks them, so tiny writes would cost
# quadratic work and unbounded bucket space. At least 80 GB when writes are of 8 MiB.
MAX_SEGMENTS = 10_000
MAX_LENGTH_DIGITS = 15


def _no_upload() -> NoReturn:
    raise HTTPError(404, "no such upload session")


def _manifest_name(token: str) -> str:
    return f"resumable/{token}/upload"


def _segment_name(token: str, offset: int) -> str:
    return f"resumable/{token}/segment/{offset:016d}"


def _digits(text: str | None, what: str) -> int:
    if text is None or not 0 < len(text) <= MAX_LENGTH_DIGITS or not text.isascii():
        raise HTTPError(400, f"{what} must be a byte count")
    if not text.isdigit():
        raise HTTPError(400, f"{what} must be a byte count")
    return int(text)


async def create(request: Request) -> Response:
    """Start a resumable upload of ``Upload-Length`` bytes for the path's key (or a new
    UUID4 key). The metadata headers are checked now and applied when it is whole."""
    session, key = scoped_session(request, WRITE)
    if request.method == "PUT":
        key = need_key(key)
    key = key or str(uuid.uuid4())
    length = _digits(request.headers.get("upload-length"), "Upload-Length")
    put_options(request.headers)  # refuse bad metadata before any byte is sent
    manifest = {
        "key": key,
        "scope": str(session.scope),
        "length": length,
        "headers": kept_headers(request.headers),
    }
    data = json.dumps(manifest).encode()
    if len(data) > MAX_MANIFEST_BYTES:
        raise HTTPError(400, "metadata headers too large")
    token = uuid.uuid4().hex
    await (await _store(session)).put(_manifest_name(token), data, ttl=UPLOAD_TTL)
    body = {"key": key, "session": token, "granularity": 0}
    return JSONResponse(body, status_code=201 if request.method == "POST" else 200)


async def _store(session: Session) -> ObjectStore:
    return (await session.bucket()).store


class _Upload:
    """An open upload session: its store, token and manifest."""

    def __init__(self, store: ObjectStore, token: str, manifest: dict[str, Any]):
        self.store = store
        self.token = token
        self.key: str = manifest["key"]
        self.length: int = manifest["length"]
        self.headers: dict[str, str] = manifest["headers"]
        self.complete = manifest.get("complete") is True
        self.manifest = manifest
        self.count = 0  # the segments ``held`` found

    async def held(self) -> int:
        """The bytes received: the run of segments from offset 0 (at most
        ``MAX_SEGMENTS``; their number in ``count``)."""
        offset = self.count = 0
        while offset < self.length and self.count < MAX_SEGMENTS:
            try:
                info = await self.store.get_info(_segment_name(self.token, offset))
            except ObjectNotFoundError:
                break
            if info.size == 0:
                break
            offset += info.size
            self.count += 1
        return min(offset, self.length)

    async def segments(self, end: int) -> list[str]:
        names, offset = [], 0
        while offset < end:
            name = _segment_name(self.token, offset)
            names.append(name)
            offset += (await self.store.get_info(name)).size
        return names


async def _open(request: Request, permission: str) -> tuple[Session, _Upload]:
    """The session and upload the request names (``?session=``).

    Raises:
        HTTPError: 404 when there is no such upload for this usecase, scope and key.
    """
    session, key = scoped_session(request, permission)
    key = need_key(key)
    token = request.query_params.get("session", "")
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        _no_upload()
    store = await _store(session)
    manifest = await read_manifest(store, _manifest_name(token), session, key, "upload session")
    if type(manifest.get("length")) is not int:
        _no_upload()
    return session, _Upload(store, token, manifest)


def _progress(offset: int, status: int = 204) -> Response:
    return Response(status_code=status, headers={"upload-offset": str(offset)})


async def write(request: Request) -> Response:
    """Append the body at ``Upload-Offset`` (or, with ``*``, say the offset). A write
    that would take the upload past ``MAX_SEGMENTS`` segments (one per ``SEGMENT_BYTES``
    of each write, and one for its rest) is refused (400), the bytes held kept."""
    session, upload = await _open(request, WRITE)
    if upload.complete:
        return _progress(upload.length, 201)
    held = await upload.held()
    asked = request.headers.get("upload-offset")
    if asked == "*":
        return _progress(held)
    offset = _digits(asked, "Upload-Offset")
    if offset != held:
        return _progress(held, 409)
    if "content-length" not in request.headers:
        raise HTTPError(411, "a write needs a Content-Length")
    size = _digits(request.headers["content-length"], "Content-Length")
    if offset + size > upload.length:
        raise HTTPError(400, "the write goes past Upload-Length")
    if upload.count + -(-size // SEGMENT_BYTES) > MAX_SEGMENTS:
        raise HTTPError(400, f"an upload holds at most {MAX_SEGMENTS} writes: write more at once")
    try:
        held = await _append(upload, offset, request.stream())
    except PreconditionFailedError:  # another write of the same bytes came first
        return _progress(await upload.held(), 409)
    if held < upload.length:
        return _progress(held)
    await _finish(session, upload)
    return _progress(held, 201)


async def _append(upload: _Upload, offset: int, stream: AsyncIterator[bytes]) -> int:
    """Store ``stream`` as segments from ``offset``, each put only if its name is free;
    the new offset. A stream cut off keeps the segments already put."""
    chunks = aiter(stream)
    carry = b""
    while True:
        if not carry:
            carry = await anext(chunks, b"")
            if not carry:
                return offset
        size = 0

        async def segment() -> AsyncIterator[bytes]:
            nonlocal carry, size
            while True:
                piece, carry = carry[: SEGMENT_BYTES - size], carry[SEGMENT_BYTES - size :]
                size += len(piece)
                yield piece
                if carry or size >= SEGMENT_BYTES:
                    return
                carry = await anext(chunks, b"")
                if not carry:
                    return

        name = _segment_name(upload.token, offset)
        await upload.store.put(name, segment(), ttl=UPLOAD_TTL, if_revision=0)
        offset += size


async def _finish(session: Session, upload: _Upload) -> None:
    """Put the whole bytes as the key, mark the upload complete, drop its segments."""
    store = upload.store
    names = await upload.segments(upload.length)
    encoding, options = put_options(upload.headers)

    async def whole() -> AsyncIterator[bytes]:
        for name in names:
            async with store.get(name) as result:
                async for chunk in result:
                    yield chunk

    await session.put(stored_body(whole(), encoding), upload.key, **options)
    done = json.dumps({**upload.manifest, "complete": True}).encode()
    await store.put(_manifest_name(upload.token), done, ttl=UPLOAD_TTL)
    await _drop(store, names)


async def _drop(store: ObjectStore, names: list[str]) -> None:
    for start in range(0, len(names), 32):
        await store.delete_many(names[start : start + 32])


async def cancel(request: Request) -> Response:
    """Drop the upload and the bytes it holds (204)."""
    _, upload = await _open(request, DELETE)
    names = await upload.segments(await upload.held())
    await _drop(upload.store, [*names, _manifest_name(upload.token)])
    return Response(status_code=204)
