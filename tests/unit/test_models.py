"""The pydantic models: tolerant reading of every captured meta shape, canonical writing.

Fixtures: tests/fixtures/meta_*.json are the payloads nats.js and nats-py wrote
(shared/reference/wire-captures.md); canonical_*.json are what nats.go writes for the same
ObjectInfo. ``ObjectInfo.from_message(...).to_payload()`` must turn the former into the latter.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import natsobj
from natsobj import ObjectInfo, ObjectMeta, ObjectStoreConfig, ObjectStoreStatus
from natsobj import _wire as wire

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
REPORT_DIGEST = "SHA-256=iGcV5AUegn9P4hXfMFOvP4WtDTUtssgpx0h69teO_jA="
NATS_TIME_STAMP = "2026-11-23T19:49:37.167474026Z"


def fixture_bytes(name: str) -> bytes:
    """A fixture's exact bytes (a trailing newline added by an editor is ignored)."""
    return (FIXTURES / name).read_bytes().rstrip(b"\n")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


INDEX: dict[str, dict[str, Any]] = fixture_json("index.json")["meta"]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# What each captured payload must read as (mtime: from the payload, no message timestamp).
EXPECTED: dict[str, dict[str, Any]] = {
    "meta_js_put.json": {
        "name": "docs/report.txt",
        "description": "a report",
        "headers": {"Content-Type": ["text/plain"]},
        "metadata": {"owner": "alice"},
        "bucket": "cap",
        "nuid": "qfDVHV9yrvvRMPdOcIYhel",
        "size": 300000,
        "chunks": 3,
        "digest": REPORT_DIGEST,
        "deleted": False,
        "is_link": False,
        "link": None,
        "chunk_size": 131072,
        "mtime": utc(2026, 11, 23, 19, 49, 37, 166000),
    },
    "meta_py_put.json": {
        "name": "docs/report-py.txt",
        "description": "a report",
        "headers": {"Content-Type": ["text/plain"]},
        "metadata": {},
        "bucket": "cap",
        "nuid": "6iDjtuLwv4myO8fKaGNnaK",
        "size": 300000,
        "chunks": 3,
        "digest": REPORT_DIGEST,
        "deleted": False,
        "is_link": False,
        "link": None,
        "chunk_size": 131072,
        "mtime": utc(2026, 11, 23, 19, 49, 37, 699826),
    },
    "meta_js_link.json": {
        "name": "lnk1",
        "description": "",
        "headers": {},
        "metadata": {},
        "bucket": "b1",
        "nuid": "",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": False,
        "is_link": True,
        "link": ("b1", "obj1"),
        "chunk_size": None,
        "mtime": None,
    },
    "meta_js_link_cross_bucket.json": {
        "name": "xlnk",
        "description": "",
        "headers": {},
        "metadata": {},
        "bucket": "b2",  # JS records the target's bucket (wire-captures.md item 6)
        "nuid": "",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": False,
        "is_link": True,
        "link": ("b2", "other"),
        "chunk_size": None,
        "mtime": None,
    },
    "meta_js_link_store.json": {
        "name": "blnk",
        "description": "",
        "headers": {},
        "metadata": {},
        "bucket": "b1",
        "nuid": "5Tqbo2RBTfTqDtUbEYG31W",
        "size": 0,
        "chunks": 0,
        "digest": EMPTY_DIGEST,
        "deleted": False,
        "is_link": True,
        "link": ("b2", None),
        "chunk_size": 131072,
        "mtime": utc(2026, 11, 23, 19, 45, 59, 755000),
    },
    "meta_js_delete.json": {
        "name": "new1",
        "description": "",
        "headers": {},
        "metadata": {},
        "bucket": "b1",
        "nuid": "7NRFhJLef7azlSldRP8rS4",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": True,
        "is_link": False,
        "link": None,
        "chunk_size": 131072,
        "mtime": utc(2026, 11, 23, 19, 46, 9, 613000),
    },
    "meta_js_update.json": {
        "name": "up1",
        "description": "x",
        "headers": {},
        "metadata": {},
        "bucket": "p1",
        "nuid": "L1gfFQ97bZo7T7rrhSA09U",
        "size": 6,
        "chunks": 1,
        "digest": "SHA-256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM=",
        "deleted": False,
        "is_link": False,
        "link": None,
        "chunk_size": None,  # JS update() drops options
        "mtime": utc(2026, 11, 23, 19, 47, 14, 549000),
    },
    "meta_py_delete.json": {
        "name": "docs/report-py.txt",
        "description": "a report",
        "headers": {"Content-Type": ["text/plain"]},
        "metadata": {},
        "bucket": "cap",
        "nuid": "6iDjtuLwv4myO8fKaGNnaK",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": True,
        "is_link": False,
        "link": None,
        "chunk_size": 131072,
        "mtime": None,  # nats-py writes "mtime": ""
    },
}


