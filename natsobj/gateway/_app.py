"""``create_app``: the gateway's ASGI application, one NATS connection per worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import natsobj

from ._auth import AuthConfig
from ._objectstore import objectstore_routes
from ._objectstore_keys import KeySpec, key_directory, watch_key_set
from ._supabase import supabase_routes

__all__ = ["create_app"]

READY_TIMEOUT = 2


async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    """Readiness: connected to NATS and a round trip within ``READY_TIMEOUT`` (503
    otherwise). A lost server is noticed when the client notices it (at once when the
    socket closes, else at its ping interval)."""
    manager: natsobj.ObjectStoreManager = request.app.state.manager
    if not manager.nc.is_connected:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        with anyio.fail_after(READY_TIMEOUT):
            await manager.nc.flush(timeout=READY_TIMEOUT)
    except Exception:  # any failure means not ready; the reason stays in the server log
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(
    servers: str | list[str] = "nats://127.0.0.1:4222",
    *,
    jwt_secret: str | None = None,
    anon_key: str | None = None,
    service_key: str | None = None,
    objectstore_keys: Mapping[str, KeySpec] | None = None,
    objectstore_key_set: str | None = None,
    **connect_options: Any,
) -> Starlette:
    """The gateway as an ASGI app. Its lifespan opens one ``natsobj.connect(servers,
    **connect_options)`` per worker process (``app.state.manager``) and closes it on
    shutdown; the app is stateless otherwise, so any number of instances can serve one
    NATS cluster with the same ``jwt_secret``.

    ``jwt_secret`` verifies Supabase HS256 tokens and signs signed URLs; ``anon_key`` and
    ``service_key`` are fixed keys accepted as the anon and service_role callers;
    ``objectstore_keys`` maps a key id to an Ed25519 public key PEM, a list of them (key
    rotation) or an ``ObjectstoreKey`` (with ``max_permissions``) (Sentry Objectstore).
    ``objectstore_key_set`` names the bucket of the shared key set (``KEY_SET_BUCKET``
    for the default): the app watches it from startup, so keys added or revoked there
    hold on every instance within a second; with it, Objectstore authorization is on
    even while the set is empty.

    Raises:
        InvalidArgumentError: a key in ``objectstore_keys`` is not an Ed25519 public key.
    """
    keys = key_directory(objectstore_keys, objectstore_key_set)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with natsobj.connect(servers, **connect_options) as manager:
            app.state.manager = manager
            async with anyio.create_task_group() as tg:
                if objectstore_key_set is not None:  # serve once the key set is loaded
                    await tg.start(watch_key_set, manager, keys, objectstore_key_set)
                yield
                tg.cancel_scope.cancel()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Mount("/storage/v1", routes=supabase_routes()),
            Mount("/v1", routes=objectstore_routes()),
        ],
        lifespan=lifespan,
    )
    app.state.objectstore_keys = keys
    app.state.jwt_secret = jwt_secret
    app.state.auth = AuthConfig(jwt_secret, anon_key, service_key)
    return app
