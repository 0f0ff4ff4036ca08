"""A gateway serving only the Objectstore routes, over a real nats-server, for G2's tests.

It builds the app as ``create_app`` does (one manager per worker in the lifespan,
``app.state.manager`` and ``app.state.objectstore_keys``) and serves it with uvicorn on a
socket bound to a free loopback port, in the test's task group.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import anyio
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from starlette.applications import Starlette
from starlette.routing import Mount

import natsobj
from natsobj.gateway._objectstore import objectstore_routes


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


def objectstore_app(
    servers: str, keys: Mapping[str, Ed25519PublicKey], ready: anyio.Event
) -> Starlette:
    """The Objectstore routes at ``/v1``; ``ready`` is set once the manager is connected."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with natsobj.connect(servers) as manager:
            app.state.manager = manager
            app.state.objectstore_keys = dict(keys)
            ready.set()
            yield

    return Starlette(routes=[Mount("/v1", routes=objectstore_routes())], lifespan=lifespan)


@contextlib.asynccontextmanager
async def serve_objectstore(
    servers: str, keys: Mapping[str, Ed25519PublicKey]
) -> AsyncIterator[str]:
    """Serve the routes on a free loopback port until the block ends; yields the base URL.

    The socket listens before uvicorn starts, so connections made once the lifespan has
    connected queue until uvicorn accepts them.
    """
    ready = anyio.Event()
    server = uvicorn.Server(
        uvicorn.Config(objectstore_app(servers, keys, ready), log_level="warning", lifespan="on")
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                await ready.wait()
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True


def unique_usecase() -> str:
    return f"g{uuid.uuid4().hex[:12]}"
