"""Bad input to the Supabase routes, as HTTP: wrong methods and routes, bad JSON, overlong
names and headers, bodies shorter or longer than their Content-Length or over the bucket's
limit, forged and altered tokens, conditional requests. Each gets its 4xx (or 304) and
changes nothing: no bucket, no object, no chunk left behind."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import natsobj
from natsobj.gateway import create_app

from ..conftest import chunk_counts
from .conftest import SECRET, Gateway, serving, token
from .test_serve_cli import free_port, open_serve, stop, wait_ready

pytestmark = pytest.mark.anyio

SERVICE = {"Authorization": f"Bearer {token('service_role')}"}
OBJECTSTORE_KEY = Ed25519PrivateKey.generate()
OBJECTSTORE_PEM = OBJECTSTORE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.fixture(scope="module", params=["uvicorn", "natsobj-serve"])
async def gateway(
    request: pytest.FixtureRequest,
    server: natsobj.EmbeddedServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Gateway]:
    """The gateway with a JWT secret and an Objectstore Ed25519 key (for confusion tests),
    one for the module (it keeps no state between requests): on uvicorn in this process,
    and as ``natsobj serve`` runs it (its own process)."""
    if request.param == "uvicorn":
        app = create_app(server.url, jwt_secret=SECRET, objectstore_keys={"k1": OBJECTSTORE_PEM})
        async with serving(app) as running:
            yield running
        return
    pem = tmp_path_factory.mktemp("keys") / "k1.pem"
    pem.write_bytes(OBJECTSTORE_PEM)
    port = free_port()
    args = ["serve", "--server", server.url, "--port", str(port), "--jwt-secret", SECRET]
    args += ["--objectstore-key", f"k1={pem}", "--no-access-log"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
    process = await open_serve(args, env)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url)
        yield Gateway(url)
    finally:
        await stop(process)


@pytest.fixture
async def store(
    gateway: Gateway, manager: natsobj.ObjectStoreManager
) -> AsyncIterator[natsobj.ObjectStore]:
    """A bucket with one object, ``a.txt``, limited to 1000 bytes of text."""
    name = f"b{uuid.uuid4().hex[:12]}"
    created = await manager.create_object_store(
        name, file_size_limit=1000, allowed_mime_types=["text/*"]
    )
    await created.upload(natsobj.ObjectMeta(name="a.txt"), b"original", content_type="text/plain")
    yield created
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


async def unchanged(store: natsobj.ObjectStore) -> None:
    """Nothing but ``a.txt`` in the bucket, as it was, and no chunk of anything else."""
    assert [info.name for info in await store.list()] == ["a.txt"]
    assert await store.get_bytes("a.txt") == b"original"
    assert len(await chunk_counts(store)) == 1  # a.txt's chunk subject
    assert (await store.sweep_orphans(grace=0)).orphans == []


def http(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gateway.storage_url.rstrip("/"))


async def raw(gateway: Gateway, request: bytes, *, half_close: bool = True) -> bytes:
    """Send bytes as they are (no client fixes them up) and read the answer to the end."""
    host, port = gateway.url.removeprefix("http://").split(":")
    answer = b""
    async with await anyio.connect_tcp(host, int(port)) as conn:
        await conn.send(request)
        if half_close:
            await conn.send_eof()
        with (
            anyio.fail_after(10),
            contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError),
        ):
            while True:
                answer += await conn.receive()
    return answer


def head(store: natsobj.ObjectStore, name: str, length: int, *, extra: str = "") -> bytes:
    return (
        f"POST /storage/v1/object/{store.bucket}/{name} HTTP/1.1\r\nHost: gateway\r\n"
        f"{SERVICE['Authorization'].join(['Authorization: ', ''])}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/object/{b}/a.txt"),
        ("PUT", "/bucket"),
        ("GET", "/object/move"),
        ("PATCH", "/bucket/{b}"),
        ("POST", "/bucket/{b}"),
        ("DELETE", "/bucket"),
        ("POST", "/bucket/{b}/nothing"),
        ("GET", "/bucket/{b}/lifecycle"),
        ("PUT", "/bucket/{b}/empty"),
        ("GET", "/no/such/route"),
    ],
)
async def test_wrong_methods_and_routes(
    gateway: Gateway, store: natsobj.ObjectStore, method: str, path: str
) -> None:
    async with http(gateway) as client:
        answer = await client.request(
            method, path.format(b=store.bucket), headers=SERVICE, content=b"{}"
        )
    assert answer.status_code == 404
    body = answer.json()
    assert (body["statusCode"], body["code"], body["error"]) == (
        "404",
        "InvalidRequest",
        "Not Found",
    )
    await unchanged(store)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/bucket", b"{not json", "400"),
        ("POST", "/bucket", b"[1, 2]", "400"),
        ("POST", "/bucket", b'{"id": 5}', "400"),
        ("POST", "/bucket", b'{"id": "x", "public": "yes"}', "400"),
        ("POST", "/bucket", b'{"id": "' + b"n" * 300 + b'"}', "400"),
        ("POST", "/bucket", b'{"id": "big", "pad": "' + b"x" * (1 << 20) + b'"}', "413"),
        ("PUT", "/bucket/{b}", b'{"file_size_limit": "lots"}', "400"),
        ("PUT", "/bucket/{b}", b'{"allowed_mime_types": "text/*"}', "400"),
        ("POST", "/object/move", b'{"bucketId": "{b}", "sourceKey": "a.txt"}', "400"),
        (
            "POST",
            "/object/move",
            b'{"bucketId": "{b}", "sourceKey": "a.txt", "destinationKey": "../x"}',
            "400",
        ),
        (
            "POST",
            "/object/copy",
            b'{"bucketId": "{b}", "sourceKey": "a.txt", "destinationKey": "c",'
            b' "copyMetadata": false, "metadata": {"mimetype": 5}}',
            "400",
        ),
        (
            "POST",
            "/object/copy",
            b'{"bucketId": "{b}", "sourceKey": "a.txt", "destinationKey": "c",'
            b' "copyMetadata": false, "metadata": {"mimetype": "image/png"}}',
            "415",
        ),
        ("POST", "/object/sign/{b}/a.txt", b'{"expiresIn": "soon"}', "400"),
        ("POST", "/object/sign/{b}", b'{"expiresIn": 60, "paths": "a.txt"}', "400"),
        ("DELETE", "/object/{b}", b'{"prefixes": [1]}', "400"),
        ("POST", "/object/list/{b}", b'{"limit": 100000}', "400"),
        ("POST", "/object/list/{b}", b'{"sortBy": {"column": "size"}}', "400"),
        ("GET", "/bucket?limit=0", b"", "400"),
        ("GET", "/bucket?sortColumn=owner", b"", "400"),
    ],
)
async def test_bad_requests_change_nothing(
    gateway: Gateway,
    store: natsobj.ObjectStore,
    manager: natsobj.ObjectStoreManager,
    method: str,
    path: str,
    body: bytes,
    status: str,
) -> None:
    before = await manager.object_store_names()
    policy = (await manager.get_bucket(store.bucket)).file_size_limit
    async with http(gateway) as client:
        answer = await client.request(
            method,
            path.format(b=store.bucket),
            content=body.replace(b"{b}", store.bucket.encode()),
            headers={**SERVICE, "Content-Type": "application/json"},
        )
    assert (answer.status_code, answer.json()["statusCode"]) == (400, status)
    assert await manager.object_store_names() == before
    assert (await manager.get_bucket(store.bucket)).file_size_limit == policy == 1000
    await unchanged(store)


async def test_overlong_names_and_headers(gateway: Gateway, store: natsobj.ObjectStore) -> None:
    async with http(gateway) as client:
        name = await client.post(
            f"/object/{store.bucket}/{'n' * 1000}/{'n' * 1100}",
            content=b"x",
            headers={**SERVICE, "Content-Type": "text/plain"},
        )
        assert (name.status_code, name.json()["code"]) == (400, "InvalidKey")
        bucket = await client.get(f"/object/{'b' * 300}/a.txt", headers=SERVICE)
        assert (bucket.status_code, bucket.json()["statusCode"]) == (400, "400")
        # Headers past 16 KiB (Node's limit, so Supabase's): refused before anything is read.
        huge = await client.post(
            f"/object/{store.bucket}/h.txt",
            content=b"x",
            headers={**SERVICE, "Content-Type": "text/plain", "x-pad": "p" * (64 << 10)},
        )
        assert (huge.status_code, huge.json()["statusCode"]) == (431, "431")
        metadata = base64.b64encode(json.dumps({"k": "v" * (10 << 10)}).encode()).decode()
        big_meta = await client.post(
            f"/object/{store.bucket}/m.txt",
            content=b"x",
            headers={**SERVICE, "Content-Type": "text/plain", "x-metadata": metadata},
        )
        assert big_meta.status_code == 200, big_meta.text
        assert (await store.get_info("m.txt")).metadata == {"k": "v" * (10 << 10)}
        await store.delete("m.txt")
        # User metadata in a form field, too big for a NATS message with the meta.
        form = (
            b'--xyz\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            + json.dumps({"k": "v" * ((1 << 20) - 100)}).encode()
            + b'\r\n--xyz\r\nContent-Disposition: form-data; name=""; filename="f"\r\n'
            + b"Content-Type: text/plain\r\n\r\nx\r\n--xyz--\r\n"
        )
        too_much = await client.post(
            f"/object/{store.bucket}/meta.txt",
            content=form,
            headers={**SERVICE, "Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert (too_much.status_code, too_much.json()["code"]) == (400, "InvalidRequest")
    assert [info.name for info in await store.list()] == ["a.txt"]


async def test_body_shorter_than_content_length(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    """The client announces 900 bytes, sends 300 and closes its side: nothing is stored,
    and the failed put's chunks are gone (a sweep finds no orphan)."""
    answer = await raw(gateway, head(store, "short.txt", 900) + b"s" * 300)
    assert b" 200 " not in answer.split(b"\r\n", 1)[0]
    with anyio.fail_after(10):
        while len(await chunk_counts(store)) > 1:  # noqa: ASYNC110 (server state, polled)
            await anyio.sleep(0.02)
    await unchanged(store)


