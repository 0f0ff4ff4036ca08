"""Usecases, scopes, expiration policies and compression as pure values (no server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import zstandard

import natsobj
from natsobj import ExpirationPolicy, Usecase
from natsobj import _wire as wire
from natsobj._expiration import expired
from natsobj._sessions import _compression as compression

NOW = datetime(2026, 1, 1, tzinfo=UTC)


# -- scopes ----------------------------------------------------------------------------


def test_scope_paths_are_ordered_and_terminated() -> None:
    usecase = Usecase("attachments")
    assert usecase.for_project(42, 1337).prefix == "org.42/project.1337/objects/"
    assert usecase.scope().push("project", 1337).push("org", 42).prefix == (
        "project.1337/org.42/objects/"
    )
    assert usecase.for_organization("42").prefix == "org.42/objects/"
    assert usecase.scope().prefix == "objects/"
    assert str(usecase.for_project(42, 1337)) == "org=42;project=1337"
    assert str(usecase.scope()) == "_"
    assert usecase.for_project(1, 2).push("extra", "x") == usecase.scope().push("org", 1).push(
        "project", 2
    ).push("extra", "x")


def test_no_scope_prefix_is_a_prefix_of_another_scope() -> None:
    usecase = Usecase("u")
    scopes = [
        usecase.scope(),
        usecase.for_organization(1),
        usecase.for_organization(12),
        usecase.for_project(1, 2),
        usecase.scope().push("project", 2).push("org", 1),
        usecase.scope().push("objects", 1),
    ]
    prefixes = [scope.prefix for scope in scopes]
    assert len(set(prefixes)) == len(prefixes)
    for a in prefixes:
        for b in prefixes:
            if a != b:
                # A key in scope a (any string, '/' included) never lands in scope b.
                assert not b.startswith(a), (a, b)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("", 1),
        ("org", ""),
        ("org", "a/b"),
        ("org", "a.b"),
        ("org", "a=b"),
        ("or g", 1),
        ("org", "a;b"),
        ("org", "x" * 129),
        ("org", True),
        ("org", 1.5),
        ("org", None),
        (3, 1),
    ],
)
def test_bad_scope_components_are_typed_errors(key: Any, value: Any) -> None:
    with pytest.raises(natsobj.InvalidScopeError) as caught:
        Usecase("u").scope().push(key, value)
    assert isinstance(caught.value, natsobj.InvalidArgumentError)


def test_scope_allows_sentry_characters() -> None:
    scope = Usecase("u").scope().push("k_-()$!+'", "V-9")
    assert scope.components == (("k_-()$!+'", "V-9"),)


@pytest.mark.parametrize("name", ["", "a.b", "a/b", "a b", "ä"])
def test_bad_usecase_names(name: str) -> None:
    with pytest.raises(natsobj.InvalidBucketNameError):
        Usecase(name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compression": "gzip"}, "compression"),
        ({"compression": True}, "compression"),
        ({"expiration_policy": timedelta(seconds=5)}, "ExpirationPolicy"),
        ({"expiration_policy": "ttl:5s"}, "ExpirationPolicy"),
    ],
)
def test_bad_usecase_defaults(options: dict[str, Any], message: str) -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match=message):
        Usecase("u", **options)


# -- expiration policies ----------------------------------------------------------------


def test_policies_round_trip_as_text() -> None:
    for policy, text in [
        (ExpirationPolicy.manual(), "manual"),
        (ExpirationPolicy.time_to_live(30), "ttl:30s"),
        (ExpirationPolicy.time_to_idle(timedelta(seconds=2.5)), "tti:2.5s"),
        (ExpirationPolicy.time_to_idle(timedelta(days=7)), "tti:604800s"),
    ]:
        assert str(policy) == text
        assert ExpirationPolicy.parse(text) == policy


@pytest.mark.parametrize(
    "value", [0, 0.5, -1, timedelta(milliseconds=999), True, "5", None, float("inf"), 1e12]
)
def test_bad_durations(value: Any) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy.time_to_live(value)
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy.time_to_idle(value)


@pytest.mark.parametrize("text", ["", "ttl:", "ttl:5", "ttl:5m", "tti:0s", "foo:5s", "manual:5s"])
def test_bad_stored_policies(text: str) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy.parse(text)


def test_policy_kind_and_duration_must_agree() -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy("ttl")
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy("manual", timedelta(seconds=5))
    with pytest.raises(natsobj.InvalidArgumentError):
        ExpirationPolicy(cast(Any, "forever"), timedelta(seconds=5))


def test_deadlines() -> None:
    assert ExpirationPolicy.manual().deadline(NOW) is None
    assert ExpirationPolicy.time_to_live(10).deadline(NOW) == NOW + timedelta(seconds=10)
    assert not expired(None, NOW)
    assert expired(NOW, NOW)
    assert not expired(NOW + timedelta(microseconds=1), NOW)


def test_short_tti_is_renewed_after_a_quarter_of_it() -> None:
    # Sentry's flat 24 h debounce made every TTI of a day or less a fixed TTL.
    policy = ExpirationPolicy.time_to_idle(2)
    put_deadline = NOW + timedelta(seconds=2)
    assert policy.tti_debounce() == timedelta(seconds=0.5)
    assert not policy.needs_renewal(put_deadline, NOW + timedelta(seconds=0.4))
    assert policy.needs_renewal(put_deadline, NOW + timedelta(seconds=0.6))


def test_long_tti_debounce_is_capped_at_a_day() -> None:
    policy = ExpirationPolicy.time_to_idle(timedelta(days=30))
    assert policy.tti_debounce() == timedelta(hours=24)
    deadline = NOW + timedelta(days=30)
    assert not policy.needs_renewal(deadline, NOW + timedelta(hours=23))
    assert policy.needs_renewal(deadline, NOW + timedelta(hours=25))


def test_ttl_and_manual_are_never_renewed() -> None:
    deadline = NOW + timedelta(seconds=2)
    later = NOW + timedelta(seconds=1.9)
    assert not ExpirationPolicy.time_to_live(2).needs_renewal(deadline, later)
    assert not ExpirationPolicy.manual().needs_renewal(deadline, later)


# -- wire: message TTLs -----------------------------------------------------------------


def test_ttl_header_rounds_up_to_whole_seconds() -> None:
    assert wire.ttl_header(1) == "1s"
    assert wire.ttl_header(1.2) == "2s"
    assert wire.ttl_header(86400) == "86400s"
    with pytest.raises(natsobj.InvalidArgumentError):
        wire.ttl_header(0.5)


def test_stream_config_with_message_ttl() -> None:
    config = wire.stream_config(
        bucket="b",
        description=None,
        ttl_ns=0,
        max_bytes=None,
        storage="file",
        replicas=1,
        compression=False,
        message_ttl=True,
        placement=None,
        metadata=None,
    )
    assert config["allow_msg_ttl"] is True
    assert config["subject_delete_marker_ttl"] == 1_000_000_000
    plain = wire.stream_config(
        bucket="b",
        description=None,
        ttl_ns=0,
        max_bytes=None,
        storage="file",
        replicas=1,
        compression=False,
        placement=None,
        metadata=None,
    )
    assert "allow_msg_ttl" not in plain
    assert "subject_delete_marker_ttl" not in plain


# -- compression ------------------------------------------------------------------------


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


@pytest.mark.anyio
async def test_compress_round_trip_streams_in_blocks() -> None:
    data = bytes(range(256)) * 20_000  # 5 MB: several blocks, some in a worker thread
    stored = await _collect(compression.compress(data))
    assert len(stored) < len(data) // 10
    assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == data
    assert await _collect(compression.decompress(_pieces(stored, 1000), name="x")) == data


@pytest.mark.anyio
async def test_decompress_reads_across_frames() -> None:
    frames = zstandard.ZstdCompressor().compress(b"first ") + zstandard.ZstdCompressor().compress(
        b"second"
    )
    assert await _collect(compression.decompress(_pieces(frames, 7), name="x")) == b"first second"


@pytest.mark.anyio
async def test_decompress_refuses_what_is_not_zstd() -> None:
    with pytest.raises(natsobj.BadObjectMetaError, match="not valid zstd"):
        await _collect(compression.decompress(_pieces(b"plain text, not zstd", 5), name="x"))


@pytest.mark.parametrize("value", ["gzip", "", None, 1, "ZSTD"])
def test_bad_compression(value: Any) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        compression.validate_compression(value)


def test_accept_encoding() -> None:
    assert compression.validate_accept_encoding(None) == frozenset()
    assert compression.validate_accept_encoding("zstd") == {"zstd"}
    assert compression.validate_accept_encoding(["*"]) == {"*"}
    for bad in ["gzip", [], ["zstd", "br"], 5, [None]]:
        with pytest.raises(natsobj.InvalidArgumentError):
            compression.validate_accept_encoding(bad)


def test_missing_zstandard_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(natsobj.UnsupportedFeatureError, match=r"natsobj\[zstd\]"):
        compression.zstd()
