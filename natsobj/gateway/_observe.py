"""``ObserveMiddleware``: request id, metrics, access log and tracing for every request.

Pure ASGI, so streamed bodies pass through untouched: bytes are counted as each message
goes by, nothing is buffered. The route template is read after the router has run (it
leaves the matched route and the mount's root path in the scope), so labels never carry
a raw path.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._accesslog import access_enabled, log_access
from ._failures import ERROR_KEY, REQUEST_ID_KEY

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from ._metrics import GatewayMetrics

__all__ = ["UNMATCHED", "ObserveMiddleware", "Observer", "route_template"]

UNMATCHED = "unmatched"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that served ``scope`` (mount prefix included), or
    ``unmatched``. ``root_path`` is the scope's root path before routing."""
    route = scope.get("route")
    if not isinstance(route, Route):
        return UNMATCHED
    mounted: str = scope.get("root_path", "")
    prefix = mounted[len(root_path) :] if mounted.startswith(root_path) else ""
    return prefix + route.path


def request_id_of(scope: Scope) -> str:
    """The caller's ``x-request-id`` if it is a sane token (at most 128 characters of
    ``A-Za-z0-9._:@/+=-``), else a new random one."""
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return os.urandom(16).hex()


@dataclass
class _Exchange:
    """What one request did, counted as it happened."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    status: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def counting(self, receive: Receive) -> Receive:
        """``receive``, counting the request body's bytes as they arrive."""

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.bytes_in += len(message.get("body", b""))
            return message

        return counting_receive


class Observer:
    """What observing a request takes (metrics, the access log, a tracer), shared by
    ``ObserveMiddleware`` and ``FrontDoor``'s direct lane so both record alike."""

    def __init__(
        self,
        metrics: GatewayMetrics | None = None,
        access_log: bool = True,
        tracer: Tracer | None = None,
    ) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self.tracer = tracer

    def begin(self, scope: Scope) -> _Exchange:
        """A request starts: its id (also put in the scope), counted in flight."""
        exchange = _Exchange(request_id_of(scope))
        scope[REQUEST_ID_KEY] = exchange.request_id
        if self.metrics is not None:
            self.metrics.in_flight.inc()
        return exchange

    def finish(
        self,
        scope: Scope,
        exchange: _Exchange,
        route: str,
        error: BaseException | None,
        span: Any = None,
    ) -> None:
        """A request ended (``error``: what escaped, if anything): counted, timed, logged
        and its span closed. The failure recorded is the one a lower layer noted in the
        scope, else ``error`` when it is an exception (not a cancellation)."""
        failure = scope.get(ERROR_KEY)
        if failure is None and isinstance(error, Exception):
            failure = error
        seconds = time.perf_counter() - exchange.started
        status = exchange.status or 500  # no response started: the server answers 500
        method: str = scope.get("method", "")
        if self.metrics is not None:
            self.metrics.in_flight.dec()
            self.metrics.observe(
                method, route, status, seconds, exchange.bytes_in, exchange.bytes_out
            )
        if span is not None:
            span.finish(route, status, failure)
        if self.access_log and access_enabled():  # the record's fields only when logged
            client = scope.get("client")
            log_access(
                {
                    "method": method,
                    "route": route,
                    "path": scope.get("path", ""),
                    "status": status,
                    "bytes_in": exchange.bytes_in,
                    "bytes_out": exchange.bytes_out,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": f"{client[0]}:{client[1]}" if client else None,
                    "request_id": exchange.request_id,
                    "error": type(failure).__name__ if failure is not None else None,
                }
            )


class ObserveMiddleware:
    """Counts, times, logs and traces each HTTP request; echoes ``x-request-id``."""

    def __init__(self, app: ASGIApp, *, observer: Observer) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observer = self.observer
        root_path: str = scope.get("root_path", "")
        exchange = observer.begin(scope)
        span = None
        if observer.tracer is not None:
            from ._tracing import RequestSpan

            span = RequestSpan(observer.tracer, scope, exchange.request_id)
        echoed = (b"x-request-id", exchange.request_id.encode("latin-1"))

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            elif message["type"] == "http.response.body":
                exchange.bytes_out += len(message.get("body", b""))
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, exchange.counting(receive), counting_send)
        except BaseException as exc:  # noted, then passed on untouched
            error = exc
            raise
        finally:
            observer.finish(scope, exchange, route_template(scope, root_path), error, span)