def observed(info: ObjectInfo) -> dict[str, Any]:
    link = info.link
    return {
        "name": info.name,
        "description": info.description,
        "headers": info.headers,
        "metadata": info.metadata,
        "bucket": info.bucket,
        "nuid": info.nuid,
        "size": info.size,
        "chunks": info.chunks,
        "digest": info.digest,
        "deleted": info.deleted,
        "is_link": info.is_link,
        "link": None if link is None else (link.bucket, link.name),
        "chunk_size": info.chunk_size,
        "mtime": info.mtime,
    }


def test_every_meta_fixture_has_expectations() -> None:
    assert set(EXPECTED) == set(INDEX)
    assert {p.name for p in FIXTURES.glob("meta_*.json")} == set(INDEX)


# --- ObjectInfo.from_message on the captures ---------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_from_message_reads_captured_payload(fixture: str) -> None:
    info = ObjectInfo.from_message(fixture_bytes(fixture))
    assert observed(info) == EXPECTED[fixture]


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_from_message_takes_mtime_and_revision_from_the_message(fixture: str) -> None:
    entry = INDEX[fixture]
    info = ObjectInfo.from_message(
        fixture_bytes(fixture),
        subject=entry["subject"],
        timestamp=NATS_TIME_STAMP,
        sequence=4321,
    )
    assert info.mtime == utc(2026, 11, 23, 19, 49, 37, 167474)
    assert info.revision == 4321
    expected = dict(EXPECTED[fixture], mtime=info.mtime)
    assert observed(info) == expected


def test_from_message_js_put_with_its_direct_get_headers() -> None:
    entry = INDEX["meta_js_put.json"]
    info = ObjectInfo.from_message(
        fixture_bytes("meta_js_put.json"),
        subject=entry["subject"],
        timestamp=entry["timestamp"],
        sequence=entry["sequence"],
    )
    assert info.revision == 4
    assert info.mtime == utc(2026, 11, 23, 19, 49, 37, 167474)


def test_from_message_zero_sequence_still_overrides() -> None:
    info = ObjectInfo.from_message(fixture_bytes("meta_js_delete.json"), sequence=0)
    assert info.revision == 0


def test_js_revision_key_is_the_model_field_and_not_rewritten() -> None:
    # JS delete()/update() write a read-side "revision" into the payload. natsobj's own
    # `revision` field (the stream sequence) takes that key, so the message's sequence must
    # win, and the canonical payload does not carry it (nats.go has no such key).
    info = ObjectInfo.from_message(fixture_bytes("meta_js_update.json"), sequence=31)
    assert info.revision == 31
    assert "revision" not in json.loads(info.to_payload())
    assert "revision" not in (info.model_extra or {})


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_to_payload_of_captured_payload_is_go_canonical(fixture: str) -> None:
    canonical = fixture_bytes(INDEX[fixture]["canonical"])
    info = ObjectInfo.from_message(fixture_bytes(fixture), timestamp=NATS_TIME_STAMP, sequence=9)
    assert info.to_payload() == canonical
    # Canonical is a fixed point.
    assert ObjectInfo.from_message(canonical).to_payload() == canonical


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_canonical_payload_reads_back_the_same(fixture: str) -> None:
    canonical = fixture_bytes(INDEX[fixture]["canonical"])
    again = observed(ObjectInfo.from_message(canonical, timestamp=NATS_TIME_STAMP))
    first = observed(ObjectInfo.from_message(fixture_bytes(fixture), timestamp=NATS_TIME_STAMP))
    assert again == first


