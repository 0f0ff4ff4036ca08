"""natsobj.sync: the blocking facade, for scripts and notebooks.

    import natsobj.sync

    with natsobj.sync.EmbeddedServer() as server:
        with natsobj.sync.connect(server.url) as manager:
            store = manager.create_object_store("files")
            store.put("hello.txt", b"hello")
            print(store.get_bytes("hello.txt"))
            with store.get("hello.txt") as result:
                for chunk in result: ...

The same names, arguments, results and errors as the async API (``natsobj``), every
method blocking. Each ``connect`` (and each ``EmbeddedServer``) runs its own event loop in
a daemon thread; the async objects do the work there, so there is no second copy of the
logic. Reads, watchers and batches are ``with`` blocks whose objects iterate; leaving the
manager's ``with`` closes whatever is still open, the connection and the thread. Ctrl-C
while a call waits cancels that call. docs/sync.md has the details.

Models, errors and pure helpers are natsobj's own, re-exported here.
"""

from __future__ import annotations

from natsobj import (
    BadObjectMetaError as BadObjectMetaError,
)
from natsobj import (
    BucketError as BucketError,
)
from natsobj import (
    BucketExistsError as BucketExistsError,
)
from natsobj import (
    BucketFullError as BucketFullError,
)
from natsobj import (
    BucketNotEmptyError as BucketNotEmptyError,
)
from natsobj import (
    BucketNotFoundError as BucketNotFoundError,
)
from natsobj import (
    BucketPermissions as BucketPermissions,
)
from natsobj import (
    BucketPolicy as BucketPolicy,
)
from natsobj import (
    BucketSealedError as BucketSealedError,
)
from natsobj import (
    Compression as Compression,
)
from natsobj import (
    DeleteResult as DeleteResult,
)
from natsobj import (
    DigestMismatchError as DigestMismatchError,
)
from natsobj import (
    EmbeddedServerError as EmbeddedServerError,
)
from natsobj import (
    ExpirationPolicy as ExpirationPolicy,
)
from natsobj import (
    ExpiryExtensionRejectedError as ExpiryExtensionRejectedError,
)
from natsobj import (
    FeedInfo as FeedInfo,
)
from natsobj import (
    FeedNotFoundError as FeedNotFoundError,
)
from natsobj import (
    FeedStats as FeedStats,
)
from natsobj import (
    IncompleteObjectError as IncompleteObjectError,
)
from natsobj import (
    InvalidArgumentError as InvalidArgumentError,
)
from natsobj import (
    InvalidBucketNameError as InvalidBucketNameError,
)
from natsobj import (
    InvalidMimeTypeError as InvalidMimeTypeError,
)
from natsobj import (
    InvalidObjectNameError as InvalidObjectNameError,
)
from natsobj import (
    InvalidScopeError as InvalidScopeError,
)
from natsobj import (
    JetStreamAPIError as JetStreamAPIError,
)
from natsobj import (
    LinkError as LinkError,
)
from natsobj import (
    LinkIsBucketError as LinkIsBucketError,
)
from natsobj import (
    LinkNotAllowedError as LinkNotAllowedError,
)
from natsobj import (
    LocalFileError as LocalFileError,
)
from natsobj import (
    LocalFileNotFoundError as LocalFileNotFoundError,
)
from natsobj import (
    ManyOperationsError as ManyOperationsError,
)
from natsobj import (
    NoLinkToDeletedError as NoLinkToDeletedError,
)
from natsobj import (
    NoLinkToLinkError as NoLinkToLinkError,
)
from natsobj import (
    NoRespondersError as NoRespondersError,
)
from natsobj import (
    NotOpenError as NotOpenError,
)
from natsobj import (
    ObjectError as ObjectError,
)
from natsobj import (
    ObjectExistsError as ObjectExistsError,
)
from natsobj import (
    ObjectInfo as ObjectInfo,
)
from natsobj import (
    ObjectLink as ObjectLink,
)
from natsobj import (
    ObjectMeta as ObjectMeta,
)
from natsobj import (
    ObjectMetadata as ObjectMetadata,
)
from natsobj import (
    ObjectMetaOptions as ObjectMetaOptions,
)
from natsobj import (
    ObjectNotFoundError as ObjectNotFoundError,
)
from natsobj import (
    ObjectPage as ObjectPage,
)
from natsobj import (
    ObjectStoreConfig as ObjectStoreConfig,
)
from natsobj import (
    ObjectStoreError as ObjectStoreError,
)
from natsobj import (
    ObjectStoreStatus as ObjectStoreStatus,
)
from natsobj import (
    ObjectStoreTimeoutError as ObjectStoreTimeoutError,
)
from natsobj import (
    ObjectTooLargeError as ObjectTooLargeError,
)
from natsobj import (
    OperationResult as OperationResult,
)
from natsobj import (
    OrphanChunks as OrphanChunks,
)
from natsobj import (
    PermissionDeniedError as PermissionDeniedError,
)
from natsobj import (
    Placement as Placement,
)
from natsobj import (
    PreconditionFailedError as PreconditionFailedError,
)
from natsobj import (
    RangeNotSatisfiableError as RangeNotSatisfiableError,
)
from natsobj import (
    ReadOnlyStoreError as ReadOnlyStoreError,
)
from natsobj import (
    ServerBinaryNotFoundError as ServerBinaryNotFoundError,
)
from natsobj import (
    ServerError as ServerError,
)
from natsobj import (
    ServerStartupError as ServerStartupError,
)
from natsobj import (
    ServerUnavailableError as ServerUnavailableError,
)
from natsobj import (
    SessionEvent as SessionEvent,
)
from natsobj import (
    SweepReport as SweepReport,
)
from natsobj import (
    UnsupportedFeatureError as UnsupportedFeatureError,
)
from natsobj import (
    UpdateMetaDeletedError as UpdateMetaDeletedError,
)
from natsobj import (
    bucket_permissions as bucket_permissions,
)
from natsobj import (
    parse_size as parse_size,
)

