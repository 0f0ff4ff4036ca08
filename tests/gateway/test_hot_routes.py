"""``HotRoutes`` picks exactly what Starlette's router would pick for the object routes it
serves (the same route, parameters and mount root path), and leaves every other request
to the router."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route

from natsobj.gateway import create_app
from natsobj.gateway._hot import hot_match, hot_table

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS")
PATHS = (
    "/storage/v1/object/b/k",
    "/storage/v1/object/b/dir/sub/k.txt",
    "/storage/v1/object/b/",
    "/storage/v1/object/b/../x",
    "/storage/v1/object/b/ünï cödé",
    "/storage/v1/object/b",
    "/storage/v1/object//k",
    "/storage/v1/object/public/b/k",
    "/storage/v1/object/authenticated/b/k",
    "/storage/v1/object/info/b/k",
    "/storage/v1/object/info/k",
    "/storage/v1/object/sign/b/k",
    "/storage/v1/object/upload/sign/b/k",
    "/storage/v1/object/list/b",
    "/storage/v1/object/move",
    "/storage/v1/objects/b/k",
    "/storage/v1/bucket/b",
    "/v1/objects/u/org=1;project=2/key",
    "/v1/objects/u/_/a/b/c",
    "/v1/objects/u/_/",
    "/v1/objects/u/_",
    "/v1/objects//_/k",
    "/v1/objects/u//k",
    "/v1/objects:multipart/u/_/k",
    "/v1/objects:batch/x",
    "/health",
    "/metrics",
)


def routed(routes: Sequence[BaseRoute], scope: dict[str, Any]) -> tuple[Route, dict[str, Any]]:
    """The route the router picks with a full match (mounts followed), and the scope it
    leaves; raises LookupError when no route matches fully."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            scope = {**scope, **child}
            if isinstance(route, Mount):
                return routed(route.routes, scope)
            assert isinstance(route, Route)
            return route, scope
    raise LookupError(scope["path"])


def http_scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


def test_hot_routes_match_what_the_router_would() -> None:
    app = create_app("nats://127.0.0.1:1", jwt_secret="s" * 32)
    table = hot_table(app.routes)
    taken = 0
    for method in METHODS:
        for path in PATHS:
            matched = hot_match(table, http_scope(method, path))
            if matched is None:
                continue
            taken += 1
            target, params = matched
            route, scope = routed(app.routes, http_scope(method, path))
            assert target.route is route, (method, path)
            assert target.endpoint is route.endpoint
            assert params == scope["path_params"], (method, path)
            assert target.prefix == scope["root_path"]
    assert taken == 5 * 4 + 3 * 6  # Supabase: 5 paths x 4 methods; Objectstore: 3 x 6
    for method in ("GET", "PUT"):  # the hot ones, not taken under a root path
        scope = http_scope(method, "/p/storage/v1/object/b/k", root_path="/p")
        assert hot_match(table, scope) is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/storage/v1/object/public/b/k"),
        ("DELETE", "/storage/v1/object/b/k"),
        ("PUT", "/storage/v1/object/upload/sign/b/k"),
        ("POST", "/v1/objects/u/_"),
        ("GET", "/v1/objects:multipart/u/_/k"),
    ],
)
def test_other_requests_are_left_to_the_router(method: str, path: str) -> None:
    app = create_app("nats://127.0.0.1:1")
    table = hot_table(app.routes)
    assert hot_match(table, http_scope(method, path)) is None


def test_an_app_without_the_mounts_has_no_hot_routes() -> None:
    table = hot_table([Route("/health", lambda request: None)])
    assert (dict(table.supabase), dict(table.objectstore)) == ({}, {})
