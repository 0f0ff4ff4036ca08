"""natsobj.obstore: obspec's protocols over a natsobj bucket, so code written for obstore
works unchanged on NATS.

    from natsobj.obstore import ObstoreAdapter, SyncObstoreAdapter

    adapter = ObstoreAdapter(await manager.object_store("files"))     # the *Async protocols
    await adapter.put_async("a/b.bin", b"...", mode="create")
    result = await adapter.get_async("a/b.bin", options={"range": (0, 100)})

    sync_adapter = SyncObstoreAdapter(sync_manager.object_store("files"))  # natsobj.sync
    sync_adapter.get_ranges("a/b.bin", starts=[0, 50], ends=[10, 60])

Errors carry obspec's well-known names (``NotFoundError``, ``AlreadyExistsError``,
``PreconditionError``, ``NotModifiedError``, ``InvalidPathError``, ``NotSupportedError``,
``PermissionDeniedError``) and are natsobj errors too. docs/obstore.md has the mapping.
"""

from __future__ import annotations

from ._adapter import GetResult, ObstoreAdapter, object_meta
from ._errors import (
    AlreadyExistsError,
    InvalidPathError,
    NotFoundError,
    NotModifiedError,
    NotSupportedError,
    PermissionDeniedError,
    PreconditionError,
)
from ._sync import SyncGetResult, SyncObstoreAdapter

__all__ = [
    "AlreadyExistsError",
    "GetResult",
    "InvalidPathError",
    "NotFoundError",
    "NotModifiedError",
    "NotSupportedError",
    "ObstoreAdapter",
    "PermissionDeniedError",
    "PreconditionError",
    "SyncGetResult",
    "SyncObstoreAdapter",
    "object_meta",
]
