"""ListingIndex: a bucket's listing kept in memory by a long-lived process.

Loaded once from the metas through an ordered consumer that delivers the newest meta of
every subject, then kept current by the same consumer (every client's writes: nats.go,
nats.js, nats-py). Pages are answered from the table (``_index_table``); the metas of a
page's objects are then read in one batched Direct Get, so a page holds what the server
has now and the table stays small.
"""

from __future__ import annotations

import math
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from .._checks import Resource
from .._errors import (
    BadObjectMetaError,
    InvalidArgumentError,
    NotOpenError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    ServerUnavailableError,
)
from .._jetstream import Delivered, OrderedConsumer
from .._models import CREATED_HEADER, ObjectInfo
from .._wire import meta_subject_filter, name_of_meta_subject
from ._index_table import (
    NO_TIME_NS,
    Row,
    Table,
    TableQuery,
    check_after,
    ns_of_time_key,
    time_key_of_ns,
)
from ._listing import (
    ObjectPage,
    SortBy,
    SortOrder,
    _header,
    _name_of,
    _raw_meta,
    _time_key,
    check_query,
    encode_cursor,
)

if TYPE_CHECKING:
    from ._core import BucketCore

__all__ = ["DEFAULT_MAX_STALENESS", "ListingIndex"]

# A query sees every meta write acknowledged this long before it began (see ListingIndex).
DEFAULT_MAX_STALENESS = 1.0
_FETCH_CONCURRENCY = 16  # one-by-one meta reads in flight, where batched Direct Get is missing
_PAGE_ATTEMPTS = 3  # a page whose objects turned out gone is answered again, this often


def read_row(subject: str, data: bytes, seq: int, stamp_ns: int) -> Row | str | None:
    """What the meta message ``data`` on ``subject`` makes of its object: a row; the name
    alone when the object is gone or its meta unusable (an empty message: the server's
    marker; not JSON; another object's name; a size that is no number), as ``list_page``
    skips those; None when ``subject`` names no object."""
    raw = _raw_meta(data) if data else None
    name = _name_of(raw, subject) if raw is not None else None
    if raw is None or name is None:
        try:
            return name_of_meta_subject(subject)
        except ValueError:
            return None
    try:
        size = int(raw.get("size") or 0)
    except (ValueError, TypeError):
        return name
    stamp = _header(raw.get("headers"), CREATED_HEADER)
    created = stamp_ns
    if stamp:
        try:
            created = ns_of_time_key(_time_key(stamp))
        except ValueError:  # a key only a hostile meta has: sorted as list_page's unread
            created = NO_TIME_NS
    return Row(name, size, created, stamp_ns, seq, bool(raw.get("deleted")))


def _apply(table: Table, subject: str, data: bytes, found: Delivered) -> int:
    """Apply a message a consumer delivered to ``table``; its stream sequence."""
    row = read_row(subject, data, found.stream_seq, found.stamp_ns)
    if isinstance(row, Row):
        table.put(row)
    elif row is not None:
        table.drop(row)
    return found.stream_seq


