"""Bad input and broken state get typed errors, never nats-py exceptions or hangs."""

from __future__ import annotations

import json
import os

import anyio
import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("bucket", ["", "a.b", "a b", "a*", "a>", "ü", "a/b", None, 5])
async def test_invalid_bucket_names(manager: ObjectStoreManager, bucket: object) -> None:
    with pytest.raises(natsobj.InvalidBucketNameError):
        await manager.create_object_store(bucket)  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidBucketNameError):
        await manager.object_store(bucket)  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidBucketNameError):
        await manager.delete_object_store(bucket)  # type: ignore[arg-type]


async def test_missing_bucket(manager: ObjectStoreManager) -> None:
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.object_store("does_not_exist")
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.delete_object_store("does_not_exist")


async def test_bucket_deleted_under_a_store(manager: ObjectStoreManager) -> None:
    store = await manager.create_object_store("gone_soon")
    await manager.delete_object_store("gone_soon")
    with pytest.raises(natsobj.BucketNotFoundError):
        await store.put("x", b"data")
    with pytest.raises(natsobj.ObjectStoreError):
        await store.get_info("x")
    with pytest.raises(natsobj.BucketNotFoundError):
        await store.status()


@pytest.mark.parametrize("name", ["", None, 3, b"bytes"])
async def test_invalid_object_names(store: ObjectStore, name: object) -> None:
    for call in (
        lambda: store.put(name, b"x"),  # type: ignore[arg-type]
        lambda: store.get_info(name),  # type: ignore[arg-type]
        lambda: store.get_bytes(name),  # type: ignore[arg-type]
        lambda: store.delete(name),  # type: ignore[arg-type]
    ):
        with pytest.raises(natsobj.InvalidObjectNameError):
            await call()


@pytest.mark.parametrize("chunk_size", [0, -1, 2**40, 1.5, "big", True])
async def test_invalid_chunk_size(store: ObjectStore, chunk_size: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.put("x", b"data", chunk_size=chunk_size)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [123, 1.5, object(), ["a"], {"a": 1}])
async def test_unsupported_data(store: ObjectStore, data: object) -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.put("x", data)  # type: ignore[arg-type]
    assert await chunk_counts(store) == {}


async def test_sealed_bucket(store: ObjectStore) -> None:
    await store.put("kept", b"still readable")
    status = await store.seal()
    assert status.sealed
    with pytest.raises(natsobj.BucketSealedError):
        await store.put("x", os.urandom(300_000))
    with pytest.raises(natsobj.BucketSealedError):
        await store.delete("kept")
    with pytest.raises(natsobj.BucketSealedError):
        await store.update_meta("kept", natsobj.ObjectMeta(name="kept", description="d"))
    assert await store.get_bytes("kept") == b"still readable"
    assert (await store.status()).sealed


async def _corrupt(store: ObjectStore, name: str, **changes: object) -> None:
    info = await store.get_info(name)
    raw = json.loads(info.to_payload()) | changes
    subject = f"$O.{store.bucket}.M.{natsobj._wire.encode_name(name)}"
    await store._core.js.publish(subject, json.dumps(raw).encode(), headers={"Nats-Rollup": "sub"})


async def test_digest_mismatch(store: ObjectStore, tmp_path: os.PathLike[str]) -> None:
    await store.put("c", os.urandom(300_000))
    wrong = natsobj._wire.encode_digest(b"\x00" * 32)
    await _corrupt(store, "c", digest=wrong)
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_bytes("c")
    target = anyio.Path(tmp_path) / "c.out"
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_file("c", target)
    assert not await target.exists()


async def test_missing_chunks(store: ObjectStore) -> None:
    info = await store.put("m", os.urandom(300_000))
    await store._core.js.purge(store.stream, f"$O.{store.bucket}.C.{info.nuid}")
    with pytest.raises(natsobj.IncompleteObjectError):
        await store.get_bytes("m")


async def test_size_disagrees_with_meta(store: ObjectStore) -> None:
    await store.put("s", os.urandom(1000))
    await _corrupt(store, "s", size=999)
    with pytest.raises(natsobj.IncompleteObjectError):
        await store.get_bytes("s")


@pytest.mark.parametrize(
    "payload", [b"not json", b"[1,2]", b'{"name": 5}', b'{"name":"m","size":"x"}']
)
async def test_garbage_meta(store: ObjectStore, payload: bytes) -> None:
    subject = f"$O.{store.bucket}.M.{natsobj._wire.encode_name('m')}"
    await store._core.js.publish(subject, payload)
    with pytest.raises(natsobj.BadObjectMetaError):
        await store.get_info("m")
    assert await store.list() == []  # skipped, not fatal
    await store.put("m", b"fixed")  # a put replaces the garbage
    assert await store.get_bytes("m") == b"fixed"
    await store._core.js.publish(subject, payload)
    assert (await store.delete("m")).deleted  # so does a delete
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("m")


async def test_connect_to_nothing() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with anyio.fail_after(10), pytest.raises(natsobj.ServerUnavailableError) as caught:
        async with natsobj.connect(f"nats://127.0.0.1:{port}", timeout=1):
            pass
    assert "natsobj server" in str(caught.value)


async def test_server_down_mid_session_is_bounded() -> None:
    async with (
        natsobj.EmbeddedServer() as server,
        natsobj.connect(server.url, timeout=1, max_reconnect_attempts=1) as manager,
    ):
        store = await manager.create_object_store("down")
        await store.put("x", b"before")
        await server.stop()
        with anyio.fail_after(15):
            for call in (
                lambda: store.get_info("x"),
                lambda: store.put("y", os.urandom(500_000)),
                lambda: store.get_bytes("x"),
                lambda: store.list(),
            ):
                with pytest.raises(natsobj.ServerError):
                    await call()


async def test_jetstream_not_enabled() -> None:
    async with natsobj.EmbeddedServer(jetstream=False) as server:
        with pytest.raises(natsobj.ServerUnavailableError, match="JetStream"):
            async with natsobj.connect(server.url, timeout=1):
                pass
