"""Bucket policy parsing and checks, as pure functions (no server)."""

from __future__ import annotations

import pytest

import natsobj
from natsobj._policy import (
    check_size_limit,
    content_type_headers,
    guess_content_type,
    mime_type_allowed,
    policy_from_metadata,
    policy_metadata,
    without_policy,
)


@pytest.mark.parametrize(
    ("content_type", "patterns", "allowed"),
    [
        ("image/png", ["image/*"], True),
        ("IMAGE/PNG", ["image/*"], True),
        ("image/png", ["image/png"], True),
        ("text/plain; charset=utf-8", ["text/plain"], True),
        ("image/png", ["image/jpeg"], False),
        ("imagex/png", ["image/*"], False),
        ("text/plain", [], False),
    ],
)
def test_mime_type_allowed(content_type: str, patterns: list[str], allowed: bool) -> None:
    assert mime_type_allowed(content_type, patterns) is allowed


def test_config_validates_policies() -> None:
    config = natsobj.ObjectStoreConfig.model_validate(
        {"bucket": "b", "file_size_limit": "1 MiB", "allowed_mime_types": [" Image/* "]}
    )
    assert (config.file_size_limit, config.allowed_mime_types) == (2**20, ["image/*"])
    for bad in ({"file_size_limit": -1}, {"file_size_limit": "1 pc"}, {"file_size_limit": True}):
        with pytest.raises(ValueError, match="file_size_limit"):
            natsobj.ObjectStoreConfig(bucket="b", **bad)
    for mimes in (["image"], ["*/*"], "image/png"):
        with pytest.raises(ValueError, match="allowed_mime_types"):
            natsobj.ObjectStoreConfig.model_validate({"bucket": "b", "allowed_mime_types": mimes})
    with pytest.raises(ValueError, match="natsobj"):
        natsobj.ObjectStoreConfig(bucket="b", metadata={"natsobj.public": "true"})


def test_policy_round_trips_through_stream_metadata() -> None:
    policy = natsobj.BucketPolicy.model_validate(
        {"public": True, "file_size_limit": "5MB", "allowed_mime_types": ["image/*", "text/plain"]}
    )
    metadata = {**policy_metadata(policy), "team": "x"}
    assert metadata["natsobj.allowed_mime_types"] == '["image/*","text/plain"]'
    assert policy_from_metadata(metadata) == policy
    assert without_policy(metadata) == {"team": "x"}
    assert policy_metadata(natsobj.BucketPolicy()) == {}


def test_unreadable_policy_entries_are_ignored() -> None:
    policy = policy_from_metadata(
        {"natsobj.file_size_limit": "lots", "natsobj.allowed_mime_types": "{"}
    )
    assert policy == natsobj.BucketPolicy()


def test_content_type_headers() -> None:
    assert guess_content_type("a/b.png") == "image/png"
    assert guess_content_type("noext") == "application/octet-stream"
    assert content_type_headers({}, "a.txt", None, store_guess=False) == ({}, "text/plain")
    assert content_type_headers({}, "a.txt", None, store_guess=True) == (
        {"Content-Type": ["text/plain"]},
        "text/plain",
    )
    headers, content_type = content_type_headers(
        {"content-type": ["text/csv"], "X": ["1"]}, "a.txt", "application/json", store_guess=False
    )
    assert headers == {"Content-Type": ["application/json"], "X": ["1"]}
    assert content_type == "application/json"
    assert content_type_headers({"content-type": ["text/csv"]}, "a.txt", None, store_guess=True)[
        1
    ] == ("text/csv")


@pytest.mark.parametrize("limit", [0, 1, 1000, 2**40])
def test_size_limit_boundaries(limit: int) -> None:
    # The limit itself is allowed; one byte more is not.
    check_size_limit(limit, limit, bucket="b", name="n")
    with pytest.raises(natsobj.ObjectTooLargeError) as caught:
        check_size_limit(limit, limit + 1, bucket="b", name="n")
    assert (caught.value.limit, caught.value.bucket, caught.value.name) == (limit, "b", "n")
    check_size_limit(None, 2**62, bucket="b", name="n")  # no limit
