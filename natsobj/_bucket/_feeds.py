"""Change feeds as the server keeps them: durable consumers on a bucket's meta subjects.

The consumer a feed reads (its configuration, creating or adopting it), and the
management calls: list, info, reset to a revision or a time, delete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from .._errors import (
    FeedNotFoundError,
    InvalidArgumentError,
    JetStreamAPIError,
    UnsupportedFeatureError,
)
from .._jetstream import (
    consumer_info,
    consumer_list,
    create_consumer,
    delete_consumer,
    reset_consumer,
)
from .._wire import meta_subject_filter, parse_timestamp

if TYPE_CHECKING:
    from ._core import BucketCore

__all__ = [
    "FEED_GROUP",
    "Deliver",
    "FeedInfo",
    "check_feed_name",
    "delete_feed",
    "feed_info",
    "list_feeds",
    "open_feed_consumer",
    "reset_feed",
]

# The priority group an exclusive feed's replicas pull in (a pinned_client consumer).
FEED_GROUP = "natsobj"
# Marks a consumer natsobj created as a feed (consumer metadata, server 2.10+).
FEED_MARK = "natsobj.feed"
# Durable names are subject tokens; the server allows up to 256 characters in some places,
# less in file paths: keep to what every server and store accepts.
_FEED_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
# An existing consumer's error when another replica created it first.
_ERR_CONSUMER_EXISTS = (10013, 10148, 10105)

Deliver = Literal["new", "all"] | int | datetime


def check_feed_name(name: object) -> str:
    """``name`` if it can name a feed: 1 to 80 of ``A-Z a-z 0-9 _ -``."""
    if not isinstance(name, str) or not _FEED_NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"a feed name is 1 to 80 of A-Z a-z 0-9 _ -, got {name!r}", name=None
        )
    return name


def _rfc3339(when: datetime) -> str:
    if when.tzinfo is None:
        raise InvalidArgumentError(f"a time must carry its time zone, got {when!r}")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deliver_fields(deliver: object) -> dict[str, Any]:
    """The consumer fields that say where a new feed starts."""
    if deliver in ("new", "all"):
        return {"deliver_policy": deliver}
    if isinstance(deliver, datetime):
        return {"deliver_policy": "by_start_time", "opt_start_time": _rfc3339(deliver)}
    if isinstance(deliver, int) and not isinstance(deliver, bool) and deliver >= 1:
        return {"deliver_policy": "by_start_sequence", "opt_start_seq": deliver}
    raise InvalidArgumentError(
        f'deliver must be "new", "all", a revision (>= 1) or a datetime, got {deliver!r}'
    )


def consumer_config(
    core: BucketCore, name: str, *, deliver: object, ack_wait: float, exclusive: bool
) -> dict[str, Any]:
    """The durable consumer behind feed ``name``: explicit acks, every meta subject, no
    server-side delivery limit (the feed counts deliveries: see ``ChangeFeed``).
    ``ack_wait`` as ``FeedOptions.checked`` returns it (within what the server holds).
    """
    config: dict[str, Any] = {
        "durable_name": name,
        "description": f"natsobj change feed of bucket {core.bucket}",
        "filter_subject": meta_subject_filter(core.bucket),
        "ack_policy": "explicit",
        "ack_wait": int(ack_wait * 1e9),
        "max_deliver": -1,
        "replay_policy": "instant",
        "metadata": {FEED_MARK: "1"},
        **deliver_fields(deliver),
    }
    if exclusive:
        config["priority_groups"] = [FEED_GROUP]
        config["priority_policy"] = "pinned_client"
        config["priority_timeout"] = int(ack_wait * 1e9)
    return config


def _same_start(config: dict[str, Any], existing: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the start of the consumer that exists (it cannot change)."""
    kept = {
        k: existing[k]
        for k in ("deliver_policy", "opt_start_seq", "opt_start_time")
        if k in existing
    }
    fresh = {
        k: v
        for k, v in config.items()
        if k not in ("deliver_policy", "opt_start_seq", "opt_start_time")
    }
    return {**fresh, **kept}


