"""The app every server under test runs: ``natsobj.gateway.create_app`` with its defaults,
over ``NATSOBJ_BENCH_SERVER`` with ``NATSOBJ_BENCH_JWT_SECRET`` (the benchmark sets both).

``python -m uvicorn --factory benchmarks._gateway_app:app`` (and granian's, hypercorn's
equivalents) build it in each worker process, as ``natsobj serve`` builds its own.

Two more variables, set by ``benchmarks.gateway_profile`` only: ``NATSOBJ_BENCH_OS_KEY``,
an Ed25519 public key PEM file for the Objectstore routes (kid ``k1``), and
``NATSOBJ_BENCH_PROFILE_DIR``: SIGUSR1 starts a cProfile of the worker's Python thread,
SIGUSR2 stops it and writes ``<pid>-<n>.prof`` there. And ``NATSOBJ_BENCH_BARE``: serve
``BareApp`` instead of the gateway, the floor any ASGI app on that server starts from.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import signal
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

import natsobj
from natsobj.gateway import create_app

SERVER_ENV = "NATSOBJ_BENCH_SERVER"
SECRET_ENV = "NATSOBJ_BENCH_JWT_SECRET"
OS_KEY_ENV = "NATSOBJ_BENCH_OS_KEY"
PROFILE_ENV = "NATSOBJ_BENCH_PROFILE_DIR"
BARE_ENV = "NATSOBJ_BENCH_BARE"


def _profile_on_signals(directory: Path) -> None:
    profiles = itertools.count()
    running: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        if not running:
            running.append(cProfile.Profile())
            running[0].enable()

    def stop(*_: Any) -> None:
        if running:
            profile = running.pop()
            profile.disable()
            profile.dump_stats(directory / f"{os.getpid()}-{next(profiles)}.prof")

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


class BareApp:
    """The least an HTTP front of the library does, for reference: ``GET`` and ``PUT``
    ``/storage/v1/object/{bucket}/{name}`` as ``get_bytes`` and ``put_bytes`` (no auth,
    no checks, no metrics), ``/ready`` for the harness; one connection, opened at startup."""

    def __init__(self, servers: str) -> None:
        self.servers = servers
        self.manager: natsobj.ObjectStoreManager | None = None
        self.stores: dict[str, natsobj.ObjectStore] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with natsobj.connect(self.servers) as self.manager:
                await receive()  # startup
                await send({"type": "lifespan.startup.complete"})
                await receive()  # shutdown
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http":
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/ready" or self.manager is None:
            await _answer(send, 200 if self.manager else 503, b"{}")
            return
        bucket, _, name = scope["path"].removeprefix("/storage/v1/object/").partition("/")
        store = self.stores.get(bucket) or await self.manager.object_store(bucket)
        self.stores[bucket] = store
        if scope["method"] == "GET":
            await _answer(send, 200, await store.get_bytes(name))
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await store.put_bytes(name, bytes(body))
        await _answer(send, 200, b"{}")


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app() -> ASGIApp:
    if os.environ.get(BARE_ENV):
        return BareApp(os.environ[SERVER_ENV])
    key = os.environ.get(OS_KEY_ENV)
    keys = {"k1": Path(key).read_bytes()} if key else None
    if directory := os.environ.get(PROFILE_ENV):
        _profile_on_signals(Path(directory))
    return create_app(
        os.environ[SERVER_ENV],
        jwt_secret=os.environ[SECRET_ENV],
        objectstore_keys=keys,
        timeout=30.0,
    )
