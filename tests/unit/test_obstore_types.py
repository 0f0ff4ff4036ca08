"""The obstore adapters satisfy obspec's protocols: checked by mypy (this file is in
``make check``), their error names by obspec's own ``map_exception``."""

from __future__ import annotations

import obspec
import obspec.exceptions
import pytest

import natsobj
from natsobj.obstore import (
    AlreadyExistsError,
    InvalidPathError,
    NotFoundError,
    NotModifiedError,
    NotSupportedError,
    ObstoreAdapter,
    PermissionDeniedError,
    PreconditionError,
    SyncObstoreAdapter,
)


def as_protocols(adapter: ObstoreAdapter, sync: SyncObstoreAdapter) -> list[object]:
    """Assigning the adapters to each (async, sync) pair of obspec protocol types: mypy
    fails if one is unmet."""
    get: tuple[obspec.GetAsync, obspec.Get] = (adapter, sync)
    get_range: tuple[obspec.GetRangeAsync, obspec.GetRange] = (adapter, sync)
    get_ranges: tuple[obspec.GetRangesAsync, obspec.GetRanges] = (adapter, sync)
    put: tuple[obspec.PutAsync, obspec.Put] = (adapter, sync)
    head: tuple[obspec.HeadAsync, obspec.Head] = (adapter, sync)
    listing: tuple[obspec.ListAsync, obspec.List] = (adapter, sync)
    delimited: tuple[obspec.ListWithDelimiterAsync, obspec.ListWithDelimiter] = (adapter, sync)
    delete: tuple[obspec.DeleteAsync, obspec.Delete] = (adapter, sync)
    copy: tuple[obspec.CopyAsync, obspec.Copy] = (adapter, sync)
    rename: tuple[obspec.RenameAsync, obspec.Rename] = (adapter, sync)
    return [get, get_range, get_ranges, put, head, listing, delimited, delete, copy, rename]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (NotFoundError, obspec.exceptions.NotFoundError),
        (AlreadyExistsError, obspec.exceptions.AlreadyExistsError),
        (PreconditionError, obspec.exceptions.PreconditionError),
        (NotModifiedError, obspec.exceptions.NotModifiedError),
        (InvalidPathError, obspec.exceptions.InvalidPathError),
        (NotSupportedError, obspec.exceptions.NotSupportedError),
        (PermissionDeniedError, obspec.exceptions.PermissionDeniedError),
    ],
)
def test_errors_map_to_obspec_names(
    ours: type[natsobj.ObjectStoreError], theirs: type[Exception]
) -> None:
    assert issubclass(ours, natsobj.ObjectStoreError)
    assert isinstance(obspec.exceptions.map_exception(ours("x")), theirs)


def test_not_found_is_also_file_not_found() -> None:
    assert issubclass(NotFoundError, FileNotFoundError)
    assert issubclass(NotFoundError, natsobj.ObjectNotFoundError)


def test_every_protocol_method_is_there() -> None:
    for protocol in (obspec.GetAsync, obspec.PutAsync, obspec.ListAsync, obspec.CopyAsync):
        for name in vars(protocol):
            if not name.startswith("_"):
                assert callable(getattr(ObstoreAdapter, name)), name
    for sync_protocol in (obspec.Get, obspec.Put, obspec.List, obspec.Rename):
        for name in vars(sync_protocol):
            if not name.startswith("_"):
                assert callable(getattr(SyncObstoreAdapter, name)), name