def test_link_properties() -> None:
    link = ObjectInfo.from_message(fixture_bytes("meta_js_link.json")).link
    assert link is not None
    assert not link.is_bucket_link
    blink = ObjectInfo.from_message(fixture_bytes("meta_js_link_store.json")).link
    assert blink is not None
    assert blink.is_bucket_link


# --- tolerance and unknown keys ----------------------------------------------------------------


def test_unknown_keys_survive_to_payload() -> None:
    payload = (
        b'{"name":"a","bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel","x_client":"py",'
        b'"x_nested":{"k":[1,"<"]},"options":{"max_chunk_size":5,"x_opt":"o"}}'
    )
    info = ObjectInfo.from_message(payload)
    assert info.model_extra == {"x_client": "py", "x_nested": {"k": [1, "<"]}}
    expected = (
        b'{"name":"a","options":{"max_chunk_size":5,"x_opt":"o"},"bucket":"b",'
        b'"nuid":"qfDVHV9yrvvRMPdOcIYhel","size":0,"mtime":"0001-01-01T00:00:00Z","chunks":0,'
        b'"x_client":"py","x_nested":{"k":[1,"\\u003c"]}}'
    )
    assert info.to_payload() == expected
    # As update_meta and delete do: change a field, keep the rest.
    updated = info.model_copy(update={"description": "d", "deleted": True})
    assert json.loads(updated.to_payload())["x_client"] == "py"
    assert json.loads(updated.to_payload())["x_nested"] == {"k": [1, "<"]}


def test_to_payload_keeps_unknown_keys_with_null_values() -> None:
    # DESIGN.md: "faithful round-trip of unknown JSON keys". A null is still a value.
    info = ObjectInfo.from_message(
        b'{"name":"a","bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel","x_null":null}'
    )
    assert "x_null" in (info.model_extra or {})
    assert json.loads(info.to_payload()).get("x_null", "missing") is None


def test_missing_name_is_recovered_from_the_subject() -> None:
    payload = (
        b'{"bucket":"cap","nuid":"qfDVHV9yrvvRMPdOcIYhel","size":1,"chunks":1,'
        b'"digest":"SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="}'
    )
    info = ObjectInfo.from_message(payload, subject="$O.cap.M.ZG9jcy9yZXBvcnQudHh0")
    assert info.name == "docs/report.txt"
    info = ObjectInfo.from_message(
        b'{"name":"","bucket":"b"}', subject=wire.meta_subject("b", "café")
    )
    assert info.name == "café"
    # An unpadded token (not canonical, but decodable) works too.
    info = ObjectInfo.from_message(b'{"bucket":"b"}', subject="$O.b.M.b3Zlcg")
    assert info.name == "over"


@pytest.mark.parametrize(
    ("payload", "subject"),
    [
        (b"not json", None),
        (b"", None),
        (b"\xff\xfe", None),
        (b"[1, 2]", None),
        (b'"name"', None),
        (b"null", None),
        (b"42", None),
        (b"{}", None),
        (b'{"bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel"}', None),
        (b'{"bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel"}', ""),
        (b'{"bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel"}', "$O.b.M.!!!"),  # undecodable token
        (
            b'{"bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel"}',
            "$O.b.M.Y2Fm6Q==",
        ),  # JS Latin-1 'café': not UTF-8
        (b'{"name":5,"bucket":"b"}', None),
        (b'{"name":"a","headers":"text/plain"}', None),
        (b'{"name":"a","headers":["a"]}', None),
        (b'{"name":"a","options":{"link":{}}}', None),
        (b'{"name":"a","size":"big"}', None),
    ],
)
def test_bad_payloads_raise_bad_object_meta(payload: bytes, subject: str | None) -> None:
    with pytest.raises(natsobj.BadObjectMetaError) as excinfo:
        ObjectInfo.from_message(payload, subject=subject)
    assert isinstance(excinfo.value, natsobj.ObjectStoreError)


