"""The gateway reuses a bucket's handle for at most a second (``natsobj.gateway._stores``):
a deleted bucket is still 404 NoSuchBucket at once, and a policy change made by another
client still applies within a second."""

from __future__ import annotations

import anyio
import httpx
import pytest

import natsobj
from natsobj.gateway._stores import STORE_MAX_AGE
from tests.conftest import unique_bucket

from .conftest import Gateway, token

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {token('service_role')}"}


async def test_a_deleted_bucket_is_not_found_at_once(
    gateway: Gateway, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    path = f"/object/{bucket}/a.txt"
    async with httpx.AsyncClient(base_url=gateway.storage_url, headers=AUTH) as http:
        assert (await http.post(path, content=b"hello")).status_code == 200
        got = await http.get(path)
        assert (got.status_code, got.content) == (200, b"hello")
        await manager.delete_object_store(bucket)
        at_once = await http.get(path)
        # The handle kept for up to a second reads from a stream that is gone: NATS says
        # so, and the answer is Supabase's "no such bucket" at once.
        assert (at_once.status_code, at_once.json()["statusCode"]) == (400, "404")
        assert at_once.json()["code"] == "NoSuchBucket"
        assert (await http.post(path, content=b"again")).json()["code"] == "NoSuchBucket"


async def test_a_size_limit_set_elsewhere_applies_within_a_second(
    gateway: Gateway, manager: natsobj.ObjectStoreManager, server: natsobj.EmbeddedServer
) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    async with httpx.AsyncClient(base_url=gateway.storage_url, headers=AUTH) as http:
        assert (await http.put(f"/object/{bucket}/a", content=b"x" * 100)).status_code == 200
        async with natsobj.connect(server.url) as other:  # another client: not this manager
            await other.update_bucket(bucket, file_size_limit=10)
        await anyio.sleep(STORE_MAX_AGE + 0.2)
        refused = await http.put(f"/object/{bucket}/b", content=b"x" * 100)
        assert refused.json()["statusCode"] == "413", refused.text
    await manager.delete_object_store(bucket)
