"""The in-memory table behind ``ListingIndex``: one compact row per object and four sort
orders kept current as rows change, answering the queries of ``list_page`` without I/O.

A row is a slot in parallel columns (the name in a list, size, created, updated and
stream sequence in 64-bit arrays, a deleted flag in a bytearray), so an object costs its
name string, a dict entry and some 50 bytes beside it; no ``ObjectInfo`` is held (a page's
metas are read when the page is asked for). Each sort order is an array of the slots of
the live (not deleted) objects sorted by (value, name): a change is two binary searches
and two memmoves per order. Names sort by code point, as ``list_page``'s do.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .._errors import InvalidArgumentError

__all__ = ["NO_TIME_NS", "Row", "Table", "TableQuery", "ns_of_time_key", "time_key_of_ns"]

NO_TIME_NS = -(2**62)  # a time that could not be read: sorts before every real one
_NO_TIME = "0000-00-00T00:00:00.000000000"
SORTS = ("name", "size", "created", "updated")
# A prefix range holding more than this share of the live objects is filtered while the
# sort order is walked, rather than gathered and sorted.
_GATHER_SHARE = 4


def time_key_of_ns(ns: int) -> str:
    """The fixed-width time key ``list_page``'s cursors carry for ``ns`` (UTC)."""
    if ns == NO_TIME_NS:
        return _NO_TIME
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}"


def ns_of_time_key(key: str) -> int:
    """Nanoseconds since the epoch of a fixed-width time key (``time_key_of_ns``).

    Raises:
        ValueError: ``key`` is not one.
    """
    if key == _NO_TIME:
        return NO_TIME_NS
    if len(key) != 29 or key[4] + key[7] + key[10] + key[13] + key[16] + key[19] != "--T::.":
        raise ValueError(f"not a time key: {key!r}")
    fraction = key[20:]
    if not (fraction.isascii() and fraction.isdigit()):
        raise ValueError(f"not a time key: {key!r}")
    parts = [key[0:4], key[5:7], key[8:10], key[11:13], key[14:16], key[17:19]]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(f"not a time key: {key!r}")
    year, month, day, hour, minute, second = (int(part) for part in parts)
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + int(fraction)


@dataclass(slots=True)
class Row:
    """What the index keeps of one object's newest meta."""

    name: str
    size: int
    created: int  # ns since the epoch
    updated: int  # ns since the epoch (the meta message's timestamp)
    seq: int
    deleted: bool


@dataclass(frozen=True)
class TableQuery:
    """A checked ``list_page`` query; ``after`` is a decoded cursor key (times as ns)."""

    prefix: str
    delimiter: str | None
    needle: str  # lower case
    sort_by: str
    descending: bool
    after: tuple[Any, ...] | None
    wanted: int  # offset + limit + 1
    show_deleted: bool
    first_page: bool


@dataclass
class TableAnswer:
    """The best ``wanted`` slots, best first, and the folders (first page only)."""

    slots: list[int] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)