# --- untrusted fields: what any client with write access could publish ------------------------

GOOD_META: dict[str, Any] = {
    "name": "a",
    "bucket": "b",
    "nuid": "qfDVHV9yrvvRMPdOcIYhel",
    "size": 300000,
    "chunks": 3,
    "digest": REPORT_DIGEST,
    "options": {"max_chunk_size": 131072},
}


def _read(changes: dict[str, Any], subject: str | None = None) -> ObjectInfo:
    meta = {k: v for k, v in (GOOD_META | changes).items() if v is not None}
    return ObjectInfo.from_message(json.dumps(meta).encode(), subject=subject)


@pytest.mark.parametrize(
    "changes",
    [
        {"nuid": ">"},
        {"nuid": "*"},
        {"nuid": "x.>"},
        {"nuid": "qfDVHV9yrvvRMPdOcIYhe "},
        {"nuid": "short"},
        {"nuid": None},  # data without a NUID
        {"nuid": ""},
        {"digest": REPORT_DIGEST[:-5]},  # truncated
        {"digest": "MD5=" + "A" * 22},
        {"digest": "SHA-512=" + "A" * 86 + "=="},
        {"digest": "SHA-256="},
        {"digest": None},  # data without a digest
        {"digest": ""},
        {"bucket": "*"},
        {"bucket": "a.b"},
        {"options": {"link": {"bucket": "*", "name": "x"}}, "size": 0, "chunks": 0},
        {"options": {"link": {"bucket": "b", "name": "\ud800"}}, "size": 0, "chunks": 0},
        {"size": -1},
        {"chunks": -1},
        {"options": {"max_chunk_size": 0}},
        {"options": {"max_chunk_size": -1}},
    ],
    ids=repr,
)
def test_untrusted_fields_that_are_unusable_make_a_bad_meta(changes: dict[str, Any]) -> None:
    with pytest.raises(natsobj.BadObjectMetaError) as caught:
        _read(changes)
    assert caught.value.name == "a"


@pytest.mark.parametrize(
    "changes",
    [
        {"nuid": "0f8fad5bd9cb469fa16570867728950e"},  # the nats-object draft's uuid4().hex
        {"digest": "sha-256=" + REPORT_DIGEST[8:]},
        {"digest": REPORT_DIGEST.rstrip("=")},
        {"size": 0, "chunks": 0, "digest": None},  # nothing to verify
        {"deleted": True, "size": 0, "chunks": 0, "digest": ""},  # a tombstone
        {"deleted": True, "nuid": "", "size": 0, "chunks": 0, "digest": ""},  # a rename's
        # JS links: no NUID, no size, no digest; bucket links with and without a name
        {
            "nuid": None,
            "size": None,
            "chunks": None,
            "digest": None,
            "options": {"link": {"bucket": "c", "name": "x"}},
        },
        {"options": {"link": {"bucket": "c"}}, "size": 0, "chunks": 0, "digest": ""},
        {"options": {"link": {"bucket": "c", "name": ""}}, "size": 0, "chunks": 0},
    ],
    ids=repr,
)
def test_what_real_peers_write_is_read(changes: dict[str, Any]) -> None:
    assert _read(changes).name == "a"


def test_the_subject_is_the_truth_about_the_name() -> None:
    assert _read({}, subject=wire.meta_subject("b", "a")).name == "a"
    with pytest.raises(natsobj.BadObjectMetaError) as caught:
        _read({"name": "other"}, subject=wire.meta_subject("b", "a"))
    assert caught.value.name == "a"
    # Unicode that differs only in normalisation is another name.
    with pytest.raises(natsobj.BadObjectMetaError):
        _read({"name": "cafe\u0301"}, subject=wire.meta_subject("b", "caf\u00e9"))
    with pytest.raises(natsobj.BadObjectMetaError):
        _read({"name": "a"}, subject="$O.b.M.x." + wire.encode_name("a"))
    with pytest.raises(natsobj.BadObjectMetaError):
        _read({"name": 5}, subject=wire.meta_subject("b", "a"))


