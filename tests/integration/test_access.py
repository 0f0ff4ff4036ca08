"""Access control: every way to authenticate, and the per-bucket roles of bucket_permissions.

Each role is checked against a real server: it can do its job, and everything else gets a
PermissionDeniedError (never a hang, never a half-written object).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import nkeys
import pytest
import trustme

import natsobj
from natsobj import EmbeddedServer, ObjectStoreManager
from natsobj._permissions import Role

pytestmark = pytest.mark.anyio

BUCKET = "team"
OTHER = "private"
# A denied publish gets no reply, only an asynchronous -ERR: natsobj notices that within
# a fraction of a second, long before the request timeout.
REQUEST_TIMEOUT = 10.0
NOTICED_WITHIN = 2.0


def _user_block(user: str, role: Role | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"user": user, "password": f"{user}-pw"}
    if role is not None:
        entry["permissions"] = natsobj.bucket_permissions(
            BUCKET, role, inbox_prefix=f"_INBOX_{user}"
        ).server_config()
    return entry


ROLES_CONFIG = "authorization " + json.dumps(
    {
        "users": [
            _user_block("root", None),
            _user_block("admin", "admin"),
            _user_block("writer", "writer"),
            _user_block("reader", "reader"),
        ]
    }
)


@asynccontextmanager
async def _as(server: EmbeddedServer, user: str) -> AsyncIterator[ObjectStoreManager]:
    async with natsobj.connect(
        server.url,
        user=user,
        password=f"{user}-pw",
        inbox_prefix=f"_INBOX_{user}",
        timeout=REQUEST_TIMEOUT,
    ) as manager:
        yield manager


async def _denied(call: Callable[[], Any]) -> None:
    started = time.monotonic()
    with anyio.fail_after(REQUEST_TIMEOUT), pytest.raises(natsobj.PermissionDeniedError) as caught:
        await call()
    assert "Permissions Violation" in str(caught.value)
    assert time.monotonic() - started < NOTICED_WITHIN  # not at the request timeout


async def test_bucket_roles_do_exactly_their_job() -> None:
    async with EmbeddedServer(config=ROLES_CONFIG) as server:
        async with _as(server, "root") as root:
            other = await root.create_object_store(OTHER)
            await other.put("secret", b"not yours")

        async with _as(server, "admin") as admin:
            store = await admin.create_object_store(BUCKET, description="team files")
            await store.put("by-admin", b"a")
            # Listing names every bucket of the account (names only; subjects cannot filter).
            assert await admin.object_store_names() == [OTHER, BUCKET]
            await _denied(lambda: admin.create_object_store("elsewhere"))
            await _denied(lambda: admin.object_store(OTHER))

        async with _as(server, "writer") as writer:
            store = await writer.object_store(BUCKET)
            data = os.urandom(300_000)
            await store.put("big", data)
            assert await store.get_bytes("big") == data
            await store.update_meta("big", natsobj.ObjectMeta(name="big", description="d"))
            await store.delete("by-admin")
            assert [i.name for i in await store.list()] == ["big"]
            assert (await store.sweep_orphans(grace=0)).orphans == []
            await _denied(lambda: writer.create_object_store("mine"))
            await _denied(lambda: writer.delete_object_store(BUCKET))
            await _denied(lambda: store.seal())
            await _denied(lambda: writer.object_store(OTHER))
            # A store handle for a bucket it may not use: every call is refused.
            foreign = natsobj.ObjectStore(
                writer._bucket_core(OTHER, {"config": {"allow_direct": True}})
            )
            await _denied(lambda: foreign.put("x", os.urandom(200_000)))
            await _denied(lambda: foreign.get_bytes("secret"))
            await _denied(lambda: foreign.list())

        async with _as(server, "reader") as reader:
            store = await reader.object_store(BUCKET)
            assert await store.get_bytes("big") == data
            assert [i.name for i in await store.list()] == ["big"]
            assert (await store.status()).bucket == BUCKET
            async with store.watch() as watcher:
                first = await anext(watcher)
                assert first is not None
                assert first.name == "big"
            await _denied(lambda: store.put("nope", b"x"))
            await _denied(lambda: store.put("nope-big", os.urandom(300_000)))
            await _denied(lambda: store.delete("big"))
            assert (await store.sweep_orphans(grace=0, dry_run=True)).orphans == []
            await _denied(lambda: reader.object_store(OTHER))

        # Nothing the refused calls tried left a trace.
        async with _as(server, "root") as root:
            store = await root.object_store(BUCKET)
            assert [i.name for i in await store.list()] == ["big"]
            assert (await store.sweep_orphans(grace=0)).orphans == []
            assert await root.object_store_names() == [OTHER, BUCKET]
            assert await (await root.object_store(OTHER)).get_bytes("secret") == b"not yours"


async def test_user_password_and_token() -> None:
    async with EmbeddedServer(config=ROLES_CONFIG) as server:
        with pytest.raises(natsobj.ServerUnavailableError):
            async with natsobj.connect(server.url, user="root", password="wrong", timeout=2):
                pass
    async with EmbeddedServer(config='authorization { token: "s3cret" }') as server:
        async with natsobj.connect(server.url, token="s3cret") as manager:
            store = await manager.create_object_store("tok")
            await store.put("x", b"token auth")
            assert await store.get_bytes("x") == b"token auth"
        with pytest.raises(natsobj.ServerUnavailableError):
            async with natsobj.connect(server.url, token="guess", timeout=2):
                pass


def _new_key(prefix: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))


async def test_nkey_user(tmp_path: Path) -> None:
    user = _new_key(nkeys.PREFIX_BYTE_USER)
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(user.seed)
    config = "authorization " + json.dumps(
        {
            "users": [
                {
                    "nkey": user.public_key.decode(),
                    "permissions": natsobj.bucket_permissions(BUCKET, "admin").server_config(),
                }
            ]
        }
    )
    async with (
        EmbeddedServer(config=config) as server,
        natsobj.connect(server.url, nkeys_seed=str(seed_file)) as manager,
    ):
        store = await manager.create_object_store(BUCKET)
        await store.put("x", b"nkey auth")
        assert await store.get_bytes("x") == b"nkey auth"
    async with EmbeddedServer(config=config) as server:
        stranger = tmp_path / "stranger.nk"
        stranger.write_bytes(_new_key(nkeys.PREFIX_BYTE_USER).seed)
        with pytest.raises(natsobj.ServerUnavailableError):
            async with natsobj.connect(server.url, nkeys_seed=str(stranger), timeout=2):
                pass


# --------------------------------------------------------------------------- JWT (creds)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: dict[str, Any], issuer: nkeys.KeyPair) -> str:
    """A NATS JWT: ed25519-nkey signed claims, as nsc writes them."""
    body = {"iat": int(time.time()), "iss": issuer.public_key.decode(), **claims}
    body["jti"] = base64.b32encode(hashlib.sha256(json.dumps(body).encode()).digest()).decode()
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = _b64(json.dumps(body).encode())
    signature = issuer.sign(f"{head}.{payload}".encode())
    return f"{head}.{payload}.{_b64(signature)}"


def _account_jwt(account: nkeys.KeyPair, operator: nkeys.KeyPair, name: str) -> str:
    limits = {
        "subs": -1,
        "data": -1,
        "payload": -1,
        "imports": -1,
        "exports": -1,
        "wildcards": True,
        "conn": -1,
        "leaf": -1,
    }
    if name != "SYS":
        limits.update(mem_storage=-1, disk_storage=-1, streams=-1, consumer=-1)
    claims = {"type": "account", "version": 2, "limits": limits}
    return encode_jwt({"sub": account.public_key.decode(), "name": name, "nats": claims}, operator)


def _creds(user_jwt: str, user: nkeys.KeyPair) -> str:
    return (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user.seed.decode()}\n------END USER NKEY SEED------\n"
    )


async def test_creds_decentralized_jwt_auth(tmp_path: Path) -> None:
    operator = _new_key(nkeys.PREFIX_BYTE_OPERATOR)
    account = _new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    system = _new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    operator_jwt = encode_jwt(
        {
            "sub": operator.public_key.decode(),
            "name": "OP",
            "nats": {"type": "operator", "version": 2},
        },
        operator,
    )
    config = (
        f"operator: {operator_jwt}\n"
        f"system_account: {system.public_key.decode()}\n"
        "resolver: MEMORY\n"
        "resolver_preload: "
        + json.dumps(
            {
                account.public_key.decode(): _account_jwt(account, operator, "APP"),
                system.public_key.decode(): _account_jwt(system, operator, "SYS"),
            }
        )
    )

    def user_creds(name: str, role: Role) -> str:
        user = _new_key(nkeys.PREFIX_BYTE_USER)
        permissions = natsobj.bucket_permissions(BUCKET, role).jwt_claims()
        claims = {"type": "user", "version": 2, "subs": -1, "data": -1, "payload": -1}
        user_jwt = encode_jwt(
            {"sub": user.public_key.decode(), "name": name, "nats": {**claims, **permissions}},
            account,
        )
        path = tmp_path / f"{name}.creds"
        path.write_text(_creds(user_jwt, user))
        return str(path)

    async with EmbeddedServer(config=config) as server:
        async with natsobj.connect(server.url, user_credentials=user_creds("a", "admin")) as admin:
            store = await admin.create_object_store(BUCKET)
            await store.put("doc", b"jwt auth")
        reader_creds = user_creds("r", "reader")
        async with natsobj.connect(
            server.url, user_credentials=reader_creds, timeout=REQUEST_TIMEOUT
        ) as reader:
            store = await reader.object_store(BUCKET)
            assert await store.get_bytes("doc") == b"jwt auth"
            await _denied(lambda: store.put("doc", b"overwrite"))
            assert await store.get_bytes("doc") == b"jwt auth"
        # A user signed by an account the server does not know is refused at connect.
        stranger = _new_key(nkeys.PREFIX_BYTE_ACCOUNT)
        account = stranger
        with pytest.raises(natsobj.ServerUnavailableError):
            async with natsobj.connect(server.url, user_credentials=user_creds("x", "admin")):
                pass


# --------------------------------------------------------------------------- TLS


async def test_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    config = "tls " + json.dumps({"cert_file": str(cert_file), "key_file": str(key_file)})
    trusted = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(trusted)
    async with EmbeddedServer(config=config) as server:
        url = server.url.replace("nats://", "tls://")
        async with natsobj.connect(url, tls=trusted) as manager:
            store = await manager.create_object_store("tls")
            data = os.urandom(300_000)
            await store.put("x", data)
            assert await store.get_bytes("x") == data
        untrusted = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        with pytest.raises(natsobj.ServerUnavailableError):
            async with natsobj.connect(url, tls=untrusted, timeout=2):
                pass


async def test_permissions_example_runs() -> None:
    example = Path(__file__).parents[2] / "examples" / "bucket_permissions.py"
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, str(example)], check=False)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "reader: got b'revenue up'" in out
    assert "reader: put refused: Permissions Violation" in out
    assert "new bucket refused: Permissions Violation" in out
