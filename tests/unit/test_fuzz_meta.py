"""Fuzzing the meta parser and the wire decoders: whatever another client wrote, parsing
gives an ObjectInfo or BadObjectMetaError, nothing else; what natsobj writes reads back."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import natsobj
from natsobj._wire import decode_digest, decode_name, encode_digest, encode_name

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "name": JSON | st.text(min_size=1),
        "bucket": JSON | st.text(),
        "nuid": JSON | st.text(),
        "size": JSON | st.integers(min_value=0),
        "chunks": JSON | st.integers(min_value=0),
        "digest": JSON | st.text(),
        "deleted": JSON,
        "mtime": JSON | st.just("") | st.just("0001-01-01T00:00:00Z"),
        "headers": JSON,
        "metadata": JSON,
        "options": JSON
        | st.fixed_dictionaries({}, optional={"link": JSON, "max_chunk_size": JSON}),
        "description": JSON,
    },
)


def _parse(data: bytes, subject: str | None = None) -> natsobj.ObjectInfo | None:
    try:
        return natsobj.ObjectInfo.from_message(
            data, subject=subject, timestamp="2026-01-01T00:00:00.123456789Z", sequence=7
        )
    except natsobj.BadObjectMetaError:
        return None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_fail_typed(data: bytes) -> None:
    _parse(data)


@settings(max_examples=250, deadline=None)
@given(FIELDS, st.text(max_size=20))
def test_any_json_object_parses_or_fails_typed(fields: dict[str, Any], name: str) -> None:
    info = _parse(json.dumps(fields).encode(), subject=f"$O.b.M.{encode_name(name or 'x')}")
    if info is not None:
        assert info.revision == 7
        # What was read can be written back, and reads back to the same bytes.
        again = _parse(info.to_payload())
        assert again is not None
        assert again.to_payload() == info.to_payload()


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(min_size=1, max_size=50),
    size=st.integers(min_value=0, max_value=2**53),
    chunks=st.integers(min_value=0, max_value=2**31),
    digest=st.binary(min_size=32, max_size=32),
    metadata=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
)
def test_written_meta_reads_back(
    name: str, size: int, chunks: int, digest: bytes, metadata: dict[str, str]
) -> None:
    info = natsobj.ObjectInfo(
        name=name,
        bucket="b",
        nuid="N" * 22,
        size=size,
        chunks=chunks,
        digest=encode_digest(digest),
        metadata=metadata,
    )
    back = _parse(info.to_payload())
    assert back is not None
    assert (back.name, back.size, back.chunks, back.metadata) == (name, size, chunks, metadata)
    assert decode_digest(back.digest) == digest


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_digest_and_name_decoders_never_crash(text: str) -> None:
    decoded = decode_digest(text)
    assert decoded is None or len(decoded) == 32
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        decode_name(text)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_names_round_trip_through_subjects(name: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert decode_name(encode_name(name)) == name
