"""The Supabase list routes answer from one live listing index per bucket and worker:
writes made by other connections show at once, a deleted bucket is a 404 again."""

from __future__ import annotations

import uuid

import httpx
import pytest
from starlette.applications import Starlette

import natsobj
from natsobj.gateway import create_app

from .conftest import SECRET, serving, token

pytestmark = pytest.mark.anyio


async def test_lists_from_a_live_index(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = f"g{uuid.uuid4().hex[:12]}"
    store = await manager.create_object_store(bucket)
    await store.put("dir/a.txt", b"a")
    app: Starlette = create_app(server.url, jwt_secret=SECRET)
    headers = {"Authorization": f"Bearer {token('service_role')}"}
    async with (
        serving(app) as gateway,
        httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http,
    ):

        async def names(path: str, body: dict[str, object]) -> list[str]:
            answer = await http.post(f"{path}/{bucket}", json=body, headers=headers)
            assert answer.status_code == 200, answer.text
            rows = answer.json()
            rows = rows if isinstance(rows, list) else rows["objects"] + rows["folders"]
            return [row["name"] for row in rows]

        assert await names("/object/list", {"prefix": "dir"}) == ["a.txt"]
        index = app.state.indexes._open[bucket]
        # Written through another connection, listed at once (max_staleness=0).
        await store.put("dir/b.txt", b"b")
        assert await names("/object/list", {"prefix": "dir"}) == ["a.txt", "b.txt"]
        assert await names("/object/list-v2", {"prefix": "dir/"}) == [
            "dir/a.txt",
            "dir/b.txt",
        ]
        assert app.state.indexes._open[bucket] is index  # one per bucket
        await store.delete("dir/a.txt")
        assert await names("/object/list", {"prefix": "dir"}) == ["b.txt"]
        await manager.delete_object_store(bucket)
        gone = await http.post(f"/object/list/{bucket}", json={}, headers=headers)
        assert gone.status_code in (400, 404), gone.text
        assert "not found" in gone.text.lower()
        # Listings of buckets that do not exist leave nothing behind in the worker.
        for n in range(20):
            missing = await http.post(f"/object/list/nobucket{n}", json={}, headers=headers)
            assert missing.status_code in (400, 404), missing.text
        assert not any(name.startswith("nobucket") for name in app.state.indexes._opening)
    assert not index.usable  # closed on shutdown
