"""natsobj's HTTP gateway (extra ``[gateway]``): Supabase Storage under ``/storage/v1``,
Sentry Objectstore under ``/v1``, ``/health`` and ``/ready``; served by ``natsobj serve``."""

from __future__ import annotations

from ._app import create_app
from ._objectstore_keys import (
    KEY_SET_BUCKET,
    ObjectstoreKey,
    add_objectstore_key,
    objectstore_keys,
    revoke_objectstore_key,
)

__all__ = [
    "KEY_SET_BUCKET",
    "ObjectstoreKey",
    "add_objectstore_key",
    "create_app",
    "objectstore_keys",
    "revoke_objectstore_key",
]
