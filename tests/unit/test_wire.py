"""ADR-20 as pure functions (natsobj._wire): byte for byte against nats.go and the captures.

Golden values come from shared/reference/wire-captures.md (copied to tests/fixtures/) and
from nats.go's struct tags (shared/reference/nats-object-store-wire-and-peers.md §1.3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import natsobj
from natsobj import _wire as wire

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

EMPTY_SHA256 = hashlib.sha256(b"").digest()
EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
HELLO_SHA256 = hashlib.sha256(b"hello").digest()
ZERO = '"mtime":"0001-01-01T00:00:00Z"'


def fixture_bytes(name: str) -> bytes:
    """A fixture's exact bytes (a trailing newline added by an editor is ignored)."""
    return (FIXTURES / name).read_bytes().rstrip(b"\n")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def meta_fixtures() -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = fixture_json("index.json")["meta"]
    return index


# --- constants ------------------------------------------------------------------------


def test_constants_match_adr20() -> None:
    assert wire.DEFAULT_CHUNK_SIZE == 131072
    assert wire.STREAM_PREFIX == "OBJ_"
    assert wire.ROLLUP_HEADER == "Nats-Rollup"
    assert wire.ROLLUP_SUBJECT == "sub"
    assert wire.DIGEST_PREFIX == "SHA-256="
    assert wire.ZERO_TIME == "0001-01-01T00:00:00Z"
    assert wire.EMPTY_DIGEST == EMPTY_DIGEST


# --- names and subjects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("docs/report.txt", "ZG9jcy9yZXBvcnQudHh0"),  # capture
        ("docs/report-py.txt", "ZG9jcy9yZXBvcnQtcHkudHh0"),  # capture
        ("over", "b3Zlcg=="),  # capture: padding kept
        ("café", "Y2Fmw6k="),  # UTF-8 (nats-py, Go), not JS's Latin-1 "Y2Fm6Q=="
        ("lnk1", "bG5rMQ=="),
        ("blnk", "Ymxuaw=="),
        ("new1", "bmV3MQ=="),
        ("up1", "dXAx"),
        ("a", "YQ=="),
        ("ab", "YWI="),
        ("dir/sub file.txt", "ZGlyL3N1YiBmaWxlLnR4dA=="),
        ("a.b>c*d", "YS5iPmMqZA=="),
        ("日本語", "5pel5pys6Kqe"),
        ("😀", "8J-YgA=="),  # URL alphabet: '-' not '+'
        ("ÿþ", "w7_Dvg=="),  # URL alphabet: '_' not '/'
        ("~~~", "fn5-"),
    ],
)
def test_encode_name_is_padded_base64url_of_utf8(name: str, token: str) -> None:
    assert wire.encode_name(name) == token
    assert wire.decode_name(token) == name


def test_encode_name_differs_from_js_latin1_btoa() -> None:
    # wire-captures.md incompatibility 1: JS writes btoa(name) = Latin-1 code units.
    assert wire.encode_name("café") != "Y2Fm6Q=="


@pytest.mark.parametrize(("token", "name"), [("b3Zlcg", "over"), ("YWI", "ab"), ("8J-YgA", "😀")])
def test_decode_name_tolerates_missing_padding(token: str, name: str) -> None:
    assert wire.decode_name(token) == name


@pytest.mark.parametrize("token", ["Y2Fm6Q==", "/w==", "gA"])
def test_decode_name_refuses_names_that_are_not_utf8(token: str) -> None:
    # e.g. JS's Latin-1 btoa("café"): natsobj cannot name that object; it must say so.
    with pytest.raises(ValueError):  # noqa: PT011
        wire.decode_name(token)


@pytest.mark.parametrize("token", ["!!!", "=", "b3Z!lcg==", "ab!!", "a.b"])
def test_decode_name_refuses_tokens_that_are_not_base64url(token: str) -> None:
    # The non-validating base64 decoder drops such characters silently: "!!!" -> "".
    with pytest.raises(ValueError):  # noqa: PT011
        wire.decode_name(token)


