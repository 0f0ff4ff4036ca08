"""Operations of the gateway, in process: /metrics, the access log, request ids, tracing,
and internal errors that never show a stack trace."""

from __future__ import annotations

import json
import logging
import os
import uuid

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.applications import Starlette
from starlette.routing import Mount, Route

import natsobj
from natsobj.gateway import create_app
from natsobj.gateway._accesslog import JsonFormatter

from .conftest import (
    SECRET,
    cut_endpoint,
    failing_endpoint,
    samples,
    serving,
    token,
    value,
)

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {token('service_role')}"}


def with_failing_routes(app: Starlette) -> Starlette:
    """Routes that fail inside each API's prefix, ahead of the real ones."""
    for path in ("/storage/v1/boom", "/v1/boom", "/boom"):
        app.router.routes.insert(0, Route(path, failing_endpoint))
    app.router.routes.insert(0, Route("/v1/cut", cut_endpoint))
    for route in app.router.routes:  # and inside each API's mount, as its own routes are
        if isinstance(route, Mount):
            route.routes.insert(0, Route("/mounted-boom", failing_endpoint))
    return app


async def test_metrics_count_by_route_template_status_and_bytes(
    server: natsobj.EmbeddedServer, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = f"m{uuid.uuid4().hex[:10]}"
    await manager.create_object_store(bucket)
    data = os.urandom(300_000)
    app = create_app(server.url, jwt_secret=SECRET)
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        for name in ("a.bin", "dir/b.bin"):  # two paths, one route
            put = await http.post(f"/storage/v1/object/{bucket}/{name}", content=data, headers=AUTH)
            assert put.status_code == 200, put.text
            got = await http.get(f"/storage/v1/object/{bucket}/{name}", headers=AUTH)
            assert got.content == data
        assert (await http.get("/no/such/route")).status_code == 404
        assert (await http.delete("/health")).status_code == 405
        scrape = await http.get("/metrics")
    await manager.delete_object_store(bucket)
    assert scrape.headers["content-type"].startswith("text/plain")
    found = samples(scrape.text)
    route = "/storage/v1/object/{bucket}/{path:path}"
    total = "natsobj_gateway_requests_total"
    assert value(found, total, method="POST", route=route, status="200") == 2
    assert value(found, total, method="GET", route=route, status="200") == 2
    assert value(found, total, method="GET", route="unmatched", status="404") == 1
    assert value(found, total, method="DELETE", route="/health", status="405") == 1
    assert not any(
        bucket in labels_text for (_, labels) in found for labels_text in map(str, labels)
    )
    assert value(found, "natsobj_gateway_request_body_bytes_total", method="POST", route=route) == (
        2 * len(data)
    )
    sent = value(found, "natsobj_gateway_response_body_bytes_total", method="GET", route=route)
    assert sent == 2 * len(data)
    count = "natsobj_gateway_request_duration_seconds_count"
    assert value(found, count, method="GET", route=route, status="200") == 2
    assert value(found, "natsobj_gateway_requests_in_flight") == 1  # the scrape itself
    assert value(found, "natsobj_gateway_nats_connected") == 1


async def test_metrics_can_be_turned_off(server: natsobj.EmbeddedServer) -> None:
    app = create_app(server.url, metrics=False, access_log=False)
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/health")).status_code == 200


async def test_access_log_one_record_per_request_with_request_id(
    server: natsobj.EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway.access")
    app = create_app(server.url)
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        given = await http.get("/health", headers={"x-request-id": "req-42"})
        fresh = await http.get("/storage/v1/object/sign/b/x?token=SECRET-TOKEN")
        bad = await http.get("/health", headers={"x-request-id": "no spaces allowed"})
    assert given.headers["x-request-id"] == "req-42"
    assert len(fresh.headers["x-request-id"]) == 32
    assert bad.headers["x-request-id"] != "no spaces allowed"
    records = [r for r in caplog.records if r.name == "natsobj.gateway.access"]
    assert len(records) == 3
    first = records[0].access  # type: ignore[attr-defined]
    assert first["request_id"] == "req-42"
    assert (first["method"], first["route"], first["path"], first["status"]) == (
        "GET",
        "/health",
        "/health",
        200,
    )
    assert first["bytes_out"] == len(given.content)
    assert first["client"].startswith("127.0.0.1:")
    assert first["duration_ms"] >= 0
    second = records[1].access  # type: ignore[attr-defined]
    assert second["route"] == "/storage/v1/object/sign/{bucket}/{path:path}"
    assert second["request_id"] == fresh.headers["x-request-id"]
    assert "SECRET-TOKEN" not in caplog.text  # the query string is never logged
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["logger"] == "natsobj.gateway.access"
    assert (line["status"], line["request_id"], line["error"]) == (200, "req-42", None)


async def test_internal_errors_become_500_shaped_like_the_api(
    server: natsobj.EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="natsobj.gateway")
    app = with_failing_routes(create_app(server.url))
    async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        supabase = await http.get("/storage/v1/boom", headers={"x-request-id": "boom-1"})
        objectstore = await http.get("/v1/boom")
        other = await http.get("/boom")
        with pytest.raises(httpx.RemoteProtocolError):  # cut, never passed off as whole
            await http.get("/v1/cut")
        scrape = await http.get("/metrics")
        mounted = [await http.get(f"{api}/mounted-boom") for api in ("/storage/v1", "/v1")]
    assert [r.json() for r in mounted] == [supabase.json(), objectstore.json()]
    assert supabase.status_code == objectstore.status_code == other.status_code == 500
    assert supabase.json() == {
        "statusCode": "500",
        "code": "InternalError",
        "error": "InternalError",
        "message": "Internal Server Error",
    }
    assert objectstore.json() == {"detail": "internal server error", "causes": []}
    assert other.json() == {"error": "Internal Server Error"}
    for response in (supabase, objectstore, other):
        assert "secret detail" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"]
    failures = [r for r in caplog.records if r.name == "natsobj.gateway" and r.exc_info]
    assert len(failures) == 6  # with their tracebacks, in the server's log only
    assert "boom-1" in failures[0].getMessage()
    assert "secret detail" in caplog.text
    access = [r.access for r in caplog.records if r.name == "natsobj.gateway.access"]  # type: ignore[attr-defined]
    assert [a["error"] for a in access[:4]] == ["RuntimeError"] * 4
    assert [a["status"] for a in access[:4]] == [500, 500, 500, 200]
    found = samples(scrape.text)
    total = "natsobj_gateway_requests_total"
    assert value(found, total, method="GET", route="/v1/boom", status="500") == 1


async def test_tracing_spans_per_request_on_and_none_when_off(
    server: natsobj.EmbeddedServer,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = {"traceparent": f"00-{parent_trace}-00f067aa0ba902b7-01"}
    off = create_app(server.url, tracer_provider=provider)
    async with serving(off) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        assert (await http.get("/health")).status_code == 200
    assert exporter.get_finished_spans() == ()
    on = with_failing_routes(create_app(server.url, tracing=True, tracer_provider=provider))
    async with serving(on) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        ok = await http.get("/health", headers=traceparent)
        await http.get("/v1/boom")
        await http.get("/storage/v1/object/b/missing.txt")
    health, boom, missing = exporter.get_finished_spans()
    assert health.name == "GET /health"
    assert health.attributes is not None
    assert health.attributes["http.route"] == "/health"
    assert health.attributes["http.response.status_code"] == 200
    assert health.attributes["natsobj.request_id"] == ok.headers["x-request-id"]
    assert health.context is not None
    assert format(health.context.trace_id, "032x") == parent_trace
    assert boom.status.status_code is StatusCode.ERROR
    assert [event.name for event in boom.events] == ["exception"]
    assert missing.name == "GET /storage/v1/object/{bucket}/{path:path}"
    assert missing.status.status_code is StatusCode.UNSET
    provider.shutdown()
