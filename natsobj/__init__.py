"""natsobj: an async object store on NATS JetStream, wire-compatible with ADR-20.

async with natsobj.EmbeddedServer() as server:
    async with natsobj.connect(server.url) as manager:
        store = await manager.create_object_store("files")
        await store.put("hello.txt", b"hello")
        print(await store.get_bytes("hello.txt"))
"""

from __future__ import annotations

from ._errors import (
    BadObjectMetaError,
    BucketError,
    BucketExistsError,
    BucketNotEmptyError,
    BucketNotFoundError,
    BucketSealedError,
    DigestMismatchError,
    IncompleteObjectError,
    InvalidArgumentError,
    InvalidBucketNameError,
    InvalidMimeTypeError,
    InvalidObjectNameError,
    JetStreamAPIError,
    LinkError,
    LinkIsBucketError,
    LinkNotAllowedError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    NoRespondersError,
    ObjectError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    ObjectTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    ServerError,
    ServerUnavailableError,
    UpdateMetaDeletedError,
)
from ._listing import ObjectPage
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
from ._objects import DeleteResult
from ._policy import BucketPolicy
from ._store import ObjectResult, ObjectStore
from ._watch import ObjectWatcher
from .server import (
    EmbeddedCluster,
    EmbeddedServer,
    EmbeddedServerError,
    ServerBinaryNotFoundError,
    ServerStartupError,
)

__version__ = "0.1.0"

__all__ = [
    "BadObjectMetaError",
    "BucketError",
    "BucketExistsError",
    "BucketNotEmptyError",
    "BucketNotFoundError",
    "BucketPolicy",
    "BucketSealedError",
    "DeleteResult",
    "DigestMismatchError",
    "EmbeddedCluster",
    "EmbeddedServer",
    "EmbeddedServerError",
    "IncompleteObjectError",
    "InvalidArgumentError",
    "InvalidBucketNameError",
    "InvalidMimeTypeError",
    "InvalidObjectNameError",
    "JetStreamAPIError",
    "LinkError",
    "LinkIsBucketError",
    "LinkNotAllowedError",
    "NoLinkToDeletedError",
    "NoLinkToLinkError",
    "NoRespondersError",
    "ObjectError",
    "ObjectExistsError",
    "ObjectInfo",
    "ObjectLink",
    "ObjectMeta",
    "ObjectMetaOptions",
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
    "PermissionDeniedError",
    "Placement",
    "PreconditionFailedError",
    "ServerBinaryNotFoundError",
    "ServerError",
    "ServerStartupError",
    "ServerUnavailableError",
    "UpdateMetaDeletedError",
    "__version__",
    "connect",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("natsobj._"):
        _obj.__module__ = "natsobj"
del _name, _obj