def test_bare_string_header_values_become_lists() -> None:
    info = ObjectInfo.from_message(
        b'{"name":"a","bucket":"b","headers":{"Content-Type":"text/plain","X":["1","2"]}}'
    )
    assert info.headers == {"Content-Type": ["text/plain"], "X": ["1", "2"]}
    meta = ObjectMeta(name="a", headers={"K": "v"})  # type: ignore[dict-item]
    assert meta.headers == {"K": ["v"]}


def test_nulls_read_as_empty_values() -> None:
    info = ObjectInfo.from_message(
        b'{"name":"a","bucket":null,"nuid":null,"size":null,"chunks":null,"digest":null,'
        b'"description":null,"headers":null,"metadata":null,"options":null,"mtime":null}'
    )
    assert observed(info) == {
        "name": "a",
        "description": "",
        "headers": {},
        "metadata": {},
        "bucket": "",
        "nuid": "",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": False,
        "is_link": False,
        "link": None,
        "chunk_size": None,
        "mtime": None,
    }


@pytest.mark.parametrize("mtime", ['""', '"garbage"', '"0001-01-01T00:00:00Z"', "null"])
def test_unusable_stored_mtime_is_replaced_by_the_message_timestamp(mtime: str) -> None:
    payload = (
        '{"name":"a","bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel","mtime":' + mtime + "}"
    ).encode()
    info = ObjectInfo.from_message(payload, timestamp=NATS_TIME_STAMP)
    assert info.mtime == utc(2026, 11, 23, 19, 49, 37, 167474)


@pytest.mark.parametrize(
    "fields",
    [
        {"description": "\ud800"},
        {"headers": {"K": ["\udc00"]}},
        {"headers": {"\udfff": ["v"]}},
        {"metadata": {"k": "\ud83d"}},
    ],
    ids=["description", "header-value", "header-key", "metadata-value"],
)
def test_lone_surrogates_in_meta_get_a_typed_error(fields: dict[str, Any]) -> None:
    # "every bad input gets a clear typed error": either the model refuses the text, or
    # writing it raises a natsobj error (not a bare UnicodeEncodeError after the chunks
    # have been uploaded).
    try:
        info = ObjectInfo(name="a", bucket="b", nuid="N", **fields)
    except natsobj.InvalidArgumentError:
        return
    with pytest.raises(natsobj.ObjectStoreError):
        info.to_payload()


# --- property: meta_payload → from_message → same fields ----------------------------------------

TRICKY = '<>&\u2028\u2029"\\/é日😀\x00\n'
text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(TRICKY)), max_size=12
)
json_leaf = st.one_of(st.booleans(), st.integers(-(2**53), 2**53), text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def infos(draw: st.DrawFn) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": draw(text.filter(bool)),
        "description": draw(text),
        "headers": draw(st.dictionaries(text, st.lists(text, max_size=3), max_size=4)),
        "metadata": draw(st.dictionaries(text, text, max_size=4)),
        "bucket": draw(st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)),
        "nuid": draw(
            st.one_of(
                st.just(""),
                st.text(string.ascii_letters + string.digits, min_size=22, max_size=22),
            )
        ),
        "size": draw(st.integers(0, 2**64 - 1)),
        "chunks": draw(st.integers(0, 2**32 - 1)),
        "digest": draw(
            st.one_of(st.just(""), st.binary(min_size=32, max_size=32).map(wire.encode_digest))
        ),
        "deleted": draw(st.booleans()),
    }
    options: dict[str, Any] = {}
    chunk_size = draw(st.one_of(st.none(), st.integers(1, wire.MAX_CHUNK_SIZE)))
    if chunk_size is not None:
        options["max_chunk_size"] = chunk_size
    if draw(st.booleans()):
        link_bucket = draw(st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True))
        link_name = draw(st.one_of(st.none(), text))
        options["link"] = {"bucket": link_bucket, "name": link_name}
    info["options"] = options
    if info["size"] and not info["deleted"] and "link" not in options:
        # Data is always written with the NUID of its chunks and its digest.
        info["nuid"] = info["nuid"] or "qfDVHV9yrvvRMPdOcIYhel"
        info["digest"] = info["digest"] or wire.EMPTY_DIGEST
    extras = draw(st.dictionaries(text.map(lambda k: "x_" + k), json_value, max_size=3))
    info.update(extras)
    return info


