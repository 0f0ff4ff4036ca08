"""``FrontDoor``'s direct lane does what the full stack does for the hot routes: each
request observed once (metrics, access log, request id), a failure answered as
``FailuresMiddleware`` answers it, a cancellation passed on; and everything it does not
serve (other routes, a traced request, a cross-origin one with CORS on) reaches the
full stack untouched. Pure ASGI, driven in process: no server is involved."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from natsobj.gateway._front import FrontDoor
from natsobj.gateway._hot import hot_table
from natsobj.gateway._metrics import GatewayMetrics
from natsobj.gateway._observe import Observer

from .conftest import cut_endpoint, failing_endpoint, samples, value

pytestmark = pytest.mark.anyio

ROUTE = "/storage/v1/object/{bucket}/{path:path}"


async def _ok(request: Request) -> Response:
    return Response(b"hello " + request.path_params["path"].encode(), media_type="text/plain")


async def _upload(request: Request) -> Response:
    body = b"".join([chunk async for chunk in request.stream()])
    return Response(str(len(body)).encode())


async def _forever(request: Request) -> Response:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


class FullStack:
    """What the direct lane passes on: records each scope it is handed, answers 299."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(scope["type"] + " " + scope.get("path", ""))
        if scope["type"] == "http":
            await Response(b"full stack", status_code=299)(scope, receive, send)


def front(
    endpoints: dict[str, Any], *, cors: bool = False, tracer: Any = None
) -> tuple[FrontDoor, FullStack, GatewayMetrics]:
    routes = [
        Route("/object/{bucket}/{path:path}", endpoint, methods=[method])
        for method, endpoint in endpoints.items()
    ]
    full, metrics = FullStack(), GatewayMetrics()
    observer = Observer(metrics, access_log=True, tracer=tracer)
    table = hot_table([Mount("/storage/v1", routes=routes)])
    return FrontDoor(full, observer=observer, table=table, cors=cors), full, metrics


def scope_of(method: str, path: str, headers: dict[str, str] | None = None) -> Scope:
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 5555),
    }


async def call(
    app: FrontDoor, scope: Scope, body: bytes = b"", *, gone: bool = False
) -> list[Message]:
    """Run one request; the messages sent (``gone``: sending fails as for a closed socket)."""
    sent: list[Message] = []
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if pending:
            return pending.pop()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if gone:
            raise OSError("connection reset")
        sent.append(message)

    await app(scope, receive, send)
    return sent