from ._feeds import ChangeFeed, FeedEvent, SessionChange, SessionFeed
from ._server import EmbeddedServer
from ._sessions import (
    GetResponse,
    Many,
    OperationResults,
    Scope,
    Session,
    SessionWatcher,
    Usecase,
    UsecaseBucket,
)
from ._store import (
    ListingIndex,
    ObjectResult,
    ObjectStore,
    ObjectStoreManager,
    ObjectWatcher,
    ReadResult,
    SyncPutData,
    connect,
)

__all__ = [
    "BadObjectMetaError",
    "BucketError",
    "BucketExistsError",
    "BucketFullError",
    "BucketNotEmptyError",
    "BucketNotFoundError",
    "BucketPermissions",
    "BucketPolicy",
    "BucketSealedError",
    "ChangeFeed",
    "Compression",
    "DeleteResult",
    "DigestMismatchError",
    "EmbeddedServer",
    "EmbeddedServerError",
    "ExpirationPolicy",
    "ExpiryExtensionRejectedError",
    "FeedEvent",
    "FeedInfo",
    "FeedNotFoundError",
    "FeedStats",
    "GetResponse",
    "IncompleteObjectError",
    "InvalidArgumentError",
    "InvalidBucketNameError",
    "InvalidMimeTypeError",
    "InvalidObjectNameError",
    "InvalidScopeError",
    "JetStreamAPIError",
    "LinkError",
    "LinkIsBucketError",
    "LinkNotAllowedError",
    "ListingIndex",
    "LocalFileError",
    "LocalFileNotFoundError",
    "Many",
    "ManyOperationsError",
    "NoLinkToDeletedError",
    "NoLinkToLinkError",
    "NoRespondersError",
    "NotOpenError",
    "ObjectError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectLink",
    "ObjectMeta",
    "ObjectMetaOptions",
    "ObjectMetadata",
    "ObjectNotFoundError",
    "ObjectPage",
    "ObjectResult",
    "ObjectStore",
    "ObjectStoreConfig",
    "ObjectStoreError",
    "ObjectStoreManager",
    "ObjectStoreStatus",
    "ObjectStoreTimeoutError",
    "ObjectTooLargeError",
    "ObjectWatcher",
    "OperationResult",
    "OperationResults",
    "OrphanChunks",
    "PermissionDeniedError",
    "Placement",
    "PreconditionFailedError",
    "RangeNotSatisfiableError",
    "ReadOnlyStoreError",
    "ReadResult",
    "Scope",
    "ServerBinaryNotFoundError",
    "ServerError",
    "ServerStartupError",
    "ServerUnavailableError",
    "Session",
    "SessionChange",
    "SessionEvent",
    "SessionFeed",
    "SessionWatcher",
    "SweepReport",
    "SyncPutData",
    "UnsupportedFeatureError",
    "UpdateMetaDeletedError",
    "Usecase",
    "UsecaseBucket",
    "bucket_permissions",
    "connect",
    "parse_size",
]
