"""``ObjectInfo.from_message``'s own reading of the common meta shapes gives exactly what
pydantic gives: the same fields (and their types), fields-set, extras, payload and errors.

A subclass of ObjectInfo always goes through pydantic (the path every meta took before),
so each payload is read both ways and the results compared.
"""

from __future__ import annotations

import json
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

import natsobj
from natsobj import ObjectInfo
from natsobj._models import _common_info
from natsobj._wire import encode_digest, encode_name, parse_json, parse_timestamp


class Validated(ObjectInfo):
    """Read by pydantic alone (``from_message`` builds only ObjectInfo itself)."""


def outcome(cls: type[ObjectInfo], data: bytes, subject: str | None, **kwargs: Any) -> Any:
    """All that can be observed of reading ``data``: the error, or every field with its
    type, the fields-sets, the extras, the dump and the payload."""
    try:
        info = cls.from_message(data, subject=subject, **kwargs)
    except natsobj.BadObjectMetaError as exc:
        return ("error", str(exc).replace("Validated", "ObjectInfo"), exc.name)
    options, link = info.options, info.link
    return (
        {k: (type(v), v) for k, v in dict(info).items()},
        info.mtime.tzinfo if info.mtime else None,
        info.model_fields_set,
        info.model_extra,
        options.model_fields_set if options else None,
        options.model_extra if options else None,
        dict(options) if options else None,
        link.model_fields_set if link else None,
        (link.model_extra, dict(link)) if link else None,
        info.model_dump(mode="json"),
        info.to_payload(),
        repr(info).replace("Validated", "ObjectInfo"),
    )


def assert_read_alike(data: bytes, subject: str | None = None, **kwargs: Any) -> None:
    assert outcome(ObjectInfo, data, subject, **kwargs) == outcome(
        Validated, data, subject, **kwargs
    )


# Values of each JSON type (and nulls): what a hostile or buggy writer could put anywhere.
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**64),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.lists(st.text(max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2),
)
texts = st.text(max_size=8)
headers = st.dictionaries(texts, st.one_of(st.lists(texts, max_size=2), texts), max_size=2)
links = st.fixed_dictionaries(
    {}, optional={"bucket": st.sampled_from(["b", "*"]), "name": st.one_of(st.none(), texts)}
)
options = st.fixed_dictionaries(
    {},
    optional={
        "max_chunk_size": st.one_of(st.none(), st.integers(-1, 2**20)),
        "link": st.one_of(st.none(), links),
    },
)
# What peers write: every field null, missing or of its type.
COMMON = {
    "description": texts,
    "headers": headers,
    "metadata": st.dictionaries(texts, texts, max_size=2),
    "options": options,
    "bucket": st.sampled_from(["b", "a.b", ""]),
    "nuid": st.sampled_from(["qfDVHV9yrvvRMPdOcIYhel", "0f8fad5bd9cb469fa16570867728950e", ""]),
    "size": st.integers(-1, 2**40),
    "mtime": st.sampled_from(
        ["0001-01-01T00:00:00Z", "2026-11-23T19:49:37.166Z", "2026-11-23T19:49:37.6+01:00", ""]
    ),
    "chunks": st.integers(-1, 9),
    "digest": st.binary(min_size=32, max_size=32).map(encode_digest),
    "deleted": st.booleans(),
    "revision": st.integers(0, 9),
}
# What else: a wrong type anywhere, unknown keys, options with more than a link and a size.
ODD = {
    **dict.fromkeys(["name", *COMMON, "x_extra"], anything),
    "options": options.map(lambda o: o | {"x_opt": 1}),
    "metadata": st.dictionaries(texts, anything, min_size=1, max_size=2),
    "headers": st.dictionaries(texts, st.lists(anything, max_size=2), min_size=1, max_size=2),
}


@st.composite
def metas(draw: st.DrawFn) -> dict[str, Any]:
    """A meta as a peer writes it, then at most two keys removed or made odd."""
    meta: dict[str, Any] = {"name": "a"}
    for key, values in COMMON.items():
        if draw(st.integers(0, 3)):  # a key in four is missing
            meta[key] = None if draw(st.integers(0, 5)) == 0 else draw(values)
    for key in draw(st.lists(st.sampled_from(sorted(ODD)), max_size=2, unique=True)):
        if draw(st.booleans()):
            meta.pop(key, None)
        else:
            meta[key] = draw(ODD[key])
    return meta


