"""Pure parts of the object operations: commit plans (compare-and-set) and list cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import natsobj
from natsobj._bucket._core import validate_revision
from natsobj._bucket._listing import decode_cursor, encode_cursor
from natsobj._bucket._put import plan_commit

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def info(**fields: object) -> natsobj.ObjectInfo:
    return natsobj.ObjectInfo.model_validate({"name": "a", "bucket": "b", **fields})


def test_unconditional_put_expects_nothing_and_keeps_created() -> None:
    new, expected = plan_commit(info(), info(revision=7, mtime=T0), None)
    assert expected is None
    assert new.headers == {"Natsobj-Created": ["2026-01-02T03:04:05.678901Z"]}
    assert new.created == T0


def test_a_new_object_or_one_after_a_delete_gets_no_created_header() -> None:
    assert plan_commit(info(), None, None) == (info(), None)
    tombstone = info(revision=9, mtime=T0, deleted=True)
    assert plan_commit(info(), tombstone, 0) == (info(), 9)  # CAS on the tombstone


def test_create_only_and_revision_checks() -> None:
    assert plan_commit(info(), None, 0)[1] == 0
    with pytest.raises(natsobj.PreconditionFailedError):
        plan_commit(info(), info(revision=3), 0)
    assert plan_commit(info(), info(revision=3), 3)[1] == 3
    with pytest.raises(natsobj.PreconditionFailedError):
        plan_commit(info(), info(revision=3), 4)
    with pytest.raises(natsobj.PreconditionFailedError):
        plan_commit(info(), None, 4)


def test_a_given_created_header_is_kept() -> None:
    given = info(headers={"natsobj-created": ["2020-01-01T00:00:00Z"]})
    new, _ = plan_commit(given, info(revision=1, mtime=T0), None)
    assert new.headers == {"natsobj-created": ["2020-01-01T00:00:00Z"]}
    assert new.created == datetime(2020, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [-1, True, 1.0, "1"])
def test_validate_revision(bad: object) -> None:
    assert validate_revision(None) is None
    assert validate_revision(0) == 0
    with pytest.raises(natsobj.InvalidArgumentError):
        validate_revision(bad)


def test_cursor_round_trip_and_mismatch() -> None:
    cursor = encode_cursor("size", "desc", (12, "a/b"))
    assert "=" not in cursor
    assert decode_cursor(cursor, "size", "desc") == (12, "a/b")
    with pytest.raises(natsobj.InvalidArgumentError):
        decode_cursor(cursor, "size", "asc")
    with pytest.raises(natsobj.InvalidArgumentError):
        decode_cursor("bm90IGpzb24", "size", "desc")


def test_time_keys_sort_like_times() -> None:
    from natsobj._bucket._listing import _time_key

    stamps = [
        "",
        "2026-11-23T22:47:16Z",
        "2026-11-23T22:47:16.1Z",
        "2026-11-23T22:47:16.12Z",
        "2026-11-23T23:47:16.5+01:00",
        "2026-11-23T22:47:16.999999999Z",
    ]
    keys = [_time_key(stamp) for stamp in stamps]
    assert keys == sorted(keys)
    assert len(set(map(len, keys))) == 1
