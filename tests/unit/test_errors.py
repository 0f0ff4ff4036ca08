"""The error tree and the one place that turns nats-py exceptions into natsobj errors."""

from __future__ import annotations

import asyncio
import re

import nats.errors
import nats.js.errors
import pytest

import natsobj
import natsobj._errors
from natsobj._jetstream import map_nats_errors


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (nats.errors.TimeoutError(), natsobj.ObjectStoreTimeoutError),
        (TimeoutError("builtin"), natsobj.ObjectStoreTimeoutError),
        (nats.errors.NoRespondersError(), natsobj.NoRespondersError),
        (nats.errors.ConnectionClosedError(), natsobj.ServerUnavailableError),
        (nats.errors.ConnectionDrainingError(), natsobj.ServerUnavailableError),
        (nats.errors.ConnectionReconnectingError(), natsobj.ServerUnavailableError),
        (nats.errors.NoServersError(), natsobj.ServerUnavailableError),
        (nats.errors.StaleConnectionError(), natsobj.ServerUnavailableError),
        (nats.errors.OutboundBufferLimitError(), natsobj.ServerUnavailableError),
        (ConnectionRefusedError("refused"), natsobj.ServerUnavailableError),
        (nats.errors.Error("boom"), natsobj.ServerError),
        (nats.errors.BadSubjectError(), natsobj.ServerError),
        (nats.js.errors.APIError(code=500, description="oops"), natsobj.ServerError),
    ],
)
def test_map_nats_errors(error: Exception, expected: type[natsobj.ObjectStoreError]) -> None:
    with pytest.raises(natsobj.ObjectStoreError) as excinfo, map_nats_errors(bucket="b", name="n"):
        raise error
    raised = excinfo.value
    assert type(raised) is expected
    assert raised.__cause__ is error
    assert raised.bucket == "b"
    assert raised.name == "n"
    assert str(raised)


def test_mapped_errors_are_also_builtin_errors() -> None:
    with pytest.raises(TimeoutError), map_nats_errors():
        raise nats.errors.TimeoutError
    with pytest.raises(ConnectionError), map_nats_errors():
        raise nats.errors.NoRespondersError
    with pytest.raises(ConnectionError), map_nats_errors():
        raise nats.errors.ConnectionClosedError


def test_map_nats_errors_defaults_to_no_bucket_or_name() -> None:
    with pytest.raises(natsobj.ServerError) as excinfo, map_nats_errors():
        raise nats.errors.Error("boom")
    assert excinfo.value.bucket is None
    assert excinfo.value.name is None


@pytest.mark.parametrize(
    "error",
    [
        natsobj.ObjectNotFoundError("gone", bucket="x", name="y"),
        natsobj.BucketNotFoundError("no bucket", bucket="x"),
        natsobj.ObjectStoreTimeoutError("slow"),
        natsobj.JetStreamAPIError("api", code=400, err_code=10059),
    ],
)
def test_natsobj_errors_pass_through_unchanged(error: natsobj.ObjectStoreError) -> None:
    with pytest.raises(natsobj.ObjectStoreError) as excinfo, map_nats_errors(bucket="b", name="n"):
        raise error
    assert excinfo.value is error
    assert excinfo.value.__cause__ is None
    assert excinfo.value.bucket == error.bucket


@pytest.mark.parametrize("error", [KeyError("k"), ValueError("v"), RuntimeError("r")])
def test_other_exceptions_pass_through_unchanged(error: Exception) -> None:
    with pytest.raises(type(error)) as excinfo, map_nats_errors(bucket="b"):
        raise error
    assert excinfo.value is error


def test_cancellation_is_not_mapped() -> None:
    with pytest.raises(asyncio.CancelledError), map_nats_errors(bucket="b"):
        raise asyncio.CancelledError


def test_no_error_no_change() -> None:
    with map_nats_errors(bucket="b", name="n"):
        value = 1
    assert value == 1


