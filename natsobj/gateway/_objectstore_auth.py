"""Authorization of Sentry Objectstore requests: EdDSA JWTs and Ed25519 pre-signed URLs.

A request is authorized by one of: a JWT (``x-os-auth``, else ``Authorization``, else the
``os_auth`` query parameter; ``Bearer `` optional) whose ``kid`` names a configured public
key, whose ``res`` covers the request's usecase and every scope component, and whose
``permissions`` hold the one the operation needs; or a pre-signed URL (``os_kid``,
``os_timestamp``, ``os_duration``, ``os_sig``) for a GET or HEAD of exactly that path.
With no keys configured (no flag, no shared key set), authorization is off (a trusted
network, as Sentry's ``auth.enforce = false``). ``_objectstore_keys`` holds the keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.requests import Request

from ._auth import still_valid
from ._objectstore_keys import KeyDirectory, ObjectstoreKey

__all__ = ["AuthError", "authorize"]

READ = "object.read"
WRITE = "object.write"
DELETE = "object.delete"
USECASE_CLAIM = "os:usecase"
PRESIGN_PARAMS = ("os_kid", "os_timestamp", "os_duration", "os_sig")
MAX_PRESIGN = timedelta(days=7)
CLOCK_SKEW = timedelta(seconds=60)
# A token or signature longer than this is not one we issued a key for; refuse unparsed.
MAX_CREDENTIAL_CHARS = 8192
# Verified tokens (an Ed25519 verification is most of a small request's auth cost):
# token -> (kid, the key version that verified it, claims), at most MAX_VERIFIED (then
# started again). Claims are never changed after verification; scope and permissions
# are checked against them on every request.
_VERIFIED: dict[str, tuple[str, Ed25519PublicKey, dict[str, Any]]] = {}
MAX_VERIFIED = 4096


class AuthError(Exception):
    """A refused request: ``status`` is 401 (no or bad credentials) or 403 (not allowed)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def authorize(
    request: Request,
    keys: KeyDirectory,
    usecase: str,
    scope: tuple[tuple[str, str], ...],
    permission: str,
) -> None:
    """Check that ``request`` may do ``permission`` on ``usecase``/``scope``.

    A token's permissions are cut to its key's ``max_permissions``; a pre-signed URL
    needs a key that may grant ``object.read``.

    Raises:
        AuthError: 401 for missing, malformed, expired or badly signed credentials or an
            unknown key; 403 for valid credentials that do not cover this request; 503
            while the shared key set cannot be followed.
    """
    if not keys.enforce:
        return
    if keys.stale:
        raise AuthError(503, "the key set is unavailable (NATS connection lost)")
    query = request.query_params
    if any(name in query for name in PRESIGN_PARAMS):
        _check_presigned(request, keys)
        return
    token = _token(request)
    if token is None:
        raise AuthError(401, "missing credentials: send a JWT in x-os-auth")
    claims, config = _verify_jwt(token, keys)
    _check_claims(claims, usecase, scope, permission, config.max_permissions)


def _token(request: Request) -> str | None:
    headers = request.headers
    value = headers.get("x-os-auth") or headers.get("authorization")
    if value is None:
        value = request.query_params.get("os_auth")
    if value is None:
        return None
    if value[:7].lower() == "bearer ":
        value = value[7:]
    return value.strip()


def _verify_jwt(token: str, keys: KeyDirectory) -> tuple[dict[str, Any], ObjectstoreKey]:
    if len(token) > MAX_CREDENTIAL_CHARS:
        raise AuthError(401, "token too long")
    cached = _verified(token, keys)
    if cached is not None:
        return cached
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(401, f"malformed token: {exc}") from None
    # Only EdDSA: "none" and HMAC (signed with a public key as the secret) are refused here.
    if header.get("alg") != "EdDSA":
        raise AuthError(401, f"token algorithm must be EdDSA, got {header.get('alg')!r}")
    kid = header.get("kid")
    config = keys.get(kid) if isinstance(kid, str) else None
    if config is None:
        raise AuthError(401, f"unknown key id {kid!r}")
    claims, key = _decode(token, config)
    if "aud" in claims and claims["aud"] != "objectstore":
        raise AuthError(401, "token audience is not 'objectstore'")
    if "iss" in claims and claims["iss"] not in ("sentry", "relay"):
        raise AuthError(401, "token issuer is not 'sentry' or 'relay'")
    if len(_VERIFIED) >= MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[token] = (str(kid), key, claims)
    return claims, config


