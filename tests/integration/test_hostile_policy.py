"""A bucket policy another client wrote by hand into the stream's metadata: entries
that cannot be read are ignored, never locking the bucket (``policy_from_metadata``)."""

from __future__ import annotations

import contextlib
import uuid

import pytest

import natsobj
from natsobj._policy import POLICY_METADATA_PREFIX
from natsobj._wire import stream_name

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("limit", ["²", "٣", "9" * 5000])
async def test_a_hand_written_size_limit_that_is_not_ascii_digits_is_ignored(
    manager: natsobj.ObjectStoreManager, limit: str
) -> None:
    bucket = f"p{uuid.uuid4().hex[:12]}"
    await manager.create_object_store(bucket)
    try:
        stream = stream_name(bucket)
        config = dict((await manager.js.stream_info(stream, bucket=bucket))["config"])
        metadata = {
            **(config.get("metadata") or {}),
            POLICY_METADATA_PREFIX + "file_size_limit": limit,
        }
        await manager.js.api(f"STREAM.UPDATE.{stream}", {**config, "metadata": metadata})
        store = await manager.object_store(bucket)
        assert store.policy.file_size_limit is None
        await store.put("a", b"bytes")
        assert await store.get_bytes("a") == b"bytes"
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)
