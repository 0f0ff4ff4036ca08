"""The blocking sessions wing: usecases, scopes, sessions, batches and session watches,
each over its async twin (whose docstrings say what the operations guarantee)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Unpack

import natsobj
from natsobj import (
    Compression,
    ExpirationPolicy,
    InvalidArgumentError,
    OperationResult,
    SessionEvent,
)
from natsobj._sessions._scope import SessionPutOptions

from ._client import Resource, Wrapper, blocking, opening
from ._feeds import SessionFeed
from ._store import ObjectStore, ObjectStoreManager, ReadResult, SyncPutData, put_data

__all__ = [
    "GetResponse",
    "Many",
    "OperationResults",
    "Scope",
    "Session",
    "SessionWatcher",
    "Usecase",
    "UsecaseBucket",
]


class Usecase:
    """A namespace with its own defaults (see ``natsobj.Usecase``); pure, no I/O."""

    def __init__(
        self,
        name: str,
        *,
        expiration_policy: ExpirationPolicy | None = None,
        compression: Compression | None = None,
    ):
        self._async = natsobj.Usecase(
            name, expiration_policy=expiration_policy, compression=compression
        )

    def __repr__(self) -> str:
        return f"sync.{self._async!r}"

    @property
    def name(self) -> str:
        return self._async.name

    @property
    def expiration_policy(self) -> ExpirationPolicy | None:
        return self._async.expiration_policy

    @property
    def compression(self) -> Compression | None:
        return self._async.compression

    def scope(self) -> Scope:
        """The empty scope: objects of the usecase as a whole."""
        return Scope(self, self._async.scope())

    def for_organization(self, org: int | str) -> Scope:
        """The scope ``org=<org>``."""
        return Scope(self, self._async.for_organization(org))

    def for_project(self, org: int | str, project: int | str) -> Scope:
        """The scope ``org=<org>/project=<project>``."""
        return Scope(self, self._async.for_project(org, project))


class Scope:
    """An ordered path of ``key=value`` components within a usecase (see
    ``natsobj.Scope``); pure, no I/O. Get one from ``Usecase.scope()`` and friends."""

    def __init__(self, usecase: Usecase, scope: natsobj.Scope):
        self.usecase = usecase
        self._async = scope

    def __repr__(self) -> str:
        return f"sync.{self._async!r}"

    def __str__(self) -> str:
        return str(self._async)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scope) and self._async == other._async

    def __hash__(self) -> int:
        return hash(self._async)

    @property
    def components(self) -> tuple[tuple[str, str], ...]:
        return self._async.components

    @property
    def prefix(self) -> str:
        return self._async.prefix

    def push(self, key: str, value: int | str) -> Scope:
        """This scope with ``key=value`` appended (InvalidScopeError for a bad one)."""
        return Scope(self.usecase, self._async.push(key, value))

    def session(self, manager: ObjectStoreManager) -> Session:
        """A blocking session for this usecase and scope over ``manager``'s connection."""
        return Session(manager, self)


@dataclass(frozen=True)
class UsecaseBucket:
    """A usecase's opened bucket and the defaults stored with it."""

    store: ObjectStore
    compression: Compression
    expiration_policy: ExpirationPolicy


class GetResponse(ReadResult):
    """A streaming session get: ``with session.get(key) as response``, then
    ``for chunk in response`` or ``response.read()``; ``metadata`` and ``encoding``."""

    _async: natsobj.GetResponse

    @property
    def metadata(self) -> natsobj.ObjectMetadata:
        return self._async.metadata

    @property
    def encoding(self) -> Compression:
        return self._async.encoding


class SessionWatcher(Resource[natsobj.SessionWatcher]):
    """``with session.watch() as watcher: for event in watcher``."""

    def __iter__(self) -> Iterator[SessionEvent | None]:
        return self

    def __next__(self) -> SessionEvent | None:
        event: SessionEvent | None = self._next_item()
        return event

    stop = blocking(natsobj.SessionWatcher.stop)

    @property
    def include_history(self) -> bool:
        return self._async.include_history

    @property
    def ignore_deletes(self) -> bool:
        return self._async.ignore_deletes

    @property
    def updates_only(self) -> bool:
        return self._async.updates_only