def counted(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return value(samples(metrics.render().decode()), name, **labels)


async def test_a_hot_request_is_served_and_observed_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway.access")
    app, full, metrics = front({"GET": _ok})
    sent = await call(app, scope_of("GET", "/storage/v1/object/b/dir/k", {"x-request-id": "r-1"}))
    start, body = sent
    assert start["status"] == 200
    assert (b"x-request-id", b"r-1") in start["headers"]
    assert body["body"] == b"hello dir/k"
    assert full.seen == []
    total = "natsobj_gateway_requests_total"
    assert counted(metrics, total, method="GET", route=ROUTE, status="200") == 1
    sent_bytes = "natsobj_gateway_response_body_bytes_total"
    assert counted(metrics, sent_bytes, method="GET", route=ROUTE) == len(b"hello dir/k")
    assert counted(metrics, "natsobj_gateway_requests_in_flight") == 0
    (record,) = [r for r in caplog.records if r.name == "natsobj.gateway.access"]
    assert "route=/storage/v1/object/{bucket}/{path:path}" in record.getMessage()
    assert "id=r-1" in record.getMessage()


async def test_request_bodies_are_counted() -> None:
    app, _, metrics = front({"PUT": _upload})
    start, body = await call(app, scope_of("PUT", "/storage/v1/object/b/k"), b"x" * 300)
    assert (start["status"], body["body"]) == (200, b"300")
    received = "natsobj_gateway_request_body_bytes_total"
    assert counted(metrics, received, method="PUT", route=ROUTE) == 300


@pytest.mark.parametrize(
    ("method", "path", "headers", "cors", "traced"),
    [
        ("GET", "/health", {}, False, False),  # not a hot route
        ("DELETE", "/storage/v1/object/b/k", {}, False, False),  # not a hot method here
        ("GET", "/storage/v1/object/b/k", {"origin": "https://app.example"}, True, False),
        ("GET", "/storage/v1/object/b/k", {}, False, True),  # a span is the stack's
    ],
)
async def test_what_the_direct_lane_does_not_serve_reaches_the_full_stack(
    method: str, path: str, headers: dict[str, str], cors: bool, traced: bool
) -> None:
    app, full, metrics = front({"GET": _ok}, cors=cors, tracer=object() if traced else None)
    (start, _) = await call(app, scope_of(method, path, headers))
    assert start["status"] == 299
    assert full.seen == [f"http {path}"]
    assert counted(metrics, "natsobj_gateway_requests_total", method=method, route=ROUTE) == 0


async def test_an_origin_without_cors_and_a_lifespan_take_their_usual_ways() -> None:
    app, full, _ = front({"GET": _ok}, cors=False)
    scope = scope_of("GET", "/storage/v1/object/b/k", {"origin": "https://app.example"})
    (start, _) = await call(app, scope)
    assert start["status"] == 200  # no CORS to apply: served directly
    await app({"type": "lifespan"}, _never, _never)
    assert full.seen == ["lifespan "]


async def _never(*_: Any) -> Any:
    raise AssertionError("not called")


async def test_a_failure_is_a_500_shaped_like_the_api_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway")
    app, _, metrics = front({"GET": failing_endpoint})
    start, body = await call(app, scope_of("GET", "/storage/v1/object/b/k"))
    assert start["status"] == 500
    assert any(key == b"x-request-id" for key, _ in start["headers"])
    answer = json.loads(body["body"])
    assert answer["statusCode"] == "500"
    assert "secret" not in body["body"].decode()
    failed = [r for r in caplog.records if r.name == "natsobj.gateway" and r.exc_info]
    assert len(failed) == 1
    (access,) = [r for r in caplog.records if r.name == "natsobj.gateway.access"]
    assert "error=RuntimeError" in access.getMessage()
    total = "natsobj_gateway_requests_total"
    assert counted(metrics, total, method="GET", route=ROUTE, status="500") == 1


async def test_a_body_that_fails_midway_is_cut_not_followed_by_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway")
    app, _, metrics = front({"GET": cut_endpoint})
    sent = await call(app, scope_of("GET", "/storage/v1/object/b/k"))
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
    ]  # no end of body: the server closes the connection
    assert sent[0]["status"] == 200
    assert sent[1]["more_body"] is True
    assert any(r.exc_info for r in caplog.records if r.name == "natsobj.gateway")
    total = "natsobj_gateway_requests_total"
    assert counted(metrics, total, method="GET", route=ROUTE, status="200") == 1


async def test_a_client_that_went_away_is_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway")
    app, _, metrics = front({"GET": _ok})
    assert await call(app, scope_of("GET", "/storage/v1/object/b/k"), gone=True) == []
    gone = [r for r in caplog.records if r.name == "natsobj.gateway"]
    assert [r.exc_info for r in gone] == [None]
    assert "went away" in gone[0].getMessage()
    assert counted(metrics, "natsobj_gateway_requests_in_flight") == 0


async def test_a_cancelled_request_is_passed_on_and_still_counted() -> None:
    app, _, metrics = front({"GET": _forever})
    with anyio.move_on_after(0.05) as scope:
        await call(app, scope_of("GET", "/storage/v1/object/b/k"))
    assert scope.cancelled_caught
    assert counted(metrics, "natsobj_gateway_requests_in_flight") == 0
    total = "natsobj_gateway_requests_total"
    assert counted(metrics, total, method="GET", route=ROUTE, status="500") == 1
