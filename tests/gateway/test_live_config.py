"""Objectstore keys (rotation, ``max_permissions``, the shared key set in NATS) and the
issue's 1 s bound: TWO gateway instances (each its own NATS connection) over one server;
a key added or revoked, or a Supabase bucket policy changed, through one (or the
library) holds on the other within a second."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import natsobj
from natsobj.gateway import (
    ObjectstoreKey,
    add_objectstore_key,
    create_app,
    objectstore_keys,
    revoke_objectstore_key,
)

from .conftest import SECRET, serving, token
from .objectstore_fixtures import SigningKey, signing_key, unique_usecase

pytestmark = pytest.mark.anyio
BOUND = 1.0  # seconds: the bound for a change to hold on every instance


def pem(key: SigningKey) -> bytes:
    return key.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def os_token(key: SigningKey, usecase: str, permissions: list[str] | None = None) -> str:
    claims = {
        "res": {"os:usecase": usecase},
        "permissions": permissions or ["object.read", "object.write", "object.delete"],
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    return jwt.encode(claims, key.private_pem, algorithm="EdDSA", headers={"kid": key.kid})


async def within_bound(check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until ``check()`` holds, polled every 20 ms; fails past ``BOUND``."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < BOUND, "the change did not hold within 1 s"
        await anyio.sleep(0.02)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def two_instances(servers: str, **options: Any) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two ``create_app`` instances on their own ports and connections; an HTTP client
    for each."""
    async with (
        serving(create_app(servers, **options)) as one,
        serving(create_app(servers, **options)) as two,
        httpx.AsyncClient(base_url=one.url) as first,
        httpx.AsyncClient(base_url=two.url) as second,
    ):
        yield [first, second]


async def status(http: httpx.AsyncClient, method: str, path: str, tok: str, **kw: Any) -> int:
    return (await http.request(method, path, headers={"x-os-auth": tok}, **kw)).status_code


async def test_rotation_and_max_permissions_from_flags(server: natsobj.EmbeddedServer) -> None:
    old, new, reader = signing_key("main"), signing_key("main"), signing_key("ro")
    usecase = unique_usecase()
    keys: dict[str, list[bytes] | ObjectstoreKey] = {
        "main": [pem(old), pem(new)],
        "ro": ObjectstoreKey((reader.public,), frozenset({"object.read"})),
    }
    app = create_app(server.url, objectstore_keys=keys)
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        path = f"/v1/objects/{usecase}/_/k"
        for version in (old, new):  # both versions of the rotating kid verify
            assert await status(http, "PUT", path, os_token(version, usecase), content=b"x") == 200
        # The read-only key's token asks for everything: it gets reads only.
        assert await status(http, "GET", path, os_token(reader, usecase)) == 200
        assert await status(http, "PUT", path, os_token(reader, usecase), content=b"y") == 403
        assert await status(http, "DELETE", path, os_token(reader, usecase)) == 403
        assert await status(http, "GET", path, os_token(signing_key("main"), usecase)) == 401
        # While the key set cannot be followed, keyed requests wait: 503, never a guess.
        assert (await http.get("/ready")).status_code == 200
        app.state.objectstore_keys.stale = True
        assert await status(http, "GET", path, os_token(reader, usecase)) == 503
        assert (await http.get("/ready")).status_code == 503  # and readiness says so
    with pytest.raises(natsobj.InvalidArgumentError):
        create_app(server.url, objectstore_keys={"k": b"not a pem"})
    with pytest.raises(natsobj.InvalidArgumentError):
        create_app(server.url, objectstore_keys={"bad kid": pem(old)})
    with pytest.raises(natsobj.InvalidBucketNameError):
        create_app(server.url, objectstore_key_set="no/such")


