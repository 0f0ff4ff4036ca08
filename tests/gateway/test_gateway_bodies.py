"""Downloads on both sides of ``WHOLE_BODY_MAX`` (a body read whole and sent in one
piece, or streamed): the same bytes, headers, ranges and 304s either way, through the
Supabase and the Objectstore routes."""

from __future__ import annotations

import os
from email.utils import parsedate_to_datetime

import httpx
import pytest

import natsobj
from natsobj.gateway._bodies import WHOLE_BODY_MAX
from tests.conftest import unique_bucket

from .conftest import Gateway, token
from .objectstore_fixtures import unique_usecase

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {token('service_role')}"}
SIZES = (0, 1024, WHOLE_BODY_MAX, WHOLE_BODY_MAX + 1)  # the last: several chunks, streamed


async def test_supabase_downloads_either_side_of_the_whole_body_limit(
    gateway: Gateway, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = unique_bucket()
    await manager.create_object_store(bucket)
    async with httpx.AsyncClient(base_url=gateway.storage_url, headers=AUTH) as http:
        for size in SIZES:
            data = os.urandom(size)
            path = f"/object/{bucket}/o{size}"
            assert (await http.post(path, content=data)).status_code == 200
            got = await http.get(path)
            assert (got.status_code, got.content) == (200, data)
            assert got.headers["content-length"] == str(size)
            info = await (await manager.object_store(bucket)).get_info(f"o{size}")
            assert info.mtime is not None
            assert parsedate_to_datetime(got.headers["last-modified"]) == info.mtime.replace(
                microsecond=0
            )
            etag = got.headers["etag"]
            assert (await http.get(path, headers={"If-None-Match": etag})).status_code == 304
            head = await http.head(path)
            assert (head.status_code, head.headers["content-length"]) == (200, str(size))
            if size:
                part = await http.get(path, headers={"Range": "bytes=1-"})
                assert (part.status_code, part.content) == (206, data[1:])
                assert part.headers["content-range"] == f"bytes 1-{size - 1}/{size}"
    await manager.delete_object_store(bucket)


async def test_objectstore_downloads_either_side_of_the_whole_body_limit(
    gateway: Gateway, manager: natsobj.ObjectStoreManager
) -> None:
    usecase = unique_usecase()
    async with httpx.AsyncClient(base_url=f"{gateway.url}/v1/objects/{usecase}/_") as http:
        for size in SIZES:
            data = os.urandom(size)
            assert (await http.put(f"/o{size}", content=data)).status_code == 200
            got = await http.get(f"/o{size}")
            assert (got.status_code, got.content) == (200, data)
            assert got.headers["content-length"] == str(size)
            if size:
                part = await http.get(f"/o{size}", headers={"Range": "bytes=1-"})
                assert (part.status_code, part.content) == (206, data[1:])
    await manager.delete_object_store(usecase)