async def test_body_longer_than_content_length(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    """Bytes past Content-Length are not the object, and the rest, read as a next request,
    is refused as bad HTTP. h11 answers the upload (200, the object holds exactly what
    was announced) before it reads the rest; httptools (uvicorn's parser where installed,
    as with ``natsobj serve``) parses the rest with it and answers 400 at once, closing
    the connection: the upload, never acknowledged, is stored as announced or not at
    all."""
    request = head(store, "long.txt", 5) + b"helloGARBAGE GARBAGE\r\n\r\n"
    answer = await raw(gateway, request, half_close=False)
    first, _, rest = answer.partition(b"\r\n\r\n")
    if first.startswith(b"HTTP/1.1 200 "):
        assert b"HTTP/1.1 400 " in rest
        assert await store.get_bytes("long.txt") == b"hello"
    else:
        assert first.startswith(b"HTTP/1.1 400 ")
        with contextlib.suppress(natsobj.ObjectNotFoundError):
            assert await store.get_bytes("long.txt") == b"hello"


async def test_oversize_bodies(gateway: Gateway, store: natsobj.ObjectStore) -> None:
    async with http(gateway) as client:
        boundary = "xyz"
        form = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name=""; filename="f"\r\n'
                f"Content-Type: text/plain\r\n\r\n"
            ).encode()
            + b"f" * 5000
            + f"\r\n--{boundary}--\r\n".encode()
        )
        as_form = await client.post(
            f"/object/{store.bucket}/form.txt",
            content=form,
            headers={**SERVICE, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert (as_form.status_code, as_form.json()["statusCode"]) == (400, "413")
        replaced = await client.put(
            f"/object/{store.bucket}/a.txt",
            content=b"r" * 1001,
            headers={**SERVICE, "Content-Type": "text/plain"},
        )
        assert (replaced.status_code, replaced.json()["code"]) == (400, "EntityTooLarge")
    await unchanged(store)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(key: bytes, claims: dict[str, object]) -> str:
    """An HS256 token whose HMAC key is ``key`` (PyJWT refuses a public key PEM as one)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _altered(token_: str, **claims: object) -> str:
    """The token with its claims changed and its signature kept."""
    header, payload, signature = token_.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    encoded = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode())
    return f"{header}.{encoded.rstrip(b'=').decode()}.{signature}"


async def test_forged_and_confused_tokens(gateway: Gateway, store: natsobj.ObjectStore) -> None:
    """An HS256 token keyed with the Objectstore public key (HS/EdDSA confusion), an EdDSA
    token from a configured Objectstore key, claims changed under a kept signature: none
    is a caller, in either header; a signed URL with its expiry or path changed, or with
    no signature, serves nothing."""
    as_hmac_key = hs256_with(OBJECTSTORE_PEM, {"role": "service_role"})
    objectstore_token = jwt.encode(
        {"role": "service_role"}, OBJECTSTORE_KEY, "EdDSA", headers={"kid": "k1"}
    )
    altered_role = _altered(token("anon"), role="service_role")
    async with http(gateway) as client:
        for bearer in (as_hmac_key, objectstore_token, altered_role):
            for headers in ({"Authorization": f"Bearer {bearer}"}, {"apikey": bearer}):
                answer = await client.post(
                    f"/object/{store.bucket}/evil.txt",
                    content=b"evil",
                    headers={**headers, "Content-Type": "text/plain"},
                )
                assert (answer.status_code, answer.json()["code"]) == (400, "AccessDenied")
        signed = await client.post(
            f"/object/sign/{store.bucket}/a.txt", json={"expiresIn": 60}, headers=SERVICE
        )
        url = signed.json()["signedURL"]
        good = httpx.URL(url).params["token"]
        later = _altered(good, exp=2**40)
        elsewhere = _altered(good, url=f"{store.bucket}/other.txt")
        unsigned = _altered(good).rsplit(".", 1)[0] + "."
        for bad, code in (
            (later, "InvalidJWT"),
            (elsewhere, "InvalidJWT"),
            (unsigned, "InvalidJWT"),
        ):
            answer = await client.get(f"/object/sign/{store.bucket}/a.txt?token={bad}")
            assert (answer.status_code, answer.json()["code"]) == (400, code)
        moved_path = await client.get(f"/object/sign/{store.bucket}/A.txt?token={good}")
        assert moved_path.json()["code"] == "InvalidSignature"
        assert (await client.get(url)).content == b"original"
    await unchanged(store)


async def test_conditional_requests(gateway: Gateway, store: natsobj.ObjectStore) -> None:
    info = await store.get_info("a.txt")
    assert info.mtime is not None
    after = format_datetime(info.mtime + timedelta(seconds=1), usegmt=True)
    before = format_datetime(info.mtime - timedelta(seconds=5), usegmt=True)
    url = f"/object/{store.bucket}/a.txt"
    async with http(gateway) as client:
        for method in ("GET", "HEAD"):
            cached = await client.request(
                method, url, headers={**SERVICE, "If-Modified-Since": after}
            )
            assert (cached.status_code, cached.content) == (304, b"")
            assert cached.headers["etag"] == f'"{info.digest}"'
        stale = await client.get(url, headers={**SERVICE, "If-Modified-Since": before})
        assert (stale.status_code, stale.content) == (200, b"original")
        nonsense = await client.get(url, headers={**SERVICE, "If-Modified-Since": "yesterday"})
        assert nonsense.status_code == 200
        # If-None-Match decides when both are given (RFC 9110): another ETag means changed.
        both = await client.get(
            url, headers={**SERVICE, "If-Modified-Since": after, "If-None-Match": '"other"'}
        )
        assert both.status_code == 200
        listed = await client.get(
            url, headers={**SERVICE, "If-None-Match": f'"x", "{info.digest}"'}
        )
        assert listed.status_code == 304
    await unchanged(store)


async def test_disconnect_mid_multipart_upload(
    gateway: Gateway, store: natsobj.ObjectStore
) -> None:
    """A form whose client goes away inside its file part leaves no object and no chunk."""
    part = (
        b'--xyz\r\nContent-Disposition: form-data; name=""; filename="f"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + os.urandom(600)
    )
    request = (
        f"POST /storage/v1/object/{store.bucket}/gone.txt HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: {SERVICE['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 900\r\n\r\n"
    ).encode()
    await raw(gateway, request + part)
    with anyio.fail_after(10):
        while len(await chunk_counts(store)) > 1:  # noqa: ASYNC110 (server state, polled)
            await anyio.sleep(0.02)
    await unchanged(store)
