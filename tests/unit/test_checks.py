"""The argument checks every public call applies, and models that raise natsobj's errors."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import natsobj
from natsobj._checks import check_headers, check_local_path, check_metadata
from natsobj._errors import local_file_error
from natsobj._models import check_meta
from natsobj.cli._errors import ExitCode, classify


@pytest.mark.parametrize("value", [{"k": 1}, {1: "v"}, {"k": "\ud800"}, ["k"], "k=v"], ids=repr)
def test_metadata_must_map_str_to_str(value: Any) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        check_metadata(value)


def test_headers_take_lists_of_str() -> None:
    assert check_headers({"K": "v", "L": ("a", "b")}) == {"K": ["v"], "L": ["a", "b"]}
    assert check_headers(None) == {}
    for bad in ({"K": 1}, {"K": [1]}, {1: ["v"]}, ["K"]):
        with pytest.raises(natsobj.InvalidArgumentError):
            check_headers(bad)


def test_local_paths() -> None:
    assert str(check_local_path("a/b")) == "a/b"
    for bad in (b"a", "a\x00b", 5):
        with pytest.raises(natsobj.InvalidArgumentError):
            check_local_path(bad)


def test_models_raise_natsobj_errors() -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match=r"metadata\.k"):
        natsobj.ObjectMeta(name="a", metadata={"k": 1})  # type: ignore[dict-item]
    # An error a validator raised comes out as itself.
    with pytest.raises(natsobj.InvalidBucketNameError):
        natsobj.ObjectStoreConfig(bucket="a.b")
    # Callers' configs are strict: "3" is not 3, "no" is not False.
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.ObjectStoreConfig(bucket="b", replicas="3")  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.ObjectStoreConfig(bucket="b", compression="no")  # type: ignore[arg-type]
    # Reading metas from the wire keeps pydantic's (fast) path and BadObjectMetaError.
    with pytest.raises(natsobj.BadObjectMetaError):
        natsobj.ObjectInfo.from_message(b'{"name": "a", "metadata": {"k": 1}}')


def test_check_meta_checks_what_model_copy_let_through() -> None:
    meta = natsobj.ObjectMeta(name="a").model_copy(update={"metadata": {"k": 1}})
    with pytest.raises(natsobj.InvalidArgumentError):
        check_meta(meta)
    with pytest.raises(natsobj.InvalidObjectNameError):
        check_meta(natsobj.ObjectMeta(name="a").model_copy(update={"name": ""}))
    with pytest.raises(natsobj.InvalidArgumentError, match="deleted"):
        check_meta(natsobj.ObjectMeta(name="a", deleted=True))  # type: ignore[call-arg]
    with pytest.raises(natsobj.InvalidArgumentError):
        check_meta(natsobj.ObjectMeta(name="a", extra=object()))  # type: ignore[call-arg]
    # An ObjectInfo gives its ObjectMeta fields and unknown keys, not what the store set.
    info = natsobj.ObjectInfo(name="a", nuid="N", size=5, deleted=True, custom="kept")  # type: ignore[call-arg]
    checked = check_meta(info)
    assert type(checked) is natsobj.ObjectMeta
    assert checked.model_dump() == {
        "name": "a",
        "description": "",
        "headers": {},
        "metadata": {},
        "options": None,
        "custom": "kept",
    }


def test_local_file_errors_keep_the_os_details() -> None:
    missing = local_file_error(FileNotFoundError(errno.ENOENT, "No such file", "/x"), "cannot read")
    assert isinstance(missing, natsobj.LocalFileNotFoundError)
    assert isinstance(missing, FileNotFoundError)
    assert (missing.errno, missing.filename) == (errno.ENOENT, "/x")
    assert str(missing) == "cannot read: No such file"
    denied = local_file_error(PermissionError(errno.EACCES, "Permission denied"), "cannot write")
    assert type(denied) is natsobj.LocalFileError
    assert isinstance(denied, OSError)
    # The CLI's exit codes: a missing local file is bad input, other local I/O an error.
    assert (classify(missing), classify(denied)) == (ExitCode.BAD_INPUT, ExitCode.ERROR)