@given(st.text(min_size=1))
def test_decode_name_round_trips_any_text(name: str) -> None:
    token = wire.encode_name(name)
    assert set(token) <= set(string.ascii_letters + string.digits + "-_=")
    assert len(token) % 4 == 0
    assert wire.decode_name(token) == name
    assert wire.decode_name(token.rstrip("=")) == name


def test_meta_subject() -> None:
    assert wire.meta_subject("cap", "docs/report.txt") == "$O.cap.M.ZG9jcy9yZXBvcnQudHh0"
    assert wire.meta_subject("cap", "over") == "$O.cap.M.b3Zlcg=="
    assert wire.meta_subject("b", "café") == "$O.b.M.Y2Fmw6k="
    assert wire.meta_subject("cap", "a.b>c*d") == "$O.cap.M.YS5iPmMqZA=="


@pytest.mark.parametrize("fixture", sorted(meta_fixtures()))
def test_meta_subject_matches_captured_subject(fixture: str) -> None:
    entry = meta_fixtures()[fixture]
    payload = fixture_json(fixture)
    assert wire.meta_subject(entry["bucket"], payload["name"]) == entry["subject"]


def test_chunk_subject_and_filters() -> None:
    assert wire.chunk_subject("cap", "qfDVHV9yrvvRMPdOcIYhel") == "$O.cap.C.qfDVHV9yrvvRMPdOcIYhel"
    assert wire.chunk_subject_filter("cap") == "$O.cap.C.>"
    assert wire.meta_subject_filter("cap") == "$O.cap.M.>"


# What peers write: nats.go, nats.js, nats.net, nats-py (22 base-62), the nats-object draft
# (uuid4().hex), and a NUID from the captures.
REAL_NUIDS = [
    "qfDVHV9yrvvRMPdOcIYhel",
    "6iDjtuLwv4myO8fKaGNnaK",
    "0000000000000000000000",
    "zzzzzzzzzzzzzzzzzzzzzz",
    "0f8fad5bd9cb469fa16570867728950e",
]
NOT_NUIDS = [
    "",
    ">",
    "*",
    "C.>",
    "qfDVHV9yrvvRMPdOcIYhe.",
    "qfDVHV9yrvvRMPdOcIYhe*",
    "qfDVHV9yrvvRMPdOcIYhe>",
    "qfDVHV9yrvvRMPdOcIYhe ",
    "qfDVHV9yrvvRMPdOcIYhe\t",
    "qfDVHV9yrvvRMPdOcIYhe\n",
    "qfDVHV9yrvvRMPdOcIYhe-",
    "qfDVHV9yrvvRMPdOcIYhé",
    "qfDVHV9yrvvRMPdOcIYhe",  # 21
    "qfDVHV9yrvvRMPdOcIYhelx",  # 23
    "0F8FAD5BD9CB469FA16570867728950E",  # uppercase hex is no uuid4().hex
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    None,
    22,
    b"qfDVHV9yrvvRMPdOcIYhel",
]


@pytest.mark.parametrize("nuid", REAL_NUIDS)
def test_nuids_peers_write(nuid: str) -> None:
    assert wire.is_nuid(nuid)
    assert wire.chunk_subject("b", nuid) == f"$O.b.C.{nuid}"
    assert wire.nuid_of_chunk_subject("b", f"$O.b.C.{nuid}") == nuid


@pytest.mark.parametrize("nuid", NOT_NUIDS)
def test_what_is_not_a_nuid_never_becomes_a_chunk_subject(nuid: Any) -> None:
    assert not wire.is_nuid(nuid)
    with pytest.raises(natsobj.BadObjectMetaError):
        wire.chunk_subject("b", nuid)
    if isinstance(nuid, str):
        assert wire.nuid_of_chunk_subject("b", f"$O.b.C.{nuid}") is None


@given(st.text(max_size=40))
def test_a_nuid_never_holds_a_subject_separator_or_wildcard(text: str) -> None:
    if wire.is_nuid(text):
        assert not set(text) & set(".*> \t\r\n")
        assert len(text) in (22, 32)


