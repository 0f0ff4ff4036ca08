"""Rich listing: prefix, folders, search, sort, limit/offset and cursor pages.

One pass over the bucket's meta messages with batched Direct Get (no consumer). Only the
entries that can still make the page are kept as messages; every other meta is parsed,
keyed and dropped, so memory grows with ``offset + limit`` (plus one small index entry per
object to spot metas superseded by a later message on the same subject), not with the
bucket's size.
"""

from __future__ import annotations

import base64
import heapq
import json
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._errors import BadObjectMetaError, InvalidArgumentError
from ._models import CREATED_HEADER, ObjectInfo
from ._wire import decode_name, meta_subject_filter, parse_timestamp

if TYPE_CHECKING:
    from ._jsapi import StoredMsg
    from ._store import ObjectStore

__all__ = ["MAX_PAGE", "ObjectPage", "SortBy", "SortOrder", "list_page", "live_names"]

SortBy = Literal["name", "size", "created", "updated"]
SortOrder = Literal["asc", "desc"]
MAX_PAGE = 10_000
# Meta messages per Direct Get run.
_RUN = 1000
_EPOCH = datetime.min.replace(tzinfo=UTC)

Key = tuple[Any, ...]


class ObjectPage(BaseModel):
    """One page of a listing: the objects, the folders (first page only) and where the next
    page starts (``next_cursor``, None on the last page)."""

    model_config = ConfigDict(frozen=True)

    objects: list[ObjectInfo] = Field(default_factory=list)
    folders: list[str] = Field(default_factory=list)
    next_cursor: str | None = None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _time_key(value: datetime | None) -> str:
    return (value or _EPOCH).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _header(headers: Any, wanted: str) -> str | None:
    if isinstance(headers, dict):
        for key, values in headers.items():
            if key.lower() == wanted.lower() and isinstance(values, list) and values:
                return str(values[0])
    return None


def _key_function(sort_by: str) -> Callable[[str, dict[str, Any], StoredMsg], Key]:
    """(sort value, name): ties are broken by name, so every order is total."""
    if sort_by == "name":
        return lambda name, raw, msg: (name,)
    if sort_by == "size":
        return lambda name, raw, msg: (int(raw.get("size") or 0), name)
    if sort_by == "updated":
        return lambda name, raw, msg: (_time_key(parse_timestamp(msg.time)), name)
    if sort_by == "created":

        def created(name: str, raw: dict[str, Any], msg: StoredMsg) -> Key:
            stamp = _header(raw.get("headers"), CREATED_HEADER) or msg.time
            return (_time_key(parse_timestamp(stamp)), name)

        return created
    raise InvalidArgumentError(f"sort_by must be name, size, created or updated, got {sort_by!r}")


def encode_cursor(sort_by: str, order: str, key: Key) -> str:
    raw = json.dumps([sort_by, order, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort_by: str, order: str) -> Key:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, cursor_order, key = raw
        key = tuple(key)
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(f"not a listing cursor: {cursor!r}") from exc
    if (cursor_sort, cursor_order) != (sort_by, order):
        raise InvalidArgumentError(
            f"the cursor is for sort_by={cursor_sort!r} order={cursor_order!r}, "
            f"not sort_by={sort_by!r} order={order!r}"
        )
    return key


def _name_of(raw: dict[str, Any], subject: str) -> str | None:
    name = raw.get("name")
    if isinstance(name, str) and name:
        return name
    try:
        return decode_name(subject.rsplit(".", 1)[-1])
    except (ValueError, UnicodeDecodeError):
        return None


def _metas(store: ObjectStore) -> AsyncGenerator[StoredMsg, None]:
    return store._js.next_msgs(
        store.stream,
        meta_subject_filter(store.bucket),
        start_seq=0,
        batch=_RUN,
        max_bytes=8 * 1024 * 1024,
        direct=store._direct,
        bucket=store.bucket,
    )


def _check_page(limit: int, offset: int, delimiter: str | None) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidArgumentError(f"limit must be 1 to {MAX_PAGE}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidArgumentError(f"offset must be a non-negative int, got {offset!r}")
    if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
        raise InvalidArgumentError("delimiter must be a non-empty str or None")


async def list_page(
    store: ObjectStore,
    *,
    prefix: str,
    delimiter: str | None,
    search: str | None,
    sort_by: SortBy,
    order: SortOrder,
    limit: int,
    offset: int,
    cursor: str | None,
    show_deleted: bool,
) -> ObjectPage:
    _check_page(limit, offset, delimiter)
    if order not in ("asc", "desc"):
        raise InvalidArgumentError(f"order must be 'asc' or 'desc', got {order!r}")
    if not isinstance(prefix, str):
        raise InvalidArgumentError("prefix must be a str")
    key_of = _key_function(sort_by)
    after = decode_cursor(cursor, sort_by, order) if cursor is not None else None
    select = heapq.nlargest if order == "desc" else heapq.nsmallest
    needle = (search or "").lower()
    wanted = offset + limit + 1  # one more than the page tells whether there is a next

    latest: dict[str, int] = {}  # meta subject -> sequence of its newest message
    superseded = 0
    kept: list[tuple[Key, int, StoredMsg]] = []
    folders: set[str] = set()
    metas = _metas(store)
    async for msg in metas:
        if msg.subject in latest:
            superseded += 1  # a writer without rollup: the older entry no longer counts
        latest[msg.subject] = msg.seq
        if not msg.data:
            continue
        try:
            raw = json.loads(msg.data)
        except ValueError:
            continue
        if not isinstance(raw, dict) or (raw.get("deleted") and not show_deleted):
            continue
        name = _name_of(raw, msg.subject)
        if name is None or not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if not rest.lower().startswith(needle):
            continue
        if delimiter is not None and delimiter in rest:
            folders.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
            continue
        key = key_of(name, raw, msg)
        if after is not None and (key <= after if order == "asc" else key >= after):
            continue
        kept.append((key, msg.seq, msg))
        if len(kept) >= 2 * (wanted + superseded) + _RUN:
            kept = select(wanted + superseded, kept, key=lambda entry: entry[0])
    await metas.aclose()
    current = [entry for entry in kept if latest.get(entry[2].subject) == entry[1]]
    chosen = select(wanted, current, key=lambda entry: entry[0])
    page = chosen[offset : offset + limit]
    objects: list[ObjectInfo] = []
    for _, _, msg in page:
        try:
            objects.append(store._parse(msg))
        except BadObjectMetaError:
            continue
    next_cursor = None
    if len(chosen) > offset + limit and page:
        next_cursor = encode_cursor(sort_by, order, page[-1][0])
    first_page = offset == 0 and cursor is None
    return ObjectPage(
        objects=objects,
        folders=sorted(folders) if first_page else [],
        next_cursor=next_cursor,
    )


async def live_names(store: ObjectStore, prefix: str) -> list[str]:
    """Names of the live objects whose names start with ``prefix``, in name order."""
    latest: dict[str, str | None] = {}
    async for msg in _metas(store):
        name: str | None = None
        if msg.data:
            try:
                raw = json.loads(msg.data)
            except ValueError:
                raw = None
            if isinstance(raw, dict) and not raw.get("deleted"):
                name = _name_of(raw, msg.subject)
        latest[msg.subject] = name if name is not None and name.startswith(prefix) else None
    return sorted(name for name in latest.values() if name is not None)