class OperationResults(Resource[natsobj.OperationResults]):
    """The results of a sent batch, as they complete: ``with many.send() as results:
    for result in results``; leaving the block cancels what is left."""

    def __iter__(self) -> Iterator[OperationResult]:
        return self

    def __next__(self) -> OperationResult:
        result: OperationResult = self._next_item()
        return result

    error_for_failures = blocking(natsobj.OperationResults.error_for_failures)


class Many(Wrapper[natsobj.Many]):
    """Operations queued on a session (``session.many()``), sent together; each queueing
    method checks its arguments at once and returns the batch, so calls chain."""

    def __len__(self) -> int:
        return len(self._async)

    @property
    def max_concurrency(self) -> int:
        return self._async.max_concurrency

    def put(
        self, contents: SyncPutData, key: str | None = None, **options: Unpack[SessionPutOptions]
    ) -> Many:
        """Queue a put (as ``Session.put``)."""
        self._async.put(put_data(contents), key, **options)
        return self

    def get(
        self, key: str, *, decompress: bool = True, accept_encoding: str | list[str] | None = None
    ) -> Many:
        """Queue a get; its result carries the metadata and the whole payload."""
        self._async.get(key, decompress=decompress, accept_encoding=accept_encoding)
        return self

    def head(self, key: str) -> Many:
        """Queue a head."""
        self._async.head(key)
        return self

    def delete(self, key: str) -> Many:
        """Queue a delete (of a missing key too: that is not an error)."""
        self._async.delete(key)
        return self

    send = opening(natsobj.Many.send, OperationResults)
    error_for_failures = blocking(natsobj.Many.error_for_failures)


class Session(Wrapper[natsobj.Session]):
    """A usecase and scope over one connection (see ``natsobj.Session``), blocking."""

    def __init__(self, manager: ObjectStoreManager, scope: Scope):
        if not isinstance(manager, ObjectStoreManager):
            raise InvalidArgumentError(
                f"a sync session needs a natsobj.sync manager (natsobj.sync.connect), got"
                f" {manager!r}"
            )
        if not isinstance(scope, Scope):
            raise InvalidArgumentError(f"a sync session needs a natsobj.sync Scope, got {scope!r}")
        super().__init__(manager._client, natsobj.Session(manager._async, scope._async))
        self.manager = manager
        self.scope = scope
        self.usecase = scope.usecase

    def object_name(self, key: str) -> str:
        """The object-store name that holds ``key`` in this scope."""
        return self._async.object_name(key)

    def bucket(self) -> UsecaseBucket:
        """The usecase's bucket and its stored defaults (opened once per connection)."""
        opened = self._client.call(self._async.bucket)
        return UsecaseBucket(
            ObjectStore(self._client, opened.store), opened.compression, opened.expiration_policy
        )

    def put(
        self, contents: SyncPutData, key: str | None = None, **options: Unpack[SessionPutOptions]
    ) -> str:
        """As ``natsobj.Session.put``; ``contents`` may also be a sync iterable of bytes."""
        return self._client.call(self._async.put, put_data(contents), key, **options)

    prefetch = blocking(natsobj.Session.prefetch)
    get = opening(natsobj.Session.get, GetResponse)
    get_bytes = blocking(natsobj.Session.get_bytes)
    head = blocking(natsobj.Session.head)
    list = blocking(natsobj.Session.list)
    delete = blocking(natsobj.Session.delete)
    extend_expiry = blocking(natsobj.Session.extend_expiry)
    watch = opening(natsobj.Session.watch, SessionWatcher)
    changes = opening(natsobj.Session.changes, SessionFeed)

    def many(self, *, max_concurrency: int | None = None) -> Many:
        """A batch of puts, gets, heads and deletes (see ``natsobj.Session.many``)."""
        return Many(self._client, self._async.many(max_concurrency=max_concurrency))
