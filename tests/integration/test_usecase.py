"""Usecases, scopes and sessions against a real server: isolation, metadata, compression,
defaults stored with the bucket, and bad input for every parameter."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import zstandard

import natsobj
from natsobj import ExpirationPolicy, Usecase

pytestmark = pytest.mark.anyio


@pytest.fixture
async def usecase(manager: natsobj.ObjectStoreManager) -> AsyncIterator[Usecase]:
    name = f"u{uuid.uuid4().hex[:12]}"
    yield Usecase(name)
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def test_scopes_are_isolated(manager: natsobj.ObjectStoreManager, usecase: Usecase) -> None:
    project = usecase.for_project(42, 1337).session(manager)
    reversed_order = usecase.scope().push("project", 1337).push("org", 42).session(manager)
    org = usecase.for_organization(42).session(manager)
    other_project = usecase.for_project(42, 1338).session(manager)
    whole = usecase.scope().session(manager)
    await project.put(b"project data", key="k")
    # A key that spells out another scope's path stays in its own scope.
    await org.put(b"org data", key="project.1337/objects/k")

    assert await project.get_bytes("k") == b"project data"
    assert await org.get_bytes("project.1337/objects/k") == b"org data"
    for session in (reversed_order, org, other_project, whole):
        with pytest.raises(natsobj.ObjectNotFoundError):
            await session.get_bytes("k")
        with pytest.raises(natsobj.ObjectNotFoundError):
            await session.head("k")
        await session.delete("k")  # a no-op there
    assert await project.get_bytes("k") == b"project data"

    assert [m.key for m in await project.list()] == ["k"]
    assert [m.key for m in await org.list()] == ["project.1337/objects/k"]
    assert await whole.list() == []
    assert await reversed_order.list() == []


async def test_put_get_head_carry_every_field(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    before = datetime.now(UTC)
    key = await session.put(
        b"{}",
        content_type="application/json",
        metadata={"Kind": "crash", "empty": ""},
        origin="203.0.113.7",
        filename="report.json",
    )
    assert uuid.UUID(key).version == 4
    head = await session.head(key)
    assert head.key == key
    assert head.content_type == "application/json"
    assert head.custom == {"Kind": "crash", "empty": ""}
    assert head.origin == "203.0.113.7"
    assert head.filename == "report.json"
    assert head.compression == "zstd"  # the usecase default
    assert head.expiration_policy == ExpirationPolicy.manual()
    assert head.time_expires is None
    assert head.time_created is not None
    assert before - timedelta(seconds=1) <= head.time_created <= datetime.now(UTC)
    async with session.get(key) as response:
        assert response.metadata.custom == head.custom
        assert response.metadata.origin == "203.0.113.7"
        assert response.encoding == "none"
        assert await response.read() == b"{}"

    plain = await session.put(b"x", key="plain")
    assert plain == "plain"
    assert (await session.head("plain")).content_type == "application/octet-stream"


async def test_compression_round_trip_and_passthrough(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    data = os.urandom(64 * 1024) * 8  # 512 KiB, compressible, several chunks stored
    await session.put(data, key="big")
    head = await session.head("big")
    assert head.compression == "zstd"
    assert head.size < len(data) // 4
    store = await manager.object_store(usecase.name)
    info = await store.get_info(head.info.name)
    assert info.headers["Content-Encoding"] == ["zstd"]

    chunks = []
    async with session.get("big") as response:
        async for chunk in response:
            chunks.append(chunk)
    assert b"".join(chunks) == data

    for options in ({"accept_encoding": "zstd"}, {"accept_encoding": ["*"]}, {"decompress": False}):
        async with session.get("big", **options) as response:
            assert response.encoding == "zstd"
            assert response.metadata.compression == "zstd"
            stored = await response.read()
        assert stored == await store.get_bytes(head.info.name)
        assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == data

    # Pre-compressed data is stored as it is; accept_encoding changes nothing for it.
    await session.put(stored, key="precompressed", compression="none")
    head = await session.head("precompressed")
    assert head.compression == "none"
    assert head.size == len(stored)
    assert await session.get_bytes("precompressed", accept_encoding="zstd") == stored
    assert "Content-Encoding" not in head.info.headers


async def test_streaming_and_file_contents(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(50):
            yield bytes([i]) * 10_000

    await session.put(pieces(), key="stream")
    assert await session.get_bytes("stream") == b"".join(bytes([i]) * 10_000 for i in range(50))
    await session.put(io.BytesIO(b"from a file"), key="file", compression="none")
    assert await session.get_bytes("file") == b"from a file"
    await session.put("text", key="text")
    assert await session.get_bytes("text") == b"text"
    await session.put(b"", key="empty")
    assert await session.get_bytes("empty") == b""


async def test_defaults_live_in_the_bucket(
    manager: natsobj.ObjectStoreManager, server: natsobj.EmbeddedServer, usecase: Usecase
) -> None:
    creator = Usecase(
        usecase.name, compression="none", expiration_policy=ExpirationPolicy.time_to_live(60)
    )
    await creator.scope().session(manager).put(b"a", key="a")
    status = await (await manager.object_store(usecase.name)).status()
    assert status.metadata["natsobj.usecase.compression"] == "none"
    assert status.metadata["natsobj.usecase.expiration"] == "ttl:60s"
    assert status.message_ttl

    # Another client, knowing only the name, uses the stored defaults.
    async with natsobj.connect(server.url) as other:
        session = Usecase(usecase.name).scope().session(other)
        await session.put(b"b", key="b")
        head = await session.head("b")
        assert head.compression == "none"
        assert head.expiration_policy == ExpirationPolicy.time_to_live(60)
        # Explicit defaults of a client, and per-put overrides, win.
        zstd_session = Usecase(usecase.name, compression="zstd").scope().session(other)
        await zstd_session.put(b"c", key="c")
        assert (await zstd_session.head("c")).compression == "zstd"
        await session.put(b"d", key="d", expiration_policy=ExpirationPolicy.manual())
        assert (await session.head("d")).time_expires is None


async def test_expiring_put_on_a_bucket_without_message_ttl(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    await manager.create_object_store(usecase.name)  # a plain bucket: no message TTLs
    session = usecase.scope().session(manager)
    await session.put(b"manual objects are fine", key="m")
    with pytest.raises(natsobj.UnsupportedFeatureError, match="message_ttl"):
        await session.put(b"x", key="t", expiration_policy=ExpirationPolicy.time_to_live(5))
    status = await (await manager.object_store(usecase.name)).status()
    assert not status.message_ttl  # never turned on behind the caller's back


async def test_expiring_put_on_a_server_too_old(
    manager: natsobj.ObjectStoreManager, usecase: Usecase, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"x", key="x")
    monkeypatch.setattr(manager.js, "server_at_least", lambda major, minor: False)
    with pytest.raises(natsobj.UnsupportedFeatureError, match=r"2\.11"):
        await session.put(b"x", key="t", expiration_policy=ExpirationPolicy.time_to_idle(5))


BAD_PUTS: list[tuple[dict[str, Any], str]] = [
    ({"key": ""}, "key"),
    ({"key": 5}, "key"),
    ({"key": "k" * 1025}, "key"),
    ({"key": "\ud800"}, "Unicode"),
    ({"compression": "gzip"}, "compression"),
    ({"content_type": "json"}, "content_type"),
    ({"content_type": ""}, "content_type"),
    ({"metadata": {"k": 1}}, "metadata"),
    ({"metadata": {"": "v"}}, "metadata"),
    ({"metadata": ["k", "v"]}, "metadata"),
    ({"metadata": {"k": "v" * 70_000}}, "metadata"),
    ({"expiration_policy": 30}, "ExpirationPolicy"),
    ({"origin": ""}, "origin"),
    ({"origin": 127}, "origin"),
    ({"filename": "a\nb"}, "filename"),
    ({"filename": "f" * 1025}, "filename"),
    ({"compresion": "none"}, "unknown put option"),  # a misspelt option is not dropped
]


@pytest.mark.parametrize(("options", "message"), BAD_PUTS)
async def test_bad_put_arguments(
    manager: natsobj.ObjectStoreManager, usecase: Usecase, options: dict[str, Any], message: str
) -> None:
    session = usecase.scope().session(manager)
    with pytest.raises(natsobj.InvalidArgumentError, match=message):
        await session.put(b"data", **options)
    assert usecase.name not in await manager.object_store_names()  # nothing was sent


async def test_bad_contents_and_read_arguments(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    with pytest.raises(natsobj.InvalidArgumentError, match="ObjectStoreManager"):
        usecase.scope().session(manager.nc)  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError, match="Scope"):
        natsobj.Session(manager, usecase)  # type: ignore[arg-type]
    session = usecase.scope().session(manager)
    with pytest.raises(natsobj.InvalidArgumentError):
        await session.put(None)  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        await session.put(12345, key="n", compression="none")  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        await session.put(12345, key="n")  # type: ignore[arg-type]
    assert usecase.name not in await manager.object_store_names()  # refused before sending
    for bad_key in ("", None, 5):
        with pytest.raises(natsobj.InvalidArgumentError):
            session.get(bad_key)  # type: ignore[arg-type]
        with pytest.raises(natsobj.InvalidArgumentError):
            await session.head(bad_key)  # type: ignore[arg-type]
        with pytest.raises(natsobj.InvalidArgumentError):
            await session.delete(bad_key)  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        session.get("k", decompress="yes")  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        session.get("k", accept_encoding="gzip")
    assert (await session.list()) == []  # only now is the bucket created
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.get_bytes("n")


async def test_plain_store_readers_see_usecase_objects(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(7, 8).session(manager)
    await session.put(b"plain", key="a/b", compression="none")
    store = await manager.object_store(usecase.name)
    assert await store.get_bytes("org.7/project.8/objects/a/b") == b"plain"
    assert session.object_name("a/b") == "org.7/project.8/objects/a/b"


async def test_a_deleted_usecase_bucket_is_recreated(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"first life", key="k")
    await manager.delete_object_store(usecase.name)
    with pytest.raises(natsobj.BucketNotFoundError):
        await session.get_bytes("k")
    await session.put(b"second life", key="k")  # the bucket comes back, with its defaults
    assert await session.get_bytes("k") == b"second life"
    assert (await (await manager.object_store(usecase.name)).status()).message_ttl


async def test_a_usecase_is_opened_once_per_connection(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    opened: list[object] = []

    async def open_bucket() -> None:
        opened.append(await session.bucket())

    async with anyio.create_task_group() as tg:  # concurrent first uses wait for one
        for _ in range(8):
            tg.start_soon(open_bucket)
    assert len(opened) == 8
    assert all(bucket is opened[0] for bucket in opened)
    assert await usecase.for_project(1, 2).session(manager).bucket() is opened[0]
    async with natsobj.connect(server.url) as other:  # another connection opens its own
        assert await usecase.scope().session(other).bucket() is not opened[0]
