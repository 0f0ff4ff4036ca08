"""Signed-URL rates, in this process: Supabase's HS256 signed-URL tokens (signed and
verified by the gateway; a token seen before comes from its cache of verified tokens) and
Sentry Objectstore's Ed25519 pre-signed URLs (signed by ``objectstore-client``, verified
by the gateway)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from objectstore_client import Client, SecretKey
from objectstore_client import Usecase as ClientUsecase
from starlette.requests import Request

from natsobj.gateway import _auth
from natsobj.gateway._auth import decode_token, sign_token
from natsobj.gateway._objectstore_auth import authorize

SECRET = "benchmark-secret-at-least-32-bytes-long"


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call`` over about ``seconds`` (after a short warm-up)."""
    for _ in range(50):
        call()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            call()
        count += 100
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _request(url: str) -> Request:
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "method": "GET",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": [],
    }
    return Request(scope)


def _key_directory(kid: str, private: Ed25519PrivateKey) -> Any:
    """What ``authorize`` takes as its keys: a ``KeyDirectory`` where the gateway has one
    (``natsobj.gateway._objectstore_keys``), else a dict of public keys by kid."""
    try:
        module = importlib.import_module("natsobj.gateway._objectstore_keys")
    except ImportError:
        return {kid: private.public_key()}
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return module.key_directory({kid: pem}, None)


def signing_rates(seconds: float) -> dict[str, float]:
    """Operations per second of each signing and verification step."""
    now = int(time.time())
    claims = {"iat": now, "exp": now + 3600, "url": "bucket/some/object.bin", "scope": "download"}
    token = sign_token(claims, SECRET)

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    client = Client("http://127.0.0.1:1", token=SecretKey("k1", pem))
    session = client.session(ClientUsecase("bench"), org=42, project=7)
    url = session.presigned_object_url("GET", "some/object.bin", timedelta(hours=1))
    keys = _key_directory("k1", private)
    scope = (("org", "42"), ("project", "7"))

    def verify_presigned() -> None:
        authorize(_request(url), keys, "bench", scope, "object.read")

    def verify_first() -> None:  # as for a token the gateway has not seen yet
        _auth._VERIFIED.clear()
        decode_token(token, SECRET)

    return {
        "supabase_sign": rate(lambda: sign_token(claims, SECRET), seconds),
        "supabase_verify": rate(verify_first, seconds),
        "supabase_verify_cached": rate(lambda: decode_token(token, SECRET), seconds),
        "objectstore_sign": rate(
            lambda: session.presigned_object_url("GET", "some/object.bin"), seconds
        ),
        "objectstore_verify": rate(verify_presigned, seconds),
    }
