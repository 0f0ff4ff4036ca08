"""ObjectWatcher: change events for a bucket's objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._checks import Resource
from .._errors import BadObjectMetaError, InvalidArgumentError
from .._jetstream import OrderedConsumer
from .._models import ObjectInfo, _name_from_subject
from .._wire import MARKER_REASON_HEADER, meta_subject_filter

if TYPE_CHECKING:
    from .._jetstream import Msg
    from ._core import BucketCore

__all__ = ["ObjectWatcher", "parse_change"]


def check_watch_options(*, include_history: bool, ignore_deletes: bool, updates_only: bool) -> None:
    """Raise ``InvalidArgumentError`` for watch options that are not bools or that conflict."""
    options = {
        "include_history": include_history,
        "ignore_deletes": ignore_deletes,
        "updates_only": updates_only,
    }
    for name, value in options.items():
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{name} must be a bool, got {value!r}")
    if include_history and updates_only:
        raise InvalidArgumentError("include_history and updates_only cannot be combined")


class ObjectWatcher(Resource):
    """Async iterator of ``ObjectInfo`` changes, with ``None`` once after the initial values.

    Backed by an ordered push consumer on the bucket's meta subjects. Entries that are not
    valid object meta are skipped. A deletion the server made (a message TTL or the
    bucket's max age removed the meta) carries the server marker's reason in
    ``headers["Nats-Marker-Reason"]`` (``"MaxAge"``). Use inside ``async with
    store.watch() as watcher``; leaving the block (or ``aclose()``, alias ``stop()``)
    deletes the consumer and ends the iteration. Iterating (or ``await``-ing) a watcher
    that was never entered raises NotOpenError: a subscription opened by a bare
    ``async for`` would outlive a loop left early.

    A lost server is noticed within the connection's ``timeout``: at once when the
    connection drops, else when the server's heartbeats (every ``timeout / 2`` seconds)
    stop. The iterator then raises ``ServerUnavailableError``, after every event received
    before it. Iterating again resumes right after the last event returned, once the
    server is back (each try waits up to ``timeout`` for it, then raises again): no event
    is missed or repeated, and the ``None`` after the initial values still comes once::

        while True:
            try:
                async for info in watcher:
                    ...
            except natsobj.ServerUnavailableError:
                continue  # or give up

    Raises:
        InvalidArgumentError: an option is not a bool, or include_history with updates_only.
    """

    _usage = "async with store.watch() as watcher: async for info in watcher"

    def __init__(
        self,
        core: BucketCore,
        *,
        include_history: bool,
        ignore_deletes: bool,
        updates_only: bool,
    ):
        check_watch_options(
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
        )
        self._core = core
        self._include_history = include_history
        self._ignore_deletes = ignore_deletes
        self._updates_only = updates_only
        self._sub: OrderedConsumer | None = None
        self._marker_due = False
        self._initial = not updates_only

    async def _acquire(self) -> None:
        core = self._core
        if self._updates_only:
            policy = "new"
        elif self._include_history:
            policy = "all"
        else:
            policy = "last_per_subject"
        subject = meta_subject_filter(core.bucket)
        if self._initial:
            last = await core.js.last_msg(core.stream, subject, direct=False, bucket=core.bucket)
            if last is None:
                self._marker_due, self._initial = True, False
        consumer = OrderedConsumer(
            core.js, core.stream, subject, deliver_policy=policy, bucket=core.bucket
        )
        await consumer.start()
        self._sub = consumer

    async def aclose(self) -> None:
        """Stop watching; the iterator then ends."""
        sub, self._sub = self._sub, None
        if sub is not None:
            await sub.stop()

    async def stop(self) -> None:
        """Stop watching (``aclose``)."""
        await self.aclose()

    def __aiter__(self) -> ObjectWatcher:
        return self

    async def __anext__(self) -> ObjectInfo | None:
        if not self._entered:
            raise self._not_open()
        while True:
            if self._marker_due:
                self._marker_due = False
                return None
            msg = await self._sub.next() if self._sub is not None else None
            if msg is None:
                raise StopAsyncIteration
            info = self._parse(msg)
            if self._initial and msg.metadata.num_pending == 0:
                self._initial, self._marker_due = False, True
            if info is None or (info.deleted and self._ignore_deletes):
                continue
            return info

    def _parse(self, msg: Msg) -> ObjectInfo | None:
        return parse_change(self._core.bucket, msg)


def parse_change(bucket: str, msg: Msg) -> ObjectInfo | None:
    """The change a meta message a consumer delivered stands for (read from the wire:
    untrusted): the object's info, with the server's time and sequence as ``mtime`` and
    ``revision``; for a server delete marker (a message TTL or max_age removed the meta),
    the deletion, with the marker's reason in ``headers["Nats-Marker-Reason"]``. None for
    anything else (not usable meta: the ``BadObjectMetaError`` rules), to be skipped."""
    meta = msg.metadata
    if not msg.data:
        reason = (msg.headers or {}).get(MARKER_REASON_HEADER)
        name = _name_from_subject(msg.subject) if reason else None
        if name is None or reason is None:
            return None
        return ObjectInfo(
            name=name,
            bucket=bucket,
            headers={MARKER_REASON_HEADER: [reason]},
            deleted=True,
            mtime=meta.timestamp,
            revision=meta.sequence.stream,
        )
    try:
        info = ObjectInfo.from_message(msg.data, subject=msg.subject, sequence=meta.sequence.stream)
    except BadObjectMetaError:
        return None
    return info.model_copy(update={"mtime": meta.timestamp})