@pytest.mark.parametrize(
    "subject",
    [
        "$O.other.C.qfDVHV9yrvvRMPdOcIYhel",  # another bucket
        "$O.b.M.qfDVHV9yrvvRMPdOcIYhel",  # a meta subject
        "$O.b.C.x.qfDVHV9yrvvRMPdOcIYhel",  # an extra token
        "$O.b.C.qfDVHV9yrvvRMPdOcIYhel.x",
        "$O.b.C.",
    ],
)
def test_only_a_chunk_subject_of_the_bucket_has_a_nuid(subject: str) -> None:
    assert wire.nuid_of_chunk_subject("b", subject) is None


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("$O.cap.M.ZG9jcy9yZXBvcnQudHh0", "docs/report.txt"),
        ("$O.cap.M.b3Zlcg==", "over"),
        ("$O.cap.M.b3Zlcg", "over"),  # unpadded
        ("$O.b-_1.M.Y2Fmw6k=", "café"),
    ],
)
def test_name_of_meta_subject(subject: str, name: str) -> None:
    assert wire.name_of_meta_subject(subject) == name


@pytest.mark.parametrize("claimed", [None, "", "over", "other", "\ud800", 5, "x" * 3000])
def test_name_of_meta_subject_takes_a_claimed_name_only_when_it_is_the_subjects(
    claimed: object,
) -> None:
    assert wire.name_of_meta_subject("$O.cap.M.b3Zlcg==", claimed) == "over"
    assert wire.name_of_meta_subject("$O.cap.M.b3Zlcg", claimed) == "over"


def test_name_of_meta_subject_reads_nats_js_latin1_names_as_they_claim() -> None:
    # nats.js writes "café" on btoa's Latin-1 token: read as the name it claims, and only then.
    assert wire.name_of_meta_subject("$O.cap.M.Y2Fm6Q==", "café") == "café"
    assert wire.name_of_meta_subject("$O.cap.M.Y2Fm6Q", "café") == "café"
    with pytest.raises(ValueError):  # noqa: PT011
        wire.name_of_meta_subject("$O.cap.M.Y2Fm6Q==", "cafe")
    with pytest.raises(ValueError):  # noqa: PT011
        wire.name_of_meta_subject("$O.cap.M.Y2Fm6Q==", "ĉu")


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "$O.cap.M.",
        "$O.cap.M.!!!",
        "$O.cap.C.b3Zlcg==",  # a chunk subject
        "$O.cap.M.junk.b3Zlcg==",  # an extra token before the name's
        "$O.cap.M.b3Zlcg==.junk",
        "$X.cap.M.b3Zlcg==",
        "$O.c*p.M.b3Zlcg==",
        "$O.cap.M.Y2Fm6Q==",  # JS's Latin-1 'café': not UTF-8
        "$O.cap.M." + wire.encode_name("x" * (wire.MAX_OBJECT_NAME_BYTES + 1)),
    ],
)
def test_what_is_not_a_meta_subject_has_no_name(subject: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every reason is a ValueError
        wire.name_of_meta_subject(subject)


def test_stream_name() -> None:
    assert wire.stream_name("cap") == "OBJ_cap"
    assert wire.stream_name("a-B_9") == "OBJ_a-B_9"


@pytest.mark.parametrize(
    ("stream", "bucket"),
    [
        ("OBJ_cap", "cap"),
        ("OBJ_a-B_9", "a-B_9"),
        ("OBJ_OBJ_x", "OBJ_x"),
        ("OBJ_", None),
        ("KV_cap", None),
        ("obj_cap", None),
        ("cap", None),
        ("OBJ_a.b", None),
        ("OBJ_a b", None),
        ("", None),
    ],
)
def test_bucket_from_stream(stream: str, bucket: str | None) -> None:
    assert wire.bucket_from_stream(stream) == bucket


@pytest.mark.parametrize("bucket", ["a", "Z", "0", "cap", "my-bucket_01", "_", "-", "x" * 200])
def test_valid_bucket_names(bucket: str) -> None:
    assert wire.validate_bucket_name(bucket) == bucket


@pytest.mark.parametrize(
    "bucket",
    ["", "a.b", "a b", "a*", "a>", "a/b", "$O", "café", "a\n", "\na", "a\x00", None, 1, b"cap"],
)
def test_invalid_bucket_names(bucket: object) -> None:
    with pytest.raises(natsobj.InvalidBucketNameError) as excinfo:
        wire.validate_bucket_name(bucket)
    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.bucket == (bucket if isinstance(bucket, str) else None)


@pytest.mark.parametrize(
    "name", ["a", " ", "docs/report.txt", "a.b>c*d", "café", "日本語", "😀", "\n", "x" * 2048]
)
def test_valid_object_names(name: str) -> None:
    assert wire.validate_object_name(name) == name


@pytest.mark.parametrize(
    "name", ["", None, 1, b"name", ["a"], "\ud800", "a\udfffb", "x" * 2049, "é" * 1025]
)
def test_invalid_object_names(name: object) -> None:
    with pytest.raises(natsobj.InvalidObjectNameError) as excinfo:
        wire.validate_object_name(name)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("size", [1, 1024, wire.DEFAULT_CHUNK_SIZE, wire.MAX_CHUNK_SIZE])
def test_valid_chunk_sizes(size: int) -> None:
    assert wire.validate_chunk_size(size) == size


@pytest.mark.parametrize(
    "size", [0, -1, wire.MAX_CHUNK_SIZE + 1, True, False, 1.0, "1024", None, b"1"]
)
def test_invalid_chunk_sizes(size: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError) as excinfo:
        wire.validate_chunk_size(size)
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, TypeError)