async def test_shared_key_set_changes_hold_on_every_instance_within_1s(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    usecase = unique_usecase()
    path = f"/v1/objects/{usecase}/_/k"
    first, second = signing_key("rotating"), signing_key("rotating")
    try:
        async with two_instances(server.url, objectstore_key_set=bucket) as gateways:
            one, two = gateways
            tok = os_token(first, usecase)
            # The key set is on even while empty: nothing is open.
            assert await status(two, "PUT", path, tok, content=b"x") == 401
            assert await status(one, "GET", path, "") == 401

            async def everywhere(token_: str, code: int, method: str = "GET") -> None:
                """Each instance answers ``code`` to ``method`` with ``token_`` within 1 s."""
                for http in gateways:
                    await within_bound(
                        functools.partial(_answers, http, method, path, token_, code)
                    )

            await add_objectstore_key(manager, "rotating", pem(first), bucket=bucket)
            await everywhere(tok, 404)
            assert await status(one, "PUT", path, tok, content=b"x") == 200

            # Rotation: a second version, then the first revoked.
            await add_objectstore_key(manager, "rotating", pem(second), bucket=bucket)
            tok2 = os_token(second, usecase)
            await everywhere(tok2, 200)
            assert await revoke_objectstore_key(manager, "rotating", pem(first), bucket=bucket)
            await everywhere(tok, 401)
            await everywhere(tok2, 200)
            assert set(await objectstore_keys(manager, bucket=bucket)) == {"rotating"}

            # max_permissions narrowed: writes refused everywhere, reads still fine.
            await add_objectstore_key(
                manager, "rotating", pem(second), max_permissions=["object.read"], bucket=bucket
            )
            await everywhere(tok2, 403, "PUT")  # harmless if it still writes
            await everywhere(tok2, 200)

            # The whole kid revoked.
            assert await revoke_objectstore_key(manager, "rotating", bucket=bucket)
            assert not await revoke_objectstore_key(manager, "rotating", bucket=bucket)
            await everywhere(tok2, 401)
            # A broken entry written by someone else verifies nothing.
            store = await manager.object_store(bucket)
            await store.put(natsobj.ObjectMeta(name="rotating", metadata={"key.x": "junk"}), b"")
            await anyio.sleep(0.1)
            assert await status(one, "GET", path, tok2) == 401
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)


async def test_supabase_policy_change_holds_on_the_other_instance_within_1s(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = f"p{uuid.uuid4().hex[:12]}"
    service = {"Authorization": f"Bearer {token('service_role')}"}
    public = f"/storage/v1/object/public/{bucket}/a.txt"
    upload = f"/storage/v1/object/{bucket}/b.txt"
    try:
        async with two_instances(server.url, jwt_secret=SECRET) as (one, two):
            made = await one.post(
                "/storage/v1/bucket", json={"name": bucket, "public": True}, headers=service
            )
            assert made.status_code == 200, made.text
            put = await one.post(
                f"/storage/v1/object/{bucket}/a.txt",
                content=b"hello",
                headers={**service, "Content-Type": "text/plain"},
            )
            assert put.status_code == 200, put.text
            assert (await two.get(public)).status_code == 200

            async def change(**policy: Any) -> None:
                body = {"public": False, **policy}
                answer = await one.put(f"/storage/v1/bucket/{bucket}", json=body, headers=service)
                assert answer.status_code == 200, answer.text

            async def upload_status(body: bytes, content_type: str = "text/plain") -> int:
                """The upload's status as Supabase says it (its errors are HTTP 400 with
                the status in the body's ``statusCode``)."""
                headers = {**service, "Content-Type": content_type, "x-upsert": "true"}
                answer = await two.post(upload, content=body, headers=headers)
                if answer.status_code == 400:
                    return int(answer.json()["statusCode"])
                return answer.status_code

            await change()  # public -> private
            await within_bound(lambda: _status_is(two.get(public), 400, 404))
            await change(file_size_limit=4)
            await within_bound(lambda: _status_is(upload_status(b"too long"), 413))
            await change(allowed_mime_types=["image/png"])
            await within_bound(lambda: _status_is(upload_status(b"abc"), 415))
            assert await upload_status(b"abc", "image/png") == 200
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)


async def _answers(http: httpx.AsyncClient, method: str, path: str, token_: str, code: int) -> bool:
    body = {"content": b"y"} if method == "PUT" else {}
    return await status(http, method, path, token_, **body) == code


async def _status_is(response: Awaitable[httpx.Response | int], *codes: int) -> bool:
    got = await response
    return (got if isinstance(got, int) else got.status_code) in codes


async def test_cli_adds_lists_and_revokes_keys(
    server: natsobj.EmbeddedServer,
    manager: natsobj.ObjectStoreManager,
    tmp_path: Path,
) -> None:
    bucket = f"keys{uuid.uuid4().hex[:8]}"
    key = signing_key("cli")
    path = tmp_path / "cli.pem"
    path.write_bytes(pem(key))
    common = ["--server", server.url, "--key-set", bucket]

    commands = [
        ["add", "cli", str(path), "--max-permission", "object.read"],
        ["list"],
        ["revoke", "cli", str(path)],
    ]
    # One process runs the three commands in its main thread (starting one costs seconds).
    script = (
        "import json, sys\nfrom natsobj.cli import invoke\n"
        "codes = [invoke(['objectstore-key', *c, *json.loads(sys.argv[2])])"
        " for c in json.loads(sys.argv[1])]\nprint(json.dumps(codes))"
    )
    try:
        done = await anyio.run_process(
            [sys.executable, "-c", script, json.dumps(commands), json.dumps(common)]
        )
        *listed, codes = done.stdout.decode().strip().splitlines()
        assert json.loads(codes) == [0, 0, 0]
        assert json.loads("\n".join(listed)) == {
            "cli": {"versions": [pem(key).decode()], "max_permissions": ["object.read"]}
        }
        assert await objectstore_keys(manager, bucket=bucket) == {}
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(bucket)
