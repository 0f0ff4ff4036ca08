"""``create_app``: the gateway's ASGI application, one NATS connection per worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

import natsobj

from ._auth import AuthConfig
from ._cors import cors_middleware
from ._failures import FailuresMiddleware
from ._front import FrontDoor
from ._hot import HotRoutes, hot_table
from ._indexes import ListingIndexes
from ._metrics import GatewayMetrics
from ._objectstore import objectstore_routes
from ._objectstore_keys import KeyDirectory, KeySpec, key_directory, watch_key_set
from ._observe import ObserveMiddleware, Observer
from ._supabase import supabase_routes

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

__all__ = ["create_app"]

READY_TIMEOUT = 2
NATS_GAUGE_INTERVAL = 1.0


async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    """Readiness: connected to NATS, a round trip within ``READY_TIMEOUT``, and the shared
    Objectstore key set (if any) followed (503 otherwise). A lost server is noticed when
    the client notices it (at once when the socket closes, else at its ping interval)."""
    manager: natsobj.ObjectStoreManager = request.app.state.manager
    keys: KeyDirectory = request.app.state.objectstore_keys
    if not manager.nc.is_connected or keys.stale:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        with anyio.fail_after(READY_TIMEOUT):
            await manager.nc.flush(timeout=READY_TIMEOUT)
    except Exception:  # any failure means not ready; the reason stays in the server log
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _watch_connection(manager: natsobj.ObjectStoreManager, gauges: GatewayMetrics) -> None:
    """Keep ``natsobj_gateway_nats_connected`` true to within ``NATS_GAUGE_INTERVAL``."""
    while True:
        gauges.nats_connected.set(1 if manager.nc.is_connected else 0)
        await anyio.sleep(NATS_GAUGE_INTERVAL)


def _tracer(provider: TracerProvider | None) -> Any:
    try:
        from ._tracing import tracer_from
    except ImportError as exc:
        raise natsobj.InvalidArgumentError(
            "tracing needs the tracing extra: pip install 'natsobj[tracing]'"
        ) from exc
    return tracer_from(provider)


def _lifespan(
    servers: str | list[str],
    connect_options: dict[str, Any],
    keys: KeyDirectory,
    key_set: str | None,
    gauges: GatewayMetrics | None,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The app's lifespan: one NATS connection (``app.state.manager``), the listing
    indexes opened on the buckets' first listings (``app.state.indexes``), the shared key
    set's watch (the app serves once the set is loaded) and the NATS gauges' updater."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            natsobj.connect(servers, **connect_options) as manager,
            ListingIndexes(manager) as indexes,
        ):
            app.state.manager, app.state.indexes = manager, indexes
            try:
                async with anyio.create_task_group() as tg:
                    if key_set is not None:
                        await tg.start(watch_key_set, manager, keys, key_set)
                    if gauges is not None:
                        tg.start_soon(_watch_connection, manager, gauges)
                    yield
                    tg.cancel_scope.cancel()
            finally:
                if gauges is not None:
                    gauges.worker_exiting()

    return lifespan


class _Gateway(Starlette):
    """Starlette with a layer in front of its whole stack (``FrontDoor``), so the hot
    routes' direct lane skips Starlette's error middleware as well."""

    def __init__(self, *, front: Callable[[ASGIApp], ASGIApp], **options: Any) -> None:
        super().__init__(**options)
        self._front = front

    def build_middleware_stack(self) -> ASGIApp:
        return self._front(super().build_middleware_stack())


def create_app(
    servers: str | list[str] = "nats://127.0.0.1:4222",
    *,
    jwt_secret: str | None = None,
    anon_key: str | None = None,
    service_key: str | None = None,
    objectstore_keys: Mapping[str, KeySpec] | None = None,
    objectstore_key_set: str | None = None,
    metrics: bool = True,
    access_log: bool = True,
    tracing: bool = False,
    tracer_provider: TracerProvider | None = None,
    cors_origins: Sequence[str] = (),
    **connect_options: Any,
) -> Starlette:
    """The gateway as an ASGI app. Its lifespan opens one ``natsobj.connect(servers,
    **connect_options)`` per worker process (``app.state.manager``) and closes it on
    shutdown, and a live ``ListingIndex`` per bucket listed (``ListingIndexes``); the app
    is stateless otherwise, so any number of instances can serve one NATS cluster with
    the same ``jwt_secret``.

    ``jwt_secret`` verifies Supabase HS256 tokens and signs signed URLs; ``anon_key`` and
    ``service_key`` are fixed keys accepted as the anon and service_role callers;
    ``objectstore_keys`` maps a key id to an Ed25519 public key PEM, a list of them (key
    rotation) or an ``ObjectstoreKey`` (with ``max_permissions``) (Sentry Objectstore).
    ``objectstore_key_set`` names the bucket of the shared key set (``KEY_SET_BUCKET``
    for the default): the app watches it from startup, so keys added or revoked there
    hold on every instance within a second; with it, Objectstore authorization is on
    even while the set is empty.

    Every request passes ``ObserveMiddleware`` (``x-request-id`` echoed; ``metrics``:
    Prometheus metrics served at ``/metrics``; ``access_log``: one record on the
    ``natsobj.gateway.access`` logger; ``tracing``: an OpenTelemetry span from
    ``tracer_provider``, the global one when ``None``, needs the ``[tracing]`` extra) and
    then, with ``cors_origins`` (``"*"`` or ``"https://app.example.com"``-style origins),
    CORS: preflights answered and responses marked for those origins (every method,
    request header and response header of the two APIs; no credentials); then
    ``FailuresMiddleware``: an unhandled exception is logged and answered with a 500
    shaped like the API called, never a stack trace. ``HotRoutes`` then sends the object
    routes most requests take straight to their endpoints, the rest to the router. Those
    object routes' requests (untraced, and without an ``Origin`` header when CORS is on)
    get all of this from one layer in front of the rest, ``FrontDoor``: observed and
    answered alike, with less work per request.

    Raises:
        InvalidArgumentError: a key in ``objectstore_keys`` is not an Ed25519 public key;
            ``tracing`` without the OpenTelemetry packages; an origin that is not one.
    """
    keys = key_directory(objectstore_keys, objectstore_key_set)
    cors = cors_middleware(cors_origins)
    gauges = GatewayMetrics() if metrics else None

    lifespan = _lifespan(servers, connect_options, keys, objectstore_key_set, gauges)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Mount("/storage/v1", routes=supabase_routes()),
        Mount("/v1", routes=objectstore_routes()),
    ]
    if gauges is not None:
        routes.insert(2, Route("/metrics", gauges.endpoint, methods=["GET"]))
    observer = Observer(gauges, access_log, _tracer(tracer_provider) if tracing else None)
    table = hot_table(routes)
    app = _Gateway(
        front=partial(FrontDoor, observer=observer, table=table, cors=cors is not None),
        routes=routes,
        middleware=[
            Middleware(ObserveMiddleware, observer=observer),
            *([cors] if cors is not None else []),
            Middleware(FailuresMiddleware),
            Middleware(HotRoutes, table=table),
        ],
        lifespan=lifespan,
    )
    app.state.objectstore_keys = keys
    app.state.jwt_secret = jwt_secret
    app.state.auth = AuthConfig(jwt_secret, anon_key, service_key)
    return app