# --- digests ------------------------------------------------------------------------------


def test_encode_digest() -> None:
    assert wire.encode_digest(EMPTY_SHA256) == EMPTY_DIGEST
    assert (
        wire.encode_digest(HELLO_SHA256) == "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
    )


@pytest.mark.parametrize(
    ("value", "digest"),
    [
        (EMPTY_DIGEST, EMPTY_SHA256),  # canonical: padded base64url
        ("SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", EMPTY_SHA256),  # unpadded
        (  # hex, as the JS reader accepts
            "SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            EMPTY_SHA256,
        ),
        (
            "SHA-256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            EMPTY_SHA256,
        ),
        ("sha-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", EMPTY_SHA256),  # lowercase
        ("Sha-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", EMPTY_SHA256),
        ("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", EMPTY_SHA256),  # standard b64
        ("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", EMPTY_SHA256),
        ("SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", HELLO_SHA256),
        ("SHA-256=LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", HELLO_SHA256),
        (
            "SHA-256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            HELLO_SHA256,
        ),
        # the digests in the captures: 300000 zero bytes, and the 6-byte update
        (
            "SHA-256=iGcV5AUegn9P4hXfMFOvP4WtDTUtssgpx0h69teO_jA=",
            hashlib.sha256(bytes(300000)).digest(),
        ),
        (
            "SHA-256=WJG1tSLV3whtD_CxEPvZ0hu0_HFjrzTQgoai6Eb2vgM=",
            hashlib.sha256(b"hello\n").digest(),
        ),
    ],
)
def test_decode_digest_tolerant(value: str, digest: bytes) -> None:
    assert wire.decode_digest(value) == digest


@pytest.mark.parametrize(
    "value",
    [
        "",  # nats-py and JS delete markers
        "SHA-256=",
        "SHA-256",
        "SHA-256=!!!!",
        "SHA-256=not base64 at all",
        "SHA-256=****************************************************************",
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",  # no prefix
        "MD5=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",  # other algorithm
        "SHA-512=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
        # wrong lengths
        "SHA-256=" + base64.urlsafe_b64encode(bytes(31)).decode(),
        "SHA-256=" + base64.urlsafe_b64encode(bytes(33)).decode(),
        "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha512(b"").digest()).decode(),
        "SHA-256=" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8",  # 62 hex
        "SHA-256=" + hashlib.sha1(b"").hexdigest(),
    ],
)
def test_decode_digest_garbage_is_none(value: str) -> None:
    assert wire.decode_digest(value) is None


