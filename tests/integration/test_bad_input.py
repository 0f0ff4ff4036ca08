"""Bad input to every public call, and metas broken by other clients: each gets a clear
typed error in bounded time, and the store is unharmed afterwards."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import natsobj
from natsobj import ObjectMeta, ObjectStore, ObjectStoreManager
from natsobj._wire import encode_name
from tests.conftest import chunk_counts

pytestmark = pytest.mark.anyio

Call = Callable[[ObjectStoreManager, ObjectStore], Awaitable[Any]]
E = natsobj.InvalidArgumentError
NAME = natsobj.InvalidObjectNameError
BUCKET = natsobj.InvalidBucketNameError

# (what is wrong, the call, the error it must raise)
CASES: list[tuple[str, Call, type[Exception]]] = [
    # bucket names and configs
    ("empty bucket", lambda m, s: m.create_object_store(""), BUCKET),
    ("dotted bucket", lambda m, s: m.object_store("a.b"), BUCKET),
    ("wildcard bucket", lambda m, s: m.delete_object_store("a*"), BUCKET),
    ("unicode bucket", lambda m, s: m.create_object_store("bücket"), BUCKET),
    ("control char bucket", lambda m, s: m.create_object_store("a\nb"), BUCKET),
    ("int bucket", lambda m, s: m.object_store(5), BUCKET),  # type: ignore[arg-type]
    ("huge bucket", lambda m, s: m.create_object_store("b" * 10_000), BUCKET),
    ("negative ttl", lambda m, s: m.create_object_store("ok1", ttl=-1), E),
    ("text ttl", lambda m, s: m.create_object_store("ok1", ttl="1h"), E),  # type: ignore[arg-type]
    ("negative max_bytes", lambda m, s: m.create_object_store("ok1", max_bytes=-5), E),
    ("zero replicas", lambda m, s: m.create_object_store("ok1", replicas=0), E),
    ("too many replicas", lambda m, s: m.create_object_store("ok1", replicas=6), E),
    ("bad storage", lambda m, s: m.create_object_store("ok1", storage="disk"), E),
    ("server metadata", lambda m, s: m.create_object_store("ok1", metadata={"_nats.x": "1"}), E),
    ("bad placement", lambda m, s: m.create_object_store("ok1", placement="here"), E),  # type: ignore[arg-type]
    # object names
    ("empty name", lambda m, s: s.put("", b"x"), NAME),
    ("None name", lambda m, s: s.get_info(None), NAME),  # type: ignore[arg-type]
    ("bytes name", lambda m, s: s.get_bytes(b"x"), NAME),  # type: ignore[arg-type]
    ("surrogate name", lambda m, s: s.put("\ud800", b"x"), NAME),
    ("huge name", lambda m, s: s.put("n" * 100_000, b"x"), NAME),
    ("huge name get", lambda m, s: s.get_info("n" * 100_000), NAME),
    ("huge name delete", lambda m, s: s.delete("n" * 100_000), NAME),
    # sizes
    ("zero chunk size", lambda m, s: s.put("x", b"x", chunk_size=0), E),
    ("negative chunk size", lambda m, s: s.put("x", b"x", chunk_size=-1), E),
    ("float chunk size", lambda m, s: s.put("x", b"x", chunk_size=1.5), E),  # type: ignore[arg-type]
    ("huge chunk size", lambda m, s: s.put("x", b"x", chunk_size=2**40), E),
    ("negative window", lambda m, s: s.put("x", b"x", max_inflight_bytes=-1), E),
    ("text window", lambda m, s: s.put("x", b"x", max_inflight_bytes="big"), E),  # type: ignore[arg-type]
    ("negative start", lambda m, s: s.get_bytes("x", start=-1), E),
    ("end before start", lambda m, s: s.get_bytes("x", start=5, end=2), E),
    ("text end", lambda m, s: s.get_bytes("x", end="9"), E),  # type: ignore[arg-type]
    # data and metas
    ("int data", lambda m, s: s.put("x", 12345), E),  # type: ignore[arg-type]
    ("list data", lambda m, s: s.put("x", [b"a"]), E),  # type: ignore[arg-type]
    ("link in put", lambda m, s: s.put(_linked(), b"x"), natsobj.LinkNotAllowedError),
    ("str meta", lambda m, s: s.update_meta("x", "y"), E),  # type: ignore[arg-type]
    ("str link target", lambda m, s: s.add_link("l", "x"), E),  # type: ignore[arg-type]
    ("int bucket link", lambda m, s: s.add_bucket_link("l", 5), E),  # type: ignore[arg-type]
    ("missing file", lambda m, s: s.put_file("/nonexistent/file"), FileNotFoundError),
    ("NUL in path", lambda m, s: s.put_file("a\x00b"), E),
    ("int prefix", lambda m, s: s.list(prefix=5), E),  # type: ignore[arg-type]
    ("bad grace", lambda m, s: s.sweep_orphans(grace=-1), E),
    ("oversize metadata", lambda m, s: s.put(_big_meta(), b"x"), E),
    ("oversize headers", lambda m, s: s.put(_big_headers(), os.urandom(300_000)), E),
]


def _linked() -> ObjectMeta:
    link = natsobj.ObjectLink(bucket="b", name="n")
    return ObjectMeta(name="x", options=natsobj.ObjectMetaOptions(link=link))


def _big_meta() -> ObjectMeta:
    return ObjectMeta(name="x", metadata={f"k{i}": "v" * 1000 for i in range(2000)})


def _big_headers() -> ObjectMeta:
    return ObjectMeta(name="x", headers={"X-Big": ["h" * 1000] * 2000})


@pytest.mark.parametrize(("case", "call", "error"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_gets_a_typed_error(
    manager: ObjectStoreManager,
    store: ObjectStore,
    case: str,
    call: Call,
    error: type[Exception],
) -> None:
    await store.put("x", b"kept")
    with anyio.fail_after(10), pytest.raises(error):
        await call(manager, store)
    # The store is unharmed: the object is there, nothing else was stored.
    assert await store.get_bytes("x") == b"kept"
    assert [i.name for i in await store.list()] == ["x"]
    assert len(await chunk_counts(store)) == 1


def test_sync_calls_validate_too() -> None:
    with pytest.raises(natsobj.InvalidBucketNameError):
        natsobj.bucket_permissions("a.b")
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.bucket_permissions("a", "root")  # type: ignore[arg-type]
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.bucket_permissions("a", inbox_prefix="")


async def test_connect_arguments() -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        async with natsobj.connect("nats://127.0.0.1:1", timeout=0):
            pass
    with anyio.fail_after(10), pytest.raises(natsobj.ServerUnavailableError):
        async with natsobj.connect("not a url at all", timeout=1):
            pass


@pytest.mark.parametrize(
    "name",
    ["日本語/файл 🎉", "a\x00b", "line\nbreak", "tab\there", "\x7f", "../../etc/passwd", " "],
)
async def test_unusual_names_round_trip(store: ObjectStore, name: str) -> None:
    data = os.urandom(2000)
    info = await store.put(name, data, chunk_size=512)
    assert info.name == name
    assert await store.get_bytes(name) == data
    assert [i.name for i in await store.list()] == [name]
    assert (await store.delete(name)).deleted
    assert await chunk_counts(store) == {}


# --------------------------------------------------------------------------- broken metas


def _meta(store: ObjectStore, name: str) -> str:
    return f"$O.{store.bucket}.M.{encode_name(name)}"


# (what is wrong, how, the error a get raises: None when the reader tolerates it)
def _self(raw: dict[str, Any]) -> dict[str, str]:
    return {"bucket": raw["bucket"], "name": raw["name"]}


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], type[Exception] | None]] = [
    ("garbage", lambda raw: b"\xff\xfe not json", natsobj.BadObjectMetaError),
    ("json list", lambda raw: [raw], natsobj.BadObjectMetaError),
    (
        "no nuid",
        lambda raw: {k: v for k, v in raw.items() if k != "nuid"},
        natsobj.ObjectStoreError,
    ),
    (
        "no size",
        lambda raw: {k: v for k, v in raw.items() if k != "size"},
        natsobj.IncompleteObjectError,
    ),
    (
        "no digest",
        lambda raw: {k: v for k, v in raw.items() if k != "digest"},
        natsobj.BadObjectMetaError,
    ),
    (
        "wrong digest",
        lambda raw: raw | {"digest": "SHA-256=" + "A" * 43 + "="},
        natsobj.DigestMismatchError,
    ),
    ("junk digest", lambda raw: raw | {"digest": "md5=abc"}, natsobj.BadObjectMetaError),
    (
        "truncated digest",
        lambda raw: raw | {"digest": raw["digest"][:-8]},
        natsobj.BadObjectMetaError,
    ),
    ("wildcard nuid", lambda raw: raw | {"nuid": ">"}, natsobj.BadObjectMetaError),
    ("dotted nuid", lambda raw: raw | {"nuid": "a.*"}, natsobj.BadObjectMetaError),
    ("another name", lambda raw: raw | {"name": "other"}, natsobj.BadObjectMetaError),
    ("negative size", lambda raw: raw | {"size": -1}, natsobj.ObjectStoreError),
    ("huge size", lambda raw: raw | {"size": 2**62}, natsobj.IncompleteObjectError),
    ("text size", lambda raw: raw | {"size": "many"}, natsobj.BadObjectMetaError),
    ("wrong chunks", lambda raw: raw | {"chunks": 99}, natsobj.IncompleteObjectError),
    (
        "foreign nuid",
        lambda raw: raw | {"nuid": "NOSUCHNUID" + "x" * 12},
        natsobj.IncompleteObjectError,
    ),
    ("bad options", lambda raw: raw | {"options": "yes"}, natsobj.BadObjectMetaError),
    (
        "bad link",
        lambda raw: raw | {"options": {"link": {"name": "x"}}},
        natsobj.BadObjectMetaError,
    ),
    (
        "link to itself",
        lambda raw: raw | {"options": {"link": _self(raw)}},
        natsobj.BadObjectMetaError,
    ),
    ("bad headers", lambda raw: raw | {"headers": ["x"]}, natsobj.BadObjectMetaError),
]


@pytest.mark.parametrize(("case", "corrupt", "error"), BROKEN, ids=[b[0] for b in BROKEN])
async def test_meta_broken_by_another_client(
    store: ObjectStore,
    case: str,
    corrupt: Callable[[dict[str, Any]], Any],
    error: type[Exception] | None,
) -> None:
    data = os.urandom(3000)
    info = await store.put("m", data, chunk_size=1000)
    await store.put("other", b"unharmed")
    changed = corrupt(json.loads(info.to_payload()))
    payload = changed if isinstance(changed, bytes) else json.dumps(changed).encode()
    await store._core.js.publish(_meta(store, "m"), payload, headers={"Nats-Rollup": "sub"})
    with anyio.fail_after(20):
        if error is None:
            assert await store.get_bytes("m") == data  # tolerated: nothing to check against
        else:
            with pytest.raises(error):
                await store.get_bytes("m")
        names = [i.name for i in await store.list()]
        assert names.count("other") == 1
        async with store.watch() as watcher:
            async for event in watcher:
                if event is None:
                    break
        # The store recovers: a put replaces the broken meta, a delete removes it.
        await store.put("m", b"fixed")
        assert await store.get_bytes("m") == b"fixed"
        await store.delete("m")
        assert await store.get_bytes("other") == b"unharmed"
        await store.sweep_orphans(grace=0)
        assert len(await chunk_counts(store)) == 1
