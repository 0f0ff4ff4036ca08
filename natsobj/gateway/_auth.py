"""Who a Supabase-style request is: the role from ``apikey`` / ``Authorization: Bearer``.

Tokens are HS256 JWTs signed with the configured secret, as Supabase issues them; only
HS256 is accepted (no ``alg: none``, no public-key algorithms), so a token signed with an
Ed25519 key, or one "signed" with a public key as an HMAC secret, is refused.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from starlette.requests import Request

__all__ = ["AuthError", "Caller", "caller_of", "decode_token", "sign_token", "still_valid"]

Role = Literal["anon", "authenticated", "service_role"]
_ROLES: tuple[Role, ...] = ("anon", "authenticated", "service_role")


class AuthError(Exception):
    """A token that cannot be trusted: bad signature, expired, wrong algorithm or claims."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class Caller:
    role: Role
    sub: str = ""


@dataclass(frozen=True)
class AuthConfig:
    jwt_secret: str | None
    anon_key: str | None
    service_key: str | None


# Verified tokens, so a client's bearer token is checked once, not on every request (an
# HS256 verification costs about a tenth of a small request's CPU): (secret, token) ->
# claims. Bounded by count and token length; exp and nbf are checked again at each use.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
MAX_VERIFIED = 4096
MAX_CACHED_TOKEN = 4096


def still_valid(claims: Mapping[str, Any]) -> bool:
    """Whether verified ``claims`` still hold now: ``exp`` not reached, ``nbf`` and ``iat``
    not in the future (read as integers, as PyJWT reads them; one that is not reads as
    invalid, so the token is verified again and refused there)."""
    now = time.time()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    try:
        return (
            (exp is None or now < int(exp))
            and (nbf is None or now >= int(nbf))
            and (iat is None or now >= int(iat))
        )
    except (TypeError, ValueError, OverflowError):
        return False


def decode_token(token: str, secret: str | None) -> dict[str, Any]:
    """The claims of an HS256 token signed with ``secret``; ``exp`` and ``nbf`` are checked
    when present (at every call: a token verified before is not verified again until it
    expires, but is refused once it has).

    Raises:
        AuthError: no secret is configured, or the token is not valid.
    """
    if not secret:
        raise AuthError("the gateway has no JWT secret configured")
    verified = _VERIFIED.get((secret, token))
    if verified is not None and still_valid(verified):
        return dict(verified)
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("jwt expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid jwt: {exc}") from exc
    if not isinstance(claims, dict):
        raise AuthError("invalid jwt: claims are not an object")
    if len(token) <= MAX_CACHED_TOKEN:
        if len(_VERIFIED) >= MAX_VERIFIED:
            _VERIFIED.clear()
        _VERIFIED[(secret, token)] = dict(claims)
    return claims


def sign_token(claims: dict[str, Any], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _same(a: str, b: str | None) -> bool:
    return b is not None and hmac.compare_digest(a.encode(), b.encode())


def caller_of(request: Request, config: AuthConfig) -> Caller:
    """The caller's role: the bearer token wins over ``apikey``; no token at all is anon.

    Raises:
        AuthError: a token was given and cannot be trusted (never silently anon).
    """
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    token = token or request.headers.get("apikey", "").strip()
    if not token:
        return Caller("anon")
    if _same(token, config.service_key):
        return Caller("service_role")
    if _same(token, config.anon_key):
        return Caller("anon")
    claims = decode_token(token, config.jwt_secret)
    role = claims.get("role")
    if role not in _ROLES:
        raise AuthError(f"invalid jwt: unknown role {role!r}")
    sub = claims.get("sub")
    return Caller(role, sub if isinstance(sub, str) else "")