@given(st.binary(min_size=32, max_size=32), st.sampled_from(["SHA-256=", "sha-256=", "Sha-256="]))
def test_decode_digest_reads_every_encoding(digest: bytes, prefix: str) -> None:
    urlsafe = base64.urlsafe_b64encode(digest).decode()
    standard = base64.b64encode(digest).decode()
    encodings = [
        urlsafe,
        urlsafe.rstrip("="),
        standard,
        standard.rstrip("="),
        digest.hex(),
        digest.hex().upper(),
    ]
    for encoded in encodings:
        assert wire.decode_digest(prefix + encoded) == digest, encoded
    assert wire.decode_digest(wire.encode_digest(digest)) == digest
    assert wire.encode_digest(digest) == "SHA-256=" + urlsafe


@given(
    st.one_of(
        st.text(max_size=60),
        st.text(alphabet=string.ascii_letters + string.digits + "-_=+/!", max_size=44).map(
            lambda t: "SHA-256=" + t
        ),
        st.binary(min_size=30, max_size=34).map(lambda b: wire.encode_digest(b)),
    )
)
def test_is_sha256_digest_agrees_with_decode_digest(value: str) -> None:
    assert wire.is_sha256_digest(value) == (wire.decode_digest(value) is not None)


@given(st.binary().filter(lambda b: len(b) != 32))
def test_decode_digest_refuses_other_lengths(raw: bytes) -> None:
    assert wire.decode_digest("SHA-256=" + base64.urlsafe_b64encode(raw).decode()) is None


# --- go_json --------------------------------------------------------------------------------


def test_go_json_escapes_html_and_line_separators_like_go() -> None:
    assert (
        wire.go_json({"s": "<a href='x'>&amp;</a>"})
        == b'{"s":"\\u003ca href=\'x\'\\u003e\\u0026amp;\\u003c/a\\u003e"}'
    )
    assert wire.go_json("\u2028\u2029") == b'"\\u2028\\u2029"'
    # Keys are escaped too.
    assert wire.go_json({"<&>": 1}) == b'{"\\u003c\\u0026\\u003e":1}'


def test_go_json_writes_raw_utf8() -> None:
    text = "café 日本語 😀 \u00a0\u007f"
    assert wire.go_json(text) == b'"' + text.encode("utf-8") + b'"'


def test_go_json_control_characters_like_go() -> None:
    # Go 1.22+: \b and \f short escapes, other controls as lowercase \u00XX.
    assert wire.go_json('"\\\n\r\t\b\f\x00\x1f') == b'"\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u001f"'


def test_go_json_is_compact_and_keeps_order() -> None:
    value = {"z": [1, True, None, "x"], "a": {"k": False}}
    assert wire.go_json(value) == b'{"z":[1,true,null,"x"],"a":{"k":false}}'


def test_go_json_escapes_subjects_like_the_server() -> None:
    # The server (Go) escapes '>' in stream info; we produce the same bytes.
    encoded = wire.go_json([wire.chunk_subject_filter("cap"), wire.meta_subject_filter("cap")])
    assert encoded == b'["$O.cap.C.\\u003e","$O.cap.M.\\u003e"]'
    assert encoded[1:-1] in fixture_bytes("stream_info_js.json")


# --- meta_payload ------------------------------------------------------------------------------


def test_meta_payload_put_field_order_matches_go() -> None:
    # Keys given in reverse order; output follows nats.go's ObjectInfo struct.
    info: dict[str, Any] = {
        "deleted": False,
        "digest": "SHA-256=iGcV5AUegn9P4hXfMFOvP4WtDTUtssgpx0h69teO_jA=",
        "chunks": 3,
        "mtime": "2026-11-23T19:49:37.166Z",  # ignored: Go writes the zero time
        "size": 300000,
        "nuid": "qfDVHV9yrvvRMPdOcIYhel",
        "bucket": "cap",
        "options": {"max_chunk_size": 131072},
        "metadata": {"owner": "alice"},
        "headers": {"Content-Type": ["text/plain"]},
        "description": "a report",
        "name": "docs/report.txt",
    }
    assert wire.meta_payload(info) == fixture_bytes("canonical_js_put.json")
    assert wire.meta_payload(info) == (
        b'{"name":"docs/report.txt","description":"a report",'
        b'"headers":{"Content-Type":["text/plain"]},"metadata":{"owner":"alice"},'
        b'"options":{"max_chunk_size":131072},"bucket":"cap","nuid":"qfDVHV9yrvvRMPdOcIYhel",'
        b'"size":300000,"mtime":"0001-01-01T00:00:00Z","chunks":3,'
        b'"digest":"SHA-256=iGcV5AUegn9P4hXfMFOvP4WtDTUtssgpx0h69teO_jA="}'
    )


