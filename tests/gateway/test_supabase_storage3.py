"""storage3 (Supabase's official Python client) against the gateway and a real nats-server;
what it writes is read back through natsobj byte-identical."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator

import anyio
import httpx
import jwt
import pytest
from storage3 import AsyncStorageClient, SyncStorageClient
from storage3.exceptions import StorageApiError

import natsobj

from .conftest import SECRET, Gateway, token

pytestmark = pytest.mark.anyio


_open: list[AsyncStorageClient] = []


def client(gateway: Gateway, bearer: str) -> AsyncStorageClient:
    opened = AsyncStorageClient(
        gateway.storage_url, {"apikey": bearer, "Authorization": f"Bearer {bearer}"}
    )
    _open.append(opened)
    return opened


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _open:
        await _open.pop().session.aclose()


@pytest.fixture
async def bucket(gateway: Gateway, manager: natsobj.ObjectStoreManager) -> AsyncIterator[str]:
    name = f"g{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def test_buckets(gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager) -> None:
    admin = client(gateway, token("service_role"))
    assert await admin.create_bucket(
        bucket, options={"public": False, "file_size_limit": 1000}
    ) == {"name": bucket}
    with pytest.raises(StorageApiError) as exc:
        await admin.create_bucket(bucket)
    assert exc.value.status == "409"
    got = await admin.get_bucket(bucket)
    assert (got.id, got.public, got.file_size_limit) == (bucket, False, 1000)
    assert bucket in [b.id for b in await admin.list_buckets()]
    await admin.update_bucket(
        bucket, {"public": True, "file_size_limit": 5000, "allowed_mime_types": ["text/*"]}
    )
    status = await manager.get_bucket(bucket)
    assert (status.public, status.file_size_limit, status.allowed_mime_types) == (
        True,
        5000,
        ["text/*"],
    )
    await admin.from_(bucket).upload("a.txt", b"abc")
    with pytest.raises(StorageApiError) as exc:
        await admin.delete_bucket(bucket)
    assert exc.value.status == "409"
    await admin.empty_bucket(bucket)
    await admin.delete_bucket(bucket)
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.get_bucket(bucket)


async def test_objects_round_trip(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    admin = client(gateway, token("service_role"))
    await admin.create_bucket(bucket)
    files = client(gateway, token("authenticated", sub="user-1")).from_(bucket)
    data = os.urandom(300_000)
    result = await files.upload(
        "dir/blob.bin",
        data,
        {"content-type": "application/x-test", "cache-control": "60", "metadata": {"k": "v"}},
    )
    assert result.full_path == f"{bucket}/dir/blob.bin"
    store = await manager.object_store(bucket)
    assert await store.get_bytes("dir/blob.bin") == data
    info = await store.get_info("dir/blob.bin")
    assert (info.content_type, info.metadata) == ("application/x-test", {"k": "v"})
    assert info.headers["Cache-Control"] == ["max-age=60"]

    with pytest.raises(StorageApiError) as exc:  # POST without upsert is create-only
        await files.upload("dir/blob.bin", b"other")
    assert exc.value.status == "409"
    await files.upload("dir/blob.bin", b"upserted", {"upsert": "true"})
    assert await store.get_bytes("dir/blob.bin") == b"upserted"
    await files.update("dir/blob.bin", data)
    assert await files.download("dir/blob.bin") == data

    got = await files.info("dir/blob.bin")
    assert (got["size"], got["name"], got["metadata"]) == (len(data), "dir/blob.bin", {})
    assert await files.exists("dir/blob.bin")
    assert not await files.exists("dir/missing.bin")

    await files.upload("dir/sub/x.txt", b"x")
    await files.upload("top.txt", b"t")
    listed = await files.list("dir")
    assert [row["name"] for row in listed] == ["blob.bin", "sub"]
    assert listed[0]["metadata"]["size"] == len(data)
    assert [r["name"] for r in await files.list("", {"search": "to"})] == ["top.txt"]
    assert len(await files.list("dir", {"limit": 1, "offset": 1})) == 1

    first = await files.list_v2({"prefix": "dir/", "limit": 1, "with_delimiter": True})
    assert [f.name for f in first.folders] == ["dir/sub/"]
    assert [o.name for o in first.objects] == ["dir/blob.bin"]
    everything = await files.list_v2({"limit": 2, "sortBy": {"column": "name", "order": "desc"}})
    assert [o.name for o in everything.objects] == ["top.txt", "dir/sub/x.txt"]
    assert everything.hasNext
    rest = await files.list_v2({"limit": 2, "cursor": everything.nextCursor or ""})
    assert [o.name for o in rest.objects] == ["dir/blob.bin"]
    assert not rest.hasNext

    await files.move("top.txt", "moved.txt")
    await files.copy("moved.txt", "copied.txt")
    assert await store.get_bytes("copied.txt") == b"t"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("top.txt")
    removed = await files.remove(["moved.txt", "copied.txt", "never.txt"])
    assert sorted(row["name"] for row in removed) == ["copied.txt", "moved.txt"]
    assert [i.name for i in await store.list()] == ["dir/blob.bin", "dir/sub/x.txt"] or sorted(
        i.name for i in await store.list()
    ) == ["dir/blob.bin", "dir/sub/x.txt"]


async def test_downloads_ranges_public_and_signed(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    admin = client(gateway, token("service_role"))
    await admin.create_bucket(bucket)
    files = admin.from_(bucket)
    data = bytes(range(256)) * 1000
    await files.upload("f.bin", data, {"content-type": "application/octet-stream"})
    async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
        headers = {"Authorization": f"Bearer {token('service_role')}"}
        part = await http.get(
            f"/object/{bucket}/f.bin", headers={**headers, "Range": "bytes=10-19"}
        )
        assert (part.status_code, part.content) == (206, data[10:20])
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        tail = await http.get(
            f"/object/authenticated/{bucket}/f.bin", headers={**headers, "Range": "bytes=-5"}
        )
        assert tail.content == data[-5:]
        head = await http.head(f"/object/{bucket}/f.bin", headers=headers)
        assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
        etag = {"If-None-Match": head.headers["etag"]}
        cached = await http.get(f"/object/{bucket}/f.bin", headers={**headers, **etag})
        assert (cached.status_code, cached.content) == (304, b"")
        named = await http.get(f"/object/{bucket}/f.bin?download=x.bin", headers=headers)
        assert "attachment" in named.headers["content-disposition"]

        public_url = await files.get_public_url("f.bin")
        private = await http.get(public_url)  # not public yet: as if there were no bucket
        assert (private.status_code, private.json()["code"]) == (400, "NoSuchBucket")
        anon = await http.get(f"/object/{bucket}/f.bin")  # no token: anon
        assert anon.status_code == 400
        assert anon.json()["statusCode"] == "404"
        await admin.update_bucket(bucket, {"public": True})
        assert (await http.get(public_url)).content == data
        assert (await http.get(f"/object/authenticated/{bucket}/f.bin")).content == data
        anon_write = await http.post(f"/object/{bucket}/new.bin", content=b"x")
        assert (anon_write.status_code, anon_write.json()["code"]) == (403, "AccessDenied")

        signed = (await files.create_signed_url("f.bin", 60))["signedURL"]
        assert signed is not None
        assert (await http.get(signed)).content == data
        batch = await files.create_signed_urls(["f.bin", "nope.bin"], 60)
        assert batch[1]["signedURL"] is None
        assert batch[1]["error"]
        first = batch[0]["signedURL"]
        assert first is not None
        assert (await http.get(first)).content == data

        # A changed path or an expired token is refused.
        tampered = first.replace("f.bin", "g.bin")
        assert (await http.get(tampered)).json()["code"] == "InvalidSignature"
        now = 1_000_000
        expired = jwt.encode(
            {"url": f"{bucket}/f.bin", "scope": "download", "iat": now, "exp": now + 1},
            SECRET,
            "HS256",
        )
        late = await http.get(f"/object/sign/{bucket}/f.bin?token={expired}")
        assert (late.status_code, late.json()["code"]) == (400, "ExpiredToken")

        up = await files.create_signed_upload_url("up/new.txt")
        await files.upload_to_signed_url("up/new.txt", up["token"], b"via signed url")
        store = await manager.object_store(bucket)
        assert await store.get_bytes("up/new.txt") == b"via signed url"
        # The upload token is not a download token, and a download token uploads nothing.
        as_download = await http.get(f"/object/sign/{bucket}/up/new.txt?token={up['token']}")
        assert as_download.json()["code"] == "InvalidSignature"
        download_token = httpx.URL(first).params["token"]
        as_upload = await http.put(
            f"/object/upload/sign/{bucket}/f.bin?token={download_token}", content=b"evil"
        )
        assert as_upload.json()["code"] == "InvalidSignature"
        forged = jwt.encode(
            {"url": f"{bucket}/f.bin", "scope": "download", "exp": 2**40},
            "not-the-secret-but-long-enough-to-sign",
            "HS256",
        )
        assert (await http.get(f"/object/sign/{bucket}/f.bin?token={forged}")).json()[
            "code"
        ] == "InvalidJWT"
        assert await store.get_bytes("f.bin") == data
        replay = await http.put(
            f"/object/upload/sign/{bucket}/up/new.txt?token={up['token']}", content=b"again"
        )
        assert replay.json()["statusCode"] == "409"
        assert await store.get_bytes("up/new.txt") == b"via signed url"


async def test_raw_body_upload_with_header_metadata(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    await client(gateway, token("service_role")).create_bucket(bucket)
    meta = base64.b64encode(json.dumps({"owner": "me"}).encode()).decode()
    async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
        response = await http.post(
            f"/object/{bucket}/raw.txt",
            content=b"raw body",
            headers={
                "Authorization": f"Bearer {token('authenticated')}",
                "Content-Type": "text/plain",
                "x-metadata": meta,
            },
        )
    assert response.json()["Key"] == f"{bucket}/raw.txt"
    info = await (await manager.object_store(bucket)).get_info("raw.txt")
    assert (info.size, info.content_type, info.metadata) == (8, "text/plain", {"owner": "me"})


def unsigned(role: str) -> str:
    """A token with ``alg: none`` and no signature."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'role': role})}."


