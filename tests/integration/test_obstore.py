"""natsobj.obstore: obspec's operations on a real bucket (async adapter), and the sync
adapter through natsobj.sync."""

from __future__ import annotations

import array
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import obspec.exceptions
import pytest

import natsobj
import natsobj.sync as ns
from natsobj.obstore import (
    AlreadyExistsError,
    NotFoundError,
    NotModifiedError,
    NotSupportedError,
    ObstoreAdapter,
    PreconditionError,
    SyncObstoreAdapter,
)

DATA = bytes(range(256)) * 1000  # 256,000 bytes


@pytest.fixture
def adapter(store: natsobj.ObjectStore) -> ObstoreAdapter:
    return ObstoreAdapter(store)


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([bytes(chunk) async for chunk in chunks])


@pytest.mark.anyio
async def test_put_get_head(adapter: ObstoreAdapter, tmp_path: Path) -> None:
    put = await adapter.put_async(
        "a/b.bin", DATA, attributes={"Content-Type": "application/x-test"}, tags={"t": "1"}
    )
    head = await adapter.head_async("a/b.bin")
    assert head["path"] == "a/b.bin"
    assert head["size"] == len(DATA)
    assert head["e_tag"] == put["e_tag"]
    assert head["version"] is None
    result = await adapter.get_async("a/b.bin")
    assert result.meta == head
    assert result.range == (0, len(DATA))
    assert result.attributes == {"Content-Type": "application/x-test"}
    assert await _collect(aiter(result)) == DATA
    assert await _collect(aiter(result)) == b""  # the bytes come once
    assert (await adapter.store.get_info("a/b.bin")).metadata == {"t": "1"}
    assert bytes(await (await adapter.get_async("a/b.bin")).buffer_async()) == DATA
    # Every input obspec allows: a file, a path, a buffer, sync and async iterables.
    source = tmp_path / "f.bin"
    source.write_bytes(DATA)

    async def blocks() -> AsyncIterator[bytes]:
        yield DATA[:1000]
        yield DATA[1000:]

    inputs: list[tuple[str, Any]] = [
        ("io", io.BytesIO(DATA)),
        ("path", source),
        ("array", array.array("B", DATA)),
        ("iter", iter([DATA[:7], memoryview(DATA[7:])])),
        ("aiter", blocks()),
    ]
    for name, file in inputs:
        await adapter.put_async(name, file)
        assert await adapter.store.get_bytes(name) == DATA, name
    with pytest.raises(NotFoundError) as caught:
        await adapter.head_async("missing")
    assert isinstance(
        obspec.exceptions.map_exception(caught.value), obspec.exceptions.NotFoundError
    )
    with pytest.raises(FileNotFoundError):
        await adapter.get_async("missing")


@pytest.mark.anyio
async def test_ranges(adapter: ObstoreAdapter) -> None:
    await adapter.put_async("r", DATA)
    cases: list[tuple[Any, tuple[int, int]]] = [
        ((10, 20), (10, 20)),
        ([200_000, 300_000], (200_000, len(DATA))),  # an end past the end reads to it
        ({"offset": 255_000}, (255_000, len(DATA))),
        ({"suffix": 300}, (len(DATA) - 300, len(DATA))),
    ]
    for byte_range, (start, end) in cases:
        result = await adapter.get_async("r", options={"range": byte_range})
        assert result.range == (start, end)
        assert await _collect(aiter(result)) == DATA[start:end]
    assert await adapter.get_range_async("r", start=5, end=9) == DATA[5:9]
    assert await adapter.get_range_async("r", start=5, length=4) == DATA[5:9]
    ranges = await adapter.get_ranges_async("r", starts=[0, 131_000, 255_990], lengths=[3, 200, 10])
    assert ranges == [DATA[0:3], DATA[131_000:131_200], DATA[255_990:]]
    bad_ranges: list[Any] = [(5, 5), (9, 5), {"offset": -1}, {"suffix": 0}, "0-5"]
    for bad in bad_ranges:
        with pytest.raises(natsobj.InvalidArgumentError):
            await adapter.get_async("r", options={"range": bad})
    with pytest.raises(natsobj.RangeNotSatisfiableError):
        await adapter.get_async("r", options={"range": (len(DATA), len(DATA) + 5)})
    with pytest.raises(natsobj.InvalidArgumentError):
        await adapter.get_range_async("r", start=0)
    with pytest.raises(natsobj.InvalidArgumentError):
        await adapter.get_ranges_async("r", starts=[0, 1], ends=[5])