def test_meta_payload_minimal_put_like_reference_example() -> None:
    # shared/reference §1.3 "Go-compatible" example: omitempty fields left out.
    info = {
        "name": "a/b.bin",
        "description": "",
        "headers": {},
        "metadata": {},
        "options": {"max_chunk_size": 131072, "link": None},
        "bucket": "files",
        "nuid": "Hx3nuid",
        "size": 307200,
        "chunks": 3,
        "digest": EMPTY_DIGEST,
        "deleted": False,
    }
    assert wire.meta_payload(info) == (
        b'{"name":"a/b.bin","options":{"max_chunk_size":131072},"bucket":"files",'
        b'"nuid":"Hx3nuid","size":307200,' + ZERO.encode() + b',"chunks":3,'
        b'"digest":"' + EMPTY_DIGEST.encode() + b'"}'
    )


def test_meta_payload_empty_object() -> None:
    info = {"name": "empty", "bucket": "b", "nuid": "N", "size": 0, "chunks": 0}
    info["digest"] = EMPTY_DIGEST
    info["options"] = {"max_chunk_size": 131072}
    assert wire.meta_payload(info) == (
        b'{"name":"empty","options":{"max_chunk_size":131072},"bucket":"b","nuid":"N",'
        b'"size":0,' + ZERO.encode() + b',"chunks":0,"digest":"' + EMPTY_DIGEST.encode() + b'"}'
    )


def test_meta_payload_delete_tombstone() -> None:
    info = {
        "name": "new1",
        "bucket": "b1",
        "nuid": "7NRFhJLef7azlSldRP8rS4",
        "size": 0,
        "chunks": 0,
        "digest": "",
        "deleted": True,
        "options": {"max_chunk_size": 131072},
    }
    assert wire.meta_payload(info) == fixture_bytes("canonical_js_delete.json")
    assert wire.meta_payload(info) == (
        b'{"name":"new1","options":{"max_chunk_size":131072},"bucket":"b1",'
        b'"nuid":"7NRFhJLef7azlSldRP8rS4","size":0,'
        + ZERO.encode()
        + b',"chunks":0,"deleted":true}'
    )


def test_meta_payload_object_link() -> None:
    # nats.go AddLink: the link's own bucket, a fresh nuid, link {bucket, name}, no chunk size.
    info = {
        "name": "lnk",
        "bucket": "b1",
        "nuid": "Y3t9KMpq4Mn8bVw2sCSNa1",
        "options": {"link": {"name": "obj", "bucket": "b2"}},
    }
    assert wire.meta_payload(info) == (
        b'{"name":"lnk","options":{"link":{"bucket":"b2","name":"obj"}},"bucket":"b1",'
        b'"nuid":"Y3t9KMpq4Mn8bVw2sCSNa1","size":0,' + ZERO.encode() + b',"chunks":0}'
    )


@pytest.mark.parametrize("link", [{"bucket": "b2"}, {"bucket": "b2", "name": ""}])
def test_meta_payload_bucket_link(link: dict[str, Any]) -> None:
    info = {"name": "blnk", "bucket": "b1", "nuid": "N", "options": {"link": link}}
    assert wire.meta_payload(info) == (
        b'{"name":"blnk","options":{"link":{"bucket":"b2"}},"bucket":"b1","nuid":"N",'
        b'"size":0,' + ZERO.encode() + b',"chunks":0}'
    )