def test_object_store_error_carries_bucket_and_name() -> None:
    error = natsobj.ObjectNotFoundError("object 'n' not found", bucket="b", name="n")
    assert error.bucket == "b"
    assert error.name == "n"
    assert str(error) == "object 'n' not found"
    bare = natsobj.ObjectStoreError("plain")
    assert bare.bucket is None
    assert bare.name is None
    assert str(bare) == "plain"


def test_jetstream_api_error_carries_codes() -> None:
    error = natsobj.JetStreamAPIError("stream not found", code=404, err_code=10059, bucket="b")
    assert (error.code, error.err_code, error.bucket, error.name) == (404, 10059, "b", None)
    assert isinstance(error, natsobj.ServerError)


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (natsobj.BucketNotFoundError, (natsobj.BucketError, LookupError)),
        (natsobj.BucketExistsError, (natsobj.BucketError,)),
        (natsobj.InvalidBucketNameError, (natsobj.BucketError, ValueError)),
        (natsobj.BucketSealedError, (natsobj.BucketError,)),
        (natsobj.ReadOnlyStoreError, (natsobj.BucketSealedError,)),
        (natsobj.BucketFullError, (natsobj.BucketError,)),
        (natsobj.ObjectNotFoundError, (natsobj.ObjectError, FileNotFoundError)),
        (natsobj.ObjectExistsError, (natsobj.ObjectError, FileExistsError)),
        (natsobj.InvalidObjectNameError, (natsobj.ObjectError, ValueError)),
        (natsobj.BadObjectMetaError, (natsobj.ObjectError,)),
        (natsobj.DigestMismatchError, (natsobj.ObjectError,)),
        (natsobj.IncompleteObjectError, (natsobj.ObjectError,)),
        (natsobj.NoLinkToDeletedError, (natsobj.LinkError,)),
        (natsobj.NoLinkToLinkError, (natsobj.LinkError,)),
        (natsobj.LinkNotAllowedError, (natsobj.LinkError,)),
        (natsobj.LinkIsBucketError, (natsobj.LinkError,)),
        (natsobj.LinkError, (natsobj.ObjectError,)),
        (natsobj.UpdateMetaDeletedError, (natsobj.ObjectError,)),
        (natsobj.InvalidArgumentError, (ValueError, TypeError)),
        (natsobj.RangeNotSatisfiableError, (natsobj.InvalidArgumentError,)),
        (natsobj.NotOpenError, (TypeError,)),
        (natsobj.LocalFileError, (OSError,)),
        (natsobj.LocalFileNotFoundError, (natsobj.LocalFileError, FileNotFoundError)),
        (natsobj.ServerUnavailableError, (natsobj.ServerError, ConnectionError)),
        (natsobj.NoRespondersError, (natsobj.ServerUnavailableError,)),
        (natsobj.ObjectStoreTimeoutError, (natsobj.ServerError, TimeoutError)),
        (natsobj.PermissionDeniedError, (natsobj.ServerError, PermissionError)),
        (natsobj.JetStreamAPIError, (natsobj.ServerError,)),
        (natsobj.EmbeddedServerError, (RuntimeError,)),
        (natsobj.ServerBinaryNotFoundError, (natsobj.EmbeddedServerError,)),
        (natsobj.ServerStartupError, (natsobj.EmbeddedServerError,)),
    ],
)
def test_error_tree(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    assert issubclass(cls, natsobj.ObjectStoreError)
    for base in bases:
        assert issubclass(cls, base), base


def test_the_drawn_tree_names_every_error() -> None:
    assert natsobj._errors.__doc__ is not None
    drawn = set(re.findall(r"[├└]── (\w+)", natsobj._errors.__doc__))
    exported = {
        name
        for name in natsobj.__all__
        if isinstance(getattr(natsobj, name), type)
        and issubclass(getattr(natsobj, name), natsobj.ObjectStoreError)
    }
    assert drawn == exported - {"ObjectStoreError"}


def test_object_not_found_is_caught_as_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        raise natsobj.ObjectNotFoundError("gone", bucket="b", name="n")
