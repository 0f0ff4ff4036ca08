"""What every Supabase route shares: errors as Supabase renders them, the caller's role,
and reading the path and a JSON body safely."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

import natsobj

from ._auth import AuthConfig, AuthError, Caller, caller_of
from ._stores import open_store

__all__ = [
    "ApiError",
    "Handler",
    "auth_config",
    "check_readable",
    "endpoint",
    "field",
    "invalid",
    "iso",
    "manager_of",
    "object_key",
    "read_json",
    "require",
]

_log = logging.getLogger("natsobj.gateway")

MAX_JSON_BYTES = 1 << 20
MAX_HEADER_BYTES = 16 << 10


class ApiError(Exception):
    """A failure as Supabase reports it: ``statusCode``, ``code`` (its ErrorCode), the
    legacy ``error`` name; ``http`` overrides the HTTP status (else 400, or 5xx as is)."""

    def __init__(
        self, status: int, code: str, message: str, *, error: str = "", http: int | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.error, self.message = status, code, error or code, message
        self.http = http


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidRequest", message, error="Invalid Input")


# natsobj error -> (statusCode, code, error), as supabase/storage's ERRORS. Subclasses first.
_ERRORS: tuple[tuple[type[natsobj.ObjectStoreError], int, str, str], ...] = (
    (natsobj.BucketNotFoundError, 404, "NoSuchBucket", "Bucket not found"),
    (natsobj.ObjectNotFoundError, 404, "NoSuchKey", "not_found"),
    (natsobj.UpdateMetaDeletedError, 404, "NoSuchKey", "not_found"),
    (natsobj.BucketExistsError, 409, "BucketAlreadyExists", "Duplicate"),
    (natsobj.ObjectExistsError, 409, "KeyAlreadyExists", "Duplicate"),
    (natsobj.BucketNotEmptyError, 409, "ResourceNotEmpty", "ResourceNotEmpty"),
    (natsobj.PreconditionFailedError, 409, "InvalidRequest", "InvalidRequest"),
    (natsobj.ObjectTooLargeError, 413, "EntityTooLarge", "Payload too large"),
    (natsobj.InvalidMimeTypeError, 415, "InvalidMimeType", "invalid_mime_type"),
    (natsobj.RangeNotSatisfiableError, 400, "InvalidRange", "invalid_range"),
    (natsobj.InvalidBucketNameError, 400, "InvalidBucketName", "Invalid Input"),
    (natsobj.InvalidObjectNameError, 400, "InvalidKey", "Invalid Input"),
    (natsobj.InvalidArgumentError, 400, "InvalidRequest", "Invalid Input"),
    (natsobj.BucketSealedError, 403, "AccessDenied", "Unauthorized"),
    (natsobj.PermissionDeniedError, 403, "AccessDenied", "Unauthorized"),
    (natsobj.ObjectStoreTimeoutError, 504, "DatabaseTimeout", "DatabaseTimeout"),
    (natsobj.ServerUnavailableError, 503, "InternalError", "ServiceUnavailable"),
)


def error_response(exc: ApiError) -> JSONResponse:
    body = {
        "statusCode": str(exc.status),
        "code": exc.code,
        "error": exc.error,
        "message": exc.message,
    }
    http = exc.http or (exc.status if exc.status >= 500 else 400)
    return JSONResponse(body, status_code=http)


def _from_store_error(exc: natsobj.ObjectStoreError) -> ApiError:
    for kind, status, code, error in _ERRORS:
        if isinstance(exc, kind):
            return ApiError(status, code, str(exc) if status < 500 else error, error=error)
    return ApiError(500, "InternalError", "Internal Server Error", error="internal")


Handler = Callable[[Request], Awaitable[Response]]


def _check_header_size(request: Request) -> None:
    """Node's limit, which Supabase's server has: 16 KiB of request headers (uvicorn's h11
    refuses more only when they arrive in pieces)."""
    size = sum(len(key) + len(value) + 4 for key, value in request.scope["headers"])
    if size > MAX_HEADER_BYTES:
        message = f"request headers over {MAX_HEADER_BYTES} bytes"
        raise ApiError(
            431, "InvalidRequest", message, error="Request Header Fields Too Large", http=431
        )


def endpoint(handler: Handler) -> Handler:
    """Map every failure of ``handler`` to Supabase's error body; never a stack trace."""

    async def endpoint(request: Request) -> Response:
        try:
            _check_header_size(request)
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except AuthError as exc:  # a bearer token that cannot be trusted, as Supabase's
            return error_response(ApiError(403, "AccessDenied", str(exc), error="Unauthorized"))
        except natsobj.ObjectStoreError as exc:
            return error_response(_from_store_error(exc))
        except ClientDisconnect:
            return error_response(ApiError(499, "AbortedTerminate", "the client went away"))
        except Exception:  # a bug or an unmapped failure: logged here, never shown
            _log.exception("%s %s failed", request.method, request.url.path)
            return error_response(ApiError(500, "InternalError", "Internal Server Error"))

    return endpoint


# ---------------------------------------------------------------- request helpers


def auth_config(request: Request) -> AuthConfig:
    config: AuthConfig = request.app.state.auth
    return config


def manager_of(request: Request) -> natsobj.ObjectStoreManager:
    manager: natsobj.ObjectStoreManager = request.app.state.manager
    return manager


def require(request: Request, *, needs: str = "anon") -> Caller:
    caller = caller_of(request, auth_config(request))
    order = ("anon", "authenticated", "service_role")
    if order.index(caller.role) < order.index(needs):
        message = f"Access denied: this operation needs the {needs} role"
        raise ApiError(403, "AccessDenied", message, error="Unauthorized", http=403)
    return caller


def object_key(request: Request) -> tuple[str, str]:
    """The bucket and object name from the path, refusing dot segments and empty parts."""
    bucket, name = request.path_params["bucket"], request.path_params.get("path", "")
    parts = name.split("/")
    if not name or any(part in ("", ".", "..") for part in parts):
        raise invalid(f"invalid object name {name!r}")
    return bucket, name


async def read_json(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise ApiError(
                413, "EntityTooLarge", "request body too large", error="Payload too large"
            )
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise invalid("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise invalid("body must be a JSON object")
    return value


def field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None
) -> Any:
    value = body.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise invalid(f"{name} has the wrong type")
    return value


def iso(stamp: datetime | None) -> str | None:
    return stamp.isoformat().replace("+00:00", "Z") if stamp is not None else None


async def check_readable(request: Request, bucket: str, caller: Caller) -> None:
    """anon may read only public buckets (the flag as read within the last half second,
    see ``_stores``)."""
    if caller.role == "anon" and not (await open_store(request, bucket)).policy.public:
        raise ApiError(404, "NoSuchBucket", "Bucket not found", error="Bucket not found")