def test_meta_payload_sorts_header_and_metadata_keys_bytewise() -> None:
    info = {
        "name": "n",
        "bucket": "b",
        "nuid": "N",
        "headers": {"é": ["1"], "a": ["2", "1"], "Z": ["3"], "Content-Type": ["x"]},
        "metadata": {"zeta": "1", "Alpha": "2", "beta": "3", "日": "4"},
    }
    expected = (
        '{"name":"n","headers":{"Content-Type":["x"],"Z":["3"],"a":["2","1"],"é":["1"]},'
        '"metadata":{"Alpha":"2","beta":"3","zeta":"1","日":"4"},"bucket":"b","nuid":"N",'
        '"size":0,' + ZERO + ',"chunks":0}'
    )
    assert wire.meta_payload(info) == expected.encode("utf-8")


def test_meta_payload_keeps_unknown_keys_after_known_ones() -> None:
    info = {
        "x_first": {"k": "<v>"},
        "name": "n",
        "revision": 14,
        "bucket": "b",
        "nuid": "N",
        "options": {"max_chunk_size": 5, "x_opt": True, "link": {"bucket": "b2", "name": "o"}},
    }
    assert wire.meta_payload(info) == (
        b'{"name":"n","options":{"link":{"bucket":"b2","name":"o"},"max_chunk_size":5,'
        b'"x_opt":true},"bucket":"b","nuid":"N","size":0,' + ZERO.encode() + b',"chunks":0,'
        b'"x_first":{"k":"\\u003cv\\u003e"},"revision":14}'
    )


def test_meta_payload_always_writes_zero_mtime_and_missing_defaults() -> None:
    payload = json.loads(wire.meta_payload({"name": "n", "bucket": "b", "mtime": "2026-01-01"}))
    assert payload == {
        "name": "n",
        "bucket": "b",
        "nuid": "",
        "size": 0,
        "mtime": "0001-01-01T00:00:00Z",
        "chunks": 0,
    }


