"""The pure parts of change feeds: options, where a feed starts, and a feed's state read
from an untrusted consumer info."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import natsobj
from natsobj import FeedInfo, ObjectInfo, ObjectLink, ObjectMetaOptions
from natsobj._bucket._feed import check_kinds, kind_of
from natsobj._bucket._feeds import check_feed_name, deliver_fields


def test_kinds_default_to_all_and_refuse_unknown_ones() -> None:
    assert check_kinds(None) == {"put", "delete", "link", "expire"}
    assert check_kinds(["put"]) == {"put"}
    for bad in ("put", [], ["create"], 3):
        with pytest.raises(natsobj.InvalidArgumentError):
            check_kinds(bad)


def test_feed_names_are_subject_tokens() -> None:
    assert check_feed_name("thumbs_v2-a") == "thumbs_v2-a"
    for bad in ("", "a.b", "a b", "a*", ">", "x" * 81, None, 3):
        with pytest.raises(natsobj.InvalidArgumentError):
            check_feed_name(bad)


def test_where_a_new_feed_starts() -> None:
    assert deliver_fields("new") == {"deliver_policy": "new"}
    assert deliver_fields("all") == {"deliver_policy": "all"}
    assert deliver_fields(7) == {"deliver_policy": "by_start_sequence", "opt_start_seq": 7}
    when = datetime(2026, 12, 4, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert deliver_fields(when) == {
        "deliver_policy": "by_start_time",
        "opt_start_time": "2026-12-04T10:00:00Z",
    }
    for bad in (0, -1, True, "last", datetime(2026, 12, 4), 1.5):
        with pytest.raises(natsobj.InvalidArgumentError):
            deliver_fields(bad)


def test_event_kinds() -> None:
    put = ObjectInfo(name="a", bucket="b", nuid="n")
    assert kind_of(put) == "put"
    assert kind_of(put.model_copy(update={"deleted": True})) == "delete"
    marker = put.model_copy(update={"deleted": True, "headers": {"Nats-Marker-Reason": ["MaxAge"]}})
    assert kind_of(marker) == "expire"
    link = ObjectInfo(
        name="l", bucket="b", options=ObjectMetaOptions(link=ObjectLink(bucket="b", name="x"))
    )
    assert kind_of(link) == "link"


def test_feed_info_from_a_consumer_info() -> None:
    info = FeedInfo.from_consumer_info(
        "b",
        {
            "name": "svc",
            "created": "2026-12-04T21:47:22.447659631Z",
            "config": {"ack_wait": 30_000_000_000, "priority_policy": "pinned_client"},
            "num_pending": 3,
            "num_ack_pending": 2,
            "num_redelivered": 1,
            "num_waiting": 4,
            "ack_floor": {"stream_seq": 10},
            "delivered": {"stream_seq": 14},
            "priority_groups": [{"group": "natsobj", "pinned_client_id": "pin"}],
        },
    )
    assert info == FeedInfo(
        name="svc",
        bucket="b",
        pending=3,
        ack_pending=2,
        redelivered=1,
        waiting=4,
        last_acked=10,
        last_delivered=14,
        created=datetime(2026, 12, 4, 21, 47, 22, 447659, tzinfo=UTC),
        ack_wait=timedelta(seconds=30),
        exclusive=True,
        pinned="pin",
    )


@pytest.mark.parametrize(
    "hostile",
    [
        {},
        {"name": 3, "config": "x", "num_pending": "many", "ack_floor": [1], "created": 5},
        {"num_pending": -4, "delivered": {"stream_seq": True}, "priority_groups": ["x"]},
    ],
)
def test_feed_info_reads_hostile_answers_as_zero(hostile: dict[str, object]) -> None:
    info = FeedInfo.from_consumer_info("b", hostile)
    assert (info.name, info.pending, info.last_acked, info.last_delivered) == ("", 0, 0, 0)
    assert info.created is None
    assert not info.exclusive