def _differs(config: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    keys = ("ack_wait", "priority_groups", "priority_policy", "priority_timeout")
    return any(config.get(k) != existing.get(k) for k in keys)


async def open_feed_consumer(core: BucketCore, config: dict[str, Any]) -> dict[str, Any]:
    """Create the feed's consumer, or adopt the one that exists (its position kept; its
    ``ack_wait`` and exclusivity made those of ``config``). Returns its info.

    Raises:
        InvalidArgumentError: a consumer of that name exists and is not a feed of this
            bucket (another filter, or not acknowledged explicitly).
    """
    js, stream, name = core.js, core.stream, config["durable_name"]
    try:
        info = await consumer_info(js, stream, name, bucket=core.bucket)
    except FeedNotFoundError:
        try:
            return await create_consumer(js, stream, config, bucket=core.bucket)
        except JetStreamAPIError as exc:
            if exc.err_code not in _ERR_CONSUMER_EXISTS:
                raise
            info = await consumer_info(js, stream, name, bucket=core.bucket)
    existing = info.get("config")
    if not isinstance(existing, dict) or not _is_feed(existing, core.bucket):
        raise InvalidArgumentError(
            f"consumer {name!r} of bucket {core.bucket!r} is not a change feed",
            bucket=core.bucket,
            name=name,
        )
    if _differs(config, existing):
        info = await create_consumer(
            js, stream, _same_start(config, existing), update=True, bucket=core.bucket
        )
    return info


def _is_feed(config: Mapping[str, Any], bucket: str) -> bool:
    return (
        config.get("filter_subject") == meta_subject_filter(bucket)
        and config.get("ack_policy") == "explicit"
        and bool(config.get("durable_name"))
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _seq(info: Mapping[str, Any], key: str) -> int:
    part = info.get(key)
    return _int(part.get("stream_seq")) if isinstance(part, Mapping) else 0


def _time(value: Any) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A change feed's state as the server reports it (``ObjectStore.feed_info``).

    ``pending``: events stored and not yet delivered to any replica; ``ack_pending``:
    delivered and not yet acknowledged; ``redelivered``: of those, delivered more than
    once; ``waiting``: pull requests open (replicas waiting for events); ``last_acked``:
    the revision below which every event is acknowledged (the ack floor; later events may
    be acknowledged too); ``last_delivered``: the revision of the last event delivered.
    ``exclusive`` feeds pin one replica at a time (``pinned``: its id, if one is).
    """

    name: str
    bucket: str
    pending: int
    ack_pending: int
    redelivered: int
    waiting: int
    last_acked: int
    last_delivered: int
    created: datetime | None
    ack_wait: timedelta
    exclusive: bool
    pinned: str | None

    @classmethod
    def from_consumer_info(cls, bucket: str, info: Mapping[str, Any]) -> FeedInfo:
        """From a consumer info answer (untrusted JSON: what does not fit reads as 0)."""
        config = info.get("config")
        config = config if isinstance(config, Mapping) else {}
        groups = info.get("priority_groups")
        pinned = None
        if isinstance(groups, list) and groups and isinstance(groups[0], Mapping):
            pin = groups[0].get("pinned_client_id")
            pinned = pin if isinstance(pin, str) and pin else None
        name = info.get("name")
        return cls(
            name=name if isinstance(name, str) else "",
            bucket=bucket,
            pending=_int(info.get("num_pending")),
            ack_pending=_int(info.get("num_ack_pending")),
            redelivered=_int(info.get("num_redelivered")),
            waiting=_int(info.get("num_waiting")),
            last_acked=_seq(info, "ack_floor"),
            last_delivered=_seq(info, "delivered"),
            created=_time(info.get("created")),
            ack_wait=timedelta(microseconds=_int(config.get("ack_wait")) // 1000),
            exclusive=config.get("priority_policy") == "pinned_client",
            pinned=pinned,
        )


async def list_feeds(core: BucketCore) -> list[FeedInfo]:
    """Every feed of the bucket: its durable consumers on the meta subjects, by name."""
    found = await consumer_list(core.js, core.stream, bucket=core.bucket)
    feeds = [
        FeedInfo.from_consumer_info(core.bucket, info)
        for info in found
        if isinstance(info, Mapping)
        and isinstance(info.get("config"), Mapping)
        and _is_feed(info["config"], core.bucket)
    ]
    return sorted(feeds, key=lambda feed: feed.name)


async def feed_info(core: BucketCore, name: str) -> FeedInfo:
    """The state of feed ``name``.

    Raises:
        FeedNotFoundError: the bucket has no such feed.
    """
    info = await consumer_info(core.js, core.stream, check_feed_name(name), bucket=core.bucket)
    config = info.get("config")
    if not isinstance(config, Mapping) or not _is_feed(config, core.bucket):
        raise FeedNotFoundError(
            f"consumer {name!r} of bucket {core.bucket!r} is not a change feed",
            bucket=core.bucket,
            name=name,
        )
    return FeedInfo.from_consumer_info(core.bucket, info)


async def _first_at(core: BucketCore, when: datetime) -> int:
    """The revision of the first change stored at or after ``when`` (one past the last
    one if there is none)."""
    try:
        answer = await core.js.api(
            f"STREAM.MSG.GET.{core.stream}",
            {"start_time": _rfc3339(when), "next_by_subj": meta_subject_filter(core.bucket)},
            bucket=core.bucket,
        )
    except JetStreamAPIError as exc:
        if exc.code != 404:
            raise
        state = (await core.js.stream_info(core.stream, bucket=core.bucket)).get("state")
        last = state.get("last_seq") if isinstance(state, Mapping) else 0
        return _int(last) + 1
    message = answer.get("message")
    seq = message.get("seq") if isinstance(message, Mapping) else None
    if not isinstance(seq, int) or seq < 1:
        raise JetStreamAPIError(f"unreadable stored message: {str(answer)[:200]}")
    return seq


async def reset_feed(core: BucketCore, name: str, to: int | datetime) -> FeedInfo:
    """Move feed ``name`` so that its next event is the first change at or after revision
    ``to`` (>= 1), or stored at or after the time ``to`` (timezone-aware). Events
    delivered and not acknowledged are forgotten (they come again if at or after ``to``).

    Raises:
        FeedNotFoundError: no such feed.
        UnsupportedFeatureError: the server is older than 2.14 (``CONSUMER.RESET``).
    """
    revision = isinstance(to, int) and not isinstance(to, bool) and to >= 1
    if not revision and not (isinstance(to, datetime) and to.tzinfo is not None):
        raise InvalidArgumentError(
            f"to must be a revision (>= 1) or a timezone-aware datetime, got {to!r}"
        )
    await feed_info(core, name)
    seq = await _first_at(core, to) if isinstance(to, datetime) else to
    if not core.js.server_at_least(2, 14):
        raise UnsupportedFeatureError(
            "resetting a feed needs nats-server 2.14 or later (CONSUMER.RESET)",
            bucket=core.bucket,
            name=name,
        )
    await reset_consumer(core.js, core.stream, name, seq, bucket=core.bucket)
    return await feed_info(core, name)


async def delete_feed(core: BucketCore, name: str) -> None:
    """Delete feed ``name``: its position is lost; replicas reading it end with
    FeedNotFoundError.

    Raises:
        FeedNotFoundError: no such feed.
    """
    await feed_info(core, name)
    await delete_consumer(core.js, core.stream, name, bucket=core.bucket)
