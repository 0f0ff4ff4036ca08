"""``HotRoutes``: the object routes most requests take, dispatched without the router.

Starlette's router tries its routes in order, and the Supabase mount alone has 28: a
download of ``/storage/v1/object/{bucket}/{path}`` matched about 25 patterns before it
found its own, a measured tenth of a 1 KiB request's CPU (docs/gateway.md). This pure
ASGI layer sits right in front of the router (inside the observing and failure
middlewares, so every request is still counted, logged and kept from stack traces) and
sends these requests straight to their endpoint:

- Supabase ``GET``/``HEAD``/``PUT``/``POST`` ``/storage/v1/object/{bucket}/{path}``, unless
  ``{bucket}`` is a word an earlier route starts with (``info``, ``sign``, ``public``, ...);
- Objectstore ``/v1/objects/{usecase}/{scopes}/{key}``, every method it serves.

It matches exactly what the router would match for them (the same segments, decoded the
same way) and leaves the scope as the router would (``route``, ``router``, ``endpoint``,
``path_params``, the mount's ``root_path`` and ``app_root_path``), so endpoints, the
route-template metrics label and the access log see no difference. Anything else, and
any request under a ``root_path``, goes to the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HotRoutes", "HotTable", "Target", "enter_route", "hot_match", "hot_table"]

Endpoint = Callable[[Request], Awaitable[Response]]

SUPABASE_MOUNT = "/storage/v1"
SUPABASE_OBJECT = "/object/{bucket}/{path:path}"
# First segments under /object/ that an earlier Supabase route may claim: left to the router.
SUPABASE_RESERVED = frozenset(
    {"move", "copy", "list", "list-v2", "info", "sign", "upload", "public", "authenticated"}
)
SUPABASE_METHODS = frozenset({"GET", "HEAD", "PUT", "POST"})
OBJECTSTORE_MOUNT = "/v1"
OBJECTSTORE_OBJECT = "/objects/{usecase}/{scopes}/{key:path}"


@dataclass(frozen=True)
class Target:
    """Where a hot request goes: the route the router would pick, its endpoint, the
    mount it is under (prefix and inner router)."""

    route: Route
    endpoint: Endpoint
    prefix: str
    router: Router


def _targets(mount: Mount, path: str) -> dict[str, Target]:
    """Method -> target for the routes of ``mount`` with template ``path``, first route
    first (as the router picks)."""
    found: dict[str, Target] = {}
    router = mount.app
    if not isinstance(router, Router):
        return found
    for route in mount.routes:
        if isinstance(route, Route) and route.path == path:
            for method in route.methods or ():
                found.setdefault(method, Target(route, route.endpoint, mount.path, router))
    return found


@dataclass(frozen=True)
class HotTable:
    """The hot routes' targets by method, per API (empty where a mount is missing)."""

    supabase: Mapping[str, Target]
    objectstore: Mapping[str, Target]


def hot_table(routes: Iterable[BaseRoute]) -> HotTable:
    """The targets of the hot routes among the app's top-level ``routes``."""
    supabase: dict[str, Target] = {}
    objectstore: dict[str, Target] = {}
    for route in routes:
        if isinstance(route, Mount) and route.path == SUPABASE_MOUNT:
            targets = _targets(route, SUPABASE_OBJECT)
            supabase = {m: t for m, t in targets.items() if m in SUPABASE_METHODS}
        elif isinstance(route, Mount) and route.path == OBJECTSTORE_MOUNT:
            objectstore = _targets(route, OBJECTSTORE_OBJECT)
    return HotTable(supabase, objectstore)


def _supabase_match(path: str) -> dict[str, str] | None:
    """``/storage/v1/object/{bucket}/{path}``'s parameters, or None."""
    rest = path[len(SUPABASE_MOUNT) + 8 :]  # after "/storage/v1/object/"
    bucket, slash, name = rest.partition("/")
    if not slash or not bucket or bucket in SUPABASE_RESERVED:
        return None
    return {"bucket": bucket, "path": name}


def _objectstore_match(path: str) -> dict[str, str] | None:
    """``/v1/objects/{usecase}/{scopes}/{key}``'s parameters, or None."""
    usecase, slash, rest = path[len(OBJECTSTORE_MOUNT) + 9 :].partition("/")
    scopes, slash2, key = rest.partition("/")
    if not slash or not slash2 or not usecase or not scopes:
        return None
    return {"usecase": usecase, "scopes": scopes, "key": key}


def hot_match(table: HotTable, scope: Scope) -> tuple[Target, dict[str, str]] | None:
    """The hot route an HTTP ``scope`` takes, with its path parameters, or None."""
    if scope.get("root_path"):
        return None
    path: str = scope["path"]
    method: str = scope["method"]
    if path.startswith("/storage/v1/object/"):
        target = table.supabase.get(method)
        params = _supabase_match(path) if target is not None else None
    elif path.startswith("/v1/objects/"):
        target = table.objectstore.get(method)
        params = _objectstore_match(path) if target is not None else None
    else:
        return None
    return None if target is None or params is None else (target, params)


def enter_route(scope: Scope, target: Target, params: dict[str, str]) -> None:
    """Leave in ``scope`` what the router would have for ``target``."""
    scope["app_root_path"] = scope.get("app_root_path", "")
    scope["root_path"] = target.prefix
    scope["router"] = target.router
    scope["route"] = target.route
    scope["endpoint"] = target.endpoint
    scope["path_params"] = params


class HotRoutes:
    """Pure ASGI: the hot object routes straight to their endpoints, the rest to ``app``
    (the router)."""

    def __init__(self, app: ASGIApp, *, table: HotTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = hot_match(self.table, scope) if scope["type"] == "http" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        target, params = matched
        enter_route(scope, target, params)
        request = Request(scope, receive, send)
        response = await target.endpoint(request)
        await response(scope, receive, send)
