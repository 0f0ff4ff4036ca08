"""Streaming ``multipart/form-data`` uploads: the small fields, then the one file part as
its bytes arrive, so an upload goes to NATS without being buffered in memory or on disk.

Fields must come before the file (as storage3, storage-js and browsers send them);
fields after it are read and ignored, a second file is refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

__all__ = ["FormError", "FormUpload", "open_form"]

MAX_FIELDS = 10
MAX_FIELD_BYTES = 1 << 20  # Supabase's user metadata limit
MAX_HEADER_BYTES = 8 << 10

Event = tuple[str, Any]


class FormError(ValueError):
    """The body is not a usable form: no boundary, bad syntax, too many or too large fields,
    no file or more than one."""


@dataclass
class FormUpload:
    fields: dict[str, str]
    content_type: str | None
    """The file part's own Content-Type, if it has one."""
    data: AsyncIterator[bytes]
    """The file's bytes; iterating it reads the rest of the request."""

    async def aclose(self) -> None:
        await self.data.aclose()  # type: ignore[attr-defined]


def _parser(boundary: bytes, events: deque[Event]) -> MultipartParser:
    header: dict[str, bytes] = {"field": b"", "value": b""}
    headers: dict[bytes, bytes] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]
        if len(header["value"]) > MAX_HEADER_BYTES:
            raise FormError("a part header is too long")

    def on_header_end() -> None:
        headers[header["field"].lower()] = header["value"]
        header["field"] = header["value"] = b""

    def on_headers_finished() -> None:
        events.append(("headers", dict(headers)))
        headers.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    def on_part_end() -> None:
        events.append(("end", None))

    callbacks: Any = {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    return MultipartParser(boundary, callbacks)


async def _events(request: Request, boundary: bytes) -> AsyncIterator[Event]:
    events: deque[Event] = deque()
    parser = _parser(boundary, events)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            while events:
                yield events.popleft()
        parser.finalize()
    except MultipartParseError as exc:
        raise FormError(f"the form cannot be parsed: {exc}") from exc
    while events:
        yield events.popleft()


def _disposition(headers: dict[bytes, bytes]) -> tuple[str, bool]:
    _, params = parse_options_header(headers.get(b"content-disposition", b""))
    return params.get(b"name", b"").decode("utf-8", "replace"), b"filename" in params


async def open_form(request: Request) -> FormUpload:
    """Read the form up to its file part; the rest streams through ``FormUpload.data``.

    Raises:
        FormError: see the class.
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise FormError("multipart/form-data without a boundary")
    events = _events(request, boundary)
    fields: dict[str, str] = {}
    async for kind, value in events:
        if kind != "headers":
            continue
        name, is_file = _disposition(value)
        if is_file:
            mime = value.get(b"content-type")
            kind_of = mime.decode("latin-1") if mime else None
            return FormUpload(fields, kind_of, _file_data(events))
        if len(fields) == MAX_FIELDS:
            raise FormError(f"more than {MAX_FIELDS} fields")
        fields[name] = (await _field_value(events)).decode("utf-8", "replace")
    raise FormError("the form has no file")


async def _field_value(events: AsyncIterator[Event]) -> bytes:
    value = b""
    async for kind, data in events:
        if kind == "end":
            return value
        value += data
        if len(value) > MAX_FIELD_BYTES:
            raise FormError("a form field is too large")
    raise FormError("the form ends inside a field")


async def _file_data(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    try:
        async for kind, data in events:
            if kind == "end":
                break
            yield data
        else:
            raise FormError("the form ends inside the file")
        async for kind, value in events:  # what follows the file: fields only, ignored
            if kind == "headers" and _disposition(value)[1]:
                raise FormError("more than one file")
    finally:
        await events.aclose()  # type: ignore[attr-defined]