class Table:
    """Rows by name, in columns, with the four sort orders of the live rows."""

    def __init__(self) -> None:
        self.names: list[str] = []  # "" in a free slot
        self.slot_of: dict[str, int] = {}
        self.size = array("q")
        self.created = array("q")
        self.updated = array("q")
        self.seq = array("q")
        self.deleted = bytearray()
        self._free: list[int] = []
        self.orders: dict[str, array[int]] | None = None  # None while loading
        self.keys: dict[str, Callable[[int], Any]] = {
            "name": self.names.__getitem__,
            "size": lambda s: (self.size[s], self.names[s]),
            "created": lambda s: (self.created[s], self.names[s]),
            "updated": lambda s: (self.updated[s], self.names[s]),
        }

    def __len__(self) -> int:
        """Live (not deleted) objects."""
        return len(self.slot_of) - sum(self.deleted[s] for s in self.slot_of.values())

    def row(self, slot: int) -> Row:
        return Row(
            self.names[slot],
            self.size[slot],
            self.created[slot],
            self.updated[slot],
            self.seq[slot],
            bool(self.deleted[slot]),
        )

    # -- changes ------------------------------------------------------------------------

    def put(self, row: Row) -> None:
        """Keep ``row`` as its name's newest meta."""
        slot = self.slot_of.get(row.name)
        if slot is None:
            slot = self._new_slot(row.name)
        elif not self.deleted[slot]:
            self._unorder(slot)
        self.size[slot], self.created[slot], self.updated[slot] = row.size, row.created, row.updated
        self.seq[slot], self.deleted[slot] = row.seq, row.deleted
        if not row.deleted:
            self._order(slot)

    def drop(self, name: str) -> None:
        """Forget ``name`` (its meta is gone or unusable)."""
        slot = self.slot_of.pop(name, None)
        if slot is None:
            return
        if not self.deleted[slot]:
            self._unorder(slot)
        self.names[slot] = ""
        self._free.append(slot)

    def _new_slot(self, name: str) -> int:
        if self._free:
            slot = self._free.pop()
            self.names[slot] = name
        else:
            slot = len(self.names)
            self.names.append(name)
            for column in (self.size, self.created, self.updated, self.seq):
                column.append(0)
            self.deleted.append(1)
        self.slot_of[name] = slot
        return slot

    def _order(self, slot: int) -> None:
        if self.orders is None:
            return
        for sort_by, order in self.orders.items():
            key = self.keys[sort_by]
            order.insert(bisect_left(order, key(slot), key=key), slot)

    def _unorder(self, slot: int) -> None:
        if self.orders is None:
            return
        for sort_by, order in self.orders.items():
            key = self.keys[sort_by]
            at = bisect_left(order, key(slot), key=key)
            if at < len(order) and order[at] == slot:
                del order[at]

    def build_orders(self) -> None:
        """Sort the live rows once (after the load); changes keep the orders from then on."""
        live = [s for s in self.slot_of.values() if not self.deleted[s]]
        by_name = sorted(live, key=self.names.__getitem__)
        orders = {"name": array("q", by_name)}
        for sort_by in SORTS[1:]:
            column = getattr(self, sort_by)
            # Stable: equal values stay in name order, the tie-break.
            orders[sort_by] = array("q", sorted(by_name, key=column.__getitem__))
        self.orders = orders

    # -- queries ------------------------------------------------------------------------

    def key_of(self, query: TableQuery, slot: int) -> tuple[Any, ...]:
        """``slot``'s sort key as ``list_page``'s cursors carry it (times as ns)."""
        name = self.names[slot]
        if query.sort_by == "name":
            return (name,)
        return (getattr(self, query.sort_by)[slot], name)

    def answer(self, query: TableQuery) -> TableAnswer:
        """The best ``query.wanted`` rows of the query, best first, and its folders."""
        assert self.orders is not None
        answer = TableAnswer()
        by_name = self.orders["name"]
        lo, hi = self._prefix_range(by_name, query.prefix)
        scan_order = (
            not query.show_deleted
            and query.delimiter is None
            and not query.needle
            and (hi - lo) * _GATHER_SHARE > len(by_name)
        )
        if scan_order:
            answer.slots = self._walk(query, self.orders[query.sort_by])
            return answer
        if query.show_deleted:  # deleted rows are in no order: sort the prefix's rows now
            by_name = array("q", sorted(self._all_with_prefix(query.prefix), key=self.keys["name"]))
            lo, hi = 0, len(by_name)
        source = self._level(query, by_name, lo, hi, answer.folders)
        candidates = [s for s in source if self._after(query, s)]
        select = heapq.nlargest if query.descending else heapq.nsmallest
        sort_key = self.keys[query.sort_by]
        answer.slots = select(query.wanted, candidates, key=sort_key)
        if not query.first_page:
            answer.folders = set()
        return answer

    def _prefix_range(self, by_name: array[int], prefix: str) -> tuple[int, int]:
        if not prefix:
            return 0, len(by_name)
        names, width = self.names, len(prefix)
        lo = bisect_left(by_name, prefix, key=names.__getitem__)
        hi = bisect_right(by_name, prefix, lo, key=lambda s: names[s][:width])
        return lo, hi

    def _after(self, query: TableQuery, slot: int) -> bool:
        if query.after is None:
            return True
        key = self.key_of(query, slot)
        return key < query.after if query.descending else key > query.after

    def _walk(self, query: TableQuery, order: array[int]) -> list[int]:
        """The first ``wanted`` slots of ``order`` (either way) after the cursor whose names
        start with the prefix."""
        size = len(order)
        start = 0
        if query.after is not None:
            after = query.after if query.sort_by != "name" else query.after[0]
            key = self.keys[query.sort_by]
            if query.descending:
                start = size - bisect_left(order, after, key=key)
            else:
                start = bisect_right(order, after, key=key)
        if not query.prefix:  # every row: a slice
            if query.descending:
                return order[max(size - start - query.wanted, 0) : size - start].tolist()[::-1]
            return order[start : start + query.wanted].tolist()
        indices = range(size - 1 - start, -1, -1) if query.descending else range(start, size)
        prefix, names, chosen = query.prefix, self.names, []
        for at in indices:
            slot = order[at]
            if names[slot].startswith(prefix):
                chosen.append(slot)
                if len(chosen) >= query.wanted:
                    break
        return chosen

    def _all_with_prefix(self, prefix: str) -> Iterator[int]:
        for name, slot in self.slot_of.items():
            if name.startswith(prefix):
                yield slot

    def _level(
        self, query: TableQuery, by_name: array[int], lo: int, hi: int, folders: set[str]
    ) -> Iterator[int]:
        """The live slots in ``by_name[lo:hi]`` that the search keeps and that sit at the
        prefix's level (deeper names are folded into ``folders``; each folder is skipped
        with a binary search)."""
        names, prefix, needle, delimiter = self.names, query.prefix, query.needle, query.delimiter
        width = len(prefix)
        at = lo
        while at < hi:
            slot = by_name[at]
            name = names[slot]
            rest = name[width:]
            matches = rest.lower().startswith(needle)
            cut = rest.find(delimiter) if delimiter is not None else -1
            if cut < 0:
                if matches:
                    yield slot
                at += 1
                continue
            assert delimiter is not None
            folder = name[: width + cut + len(delimiter)]
            if matches:
                folders.add(folder)
            if matches or len(needle) <= len(folder) - width:
                # Every name in the folder shares this verdict: skip them all.
                at = bisect_right(by_name, folder, at, hi, key=lambda s: names[s][: len(folder)])
            else:
                at += 1


def check_after(sort_by: str, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A decoded cursor key with its times as ns.

    Raises:
        InvalidArgumentError: the key has not the shape of ``sort_by``'s.
    """
    try:
        if sort_by == "name":
            (name,) = key
            if isinstance(name, str):
                return (name,)
        else:
            value, name = key
            if isinstance(name, str) and sort_by == "size" and type(value) is int:
                return (value, name)
            if isinstance(name, str) and isinstance(value, str):
                return (ns_of_time_key(value), name)
    except (ValueError, TypeError):
        pass
    raise InvalidArgumentError(f"not a listing cursor for sort_by={sort_by!r}")