@given(infos())
def test_meta_payload_round_trips_through_from_message(info: dict[str, Any]) -> None:
    payload = wire.meta_payload(info)
    decoded = payload.decode("utf-8")
    for char in "<>&\u2028\u2029":
        assert char not in decoded
    assert isinstance(json.loads(payload), dict)

    parsed = ObjectInfo.from_message(payload, sequence=7)
    assert parsed.name == info["name"]
    assert parsed.description == info["description"]
    assert parsed.headers == info["headers"]
    assert parsed.metadata == info["metadata"]
    assert parsed.bucket == info["bucket"]
    assert parsed.nuid == info["nuid"]
    assert parsed.size == info["size"]
    assert parsed.chunks == info["chunks"]
    assert parsed.digest == info["digest"]
    assert parsed.deleted == info["deleted"]
    assert parsed.revision == 7
    assert parsed.chunk_size == info["options"].get("max_chunk_size")
    link = info["options"].get("link")
    if link is None:
        assert parsed.link is None
    else:
        assert parsed.link is not None
        assert parsed.link.bucket == link["bucket"]
        assert parsed.link.name == (link["name"] or None)
    extras = {k: v for k, v in info.items() if k.startswith("x_")}
    assert (parsed.model_extra or {}) == extras
    # The canonical form is a fixed point.
    assert parsed.to_payload() == payload


# --- ObjectStoreStatus ----------------------------------------------------------------------


def test_status_from_raw_stream_info() -> None:
    stream_info: dict[str, Any] = fixture_json("stream_info_js.json")
    status = ObjectStoreStatus.from_stream_info("cap", stream_info)
    assert status.bucket == "cap"
    assert status.description == ""
    assert status.ttl is None  # max_age 0
    assert status.storage == "file"
    assert status.replicas == 1
    assert status.sealed is False
    assert status.size == 0
    assert status.backing_store == "JetStream"
    assert status.metadata == {}  # _nats.* hidden
    assert status.compressed is False  # "none"
    assert status.stream_info == stream_info


def test_status_from_configured_stream_info() -> None:
    stream_info: dict[str, Any] = fixture_json("stream_info_js.json")
    config = stream_info["config"]
    config.update(
        description="photos",
        max_age=3600 * 10**9,
        storage="memory",
        num_replicas=3,
        sealed=True,
        compression="s2",
    )
    config["metadata"]["team"] = "media"
    stream_info["state"]["bytes"] = 300123
    status = ObjectStoreStatus.from_stream_info("cap", stream_info)
    assert status.description == "photos"
    assert status.ttl == timedelta(hours=1)
    assert status.storage == "memory"
    assert status.replicas == 3
    assert status.sealed is True
    assert status.compressed is True
    assert status.size == 300123
    assert status.metadata == {"team": "media"}


def test_status_from_sparse_stream_info() -> None:
    status = ObjectStoreStatus.from_stream_info("b", {})
    assert status.bucket == "b"
    assert status.ttl is None
    assert status.size == 0
    assert status.metadata == {}
    assert status.compressed is False


# --- ObjectStoreConfig -----------------------------------------------------------------------


def test_config_defaults() -> None:
    config = ObjectStoreConfig(bucket="files")
    assert config.ttl is None
    assert config.ttl_ns == 0
    assert config.storage == "file"
    assert config.replicas == 1
    assert config.compression is False
    assert config.metadata is None
    assert config.max_bytes is None


