"""The Supabase gateway under test: ``create_app`` served by a real uvicorn on a free
loopback port, in this event loop, over the session's real nats-server."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import jwt
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

import natsobj
from natsobj.gateway import create_app

SECRET = "test-secret-at-least-32-bytes-long!!"


def token(role: str, *, secret: str = SECRET, ttl: int = 3600, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"role": role, "iat": now, "exp": now + ttl, **claims}, secret, "HS256")


@dataclass
class Gateway:
    url: str

    @property
    def storage_url(self) -> str:
        return f"{self.url}/storage/v1/"


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[Gateway]:
    """``app`` on a real uvicorn, on a free loopback port, until the block ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    web = uvicorn.Server(config)
    # A listening socket of our own: its port is known at once, and connections made
    # before uvicorn has started wait in the backlog.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        async with anyio.create_task_group() as tg:
            tg.start_soon(web.serve, [sock])
            yield Gateway(f"http://127.0.0.1:{sock.getsockname()[1]}")
            web.should_exit = True


@pytest.fixture
async def gateway(server: natsobj.EmbeddedServer) -> AsyncIterator[Gateway]:
    app = create_app(server.url, jwt_secret=SECRET, service_key="fixed-service-key")
    async with serving(app) as running:
        yield running


async def failing_endpoint(request: Request) -> Response:
    """An endpoint with a bug: it raises with a detail no client may see."""
    raise RuntimeError("secret detail of the failure")


async def cut_endpoint(request: Request) -> Response:
    """An endpoint whose streamed body fails after its first 1,000 bytes are sent."""

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise RuntimeError("failed mid-body")

    return StreamingResponse(body())


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """A Prometheus scrape's samples by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels``; 0 when it is not there."""
    return found.get((name, frozenset(labels.items())), 0.0)
