"""Rich listing: prefix, folders, search, sort, limit/offset and cursor pages.

One pass over the bucket's meta messages (``BucketCore.metas``: batched Direct Get for up to
one run of them, else an ordered consumer of each object's newest meta). Only the
entries that can still make the page are kept as messages; every other meta is parsed,
keyed and dropped, so memory grows with ``offset + limit`` (plus one small index entry per
object to spot metas superseded by a later message on the same subject), not with the
bucket's size.
"""

from __future__ import annotations

import base64
import gc
import heapq
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .._checks import check_bool, check_text
from .._errors import BadObjectMetaError, InvalidArgumentError
from .._jetstream import StoredMsg
from .._models import CREATED_HEADER, ObjectInfo
from .._wire import name_of_meta_subject, parse_timestamp, read_json
from ._core import META_RUN, BucketCore

__all__ = [
    "MAX_PAGE",
    "ObjectPage",
    "SortBy",
    "SortOrder",
    "check_query",
    "decode_cursor",
    "encode_cursor",
    "list_objects",
    "list_page",
    "live_names",
]

SortBy = Literal["name", "size", "created", "updated"]
SortOrder = Literal["asc", "desc"]
MAX_PAGE = 10_000
_NO_TIME = "0000-00-00T00:00:00.000000000"  # sorts before every real time

Key = tuple[Any, ...]


class ObjectPage(BaseModel):
    """One page of a listing: the objects, the folders (first page only) and where the next
    page starts (``next_cursor``, None on the last page)."""

    model_config = ConfigDict(frozen=True)

    objects: list[ObjectInfo] = Field(default_factory=list)
    folders: list[str] = Field(default_factory=list)
    next_cursor: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_next(self) -> bool:
        """Whether another page follows (serialized too, for HTTP front ends)."""
        return self.next_cursor is not None


def _time_key(stamp: str) -> str:
    """A timestamp as a fixed-width UTC string that sorts in time order.

    The server's timestamps (and natsobj's created header) are RFC 3339 in UTC with a
    fraction of varying length: padding the fraction is all they need, and is far cheaper
    than parsing 100,000 of them. Anything else is parsed.
    """
    if stamp.endswith("Z") and len(stamp) >= 20 and stamp[10] == "T":
        head, _, fraction = stamp[:-1].partition(".")
        if len(head) == 19 and (fraction.isdigit() or not fraction):
            return f"{head}.{fraction[:9]:0<9}"
    parsed = parse_timestamp(stamp)
    if parsed is None:
        return _NO_TIME
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000")


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
        return lambda name, raw, msg: (_time_key(msg.time), name)
    if sort_by == "created":

        def created(name: str, raw: dict[str, Any], msg: StoredMsg) -> Key:
            stamp = _header(raw.get("headers"), CREATED_HEADER) or msg.time
            return (_time_key(stamp), name)

        return created
    raise InvalidArgumentError(f"sort_by must be name, size, created or updated, got {sort_by!r}")


