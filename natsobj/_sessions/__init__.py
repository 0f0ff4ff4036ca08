"""The sessions wing: Sentry Objectstore's client model (usecases, scopes, sessions, batches,
scope watchers, zstd) on the public object-store API.

Modules import downward only: ``_compression`` and ``_scope`` (pure rules) <- ``_ops`` (the
operations, on a ``SessionContext``) <- ``_many``, ``_watch`` <- ``_session`` (the facade).
"""

from __future__ import annotations

from ._compression import Compression
from ._many import Many, OperationResult, OperationResults
from ._ops import GetResponse
from ._scope import ObjectMetadata
from ._session import Scope, Session, Usecase
from ._watch import SessionEvent, SessionWatcher

__all__ = [
    "Compression",
    "GetResponse",
    "Many",
    "ObjectMetadata",
    "OperationResult",
    "OperationResults",
    "Scope",
    "Session",
    "SessionEvent",
    "SessionWatcher",
    "Usecase",
]
