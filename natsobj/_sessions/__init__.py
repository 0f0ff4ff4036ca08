"""The sessions wing: Sentry Objectstore's client model (usecases, scopes, sessions, batches,
scope watchers, zstd) on the public object-store API.

Modules import downward only: ``_compression`` and ``_scope`` (pure rules) <- ``_ops`` (the
operations, on a ``SessionContext``) <- ``_many``, ``_watch``, ``_feed`` <- ``_session``
(the facade).
"""

from __future__ import annotations

from ._compression import Compression
from ._feed import SessionChange, SessionFeed
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
    "SessionChange",
    "SessionEvent",
    "SessionFeed",
    "SessionWatcher",
    "Usecase",
]