def encode_cursor(sort_by: str, order: str, key: Key) -> str:
    raw = json.dumps([sort_by, order, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort_by: str, order: str) -> Key:
    try:
        raw = read_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
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
    """The name of the object a meta describes: its subject's, or None when the subject is
    not a meta subject or the payload names another object (a bad meta, as
    ``ObjectInfo.from_message`` reads it)."""
    stored = raw.get("name")
    try:
        name = name_of_meta_subject(subject, stored)
    except ValueError:
        return None
    return name if stored in (None, "", name) else None


def _check_page(limit: int, offset: int, delimiter: str | None) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidArgumentError(f"limit must be 1 to {MAX_PAGE}, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidArgumentError(f"offset must be a non-negative int, got {offset!r}")
    if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
        raise InvalidArgumentError("delimiter must be a non-empty str or None")


def check_query(
    *,
    prefix: str,
    delimiter: str | None,
    search: str | None,
    sort_by: str,
    order: str,
    limit: int,
    offset: int,
    cursor: str | None,
    show_deleted: bool,
) -> Key | None:
    """Check the arguments of ``list_page``; the cursor's key, if there is a cursor.

    Raises:
        InvalidArgumentError: one of them is not what ``list_page`` takes.
    """
    _check_page(limit, offset, delimiter)
    if search is not None:
        check_text(search, "search")
    check_bool(show_deleted, "show_deleted")
    if order not in ("asc", "desc"):
        raise InvalidArgumentError(f"order must be 'asc' or 'desc', got {order!r}")
    if sort_by not in ("name", "size", "created", "updated"):
        raise InvalidArgumentError(
            f"sort_by must be name, size, created or updated, got {sort_by!r}"
        )
    if not isinstance(prefix, str):
        raise InvalidArgumentError("prefix must be a str")
    return decode_cursor(cursor, sort_by, order) if cursor is not None else None


async def list_objects(
    core: BucketCore, prefix: str | None, show_deleted: bool
) -> list[ObjectInfo]:
    """Every usable meta (see ``ObjectStore.list``), in the order they were last written."""
    if prefix is not None:
        check_text(prefix, "prefix")
    check_bool(show_deleted, "show_deleted")
    # Each message is parsed as it comes and only its ObjectInfo kept (by subject: a newer
    # meta on a subject replaces the older, in its own position).
    latest: dict[str, ObjectInfo | None] = {}
    with collector_paused():
        async with aclosing(core.metas()) as metas:
            async for batch in metas:
                for msg in batch:
                    latest.pop(msg.subject, None)
                    latest[msg.subject] = _listed(core, msg, prefix, show_deleted)
    return [info for info in latest.values() if info is not None]


_pauses = 0  # calls in collector_paused now, in every thread
_pauses_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block, unless it is paused
    already (by the application, or by another block: the last one out resumes it).

    A listing keeps every object it builds, so the collector's full passes over them
    are pure cost, and it makes one each time they grow by a quarter: a fifth of
    ``list()``'s CPU at 100,000 objects (BENCHMARKS.md). Reference counting still frees
    everything that is not in a cycle; cycles other tasks make meanwhile wait for the
    end of the block.
    """
    global _pauses
    with _pauses_lock:
        if _pauses == 0 and not gc.isenabled():
            owner = False  # paused by the application: leave it as it is
        else:
            owner = True
            _pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if owner:
            with _pauses_lock:
                _pauses -= 1
                if _pauses == 0:
                    gc.enable()


def _listed(
    core: BucketCore, msg: StoredMsg, prefix: str | None, show_deleted: bool
) -> ObjectInfo | None:
    """The object ``msg`` describes, if ``list`` shows it."""
    if not msg.data:
        return None  # delete markers and other empty messages
    try:
        info = core.parse(msg)
    except BadObjectMetaError:
        return None
    if (info.deleted and not show_deleted) or (prefix and not info.name.startswith(prefix)):
        return None
    return info


async def list_page(
    core: BucketCore,
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
    """One page of a listing (see ``ObjectStore.list_page``)."""
    after = check_query(
        prefix=prefix,
        delimiter=delimiter,
        search=search,
        sort_by=sort_by,
        order=order,
        limit=limit,
        offset=offset,
        cursor=cursor,
        show_deleted=show_deleted,
    )
    page = _Page(
        prefix=prefix,
        delimiter=delimiter,
        needle=(search or "").lower(),
        key_of=_key_function(sort_by),
        descending=order == "desc",
        after=after,
        wanted=offset + limit + 1,  # one more than the page tells whether there is a next
        show_deleted=show_deleted,
    )
    await page.scan(core)
    if page.superseded:
        # A writer without rollup left older metas on some subject: only each subject's
        # newest counts, which is known now; a second pass takes exactly those.
        await page.scan(core, only=page.latest)
    chosen = page.best()
    entries = chosen[offset : offset + limit]
    objects: list[ObjectInfo] = []
    for _, msg in entries:
        try:
            objects.append(core.parse(msg))
        except BadObjectMetaError:
            continue
    next_cursor = None
    if len(chosen) > offset + limit and entries:
        next_cursor = encode_cursor(sort_by, order, entries[-1][0])
    first_page = offset == 0 and cursor is None
    return ObjectPage(
        objects=objects,
        folders=sorted(page.folders) if first_page else [],
        next_cursor=next_cursor,
    )


@dataclass
class _Page:
    """What a page keeps of one pass over the metas: the best ``wanted`` entries (as
    messages), the folders, each subject's newest sequence, and whether some subject had
    more than one message (``superseded``)."""

    prefix: str
    delimiter: str | None
    needle: str
    key_of: Callable[[str, dict[str, Any], StoredMsg], Key]
    descending: bool
    after: Key | None
    wanted: int
    show_deleted: bool
    kept: list[tuple[Key, StoredMsg]] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)
    latest: dict[str, int] = field(default_factory=dict)
    superseded: bool = False
    worst: Key | None = None  # entries not better than this cannot make the page

    def best(self) -> list[tuple[Key, StoredMsg]]:
        """The best ``wanted`` entries kept, best first."""
        select = heapq.nlargest if self.descending else heapq.nsmallest
        return select(self.wanted, self.kept, key=lambda entry: entry[0])

    async def scan(self, core: BucketCore, *, only: dict[str, int] | None = None) -> None:
        """One pass; with ``only`` (each subject's newest sequence), over those messages."""
        self.kept, self.folders, self.worst = [], set(), None
        latest, consider = self.latest, self._consider
        async with aclosing(core.metas()) as metas:
            async for batch in metas:
                for msg in batch:
                    if only is None:
                        self.superseded = self.superseded or msg.subject in latest
                        latest[msg.subject] = msg.seq
                    elif only.get(msg.subject) != msg.seq:
                        continue
                    consider(msg)

    def _consider(self, msg: StoredMsg) -> None:
        raw = _raw_meta(msg.data)
        if raw is None or (raw.get("deleted") and not self.show_deleted):
            return
        name = _name_of(raw, msg.subject)
        if name is None or not name.startswith(self.prefix) or not _size_readable(raw):
            return  # a size that is no number: a bad meta, in every sort and folder
        rest = name[len(self.prefix) :]
        if not rest.lower().startswith(self.needle):
            return
        if self.delimiter is not None and self.delimiter in rest:
            self.folders.add(self.prefix + rest[: rest.index(self.delimiter) + len(self.delimiter)])
            return
        try:
            key = self.key_of(name, raw, msg)
        except (ValueError, TypeError):
            return  # a size that is not a number: a bad meta, skipped as by list()
        if self.after is not None and (key >= self.after if self.descending else key <= self.after):
            return
        if self.worst is not None and (key <= self.worst if self.descending else key >= self.worst):
            return
        # Without the Direct Get headers: kept entries are most of the memory.
        self.kept.append((key, StoredMsg(msg.subject, msg.seq, msg.time, msg.data)))
        if len(self.kept) >= 2 * self.wanted + META_RUN:
            self.kept = self.best()
            self.worst = self.kept[-1][0]


def _size_readable(raw: dict[str, Any]) -> bool:
    try:
        int(raw.get("size") or 0)
    except (ValueError, TypeError):
        return False
    return True


def _raw_meta(data: bytes) -> dict[str, Any] | None:
    """The JSON object in ``data``, if it holds one (read leniently: a peer's meta)."""
    try:
        raw = read_json(data) if data else None
    except ValueError:
        return None
    return raw if isinstance(raw, dict) else None


async def live_names(core: BucketCore, prefix: str) -> list[str]:
    """Names of the live objects whose names start with ``prefix``, in name order."""
    latest: dict[str, str | None] = {}
    async with aclosing(core.metas()) as metas:
        async for batch in metas:
            for msg in batch:
                latest[msg.subject] = _live_name(msg, prefix)
    return sorted(name for name in latest.values() if name is not None)


def _live_name(msg: StoredMsg, prefix: str) -> str | None:
    """The name of the live object ``msg`` describes, if it starts with ``prefix``."""
    raw = _raw_meta(msg.data)
    if raw is None or raw.get("deleted"):
        return None
    name = _name_of(raw, msg.subject)
    return name if name is not None and name.startswith(prefix) else None
