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
    BucketFullError,
    BucketNotFoundError,
    BucketSealedError,
    DigestMismatchError,
    IncompleteObjectError,
    InvalidArgumentError,
    InvalidBucketNameError,
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
    PermissionDeniedError,
    ServerError,
    ServerUnavailableError,
    UpdateMetaDeletedError,
)
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
from ._store import ObjectResult, ObjectStore
from ._sweep import OrphanChunks, SweepReport
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
    "BucketFullError",
    "BucketNotFoundError",
    "BucketPermissions",
    "BucketSealedError",
    "DigestMismatchError",
    "EmbeddedCluster",
    "EmbeddedServer",
    "EmbeddedServerError",
    "IncompleteObjectError",
    "InvalidArgumentError",
    "InvalidBucketNameError",
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
    "ObjectResult",
    "ObjectStore",
    "ObjectStoreConfig",
    "ObjectStoreError",
    "ObjectStoreManager",
    "ObjectStoreStatus",
    "ObjectStoreTimeoutError",
    "ObjectWatcher",
    "OrphanChunks",
    "PermissionDeniedError",
    "Placement",
    "ServerBinaryNotFoundError",
    "ServerError",
    "ServerStartupError",
    "ServerUnavailableError",
    "SweepReport",
    "UpdateMetaDeletedError",
    "__version__",
    "bucket_permissions",
    "connect",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("natsobj._"):
        _obj.__module__ = "natsobj"
del _name, _obj