@settings(max_examples=400, deadline=None)
@given(
    metas(),
    st.sampled_from([None, "b", "x"]),
    st.sampled_from([None, "2026-01-01T00:00:00.123456789Z", "0001-01-01T00:00:00Z", "bad"]),
    st.sampled_from([None, 0, 7]),
)
def test_any_meta_reads_as_pydantic_reads_it(
    meta: dict[str, Any], subject_name: str | None, timestamp: str | None, sequence: int | None
) -> None:
    subject = f"$O.b.M.{encode_name(subject_name)}" if subject_name else None
    data = json.dumps(meta).encode()
    assert_read_alike(data, subject, timestamp=timestamp, sequence=sequence)


@pytest.mark.parametrize(
    "data",
    [
        b'{"name":"a","bucket":"b","size":true}',  # a bool is no int
        b'{"name":"a","bucket":"b","deleted":1}',
        b'{"name":"a","bucket":"b","size":1.0,"nuid":"qfDVHV9yrvvRMPdOcIYhel"}',
        b'{"name":"a","bucket":"b","mtime":1700000000}',
        b'{"name":"a","bucket":"b","headers":{"K":"v","L":[1]}}',
        b'{"name":"a","bucket":"b","headers":{"L":[1,null,true]}}',  # made strings
        b'{"name":"a","bucket":"b","metadata":{"k":1}}',
        b'{"name":"a","description":"\\ud800"}',  # lone surrogate: json.loads reads it
        b'{"name":"a","headers":{"\\udc00":["v"]}}',
        b'\xef\xbb\xbf{"name":"a"}',  # a BOM
        b'{"name":"a","options":{"link":{"bucket":"b","name":"x","y":1}}}',
        b'{"name":"a","options":{"link":{"name":"x"}}}',
        b'{"name":"a","options":null,"headers":null,"metadata":null,"revision":null}',
        b'{"name":"a","mtime":"2026-11-23T19:49:37.699826+00:00","deleted":false}',
    ],
)
def test_edge_payloads_read_alike(data: bytes) -> None:
    assert_read_alike(data)
    assert_read_alike(data, "$O.b.M." + encode_name("a"), timestamp="x", sequence=1)


CAPTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*_js_*.json"))
CAPTURES += sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*_py_*.json"))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_what_each_peer_writes_takes_the_short_path(path: Path) -> None:
    data = path.read_bytes().rstrip(b"\n")
    assert _common_info(parse_json(data)[0]) is not None
    assert_read_alike(data, None, timestamp="2026-11-23T19:49:37.167474026Z", sequence=3)


def test_the_common_shapes_are_built_without_pydantic_and_share_what_they_can() -> None:
    payload = (
        b'{"name":"a","headers":{"Natsobj-Created":["2026-11-23T19:00:00.000000Z"]},'
        b'"options":{"max_chunk_size":131072},"bucket":"b","nuid":"qfDVHV9yrvvRMPdOcIYhel",'
        b'"size":1,"mtime":"0001-01-01T00:00:00Z","chunks":1,"digest":"'
        + encode_digest(bytes(32)).encode()
        + b'"}'
    )
    first = ObjectInfo.from_message(payload, sequence=1)
    second = ObjectInfo.from_message(payload, sequence=2)
    assert type(first) is ObjectInfo
    assert first.options is second.options
    assert first.model_fields_set is second.model_fields_set
    # Shared state is copied before pydantic changes it.
    changed = first.model_copy(update={"description": "d", "x_new": 1})
    assert changed.model_fields_set == first.model_fields_set | {"description", "x_new"}
    assert first.model_extra == second.model_extra == {}
    assert "description" not in second.model_fields_set
    assert pickle.loads(pickle.dumps(first)) == first
    assert first == ObjectInfo.model_validate(json.loads(payload) | {"revision": 1})
    with pytest.raises(ValueError, match="frozen"):
        first.size = 2
    with pytest.raises(ValueError, match="frozen"):
        first.x_new = 1  # type: ignore[attr-defined]
    assert ObjectInfo.from_message(payload).model_extra == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans())
def test_the_fast_json_parser_reads_what_json_loads_reads(value: Any, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    parsed, _ = parse_json(data)
    assert repr(parsed) == repr(json.loads(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "replace")))
def test_what_the_fast_parser_reads_json_loads_reads_alike(data: bytes) -> None:
    try:
        fast = from_json(data)
    except ValueError:
        return  # parse_json asks json.loads
    assert repr(fast) == repr(json.loads(data))


def _reference_timestamp(value: str) -> datetime | None:
    """What parse_timestamp did for the server's form before it used fromisoformat as is."""
    fraction = value[20:-1]
    text = value[:19] + (f".{fraction[:6]}" if fraction else "") + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\d{4}-[01W]\d-\d{1,2}T[0-2]\d:[0-6]\d:[0-6]\d(\.\d{1,20})?Z", fullmatch=True)
)
def test_server_timestamps_read_as_before(value: str) -> None:
    assert parse_timestamp(value) == _reference_timestamp(value)
