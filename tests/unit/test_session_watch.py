"""How a session watcher maps store watch entries to its scope's events (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from natsobj import ObjectInfo, Usecase
from natsobj._sessions._watch import session_event
from natsobj._wire import MARKER_REASON_HEADER

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PREFIX = Usecase("u").for_project(42, 1337).prefix


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def put(name: str, **headers: str) -> ObjectInfo:
    return ObjectInfo(
        name=name,
        headers={k.replace("_", "-"): [v] for k, v in headers.items()},
        nuid="n",
        size=3,
        revision=7,
        mtime=NOW,
    )


def tti_put(created: datetime, expires: datetime) -> ObjectInfo:
    return put(
        PREFIX + "k",
        X_Sn_Expiration="tti:2s",
        X_Sn_Time_Created=stamp(created),
        X_Sn_Time_Expires=stamp(expires),
    )


@pytest.mark.parametrize(
    "name",
    [
        "plain.txt",
        "org.42/objects/k",  # the parent scope
        "org.42/project.1337/team.7/objects/k",  # a deeper scope
        "project.1337/org.42/objects/k",  # the same components in another order
        "objects/org.42/project.1337/objects/k",  # the empty scope, spelling this path
        PREFIX,  # no key
        PREFIX[:-1],
    ],
)
def test_other_scopes_names_are_dropped(name: str) -> None:
    assert session_event(PREFIX, put(name), NOW) is None
    assert session_event(PREFIX, put(name).model_copy(update={"deleted": True}), NOW) is None


def test_a_put_carries_its_key_and_metadata() -> None:
    event = session_event(PREFIX, put(PREFIX + "dir/a.txt", X_Sn_Origin="10.0.0.1"), NOW)
    assert event is not None
    assert (event.key, event.kind, event.deleted, event.revision, event.mtime) == (
        "dir/a.txt",
        "put",
        False,
        7,
        NOW,
    )
    assert event.metadata is not None
    assert (event.metadata.key, event.metadata.origin) == ("dir/a.txt", "10.0.0.1")


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({}, "delete"),  # a client's tombstone
        ({MARKER_REASON_HEADER: ["MaxAge"]}, "expire"),  # a TTL or max age removed it
        ({MARKER_REASON_HEADER: ["Purge"]}, "delete"),
        ({MARKER_REASON_HEADER: []}, "delete"),
    ],
)
def test_deletions_tell_an_expiry_from_a_delete(headers: dict[str, list[str]], kind: str) -> None:
    info = ObjectInfo(name=PREFIX + "k", headers=headers, deleted=True, revision=9)
    event = session_event(PREFIX, info, NOW)
    assert event is not None
    assert (event.key, event.kind, event.deleted, event.metadata) == ("k", kind, True, None)


def test_a_put_past_its_deadline_is_not_reported() -> None:
    info = tti_put(NOW - timedelta(seconds=2), NOW)
    assert session_event(PREFIX, info, NOW) is None
    assert session_event(PREFIX, info, NOW - timedelta(microseconds=1)) is not None


def test_a_moved_time_to_idle_deadline_is_a_renewal() -> None:
    created = NOW - timedelta(seconds=1)
    fresh = session_event(PREFIX, tti_put(created, created + timedelta(seconds=2)), NOW)
    renewed = session_event(PREFIX, tti_put(created, NOW + timedelta(seconds=2)), NOW)
    assert fresh is not None
    assert renewed is not None
    assert (fresh.kind, renewed.kind) == ("put", "renew")
    ttl = put(
        PREFIX + "k",
        X_Sn_Expiration="ttl:2s",
        X_Sn_Time_Created=stamp(created),
        X_Sn_Time_Expires=stamp(NOW + timedelta(seconds=2)),
    )
    event = session_event(PREFIX, ttl, NOW)
    assert event is not None
    assert event.kind == "put"  # only time-to-idle deadlines move