class ListingIndex(Resource):
    """A bucket's listing in memory, for processes that list often (``ObjectStore.index``).

    Entering loads the newest meta of every object (an ordered consumer, no scan per
    call), then a task of the index applies every later meta write, by any client, as
    the server delivers it. ``list_page`` takes what ``ObjectStore.list_page`` takes and
    answers the same pages (the same cursors, interchangeable between the two) from
    memory, plus one batched Direct Get for the metas of the page's objects.

    Staleness: a query sees every meta write acknowledged at least ``max_staleness``
    seconds (default 1) before it began, usually every one acknowledged before it (the
    server pushes each write at once). When the index last made sure of that longer ago
    than ``max_staleness``, the query first asks the server for the stream's last
    sequence and the metas after the newest one applied, and waits until the index has
    applied those (one or two round trips); with ``max_staleness=0`` every query does, so
    a client reads its own writes.

    Memory: about 220 bytes per object with 29-character names (its name, a dict entry,
    five numbers and four sort positions; measured in BENCHMARKS.md); no ``ObjectInfo``
    is kept.

    Metas removed without a new meta (a purge: ``update_meta``'s rename, ``empty``,
    a stream purge by any client) send no event: an object whose meta is gone is found
    out, and dropped, when a page would show it. The staleness check finds out when every
    meta it applied is gone (``empty``) or the bucket was made anew (its stream's creation
    time), and loads the index again. A folder made only of purged objects shows until
    one of these.

    Raises:
        InvalidArgumentError: ``max_staleness`` is not a non-negative number of seconds.
    """

    _usage = "async with store.index() as index: await index.list_page(...)"

    def __init__(self, core: BucketCore, *, max_staleness: float = DEFAULT_MAX_STALENESS):
        if (
            isinstance(max_staleness, bool)
            or not isinstance(max_staleness, int | float)
            or not 0 <= max_staleness < math.inf
        ):
            raise InvalidArgumentError(
                f"max_staleness must be a non-negative number of seconds, got {max_staleness!r}"
            )
        self._core = core
        self._max_staleness = float(max_staleness)
        self._table = Table()
        self._applied = 0  # stream sequence of the newest meta message applied
        self._synced_at = -math.inf  # when the last staleness check began (anyio's clock)
        self._sync_lock = anyio.Lock()
        self._created: object = None  # the stream's creation time, as its info gives it
        self._advanced = anyio.Event()
        self._waiting = 0
        self._consumer: OrderedConsumer | None = None
        self._tg: TaskGroup | None = None
        self._failure: ObjectStoreError | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"ListingIndex(bucket={self._core.bucket!r}, objects={len(self._table.slot_of)})"

    def __len__(self) -> int:
        """The live (not deleted) objects in the index."""
        return len(self._table)

    @property
    def max_staleness(self) -> float:
        return self._max_staleness

    @property
    def usable(self) -> bool:
        """Whether queries can be answered: open, and following the bucket (False once
        it failed for good, e.g. its bucket was deleted: queries raise that error)."""
        return self._entered and not self._closed and self._failure is None

    # -- open, follow, close ------------------------------------------------------------

    async def _acquire(self) -> None:
        began = anyio.current_time()
        self._consumer, self._table, self._applied = await self._load()
        self._synced_at = began  # the consumer began after every write acknowledged then
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._follow)

    async def _load(self) -> tuple[OrderedConsumer, Table, int]:
        """A new consumer, the table it loaded (every object's newest meta) and the
        stream sequence of the newest meta in it."""
        core = self._core
        subject = meta_subject_filter(core.bucket)
        stream_info = await core.js.stream_info(core.stream, bucket=core.bucket)
        self._created = stream_info.get("created")
        first = await self._next_meta(0)
        consumer = OrderedConsumer(
            core.js, core.stream, subject, deliver_policy="last_per_subject", bucket=core.bucket
        )
        table, applied = Table(), 0
        try:
            await consumer.start()
            loading = first is not None
            while loading:
                batch = await consumer.next_batch()
                if not batch:
                    raise NotOpenError("the index was closed while it loaded")
                for subject, data, found in batch:
                    applied = max(applied, _apply(table, subject, data, found))
                    loading = loading and found.pending != 0
        except BaseException:
            with anyio.CancelScope(shield=True):
                await consumer.stop()
            raise
        table.build_orders()
        return consumer, table, applied

    async def _follow(self) -> None:
        """Apply every meta write the consumer delivers (the one a reload put in its
        place, once it has), until closed."""
        while (consumer := self._consumer) is not None:
            try:
                batch = await consumer.next_batch()
            except ServerUnavailableError:
                await anyio.sleep(0.1)  # the next call waits for the server, then resumes
                continue
            except ObjectStoreError as exc:
                if consumer is self._consumer:
                    self._failure = exc
                    self._wake()
                    return
                continue
            if consumer is not self._consumer:
                continue  # replaced by a reload: its messages are the old table's
            if not batch:
                return
            for subject, data, found in batch:
                self._applied = max(self._applied, _apply(self._table, subject, data, found))
            if self._waiting:
                self._wake()

    def _wake(self) -> None:
        event, self._advanced = self._advanced, anyio.Event()
        event.set()

    async def aclose(self) -> None:
        """Stop following the bucket; queries raise NotOpenError from now on."""
        self._closed = True
        tg, self._tg = self._tg, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with anyio.CancelScope(shield=True):
                await consumer.stop()

    # -- staleness ----------------------------------------------------------------------

    def _check_usable(self) -> None:
        if not self._entered or self._closed:
            raise self._not_open()
        if self._failure is not None:
            raise self._failure

    async def sync(self) -> None:
        """Return once the index holds every meta write acknowledged before the call (one
        round trip, and the wait for the writes still on their way).

        Raises:
            ObjectStoreTimeoutError: they did not arrive within the connection's timeout.
            ServerUnavailableError: no server to ask.
        """
        self._check_usable()
        asked = anyio.current_time()
        async with self._sync_lock:
            if self._synced_at >= asked:
                return  # a check that began after this call did the work
            await self._sync()

    async def _fresh(self) -> None:
        self._check_usable()
        if anyio.current_time() - self._synced_at > self._max_staleness:
            await self.sync()

    async def _sync(self) -> None:
        """Make sure of every meta write acknowledged before now: the stream's last
        sequence, then the metas after the newest one applied, up to it (both cheap,
        whatever the bucket's size: no look-up over every subject)."""
        core = self._core
        began, before = anyio.current_time(), self._applied
        stream_info = await core.js.stream_info(core.stream, bucket=core.bucket)
        state = stream_info.get("state") or {}
        last_seq, first_seq = int(state.get("last_seq") or 0), int(state.get("first_seq") or 0)
        if stream_info.get("created") != self._created or (
            self._table.slot_of and first_seq > before
        ):
            # Every meta applied is gone without an event (``empty``, a stream purge) or
            # the bucket was made anew (another stream under its name).
            await self._reload()
        else:
            while self._applied < last_seq:
                upcoming = await self._next_meta(self._applied)
                if upcoming is None or upcoming > last_seq:
                    break
                await self._wait_for(upcoming)
        self._synced_at = began

    async def _next_meta(self, after: int) -> int | None:
        """The stream sequence of the first meta message after ``after``, if any (the
        stream leader answers: no replica lags behind it)."""
        core = self._core
        found = core.js.next_msgs(
            core.stream,
            meta_subject_filter(core.bucket),
            start_seq=after + 1,
            batch=1,
            max_bytes=1,
            direct=False,
            bucket=core.bucket,
        )
        async with aclosing(found) as messages:
            async for msg in messages:
                return msg.seq
        return None

    async def _wait_for(self, target: int) -> None:
        """Wait until the meta at stream sequence ``target`` has been applied."""
        self._waiting += 1
        try:
            with anyio.move_on_after(self._core.js.timeout):
                while self._applied < target and self._failure is None:
                    await self._advanced.wait()
        finally:
            self._waiting -= 1
        self._check_usable()
        if self._applied < target:
            raise ObjectStoreTimeoutError(
                f"the index of bucket {self._core.bucket!r} did not receive meta {target}"
                f" within {self._core.js.timeout} s",
                bucket=self._core.bucket,
            )

    async def _reload(self) -> None:
        """Load the index again, and follow the bucket from there."""
        old = self._consumer
        self._consumer, self._table, self._applied = await self._load()
        if old is not None:
            with anyio.CancelScope(shield=True):
                await old.stop()

    # -- pages --------------------------------------------------------------------------

    async def list_page(
        self,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        search: str | None = None,
        sort_by: SortBy = "name",
        order: SortOrder = "asc",
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
        show_deleted: bool = False,
    ) -> ObjectPage:
        """One page, as ``ObjectStore.list_page`` answers it (the same arguments, order and
        cursors), from the index: within ``max_staleness`` of the server.

        Raises:
            InvalidArgumentError: an argument ``list_page`` refuses.
            NotOpenError: the index is not open.
            ObjectStoreTimeoutError, ServerUnavailableError: the staleness check or the
                read of the page's metas failed.
        """
        key = check_query(
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
        query = TableQuery(
            prefix=prefix,
            delimiter=delimiter,
            needle=(search or "").lower(),
            sort_by=sort_by,
            descending=order == "desc",
            after=check_after(sort_by, key) if key is not None else None,
            wanted=offset + limit + 1,
            show_deleted=show_deleted,
            first_page=offset == 0 and cursor is None,
        )
        await self._fresh()
        return await self._page(query, offset, limit, order)

    async def _page(self, query: TableQuery, offset: int, limit: int, order: str) -> ObjectPage:
        table = self._table
        for attempt in range(1, _PAGE_ATTEMPTS + 1):
            answer = table.answer(query)
            chosen = answer.slots[offset : offset + limit]
            rows = [table.row(slot) for slot in chosen]
            last_key = table.key_of(query, chosen[-1]) if chosen else None
            infos = await self._metas([row.name for row in rows])
            gone = [row for row in rows if infos.get(row.name) is None]
            if not gone or attempt == _PAGE_ATTEMPTS:
                break
            for row in gone:  # unless a newer meta came meanwhile
                slot = table.slot_of.get(row.name)
                if slot is not None and table.seq[slot] == row.seq:
                    table.drop(row.name)
        objects = [
            info
            for row in rows
            if (info := infos.get(row.name)) is not None
            and (query.show_deleted or not info.deleted)
        ]
        next_cursor = None
        if len(answer.slots) > offset + limit and last_key is not None:
            next_cursor = encode_cursor(query.sort_by, order, cursor_key(query.sort_by, last_key))
        return ObjectPage(
            objects=objects,
            folders=sorted(answer.folders) if query.first_page else [],
            next_cursor=next_cursor,
        )

    async def _metas(self, names: list[str]) -> dict[str, ObjectInfo | None]:
        """The current metas of ``names``: one batched Direct Get where the server and
        bucket allow it, one read per name for the rest; None for a name with none (or an
        unusable one)."""
        core = self._core
        found: dict[str, ObjectInfo | None] = {}
        if names and core.direct and not core.consistent_meta and core.js.server_at_least(2, 11):
            found.update(await core.last_metas(names))
        missing = [name for name in names if name not in found]
        limiter = anyio.CapacityLimiter(_FETCH_CONCURRENCY)

        async def one(name: str) -> None:
            async with limiter:
                try:
                    found[name] = await core.find(name)
                except BadObjectMetaError:
                    found[name] = None

        async with anyio.create_task_group() as tg:
            for name in missing:
                tg.start_soon(one, name)
        return found


def cursor_key(sort_by: str, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A table key as ``list_page``'s cursors carry it: times as fixed-width strings."""
    if sort_by in ("created", "updated"):
        return (time_key_of_ns(key[0]), key[1])
    return key
