"""Supabase bearer tokens are verified once and then served from a cache: the cache never
accepts what a full verification would refuse (expiry, another secret, a changed token)."""

from __future__ import annotations

import time

import jwt
import pytest

from natsobj.gateway import _auth
from natsobj.gateway._auth import AuthError, decode_token

SECRET = "cache-secret-at-least-32-bytes-long!!"


def _token(**claims: object) -> str:
    return jwt.encode({"role": "authenticated", **claims}, SECRET, "HS256")


def test_a_cached_token_is_refused_once_it_expires() -> None:
    expires = int(time.time()) + 1
    token = _token(exp=expires)
    assert decode_token(token, SECRET)["role"] == "authenticated"
    assert (SECRET, token) in _auth._VERIFIED
    assert decode_token(token, SECRET)["role"] == "authenticated"  # from the cache
    time.sleep(max(expires - time.time(), 0) + 0.05)
    with pytest.raises(AuthError) as caught:
        decode_token(token, SECRET)
    assert caught.value.expired


def test_the_cache_never_widens_what_verifies() -> None:
    token = _token(exp=int(time.time()) + 60)
    decode_token(token, SECRET)
    with pytest.raises(AuthError):
        decode_token(token, "another-secret-at-least-32-bytes-long")
    header, payload, signature = token.split(".")
    # Change a character in the middle: the last one holds padding bits a decoder ignores,
    # so replacing the tail could leave the signature's bytes as they were.
    other = "B" if signature[10] == "A" else "A"
    with pytest.raises(AuthError):
        decode_token(f"{header}.{payload}.{signature[:10]}{other}{signature[11:]}", SECRET)
    early = _token(nbf=int(time.time()) + 60)
    for _ in range(2):
        with pytest.raises(AuthError):
            decode_token(early, SECRET)
    assert (SECRET, early) not in _auth._VERIFIED
    claims = decode_token(token, SECRET)
    claims["role"] = "service_role"  # a caller changing its copy changes nothing cached
    assert decode_token(token, SECRET)["role"] == "authenticated"
