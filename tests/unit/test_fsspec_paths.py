"""The pure parts of the fsspec filesystem: paths, entries, server URLs, errors."""

from __future__ import annotations

import errno
import hashlib

import pytest

import natsobj
from natsobj._wire import encode_digest
from natsobj.fsspec._connection import DEFAULT_URL, connect_options, servers_from
from natsobj.fsspec._paths import (
    digest_int,
    file_entry,
    fs_errors,
    parents_within,
    split_path,
)


def test_split_path() -> None:
    assert split_path("") == ("", "")
    assert split_path("b") == ("b", "")
    assert split_path("b/a/x.txt") == ("b", "a/x.txt")
    assert split_path("/b/a/") == ("b", "a")


def test_parents_within() -> None:
    assert list(parents_within("x", None)) == []
    assert list(parents_within("a/b/x", None)) == ["a", "a/b"]
    assert list(parents_within("a/b/x", 1)) == ["a"]


def test_entries_of_objects_and_links() -> None:
    digest = encode_digest(hashlib.sha256(b"data").digest())
    target = natsobj.ObjectInfo(name="t", bucket="other", size=4, digest=digest, nuid="N")
    to_target = natsobj.ObjectLink(bucket="other", name="t")
    link = natsobj.ObjectInfo(
        name="d/l", bucket="b", options=natsobj.ObjectMetaOptions(link=to_target)
    )
    entry = file_entry("b", link, target)
    assert (entry["name"], entry["type"], entry["size"]) == ("b/d/l", "file", 4)
    assert (entry["link"], entry["nuid"]) == ("other/t", "N")
    assert digest_int(entry) == int.from_bytes(hashlib.sha256(b"data").digest(), "big")
    to_bucket = natsobj.ObjectMetaOptions(link=natsobj.ObjectLink(bucket="other"))
    whole = natsobj.ObjectInfo(name="bl", bucket="b", options=to_bucket)
    assert file_entry("b", whole, None)["type"] == "other"
    assert digest_int({"digest": ""}) is None


def test_servers() -> None:
    assert servers_from(None, {}) == [DEFAULT_URL]
    assert servers_from(None, {"NATS_URL": "nats://a:1, nats://b:2"}) == [
        "nats://a:1",
        "nats://b:2",
    ]
    assert servers_from(["nats://c:3"], {"NATS_URL": "nats://a:1"}) == ["nats://c:3"]
    for bad in ("", " , ", [1], 5):
        with pytest.raises(natsobj.InvalidArgumentError):
            servers_from(bad, {})  # type: ignore[arg-type]
    assert connect_options({"user": "u"}, 2.0) == {
        "user": "u",
        "timeout": 2.0,
        "flush_timeout": 2.0,
    }


def test_errors_become_builtins() -> None:
    forgotten: list[str] = []
    with pytest.raises(FileNotFoundError) as missing, fs_errors("b/x", forgotten.append):
        raise natsobj.BucketNotFoundError("gone", bucket="b")
    assert (missing.value.errno, missing.value.filename, forgotten) == (errno.ENOENT, "b/x", ["b"])
    with pytest.raises(PermissionError), fs_errors("b/x"):
        raise natsobj.BucketSealedError("sealed", bucket="b")
    with pytest.raises(OSError, match="not empty") as full, fs_errors("b"):
        raise natsobj.BucketNotEmptyError("not empty", bucket="b")
    assert full.value.errno == errno.ENOTEMPTY
