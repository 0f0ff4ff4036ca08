"""CORS for browsers that call the gateway from a page on another origin (storage-js in a
web app). Supabase's own server leaves this to the API gateway in front of it; a gateway
served alone needs it. Off unless origins are given."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from .._checks import check_origins

__all__ = ["cors_middleware"]

# Every method the two APIs serve; every request header (the clients send apikey,
# authorization, x-client-info, x-upsert, x-metadata, x-os-auth, range, ...) and every
# response header (content-range, etag, x-sn-*, ...) a page may need. No cookies are
# involved: credentials stay off, which is what makes the wildcards valid.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may keep a preflight's answer


def cors_middleware(origins: Sequence[str]) -> Middleware | None:
    """The middleware that answers preflights and marks responses for ``origins`` (``*``
    for any), or None for none.

    Raises:
        InvalidArgumentError: an origin is neither ``*`` nor ``scheme://host[:port]``.
    """
    allowed = check_origins(origins)
    if not allowed:
        return None
    return Middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=_METHODS,
        allow_headers=["*"],
        expose_headers=["*"],
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
    )
