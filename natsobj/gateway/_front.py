"""``FrontDoor``: the app's outermost layer, and the direct lane of the hot object routes.

Through the full stack a request passes Starlette's error middleware, then
``ObserveMiddleware``, CORS, ``FailuresMiddleware`` and ``HotRoutes``: a coroutine and a
``send`` wrapper each. The direct lane does the same work in one frame for the requests
most callers make: the hot object routes (``HotRoutes``' table), untraced, and without
an ``Origin`` header when CORS is on. It is observed by the same ``Observer``, its
failures answered by the same ``answer_failure``, its endpoint called as ``HotRoutes``
calls it. Every other request (other routes, a traced request, a cross-origin one,
lifespan) takes the full stack, unchanged. A 1 KiB GET through uvicorn costs a worker
about a tenth less CPU this way (docs/gateway.md, "Small requests").
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._failures import answer_failure
from ._hot import HotTable, Target, enter_route, hot_match
from ._observe import Observer, route_template

__all__ = ["FrontDoor"]


def _has_origin(scope: Scope) -> bool:
    return any(key == b"origin" for key, _ in scope["headers"])


class FrontDoor:
    """Pure ASGI: the hot object routes served directly (observed, failures answered),
    everything else passed to ``app``, the full stack."""

    def __init__(self, app: ASGIApp, *, observer: Observer, table: HotTable, cors: bool) -> None:
        self.app = app
        self.observer = observer
        self.table = table
        self.cors = cors
        self.direct = observer.tracer is None  # a span is the full stack's to open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.direct:
            matched = hot_match(self.table, scope)
            if matched is not None and not (self.cors and _has_origin(scope)):
                await self._serve(scope, receive, send, *matched)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, target: Target, params: dict[str, str]
    ) -> None:
        observer = self.observer
        exchange = observer.begin(scope)
        echoed = (b"x-request-id", exchange.request_id.encode("latin-1"))
        enter_route(scope, target, params)
        receive = exchange.counting(receive)
        started = gone = False

        async def counting_send(message: Message) -> None:
            nonlocal started, gone
            if message["type"] == "http.response.start":
                started = True
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            elif message["type"] == "http.response.body":
                exchange.bytes_out += len(message.get("body", b""))
            try:
                await send(message)
            except OSError:
                gone = True
                raise

        error: BaseException | None = None
        try:
            try:
                request = Request(scope, receive, counting_send)
                response = await target.endpoint(request)
                await response(scope, receive, counting_send)
            except Exception as exc:
                await answer_failure(scope, receive, counting_send, exc, started=started, gone=gone)
        except BaseException as exc:  # noted, then passed on untouched
            error = exc
            raise
        finally:
            observer.finish(scope, exchange, route_template(scope, ""), error)