def _verified(token: str, keys: KeyDirectory) -> tuple[dict[str, Any], ObjectstoreKey] | None:
    """A token verified before, if it would verify now: its kid still has the very key
    version that verified it (a revoked or rotated-out key counts at once) and its
    times still hold. None: verify it again."""
    hit = _VERIFIED.get(token)
    if hit is None:
        return None
    kid, key, claims = hit
    config = keys.get(kid)
    if config is None or not any(version is key for version in config.versions):
        return None
    return (claims, config) if still_valid(claims) else None


def _decode(token: str, config: ObjectstoreKey) -> tuple[dict[str, Any], Ed25519PublicKey]:
    """The claims of ``token`` as verified by one of the kid's key versions (rotation),
    and that version."""
    for key in config.versions:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.InvalidSignatureError:
            continue  # perhaps another version's
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"token rejected: {exc}") from None
        return claims, key
    raise AuthError(401, "token rejected: signature verification failed")


def _check_claims(
    claims: Mapping[str, Any],
    usecase: str,
    scope: tuple[tuple[str, str], ...],
    permission: str,
    max_permissions: frozenset[str],
) -> None:
    res = claims.get("res")
    if not isinstance(res, dict) or res.get(USECASE_CLAIM) != usecase:
        raise AuthError(403, f"token does not cover usecase {usecase!r}")
    for name, value in scope:
        if res.get(name) not in (value, "*"):
            raise AuthError(403, f"token does not cover scope {name}={value}")
    granted = claims.get("permissions")
    if not isinstance(granted, list) or permission not in granted:
        raise AuthError(403, f"token lacks permission {permission}")
    if permission not in max_permissions:
        raise AuthError(403, f"the token's key may not grant {permission}")


def canonical_form(method: str, raw_path: str, raw_query: str) -> str:
    """What a pre-signed URL's ``os_sig`` signs: the method (HEAD as GET), the path as
    sent, and the query's parameters but ``os_sig``, names lower-cased, sorted."""
    pairs = []
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name = name.lower()
        if name != "os_sig":
            pairs.append(f"{name}={value}" if sep else name)
    pairs.sort()
    verb = "GET" if method.upper() == "HEAD" else method.upper()
    return f"{verb}\n{raw_path}\n{'&'.join(pairs)}"


def _check_presigned(request: Request, keys: KeyDirectory) -> None:
    if request.method not in ("GET", "HEAD"):
        raise AuthError(403, "a pre-signed URL authorizes only GET and HEAD")
    query = request.query_params
    kid, stamp, duration, sig = (query.get(name) for name in PRESIGN_PARAMS)
    if kid is None or stamp is None or duration is None or sig is None:
        raise AuthError(401, "a pre-signed URL needs os_kid, os_timestamp, os_duration, os_sig")
    config = keys.get(kid)
    if config is None:
        raise AuthError(401, f"unknown key id {kid!r}")
    try:
        signed_at = datetime.fromisoformat(stamp)
        valid_for = timedelta(seconds=int(duration))
        signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except (ValueError, OverflowError, binascii.Error):
        raise AuthError(401, "malformed pre-signed URL parameters") from None
    if signed_at.tzinfo is None or not timedelta(0) <= valid_for <= MAX_PRESIGN:
        raise AuthError(401, "pre-signed URL timestamp needs a zone; duration 0 to 7 days")
    now = datetime.now(UTC)
    # Compared as offsets from now: signed_at +- the window may be past year 1 or 9999.
    if not -CLOCK_SKEW <= now - signed_at <= valid_for + CLOCK_SKEW:
        raise AuthError(401, "pre-signed URL is expired or not yet valid")
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    raw_query = request.scope.get("query_string", b"")
    message = canonical_form(
        request.method, raw_path.decode("latin-1"), raw_query.decode("latin-1")
    )
    if not any(_verifies(key, signature, message.encode("latin-1")) for key in config.versions):
        raise AuthError(401, "pre-signed URL signature does not match")
    if READ not in config.max_permissions:  # pre-signed URLs only read
        raise AuthError(403, f"key {kid!r} may not grant {READ}")


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
