"""The gateway with Sentry Objectstore keys, over a real nats-server, and the keys and
usecases the Objectstore tests use."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from natsobj.gateway import create_app

from .conftest import serving


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 key pair: the private PEM for the client, the public key for the server."""

    kid: str
    private_pem: str
    public: Ed25519PublicKey


def signing_key(kid: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid, pem, private.public_key())


@contextlib.asynccontextmanager
async def serve_objectstore(
    servers: str, keys: Mapping[str, Ed25519PublicKey]
) -> AsyncIterator[str]:
    """``create_app`` with these Objectstore keys on a free loopback port until the block
    ends; yields the base URL."""
    pems = {
        kid: key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for kid, key in keys.items()
    }
    async with serving(create_app(servers, objectstore_keys=pems)) as gateway:
        yield gateway.url


def unique_usecase() -> str:
    return f"g{uuid.uuid4().hex[:12]}"
