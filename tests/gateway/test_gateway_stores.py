"""The gateway reuses a bucket's handle for at most a second (``natsobj.gateway._stores``):
a deleted bucket is still 404 NoSuchBucket at once, and a policy change made by another
client still applies within a second; a burst of requests opens a bucket once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

import natsobj
from natsobj.gateway._stores import STORE_MAX_AGE, _Stores
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


class _CountingManager:
    """A real manager whose bucket openings are counted (and held back until released);
    ``got`` collects what ``ask`` obtained from the ``stores`` in front of it."""

    def __init__(self, manager: natsobj.ObjectStoreManager, bucket: str) -> None:
        self.manager = manager
        self.bucket = bucket
        self.openings = 0
        self.release = anyio.Event()
        self.stores = _Stores(self)  # type: ignore[arg-type]
        self.got: list[natsobj.ObjectStore] = []

    async def object_store(self, bucket: str) -> natsobj.ObjectStore:
        self.openings += 1
        await self.release.wait()
        return await self.manager.object_store(bucket)

    async def ask(self) -> None:
        self.got.append(await self.stores.get(self.bucket))


@pytest.fixture
async def counting(manager: natsobj.ObjectStoreManager) -> AsyncIterator[_CountingManager]:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    yield _CountingManager(manager, bucket)
    await manager.delete_object_store(bucket)


async def test_a_burst_of_requests_opens_a_bucket_once(counting: _CountingManager) -> None:
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(counting.ask)
            await anyio.sleep(0.05)
            counting.release.set()
    assert counting.openings == 1
    assert len(counting.got) == 50
    assert all(store is counting.got[0] for store in counting.got)


async def test_requests_waiting_on_a_cancelled_opening_open_for_themselves(
    counting: _CountingManager, manager: natsobj.ObjectStoreManager
) -> None:
    opener = anyio.CancelScope()

    async def open_until_cancelled() -> None:
        with opener:
            await counting.ask()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(open_until_cancelled)
            await anyio.sleep(0.05)
            tg.start_soon(counting.ask)  # waits for the opening under way
            await anyio.sleep(0.05)
            assert counting.openings == 1
            opener.cancel()
            await anyio.sleep(0.05)
            assert counting.openings == 2  # the waiter opened for itself
            counting.release.set()
    assert len(counting.got) == 1
    with pytest.raises(natsobj.BucketNotFoundError):
        await _Stores(manager).get(unique_bucket())
