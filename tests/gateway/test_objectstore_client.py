"""The official ``objectstore-client`` against the gateway's ``/v1`` routes, served by
uvicorn over a real nats-server: writes read back through natsobj sessions (and the other
way round) byte-identical, metadata, compression both ways, time to idle, and every kind
of refused credential leaving nothing changed."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio
import jwt
import pytest
import urllib3
import zstandard
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from objectstore_client import (
    Client,
    ExpiryExtensionRejected,
    Metadata,
    RequestError,
    SecretKey,
    Session,
    TimeToIdle,
    TimeToLive,
)
from objectstore_client import Usecase as ClientUsecase
from objectstore_client.auth import Permission
from objectstore_client.multipart import CompletePart, MultipartCompleteError

import natsobj
from natsobj import ExpirationPolicy, Usecase

from ..conftest import chunk_counts
from .objectstore_fixtures import SigningKey, serve_objectstore, signing_key, unique_usecase

pytestmark = pytest.mark.anyio
T = TypeVar("T")
KEY = signing_key("test-kid")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The client is synchronous: run it in a thread so uvicorn keeps serving."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


@pytest.fixture
async def gateway(server: natsobj.EmbeddedServer) -> AsyncIterator[str]:
    async with serve_objectstore(server.url, {KEY.kid: KEY.public}) as url:
        yield url


@pytest.fixture
async def usecase_name(manager: natsobj.ObjectStoreManager) -> AsyncIterator[str]:
    name = unique_usecase()
    yield name
    with contextlib.suppress(natsobj.ObjectStoreError):
        await manager.delete_object_store(name)


def client(url: str, key: SigningKey = KEY, **secret: Any) -> Client:
    return Client(url, token=SecretKey(key.kid, key.private_pem, **secret))


def token(
    usecase: str,
    *,
    key: SigningKey = KEY,
    permissions: list[str] | None = None,
    exp: timedelta = timedelta(seconds=60),
    **scope: str,
) -> str:
    claims = {
        "res": {"os:usecase": usecase, **scope},
        "permissions": ["object.read", "object.write", "object.delete"]
        if permissions is None
        else permissions,
        "exp": datetime.now(UTC) + exp,
    }
    return jwt.encode(claims, key.private_pem, algorithm="EdDSA", headers={"kid": key.kid})


def hmac_token(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token with the kid of ``KEY`` (PyJWT refuses to make one from a PEM)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KEY.kid}).encode())
    signing_input = header + b"." + b64(json.dumps(claims).encode())
    return (signing_input + b"." + b64(hmac.digest(secret, signing_input, "sha256"))).decode()


def read(session: Session, key: str, **kw: Any) -> tuple[bytes, Metadata] | None:
    """``session.get`` and its whole payload (the payload streams as it is read)."""
    got = session.get(key, **kw)
    return None if got is None else (got.payload.read(), got.metadata)


def raw(method: str, url: str, **kw: Any) -> urllib3.BaseHTTPResponse:
    return urllib3.request(method, url, retries=False, **kw)


async def test_put_get_head_delete_read_back_through_natsobj(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name), org=42, project=1337)
    data = bytes(range(256)) * 1000
    key = await call(
        session.put,
        data,
        key="dir/report.bin",
        content_type="application/x-test",
        metadata={"kind": "log", "note": "été 100%"},
        expiration_policy=TimeToLive(timedelta(hours=1)),
        origin="203.0.113.7",
        filename="rapport été.bin",
    )
    assert key == "dir/report.bin"
    got = await call(read, session, key)
    assert got is not None
    payload, meta = got
    assert payload == data
    assert meta.content_type == "application/x-test"
    assert meta.custom == {"kind": "log", "note": "été 100%"}
    assert meta.expiration_policy == TimeToLive(timedelta(hours=1))
    assert meta.origin == "203.0.113.7"
    assert meta.filename == "rapport été.bin"
    assert meta.time_created is not None
    assert meta.time_expires is not None
    assert meta.time_expires - meta.time_created == timedelta(hours=1)
    head = await call(session.head, key)
    assert head is not None
    assert head.custom == meta.custom
    assert head.filename == meta.filename

    # The same object through the library, byte-identical, with the same metadata.
    library = Usecase(usecase_name).for_project(42, 1337).session(manager)
    assert await library.get_bytes(key) == data
    lib_meta = await library.head(key)
    assert lib_meta.custom == {"kind": "log", "note": "été 100%"}
    assert lib_meta.expiration_policy == ExpirationPolicy.time_to_live(3600)
    assert (lib_meta.origin, lib_meta.filename) == ("203.0.113.7", "rapport été.bin")
    assert lib_meta.compression == "zstd"  # the usecase default of the client: stored zstd

    # A key the server makes (POST), and what the library writes reads through the client.
    new_key = await call(session.put, b"generated")
    assert len(new_key) == 36
    assert await library.get_bytes(new_key) == b"generated"
    await library.put(b"from the library", "lib", compression="zstd", metadata={"a": "b"})
    from_lib = await call(read, session, "lib")
    assert from_lib is not None
    assert from_lib[0] == b"from the library"
    assert from_lib[1].custom == {"a": "b"}

    await call(session.delete, key)
    assert await call(read, session, key) is None
    assert await call(session.head, key) is None
    with pytest.raises(natsobj.ObjectNotFoundError):
        await library.head(key)
    await call(session.delete, key)  # deleting a missing key succeeds, as Sentry's does


async def test_compression_both_ways(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name), org=1)
    library = Usecase(usecase_name).for_organization(1).session(manager)
    data = b"compressible " * 5000
    await call(session.put, data, key="z")
    stored = await library.get_bytes("z", accept_encoding="zstd")
    assert len(stored) < len(data) // 10
    assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == data

    # As stored, when the client takes zstd; decoded by the gateway when the request's
    # Accept-Encoding excludes it.
    kept = await call(read, session, "z", decompress=False)
    assert kept is not None
    assert kept[1].compression == "zstd"
    assert kept[0] == stored
    url = f"{gateway}/v1/objects/{usecase_name}/org=1/z"
    auth = {"x-os-auth": f"Bearer {token(usecase_name, org='1')}"}
    plain = await call(raw, "GET", url, headers={**auth, "Accept-Encoding": "gzip"})
    assert plain.status == 200
    assert plain.data == data
    assert "content-encoding" not in plain.headers
    zstd = await call(raw, "GET", url, headers={**auth, "Accept-Encoding": "zstd"})
    assert zstd.headers["content-encoding"] == "zstd"
    assert zstd.data == stored

    # compress="none" stores the bytes as sent.
    await call(session.put, data, key="plain", compress="none")
    assert (await library.head("plain")).compression == "none"
    assert await library.get_bytes("plain", decompress=False) == data

    # A body that says zstd but is not: 400, and nothing stored.
    bad = await call(
        raw, "PUT", url + "-bad", body=b"not zstd", headers={**auth, "Content-Encoding": "zstd"}
    )
    assert bad.status == 400
    assert "zstd" in json.loads(bad.data)["detail"]
    assert await call(session.head, "z-bad") is None


async def test_time_to_idle_renewed_by_reads(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name, compression="none"), org=7)
    key = await call(
        session.put, b"x", key="idle", expiration_policy=TimeToIdle(timedelta(seconds=4))
    )
    first = await call(session.head, key)
    assert first is not None
    assert first.expiration_policy == TimeToIdle(timedelta(seconds=4))
    assert first.time_expires is not None
    await anyio.sleep(1.2)  # past the debounce (a quarter of the TTI)
    got = await call(read, session, key)
    assert got is not None
    assert got[0] == b"x"
    library = Usecase(usecase_name).for_organization(7).session(manager)
    renewed = await library.head(key)
    assert renewed.time_expires is not None
    assert renewed.time_expires > first.time_expires


async def test_refused_credentials_change_nothing(gateway: str, usecase_name: str) -> None:
    url = f"{gateway}/v1/objects/{usecase_name}/org=1;project=2/k"
    other = signing_key("test-kid")  # the configured kid, another key pair
    unknown = signing_key("nobody")
    claims = {
        "res": {"os:usecase": usecase_name, "org": "1", "project": "2"},
        "permissions": ["object.write"],
        "exp": int((datetime.now(UTC) + timedelta(minutes=1)).timestamp()),
    }
    none_alg = jwt.encode(claims, "", algorithm="none", headers={"kid": KEY.kid})
    public_pem = KEY.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    cases: list[tuple[str | None, int]] = [
        (None, 401),
        ("garbage", 401),
        (token(usecase_name, org="1", project="2", exp=timedelta(seconds=-120)), 401),
        (token(usecase_name, key=other, org="1", project="2"), 401),
        (token(usecase_name, key=unknown, org="1", project="2"), 401),
        (none_alg, 401),
        (hmac_token(claims, public_pem), 401),  # HS256 keyed with the public key
        (token(usecase_name, org="1"), 403),  # project not covered
        (token(usecase_name, org="1", project="3"), 403),
        (token("another", org="1", project="2"), 403),
        (token(usecase_name, permissions=["object.read"], org="1", project="2"), 403),
    ]
    for credential, status in cases:
        headers = {} if credential is None else {"x-os-auth": f"Bearer {credential}"}
        response = await call(raw, "PUT", url, body=b"nope", headers=headers)
        assert response.status == status, (credential, response.data)
        assert "detail" in json.loads(response.data)
    allowed = token(usecase_name, org="1", project="*")
    check = await call(raw, "HEAD", url, headers={"x-os-auth": allowed})
    assert check.status == 404  # nothing was written by any refused request
    ok = await call(raw, "PUT", url, body=b"yes", headers={"authorization": f"Bearer {allowed}"})
    assert ok.status == 200
    assert json.loads(ok.data) == {"key": "k"}

    # The client's own refusal path: a read-only key cannot write.
    read_only = client(gateway, permissions=[Permission.OBJECT_READ])
    session = read_only.session(ClientUsecase(usecase_name), org=1, project=2)
    with pytest.raises(RequestError) as refused:
        await call(session.put, b"x", key="k")
    assert refused.value.status == 403
    got = await call(read, session, "k")
    assert got is not None
    assert got[0] == b"yes"


async def test_presigned_and_token_urls(gateway: str, usecase_name: str) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name), org=5)
    await call(session.put, b"shared bytes", key="a b/c")
    signed = await call(session.presigned_object_url, "GET", "a b/c")
    got = await call(raw, "GET", signed, headers={"Accept-Encoding": "gzip"})
    assert got.status == 200
    assert got.data == b"shared bytes"
    assert (await call(raw, "HEAD", signed)).status == 204
    assert (await call(raw, "DELETE", signed)).status == 403  # GET and HEAD only
    other_key = signed.replace("/a%20b/c?", "/a%20b/d?")
    assert (await call(raw, "GET", other_key)).status == 401
    longer = signed.replace("os_duration=3600", "os_duration=7200")
    assert (await call(raw, "GET", longer)).status == 401
    assert (await call(session.head, "a b/c")) is not None  # DELETE changed nothing

    token_url = await call(session.object_url, "a b/c", timedelta(minutes=1))
    fetched = await call(raw, "GET", token_url, headers={"Accept-Encoding": "gzip"})
    assert fetched.status == 200
    assert fetched.data == b"shared bytes"
    assert (await call(raw, "DELETE", token_url)).status == 403  # a read-only token
    assert (await call(raw, "GET", session.object_url("a b/c"))).status == 401


async def test_without_keys_auth_is_off_and_bad_input_is_400(
    server: natsobj.EmbeddedServer, usecase_name: str
) -> None:
    async with serve_objectstore(server.url, {}) as url:
        session = Client(url).session(ClientUsecase(usecase_name), org=1)
        assert await call(session.put, b"open", key="k") == "k"
        got = await call(read, session, "k")
        assert got is not None
        assert got[0] == b"open"
        base = f"{url}/v1/objects/{usecase_name}"
        for path, headers in [
            ("/org=1;project/k", {}),  # a scope component without "="
            ("/org=a.b/k", {}),  # "." is a delimiter
            ("/org=1/k", {"x-sn-expiration": "ttl:soon"}),
            ("/org=1/k", {"x-sn-expiration": "forever"}),
            ("/org=1/k", {"Content-Encoding": "gzip"}),
            ("/org=1/k", {"x-snme-bad": "%ff"}),
            ("/org=1/" + "k" * 1025, {}),  # keys are at most 1 KiB
            ("/org=1/k", {f"x-snme-m{n}": "v" * 1000 for n in range(70)}),  # metadata limit
            ("/org=1/k", {"x-sn-origin": "%0d%0aInjected: 1"}),  # control characters
            ("/org=1/k", {"Content-Type": "not a media type"}),
        ]:
            response = await call(raw, "PUT", base + path, body=b"x", headers=headers)
            assert response.status == 400, (path, headers, response.data)
            assert json.loads(response.data)["detail"]  # the gateway's refusal, not h11's
        assert (await call(raw, "PUT", f"{url}/v1/objects/a.b/_/k", body=b"x")).status == 400
        assert (await call(raw, "GET", base + "/org=1/missing")).status == 404
        with pytest.raises(ExpiryExtensionRejected) as patch:  # "k" never expires
            await call(session.extend_expiry, "k", from_now=timedelta(hours=1))
        assert patch.value.status == 409
        still = await call(read, session, "k")
        assert still is not None
        assert still[0] == b"open"


async def test_client_gone_mid_upload_leaves_nothing(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    library = Usecase(usecase_name, compression="none").scope().session(manager)
    await library.put(b"old", "k")
    store = (await library.bucket()).store
    before = await chunk_counts(store)
    host, port = gateway.removeprefix("http://").split(":")
    head = (
        f"PUT /v1/objects/{usecase_name}/_/k HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Length: 4000000\r\nx-os-auth: {token(usecase_name)}\r\n\r\n"
    ).encode()
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(head + b"x" * 1_500_000)  # then hang up, 2.5 MB short
    for _ in range(100):  # the gateway notices the disconnect and abandons the put
        if await chunk_counts(store) == before:
            break
        await anyio.sleep(0.05)
    assert await chunk_counts(store) == before
    assert await library.get_bytes("k") == b"old"
    # The same request sent whole is stored: the one above was cut short, not refused.
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(head + b"x" * 4_000_000)
        assert (await stream.receive()).startswith(b"HTTP/1.1 200 ")
    assert await library.get_bytes("k") == b"x" * 4_000_000


async def test_encoded_dots_and_slashes_stay_in_their_scope(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    auth = {"x-os-auth": token(usecase_name, org="1")}
    base = f"{gateway}/v1/objects/{usecase_name}/org=1/"
    for raw_key, key in [("%2e%2e/%2e%2e/x", "../../x"), ("a%2F..%2F..%2Fy", "a/../../y")]:
        response = await call(raw, "PUT", base + raw_key, body=b"here", headers=auth)
        assert response.status == 200
        assert json.loads(response.data) == {"key": key}
        scoped = Usecase(usecase_name).for_organization(1).session(manager)
        assert await scoped.get_bytes(key) == b"here"
    # Nothing landed outside org=1: the usecase's only objects are those two, in org=1.
    store = (await Usecase(usecase_name).scope().session(manager).bucket()).store
    names = sorted(info.name for info in await store.list())
    assert names == ["org.1/objects/../../x", "org.1/objects/a/../../y"]
    # An encoded slash in the scope segment: 400 (routing decodes it; the scope is refused).
    wider = f"{gateway}/v1/objects/{usecase_name}/org=1%2Fproject=2/k"
    assert (await call(raw, "PUT", wider, body=b"k", headers=auth)).status == 400
    assert len(await store.list()) == 2


async def test_multipart_upload(
    gateway: str, usecase_name: str, manager: natsobj.ObjectStoreManager
) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name), org=3)
    pieces = [bytes([n]) * 700_000 for n in range(1, 4)]
    upload = await call(
        session.initiate_multipart_upload,
        key="big",
        compression="zstd",
        metadata={"kind": "dump"},
        expiration_policy=TimeToLive(timedelta(hours=2)),
    )
    compressor = zstandard.ZstdCompressor()
    done = []
    for number in (3, 1, 2):  # parts may come in any order; the caller compresses each
        body = compressor.compress(pieces[number - 1])
        done.append(await call(upload.put_part, body, part_number=number, content_length=len(body)))
    listed = await call(upload.list_parts)
    assert [p.part_number for p in listed] == [1, 2, 3]
    assert {p.etag for p in listed} == {p.etag for p in done}

    # Another scope cannot reach the upload, even with a valid token for its own scope.
    stranger = client(gateway).session(ClientUsecase(usecase_name), org=4)
    with pytest.raises(RequestError) as elsewhere:
        await call(stranger.resume_multipart_upload("big", upload.upload_id).list_parts)
    assert elsewhere.value.status == 404
    with pytest.raises(MultipartCompleteError) as wrong:
        await call(upload.complete, [CompletePart(1, "bogus")])
    assert wrong.value.code == "InvalidPart"

    assert await call(upload.complete, done) == "big"
    got = await call(read, session, "big")
    assert got is not None
    assert got[0] == b"".join(pieces)
    assert got[1].custom == {"kind": "dump"}
    assert got[1].expiration_policy == TimeToLive(timedelta(hours=2))
    library = Usecase(usecase_name).for_organization(3).session(manager)
    assert await library.get_bytes("big") == b"".join(pieces)
    store = (await library.bucket()).store
    assert [info.name for info in await store.list()] == ["org.3/objects/big"]

    # Abort drops the upload and its parts.
    aborted = await call(session.initiate_multipart_upload, key="gone")
    await call(aborted.put_part, b"x", part_number=1, content_length=1)
    await call(aborted.abort)
    with pytest.raises(RequestError) as missing:
        await call(aborted.list_parts)
    assert missing.value.status == 404
    assert [info.name for info in await store.list()] == ["org.3/objects/big"]
    assert await call(session.head, "gone") is None


async def test_multipart_bad_input(gateway: str, usecase_name: str) -> None:
    session = client(gateway).session(ClientUsecase(usecase_name, compression="none"), org=3)
    upload = await call(session.initiate_multipart_upload, key="m")
    auth = {"x-os-auth": token(usecase_name, org="3")}
    parts = f"{gateway}/v1/objects:multipart:parts/{usecase_name}/org=3/m"
    complete = f"{gateway}/v1/objects:multipart:complete/{usecase_name}/org=3/m"
    query = f"?upload_id={upload.upload_id}"
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    for url, method, body, headers, status in [
        (parts + query + "&part_number=1", "PUT", b"abc", {"Content-MD5": wrong_md5}, 400),
        (parts + query + "&part_number=0", "PUT", b"abc", {}, 400),
        (parts + query + "&part_number=%D9%A3", "PUT", b"abc", {}, 400),  # a non-ASCII digit
        (parts + "?upload_id=not-an-id&part_number=1", "PUT", b"abc", {}, 404),
        (parts.replace("/m", "/other") + query + "&part_number=1", "PUT", b"abc", {}, 404),
        (complete + query, "POST", b"{not json", {}, 400),
        (
            complete + query,
            "POST",
            b'{"parts": [{"part_number": 2, "etag": "x"}, {"part_number": 1, "etag": "y"}]}',
            {},
            400,
        ),
        (parts + query + "&max_parts=0", "GET", None, {}, 400),
    ]:
        response = await call(raw, method, url, body=body, headers={**auth, **headers})
        assert response.status == status, (url, response.data)
    assert await call(upload.list_parts) == []  # nothing above left a part behind
    md5 = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    ok = await call(
        raw,
        "PUT",
        parts + query + "&part_number=1",
        body=b"abc",
        headers={**auth, "Content-MD5": md5},
    )
    assert ok.status == 200
    assert [p.size for p in await call(upload.list_parts)] == [3]
