"""Bucket policies (public, file_size_limit, allowed_mime_types) and bucket operations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import pytest

import natsobj
from natsobj import ObjectMeta
from natsobj._manager import POLICY_MAX_AGE

from ..conftest import chunk_counts, subject_counts, unique_bucket

pytestmark = pytest.mark.anyio

LIMIT = 1000
CHUNK = 256


@pytest.fixture
async def limited(manager: natsobj.ObjectStoreManager) -> AsyncIterator[natsobj.ObjectStore]:
    bucket = unique_bucket()
    store = await manager.create_object_store(
        bucket,
        public=True,
        file_size_limit=LIMIT,
        allowed_mime_types=["image/*", "text/plain"],
    )
    yield store
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(bucket)


async def stream_of(size: int, block: int = 100) -> AsyncIterator[bytes]:
    for offset in range(0, size, block):
        yield b"x" * min(block, size - offset)


async def test_policy_is_stored_with_the_bucket(
    manager: natsobj.ObjectStoreManager, limited: natsobj.ObjectStore
) -> None:
    status = await limited.status()
    assert (status.public, status.file_size_limit) == (True, LIMIT)
    assert status.allowed_mime_types == ["image/*", "text/plain"]
    assert status.metadata == {}  # the policy is not shown as user metadata
    # Another client sees it in the stream config.
    config = (await limited._core.js.stream_info(limited.stream))["config"]
    assert config["metadata"]["natsobj.file_size_limit"] == str(LIMIT)
    assert (await manager.get_bucket(limited.bucket)).policy == status.policy
    listed = {s.bucket: s for s in await manager.object_store_statuses()}
    assert listed[limited.bucket].allowed_mime_types == ["image/*", "text/plain"]


@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT])
async def test_sizes_up_to_the_limit_are_stored(limited: natsobj.ObjectStore, size: int) -> None:
    info = await limited.put("a.png", b"x" * size, chunk_size=CHUNK)
    assert info.size == size
    streamed = await limited.put("b.png", stream_of(size), chunk_size=CHUNK)
    assert streamed.size == size


async def test_one_byte_over_is_refused_up_front(limited: natsobj.ObjectStore) -> None:
    with pytest.raises(natsobj.ObjectTooLargeError) as caught:
        await limited.put("a.png", b"x" * (LIMIT + 1))
    assert caught.value.limit == LIMIT
    assert await chunk_counts(limited) == {}


@pytest.mark.parametrize("over", [1, 5000])
async def test_streamed_put_over_the_limit_leaves_nothing(
    limited: natsobj.ObjectStore, over: int
) -> None:
    sent = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal sent
        async for block in stream_of(LIMIT + over):
            sent += len(block)
            yield block

    with pytest.raises(natsobj.ObjectTooLargeError):
        await limited.put("a.png", counted(), chunk_size=CHUNK)
    # Refused as soon as it crossed the limit: the source was not read to its end.
    assert sent < LIMIT + CHUNK + 100
    assert await chunk_counts(limited) == {}
    assert await limited.list(show_deleted=True) == []


async def test_over_the_limit_keeps_the_old_object(limited: natsobj.ObjectStore) -> None:
    await limited.put("a.png", b"old")
    with pytest.raises(natsobj.ObjectTooLargeError):
        await limited.put("a.png", stream_of(LIMIT + 1))
    assert await limited.get_bytes("a.png") == b"old"


@pytest.mark.parametrize(
    ("name", "content_type", "allowed"),
    [
        ("a.png", None, True),
        ("a.jpeg", None, True),
        ("a.txt", None, True),
        ("a.txt", "text/plain; charset=utf-8", True),
        ("a.bin", "IMAGE/WEBP", True),
        ("a.html", None, False),
        ("a.bin", None, False),  # application/octet-stream
        ("a.png", "text/html", False),
        ("a.png", "imagex/png", False),
    ],
)
async def test_mime_types_and_wildcards(
    limited: natsobj.ObjectStore, name: str, content_type: str | None, allowed: bool
) -> None:
    if allowed:
        info = await limited.put(name, b"data", content_type=content_type)
        assert info.content_type == (content_type or info.content_type)
        assert info.headers["Content-Type"] == [info.content_type]
        assert (await limited.get_info(name)).content_type == info.content_type
    else:
        with pytest.raises(natsobj.InvalidMimeTypeError):
            await limited.put(name, stream_of(10), content_type=content_type)
        # Refused before any data was sent.
        assert await subject_counts(limited, f"$O.{limited.bucket}.>") == {}


async def test_content_type_without_policy(store: natsobj.ObjectStore) -> None:
    plain = await store.put("notes.txt", b"x")
    assert plain.content_type == "text/plain"
    assert "Content-Type" not in plain.headers  # a plain put writes the same meta as before
    given = await store.put("data", b"x", content_type="application/json")
    assert (await store.get_info("data")).content_type == "application/json"
    assert given.headers["Content-Type"] == ["application/json"]
    meta = ObjectMeta(name="m", headers={"content-type": ["text/csv"]})
    assert (await store.put(meta, b"x")).content_type == "text/csv"
    assert (await store.upload("pic.png", b"x")).headers["Content-Type"] == ["image/png"]
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.put("bad", b"x", content_type="")


async def test_update_bucket_changes_only_what_is_given(
    manager: natsobj.ObjectStoreManager, limited: natsobj.ObjectStore
) -> None:
    status = await manager.update_bucket(limited.bucket, file_size_limit="2KB")
    assert status.file_size_limit == 2000
    assert status.public is True
    assert status.allowed_mime_types == ["image/*", "text/plain"]
    status = await manager.update_bucket(limited.bucket, public=False, allowed_mime_types=None)
    assert (status.public, status.allowed_mime_types, status.file_size_limit) == (
        False,
        None,
        2000,
    )
    # Handles of the manager that made the change enforce it at once.
    assert limited.policy == status.policy
    assert (await limited.put("a.html", b"x" * 1500)).size == 1500
    reopened = await manager.object_store(limited.bucket)
    with pytest.raises(natsobj.ObjectTooLargeError):
        await reopened.put("a.html", b"x" * 2001)
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.update_bucket(limited.bucket, file_size_limit="lots")
    with pytest.raises(natsobj.InvalidArgumentError):
        await manager.update_bucket(limited.bucket, allowed_mime_types=["nonsense"])


async def test_update_object_store_replaces_the_policy(
    manager: natsobj.ObjectStoreManager, limited: natsobj.ObjectStore
) -> None:
    config = natsobj.ObjectStoreConfig(bucket=limited.bucket, file_size_limit=5)
    await manager.update_object_store(config)
    status = await limited.status()
    assert (status.public, status.file_size_limit, status.allowed_mime_types) == (False, 5, None)
    await manager.update_object_store(natsobj.ObjectStoreConfig(bucket=limited.bucket))
    assert (await limited.status()).policy == natsobj.BucketPolicy()


async def test_empty_keeps_bucket_and_policy(limited: natsobj.ObjectStore) -> None:
    for i in range(5):
        await limited.put(f"{i}.png", b"x" * 300, chunk_size=CHUNK)
    assert await limited.empty() > 0
    assert await limited.list(show_deleted=True) == []
    status = await limited.status()
    assert (status.size, status.file_size_limit) == (0, LIMIT)
    assert (await limited.put("again.png", b"x")).size == 1


async def test_delete_bucket_refuses_a_non_empty_bucket(
    manager: natsobj.ObjectStoreManager, limited: natsobj.ObjectStore
) -> None:
    await limited.put("a.png", b"x")
    with pytest.raises(natsobj.BucketNotEmptyError):
        await manager.delete_bucket(limited.bucket)
    await limited.delete("a.png")  # only a tombstone left: empty for this purpose
    await manager.delete_bucket(limited.bucket)
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.get_bucket(limited.bucket)


async def test_delete_bucket_force_and_empty_bucket(manager: natsobj.ObjectStoreManager) -> None:
    bucket = unique_bucket()
    store = await manager.create_object_store(bucket)
    await store.put("a", b"x")
    await manager.empty_bucket(bucket)
    assert await store.list() == []
    await store.put("b", b"x")
    await manager.delete_bucket(bucket, force=True)
    assert bucket not in await manager.object_store_names()
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.delete_bucket(bucket, force=True)


async def _refused_within(
    store: natsobj.ObjectStore, name: str, data: bytes, error: type[Exception]
) -> float:
    """Put until the put raises ``error``; how long that took."""
    started = anyio.current_time()
    with anyio.fail_after(POLICY_MAX_AGE + 3):  # slack for a loaded machine
        while True:
            try:
                await store.put(name, data)
            except error:
                return anyio.current_time() - started
            await anyio.sleep(0.05)


async def test_policy_changes_reach_handles_of_other_connections(
    server: natsobj.EmbeddedServer,
    manager: natsobj.ObjectStoreManager,
    limited: natsobj.ObjectStore,
) -> None:
    # Another connection (another process, as far as the server can tell), with a handle
    # opened before the changes.
    async with natsobj.connect(server.url) as elsewhere:
        old = await elsewhere.object_store(limited.bucket)
        assert (await old.put("a.txt", b"x" * 100)).size == 100
        await manager.update_bucket(limited.bucket, file_size_limit=50)
        took = await _refused_within(old, "a.txt", b"x" * 100, natsobj.ObjectTooLargeError)
        assert took < POLICY_MAX_AGE + 1.5
        await manager.update_bucket(limited.bucket, allowed_mime_types=["image/*"])
        await _refused_within(old, "a.txt", b"x", natsobj.InvalidMimeTypeError)
        await manager.update_bucket(limited.bucket, file_size_limit=None, allowed_mime_types=None)
        with anyio.fail_after(POLICY_MAX_AGE + 3):  # lifted: the old handle lets it in
            while True:
                with contextlib.suppress(natsobj.ObjectTooLargeError, natsobj.InvalidMimeTypeError):
                    assert (await old.put("big.bin", b"x" * 5000)).size == 5000
                    break
                await anyio.sleep(0.05)


async def test_policy_is_read_again_at_most_once_a_second(
    server: natsobj.EmbeddedServer, limited: natsobj.ObjectStore
) -> None:
    # Stream info requests, as the server sees them, while one handle puts for 2.5 s.
    requests = 0

    async def count(msg: object) -> None:
        nonlocal requests
        requests += 1

    async with natsobj.connect(server.url) as observer:
        await observer.nc.subscribe(f"$JS.API.STREAM.INFO.{limited.stream}", cb=count)
        await observer.nc.flush()
        puts = 0
        with anyio.move_on_after(2.5):
            while True:
                await limited.put("a.txt", b"x")
                puts += 1
                await anyio.sleep(0.01)
        await observer.nc.flush()
    assert puts > 20
    assert 1 <= requests <= 4  # about one a second, never one per put