@pytest.mark.anyio
async def test_put_modes_and_conditional_gets(adapter: ObstoreAdapter) -> None:
    first = await adapter.put_async("m", b"one", mode="create")
    with pytest.raises(AlreadyExistsError):
        await adapter.put_async("m", b"two", mode="create")
    second = await adapter.put_async("m", b"two", mode={"e_tag": first["e_tag"]})
    with pytest.raises(PreconditionError):
        await adapter.put_async("m", b"three", mode={"e_tag": first["e_tag"]})
    with pytest.raises(NotSupportedError):
        await adapter.put_async("m", b"three", mode={"version": "1"})
    with pytest.raises(natsobj.InvalidArgumentError):
        await adapter.put_async("m", b"three", mode="append")  # type: ignore[arg-type]
    assert await adapter.store.get_bytes("m") == b"two"
    await adapter.put_async("m", b"four", mode="overwrite")
    etag = (await adapter.head_async("m"))["e_tag"]
    assert etag not in (first["e_tag"], second["e_tag"])
    assert etag is not None
    result = await adapter.get_async("m", options={"if_match": f'"{etag}"'})
    assert bytes(await result.buffer_async()) == b"four"
    with pytest.raises(PreconditionError):
        await adapter.get_async("m", options={"if_match": str(first["e_tag"])})
    with pytest.raises(NotModifiedError):
        await adapter.get_async("m", options={"if_none_match": f"x, {etag}"})
    mtime = (await adapter.head_async("m"))["last_modified"]
    with pytest.raises(NotModifiedError):
        await adapter.get_async("m", options={"if_modified_since": mtime})
    with pytest.raises(PreconditionError):
        await adapter.get_async("m", options={"if_unmodified_since": mtime - timedelta(1)})
    head = await adapter.get_async(
        "m", options={"head": True, "if_modified_since": mtime - timedelta(1)}
    )
    assert await _collect(aiter(head)) == b""
    assert head.meta["size"] == 4


@pytest.mark.anyio
async def test_listings_delete_copy_rename(adapter: ObstoreAdapter) -> None:
    for name in ("a/1", "a/2", "a/b/3", "a/b/c/4", "ab", "z"):
        await adapter.put_async(name, name.encode())
    chunks = [chunk async for chunk in adapter.list_async()]
    assert [m["path"] for m in chunks[0]] == ["a/1", "a/2", "a/b/3", "a/b/c/4", "ab", "z"]
    assert [m["path"] for c in [c async for c in adapter.list_async("a")] for m in c] == [
        "a/1", "a/2", "a/b/3", "a/b/c/4",
    ]  # fmt: skip
    after = [
        m["path"] for c in [c async for c in adapter.list_async("a/", offset="a/2")] for m in c
    ]
    assert after == ["a/b/3", "a/b/c/4"]
    level = await adapter.list_with_delimiter_async("a")
    assert level["common_prefixes"] == ["a/b"]
    assert [m["path"] for m in level["objects"]] == ["a/1", "a/2"]
    top = await adapter.list_with_delimiter_async()
    assert top["common_prefixes"] == ["a"]
    assert [m["path"] for m in top["objects"]] == ["ab", "z"]

    await adapter.copy_async("z", "z2")
    with pytest.raises(AlreadyExistsError):
        await adapter.copy_async("ab", "z2", overwrite=False)
    await adapter.copy_async("ab", "z2")
    assert await adapter.store.get_bytes("z2") == b"ab"
    await adapter.rename_async("z2", "z3")
    with pytest.raises(AlreadyExistsError):
        await adapter.rename_async("z3", "z", overwrite=False)
    with pytest.raises(NotFoundError):
        await adapter.rename_async("z2", "z4")
    await adapter.delete_async("z3")
    await adapter.delete_async(["a/1", "a/2", "never-there"])
    remaining = [m["path"] for c in [c async for c in adapter.list_async()] for m in c]
    assert remaining == ["a/b/3", "a/b/c/4", "ab", "z"]


@pytest.fixture(scope="module")
def sync_adapter() -> Iterator[SyncObstoreAdapter]:
    with ns.EmbeddedServer() as server, ns.connect(server.url) as manager:
        yield SyncObstoreAdapter(manager.create_object_store(f"o{uuid.uuid4().hex[:12]}"))


def test_the_sync_adapter(sync_adapter: SyncObstoreAdapter) -> None:
    put = sync_adapter.put("s/1", DATA, attributes={"Content-Type": "text/plain"})
    sync_adapter.put("s/2", iter([b"x", b"y"]), mode="create")
    assert sync_adapter.head("s/1")["e_tag"] == put["e_tag"]
    result = sync_adapter.get("s/1", options={"range": (100, 200_000)})
    assert result.range == (100, 200_000)
    assert b"".join(result) == DATA[100:200_000]
    assert bytes(sync_adapter.get("s/2").buffer()) == b"xy"
    abandoned = iter(sync_adapter.get("s/1"))
    assert next(abandoned)
    del abandoned  # left early: its read is closed
    assert sync_adapter.get_range("s/1", start=1, end=3) == DATA[1:3]
    assert sync_adapter.get_ranges("s/1", starts=[0, 9], ends=[2, 10]) == [DATA[0:2], DATA[9:10]]
    assert [m["path"] for c in sync_adapter.list("s") for m in c] == ["s/1", "s/2"]
    assert sync_adapter.list_with_delimiter()["common_prefixes"] == ["s"]
    with pytest.raises(AlreadyExistsError):
        sync_adapter.put("s/2", b"z", mode="create")
    sync_adapter.copy("s/2", "s/3")
    sync_adapter.rename("s/3", "s/4")
    sync_adapter.delete(["s/2", "s/4"])
    with pytest.raises(NotFoundError):
        sync_adapter.head("s/4")