def test_meta_payload_escapes_like_go() -> None:
    info = {"name": "a<b>&c\u2028", "description": "café", "bucket": "b", "nuid": "N"}
    assert wire.meta_payload(info) == (
        b'{"name":"a\\u003cb\\u003e\\u0026c\\u2028","description":"caf\xc3\xa9","bucket":"b",'
        b'"nuid":"N","size":0,' + ZERO.encode() + b',"chunks":0}'
    )


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),  # Go zero time
        ("2026-11-23T19:49:37.166Z", datetime(2026, 11, 23, 19, 49, 37, 166000, tzinfo=UTC)),
        (  # nats-py isoformat()
            "2026-11-23T19:49:37.699826+00:00",
            datetime(2026, 11, 23, 19, 49, 37, 699826, tzinfo=UTC),
        ),
        (  # Nats-Time-Stamp, nanoseconds
            "2026-11-23T19:49:37.167474026Z",
            datetime(2026, 11, 23, 19, 49, 37, 167474, tzinfo=UTC),
        ),
        ("2026-11-23T19:49:36.547427544Z", datetime(2026, 11, 23, 19, 49, 36, 547427, tzinfo=UTC)),
        ("2026-11-23T19:49:37Z", datetime(2026, 11, 23, 19, 49, 37, tzinfo=UTC)),
        ("2026-11-23T19:49:37.5z", datetime(2026, 11, 23, 19, 49, 37, 500000, tzinfo=UTC)),
        ("2026-11-23T21:49:37.1+02:00", datetime(2026, 11, 23, 19, 49, 37, 100000, tzinfo=UTC)),
        ("2026-11-23T19:49:37", datetime(2026, 11, 23, 19, 49, 37, tzinfo=UTC)),  # naive → UTC
    ],
)
def test_parse_timestamp(value: str, expected: datetime) -> None:
    parsed = wire.parse_timestamp(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


def test_parse_timestamp_keeps_offset() -> None:
    parsed = wire.parse_timestamp("2026-11-23T21:49:37+02:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "value", ["", " ", "garbage", "2026-13-45T99:00:00Z", "2026-11-23T19:49:37.xZ", "null"]
)
def test_parse_timestamp_garbage_is_none(value: str) -> None:
    assert wire.parse_timestamp(value) is None


# --- stream config ------------------------------------------------------------------------------


def default_stream_config(bucket: str) -> dict[str, Any]:
    return wire.stream_config(
        bucket=bucket,
        description=None,
        ttl_ns=0,
        max_bytes=None,
        storage="file",
        replicas=1,
        compression=False,
        placement=None,
        metadata=None,
    )


def test_stream_config_default() -> None:
    assert default_stream_config("capj") == {
        "name": "OBJ_capj",
        "subjects": ["$O.capj.C.>", "$O.capj.M.>"],
        "max_age": 0,
        "max_bytes": -1,
        "storage": "file",
        "num_replicas": 1,
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
    }


@pytest.mark.parametrize(
    ("fixture", "bucket"),
    [("stream_create_js.json", "capj"), ("stream_create_py.json", "capp")],
)
def test_stream_config_agrees_with_official_clients(fixture: str, bucket: str) -> None:
    theirs: dict[str, Any] = fixture_json(fixture)
    ours = default_stream_config(bucket)
    shared = ours.keys() & theirs.keys()
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    if fixture == "stream_create_js.json":
        # Everything nats.js sends, natsobj sends too.
        assert theirs.keys() <= ours.keys()


def test_stream_config_all_options() -> None:
    config = wire.stream_config(
        bucket="capj",
        description="a bucket",
        ttl_ns=3600 * 10**9,
        max_bytes=1 << 20,
        storage="memory",
        replicas=3,
        compression=True,
        atomic_puts=True,
        batched_puts=True,
        placement={"cluster": "c1", "tags": ["ssd"]},
        metadata={"team": "x"},
    )
    assert config == {
        "name": "OBJ_capj",
        "description": "a bucket",
        "subjects": ["$O.capj.C.>", "$O.capj.M.>"],
        "max_age": 3600000000000,  # as nats.js sends a TTL of 3600 s
        "max_bytes": 1048576,
        "storage": "memory",
        "num_replicas": 3,
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
        "compression": "s2",
        "allow_atomic": True,
        "allow_batched": True,
        "placement": {"cluster": "c1", "tags": ["ssd"]},
        "metadata": {"team": "x"},
    }


def test_stream_config_normalises_zero_values_like_go() -> None:
    config = wire.stream_config(
        bucket="b",
        description="",
        ttl_ns=0,
        max_bytes=0,
        storage="file",
        replicas=0,
        compression=False,
        placement={},
        metadata={},
    )
    assert config == default_stream_config("b")


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (1_733_356_800_123_456_789, "2024-12-05T00:00:00.123456789Z"),
        (1_733_356_800_000_000_000, "2024-12-05T00:00:00.000000000Z"),
        (1_733_356_801_000_000_007, "2024-12-05T00:00:01.000000007Z"),
        (0, "1970-01-01T00:00:00.000000000Z"),
    ],
)
def test_timestamp_of_ns_reads_back(ns: int, text: str) -> None:
    assert wire.timestamp_of_ns(ns) == text
    parsed = wire.parse_timestamp(text)
    assert parsed is not None
    assert parsed == datetime.fromtimestamp(ns // 10**9, UTC).replace(
        microsecond=ns % 10**9 // 1000
    )


@pytest.mark.parametrize("ns", [-1, 253_402_300_800 * 10**9, 2**80])
def test_timestamp_of_ns_out_of_range_is_empty(ns: int) -> None:
    assert wire.timestamp_of_ns(ns) == ""


@pytest.mark.parametrize(
    "data",
    [
        b'{"name":"a","size":1,"x":[1.5,-0,1e400,12345678901234567890123]}',
        b'{"a":NaN,"b":Infinity,"a":2}',
        b'{"s":"\\ud800 lone","t":"\\ud83d\\ude00"}',
        b'\xef\xbb\xbf{"bom":1}',
        '{"utf16":1}'.encode("utf-16"),
        '{"text":"caf\u00e9"}',
    ],
)
def test_read_json_reads_what_json_loads_reads(data: bytes | str) -> None:
    assert repr(wire.read_json(data)) == repr(json.loads(data))


@pytest.mark.parametrize(
    "data",
    [b"{not json", b'{"a":1} x', b'{"a":"\x01"}', b"[" * 100_000 + b"]" * 100_000, b"\xff"],
)
def test_read_json_refuses_with_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"\w"):  # never RecursionError, which nothing expects
        wire.read_json(data)
