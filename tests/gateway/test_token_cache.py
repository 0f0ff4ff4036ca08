"""Supabase bearer tokens and Objectstore EdDSA tokens are verified once and then served
from a cache: the cache never accepts what a full verification would refuse (expiry,
another secret or key, a revoked key version, a changed token)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from natsobj.gateway import _auth, _objectstore_auth
from natsobj.gateway._auth import AuthError, decode_token, still_valid
from natsobj.gateway._objectstore_auth import AuthError as ObjectstoreAuthError
from natsobj.gateway._objectstore_auth import _verify_jwt
from natsobj.gateway._objectstore_keys import KeyDirectory, ObjectstoreKey

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


def _objectstore_token(private: Ed25519PrivateKey, kid: str = "k1", **claims: object) -> str:
    body = {"res": {"os:usecase": "u"}, "permissions": ["object.read"], **claims}
    return jwt.encode(body, private, "EdDSA", headers={"kid": kid})


def test_objectstore_tokens_are_cached_only_while_their_key_version_stays() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = KeyDirectory({"k1": ObjectstoreKey((old.public_key(),))}, enforce=True)
    token = _objectstore_token(old, exp=int(time.time()) + 60)
    assert _verify_jwt(token, keys)[0]["permissions"] == ["object.read"]
    assert token in _objectstore_auth._VERIFIED
    assert _verify_jwt(token, keys)[1] is keys.static["k1"]  # from the cache
    # Rotated: the old version stays beside the new one, so the token still holds...
    keys.static["k1"] = ObjectstoreKey((new.public_key(), old.public_key()))
    _verify_jwt(token, keys)
    # ...narrowed permissions come from the kid's config at each use...
    keys.shared["k1"] = ObjectstoreKey((old.public_key(),), frozenset({"object.write"}))
    assert _verify_jwt(token, keys)[1].max_permissions == {"object.write"}
    del keys.shared["k1"]
    # ...and once the old version is revoked it is refused at once.
    keys.static["k1"] = ObjectstoreKey((new.public_key(),))
    with pytest.raises(ObjectstoreAuthError):
        _verify_jwt(token, keys)
    del keys.static["k1"]
    with pytest.raises(ObjectstoreAuthError):
        _verify_jwt(token, keys)


def test_a_cached_objectstore_token_is_refused_once_its_times_fail() -> None:
    private = Ed25519PrivateKey.generate()
    keys = KeyDirectory({"k1": ObjectstoreKey((private.public_key(),))}, enforce=True)
    token = _objectstore_token(private, exp=int(time.time()) + 60)
    _verify_jwt(token, keys)
    kid, key, claims = _objectstore_auth._VERIFIED[token]
    # As if the clock passed exp: the cache must not answer, the full check refuses.
    _objectstore_auth._VERIFIED[token] = (kid, key, {**claims, "exp": int(time.time()) - 1})
    assert _objectstore_auth._verified(token, keys) is None
    for bad in ({"nbf": time.time() + 60}, {"iat": time.time() + 60}, {"exp": "soon"}):
        assert not still_valid({"exp": time.time() + 60, **bad})
    assert still_valid({"exp": str(int(time.time()) + 60), "iat": 0})
