"""natsobj: an async object store on NATS JetStream, wire-compatible with ADR-20.

async with natsobj.EmbeddedServer() as server:
    async with natsobj.connect(server.url) as manager:
        store = await manager.create_object_store("files")
        await store.put("hello.txt", b"hello")
        print(await store.get_bytes("hello.txt"))
"""

from __future__ import annotations

from ._bucket._feed import ChangeFeed, FeedEvent, FeedStats
from ._bucket._feeds import FeedInfo
from ._bucket._index import ListingIndex
from ._bucket._listing import ObjectPage
from ._bucket._objects import DeleteResult
from ._bucket._sweep import OrphanChunks, SweepReport
from ._bucket._watch import ObjectWatcher
from ._errors import (
    BadObjectMetaError,
    BucketError,
    BucketExistsError,
    BucketFullError,
    BucketNotEmptyError,
    BucketNotFoundError,
    BucketSealedError,
    DigestMismatchError,
    ExpiryExtensionRejectedError,
    FeedNotFoundError,
    IncompleteObjectError,
    InvalidArgumentError,
    InvalidBucketNameError,
    InvalidMimeTypeError,
    InvalidObjectNameError,
    InvalidScopeError,
    JetStreamAPIError,
    LinkError,
    LinkIsBucketError,
    LinkNotAllowedError,
    LocalFileError,
    LocalFileNotFoundError,
    ManyOperationsError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    NoRespondersError,
    NotOpenError,
    ObjectError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    ObjectTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RangeNotSatisfiableError,
    ReadOnlyStoreError,
    ServerError,
    ServerUnavailableError,
    UnsupportedFeatureError,
    UpdateMetaDeletedError,
)
from ._expiration import ExpirationPolicy
from ._manager import ObjectStoreManager, connect
from ._models import (
    ObjectInfo,
    ObjectLink,
    ObjectMeta,
    ObjectMetaOptions,
    ObjectStoreConfig,
    ObjectStoreStatus,
    Placement,
)
from ._permissions import BucketPermissions, bucket_permissions
from ._policy import BucketPolicy
from ._sessions import (
    Compression,
    GetResponse,
    Many,
    ObjectMetadata,
    OperationResult,
    OperationResults,
    Scope,
    Session,
    SessionChange,
    SessionEvent,
    SessionFeed,
    SessionWatcher,
    Usecase,
)
from ._sizes import parse_size
from ._store import ObjectResult, ObjectStore
from .server import (
    EmbeddedCluster,
    EmbeddedLeafTopology,
    EmbeddedServer,
    EmbeddedServerError,
    EmbeddedSupercluster,
    ServerBinaryNotFoundError,
    ServerStartupError,
)

__version__ = "0.1.0"

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
    "EmbeddedCluster",
    "EmbeddedLeafTopology",
    "EmbeddedServer",
    "EmbeddedServerError",
    "EmbeddedSupercluster",
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
    "UnsupportedFeatureError",
    "UpdateMetaDeletedError",
    "Usecase",
    "__version__",
    "bucket_permissions",
    "connect",
    "parse_size",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("natsobj._"):
        _obj.__module__ = "natsobj"
del _name, _obj