@pytest.mark.parametrize(
    ("bearer", "status"),
    [
        (token("service_role", ttl=-10), "403"),  # expired
        (token("service_role", nbf=2**40), "403"),  # not yet valid
        (token("service_role", secret="another-secret-that-is-long-enough"), "403"),
        (unsigned("service_role"), "403"),
        (token("superuser"), "403"),  # unknown role
        (token("anon"), "403"),  # anon may not create buckets
        (token("authenticated"), "403"),  # nor may authenticated users
    ],
)
async def test_bad_auth_changes_nothing(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager, bearer: str, status: str
) -> None:
    with pytest.raises(StorageApiError) as exc:
        await client(gateway, bearer).create_bucket(bucket)
    assert exc.value.status == status
    with pytest.raises(natsobj.BucketNotFoundError):
        await manager.get_bucket(bucket)


async def test_eddsa_token_is_refused(gateway: Gateway, bucket: str) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = jwt.encode({"role": "service_role"}, Ed25519PrivateKey.generate(), "EdDSA")
    with pytest.raises(StorageApiError) as exc:
        await client(gateway, forged).create_bucket(bucket)
    assert exc.value.status == "403"


async def raw_request(gateway: Gateway, request_line: str) -> bytes:
    """Send a request as written (an HTTP client would normalize dot segments away)."""
    host, port = gateway.url.removeprefix("http://").split(":")
    bearer = token("service_role")
    async with await anyio.connect_tcp(host, int(port)) as conn:
        await conn.send(
            f"{request_line} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\n"
            "Content-Length: 1\r\nConnection: close\r\n\r\nx".encode()
        )
        answer = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                answer += await conn.receive()
    return answer