@pytest.mark.parametrize(
    ("ttl", "expected", "ns"),
    [
        (3600, timedelta(hours=1), 3_600_000_000_000),
        (1.5, timedelta(seconds=1.5), 1_500_000_000),
        (timedelta(hours=1), timedelta(hours=1), 3_600_000_000_000),
        (timedelta(days=30), timedelta(days=30), 30 * 86400 * 10**9),
        (0, None, 0),
        (timedelta(0), None, 0),
        (None, None, 0),
    ],
)
def test_config_ttl(ttl: float | timedelta | None, expected: timedelta | None, ns: int) -> None:
    config = ObjectStoreConfig(bucket="b", ttl=ttl)  # type: ignore[arg-type]
    assert config.ttl == expected
    assert config.ttl_ns == ns


@pytest.mark.parametrize(
    ("ttl", "ns"),
    [
        (timedelta(milliseconds=1001), 1_001_000_000),
        (1.001, 1_001_000_000),
        (timedelta(microseconds=260), 260_000),
        (timedelta(seconds=86400, microseconds=1), 86_400_000_001_000),
    ],
)
def test_config_ttl_ns_is_exact(ttl: float | timedelta, ns: int) -> None:
    # max_age is sent in nanoseconds; a timedelta is a whole number of microseconds.
    assert ObjectStoreConfig(bucket="b", ttl=ttl).ttl_ns == ns  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"bucket": "a.b"}, id="bucket-dot"),
        pytest.param({"bucket": ""}, id="bucket-empty"),
        pytest.param({"bucket": "a b"}, id="bucket-space"),
        pytest.param({"bucket": None}, id="bucket-none"),
        pytest.param({"bucket": "b", "ttl": -1}, id="ttl-negative-int"),
        pytest.param({"bucket": "b", "ttl": -0.5}, id="ttl-negative-float"),
        pytest.param({"bucket": "b", "ttl": timedelta(seconds=-1)}, id="ttl-negative-timedelta"),
        pytest.param({"bucket": "b", "ttl": True}, id="ttl-bool"),
        pytest.param({"bucket": "b", "ttl": "1h"}, id="ttl-str"),
        pytest.param({"bucket": "b", "ttl": float("nan")}, id="ttl-nan"),
        # timedelta() raises OverflowError for these, which pydantic does not wrap
        pytest.param({"bucket": "b", "ttl": float("inf")}, id="ttl-inf"),
        pytest.param({"bucket": "b", "ttl": 10**20}, id="ttl-overflow"),
        pytest.param({"bucket": "b", "replicas": 0}, id="replicas-0"),
        pytest.param({"bucket": "b", "replicas": 6}, id="replicas-6"),
        pytest.param({"bucket": "b", "replicas": -1}, id="replicas-negative"),
        pytest.param({"bucket": "b", "max_bytes": -2}, id="max_bytes-minus-2"),
        pytest.param({"bucket": "b", "storage": "ssd"}, id="storage-ssd"),
        pytest.param({"bucket": "b", "metadata": {"_nats.ver": "2.15.1"}}, id="metadata-_nats"),
        pytest.param(
            {"bucket": "b", "metadata": {"ok": "1", "_nats.level": "5"}}, id="metadata-_nats-mixed"
        ),
        pytest.param({"bucket": "b", "bogus": 1}, id="unknown-field"),
    ],
)
def test_config_refuses_bad_values(fields: dict[str, Any]) -> None:
    # natsobj's own errors, not pydantic's ValidationError.
    with pytest.raises((natsobj.InvalidArgumentError, natsobj.InvalidBucketNameError)):
        ObjectStoreConfig(**fields)


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_config_accepts_replicas(replicas: int) -> None:
    assert ObjectStoreConfig(bucket="b", replicas=replicas).replicas == replicas


def test_config_accepts_user_metadata_and_limits() -> None:
    config = ObjectStoreConfig(
        bucket="b",
        description="d",
        max_bytes=-1,
        storage="memory",
        compression=True,
        metadata={"team": "x", "nats.x": "y"},
    )
    assert config.metadata == {"team": "x", "nats.x": "y"}
    assert config.max_bytes == -1
    assert config.storage == "memory"
