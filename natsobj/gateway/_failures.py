"""The last line of defence: no stack trace ever reaches a client.

``FailuresMiddleware`` catches whatever a route lets escape. Before the response has
started it answers 500 with a short body shaped like the API that was called; after, it
can only stop, and the server closes the connection (the client sees a cut body, never
a partial one passed off as whole). Either way the traceback goes to the
``natsobj.gateway`` logger with the request id, and nowhere else.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ERROR_KEY",
    "REQUEST_ID_KEY",
    "FailuresMiddleware",
    "answer_failure",
    "internal_error_body",
]

ERROR_KEY = "natsobj.error"
"""Scope key: the exception a request failed with (for the access log and the span)."""
REQUEST_ID_KEY = "natsobj.request_id"
"""Scope key: the request id (``x-request-id``), set by the observing middleware."""

_log = logging.getLogger("natsobj.gateway")


def _route_path(scope: Scope) -> str:
    """The path below the app's own root path. Routing into a mount extends the scope's
    ``root_path`` and keeps the app's in ``app_root_path``: that one is stripped."""
    path: str = scope.get("path", "")
    root: str = scope.get("app_root_path", scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def internal_error_body(path: str) -> dict[str, Any]:
    """A 500's body for a request to ``path``: Supabase's shape under ``/storage/v1``,
    Sentry Objectstore's under ``/v1``, a one-field object elsewhere."""
    if path.startswith("/storage/v1/") or path == "/storage/v1":
        return {
            "statusCode": "500",
            "code": "InternalError",
            "error": "InternalError",
            "message": "Internal Server Error",
        }
    if path.startswith("/v1/"):
        return {"detail": "internal server error", "causes": []}
    return {"error": "Internal Server Error"}


class FailuresMiddleware:
    """Pure ASGI: an unhandled exception becomes a 500 (or a closed connection once the
    response has started) and a logged traceback. A client that went away is not a
    failure: it is logged at INFO without a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = client_gone = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, client_gone
            if message["type"] == "http.response.start":
                started = True
            try:
                await send(message)
            except OSError:
                client_gone = True
                raise

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            await answer_failure(scope, receive, send, exc, started=started, gone=client_gone)


async def answer_failure(
    scope: Scope, receive: Receive, send: Send, exc: Exception, *, started: bool, gone: bool
) -> None:
    """What to do once ``exc`` escaped a request's handling: a client that went away
    (``gone``: sending to it failed) is logged at INFO; else the traceback is logged, the
    failure noted in the scope (``ERROR_KEY``) and, if no response has ``started``, a 500
    shaped like the API answered."""
    request_id = scope.get(REQUEST_ID_KEY, "-")
    where = f"{scope.get('method')} {scope.get('path')}"
    if gone:
        _log.info("request %s (%s): the client went away", request_id, where)
        return
    scope[ERROR_KEY] = exc
    _log.error("request %s (%s) failed", request_id, where, exc_info=exc)
    if not started:
        body = internal_error_body(_route_path(scope))
        with contextlib.suppress(OSError):  # the client went away meanwhile
            await JSONResponse(body, status_code=500)(scope, receive, send)