async def test_bad_input(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    await client(gateway, token("service_role")).create_bucket(bucket)
    headers = {"Authorization": f"Bearer {token('service_role')}"}
    async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
        for path in ("a/../b", "a/%2e%2e/b", "%2e%2e/x", "a%2f..%2fb", "./x", "a//b"):
            answer = await raw_request(gateway, f"POST /storage/v1/object/{bucket}/{path}")
            assert answer.startswith(b"HTTP/1.1 400 "), (path, answer[:100])
            assert b'"statusCode":"400"' in answer
        bad_json = await http.post(
            f"/object/list/{bucket}",
            content=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert (bad_json.status_code, bad_json.json()["statusCode"]) == (400, "400")
        wrong_type = await http.post(
            f"/object/list/{bucket}", json={"limit": "many"}, headers=headers
        )
        assert wrong_type.json()["statusCode"] == "400"
        too_long = await http.post(f"/object/{bucket}/{'n' * 2049}", content=b"x", headers=headers)
        assert (too_long.status_code, too_long.json()["code"]) == (400, "InvalidKey")
        bad_cursor = await http.post(
            f"/object/list-v2/{bucket}", json={"cursor": "!!not-ours"}, headers=headers
        )
        assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (400, "InvalidRequest")
        missing = await http.get(f"/object/{bucket}/nothing", headers=headers)
        assert (missing.status_code, missing.json()["error"]) == (400, "not_found")
    assert await (await manager.object_store(bucket)).list() == []


async def test_policy_enforced(gateway: Gateway, bucket: str) -> None:
    admin = client(gateway, token("service_role"))
    await admin.create_bucket(
        bucket, options={"file_size_limit": 10, "allowed_mime_types": ["text/*"]}
    )
    files = admin.from_(bucket)
    with pytest.raises(StorageApiError) as exc:
        await files.upload("big.txt", b"x" * 11)
    assert exc.value.status == "413"
    with pytest.raises(StorageApiError) as exc:
        await files.upload("img.png", b"x", {"content-type": "image/png"})
    assert exc.value.status == "415"
    async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
        auth = {"Authorization": f"Bearer {token('service_role')}", "Content-Type": "text/plain"}

        async def body() -> AsyncIterator[bytes]:  # a client announcing more than allowed
            yield b"x" * 11

        refused = await http.post(
            f"/object/{bucket}/raw.txt", content=body(), headers={**auth, "Content-Length": "11"}
        )
        assert (refused.status_code, refused.json()["code"]) == (400, "EntityTooLarge")
        streamed = await http.post(f"/object/{bucket}/raw.txt", content=body(), headers=auth)
        assert streamed.json()["code"] == "EntityTooLarge"  # chunked: cut off by natsobj
    assert await admin.from_(bucket).list() == []


async def test_sync_client(gateway: Gateway, bucket: str) -> None:
    def drive() -> bytes:
        bearer = token("service_role")
        with SyncStorageClient(gateway.storage_url, {"Authorization": f"Bearer {bearer}"}) as sync:
            sync.create_bucket(bucket)
            sync.from_(bucket).upload("s.txt", b"sync")
            return sync.from_(bucket).download("s.txt")

    assert await anyio.to_thread.run_sync(drive) == b"sync"


async def test_move_and_copy_across_buckets(
    gateway: Gateway, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    admin = client(gateway, token("service_role"))
    other = f"{bucket}x"
    await admin.create_bucket(bucket)
    await admin.create_bucket(other)
    try:
        await admin.from_(bucket).upload("a.txt", b"across")
        body = {"bucketId": bucket, "sourceKey": "a.txt", "destinationBucket": other}
        async with httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/")) as http:
            auth = {"Authorization": f"Bearer {token('authenticated')}"}
            copied = await http.post(
                "/object/copy", json={**body, "destinationKey": "c.txt"}, headers=auth
            )
            assert copied.json()["Key"] == f"{other}/c.txt"
            moved = await http.post(
                "/object/move", json={**body, "destinationKey": "m.txt"}, headers=auth
            )
            assert moved.json() == {"message": "Successfully moved"}
            again = await http.post(
                "/object/move", json={**body, "destinationKey": "m.txt"}, headers=auth
            )
            assert again.json()["code"] == "NoSuchKey"
        target = await manager.object_store(other)
        assert await target.get_bytes("c.txt") == await target.get_bytes("m.txt") == b"across"
        assert await (await manager.object_store(bucket)).list() == []
    finally:
        await manager.delete_object_store(other)
