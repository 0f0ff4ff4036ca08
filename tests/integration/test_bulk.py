"""delete_many (a result per name) and delete_prefix (the folder delete Supabase lacks)."""

from __future__ import annotations

import anyio
import pytest

import natsobj

from ..conftest import chunk_counts

pytestmark = pytest.mark.anyio


async def put_all(store: natsobj.ObjectStore, names: list[str]) -> None:
    limiter = anyio.CapacityLimiter(32)

    async def put(name: str) -> None:
        async with limiter:
            await store.put(name, name.encode())

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(put, name)


async def test_delete_many_reports_each_name(store: natsobj.ObjectStore) -> None:
    await put_all(store, ["a", "b", "c"])
    await store.delete("c")
    results = await store.delete_many(["b", "missing", "a", "c"])
    assert [r.name for r in results] == ["b", "missing", "a", "c"]
    assert [r.ok for r in results] == [True, False, True, True]
    assert isinstance(results[1].error, natsobj.ObjectNotFoundError)
    assert results[0].info is not None
    assert results[0].info.deleted
    assert await store.list() == []
    assert await chunk_counts(store) == {}
    assert await store.delete_many([]) == []
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.delete_many("abc")


async def test_delete_prefix_removes_a_folder(store: natsobj.ObjectStore) -> None:
    inside = [f"tmp/{i:04d}" for i in range(1500)] + [f"tmp/deep/{i}" for i in range(50)]
    outside = ["tmp", "tmpfile", "keep/tmp/1", "other/0"]
    await put_all(store, inside + outside)
    results = await store.delete_prefix("tmp/")
    assert [r.name for r in results] == sorted(inside)
    assert all(r.ok for r in results)
    assert sorted(i.name for i in await store.list()) == sorted(outside)
    assert len(await chunk_counts(store)) == len(outside)
    assert await store.delete_prefix("tmp/") == []  # nothing live is left under it
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.delete_prefix("")
