"""The Ed25519 public keys that verify Sentry Objectstore tokens and pre-signed URLs.

A key id (``kid``) has one or more key versions (rotation: the old and the new key both
verify while the new one rolls out) and ``max_permissions``, the most that tokens signed
with it can grant (a token's permissions are cut to them; pre-signed URLs need
``object.read``), as Sentry's server configures ``auth.keys``.

Keys come from flags (``--objectstore-key KID=PATH``, one instance's config), or from the
shared key set: a natsobj bucket (``KEY_SET_BUCKET`` unless named otherwise) with one
object per kid, its versions and permissions in the object's metadata. Every gateway
instance started with the key set watches that bucket and applies a change as the watch
delivers it (milliseconds), so an added or revoked key holds on every instance within a
second. ``add_objectstore_key`` and ``revoke_objectstore_key`` change it (compare-and-set
on the kid's meta: concurrent changes never overwrite each other).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

import natsobj
from natsobj._bucket._core import retry_cas
from natsobj._wire import validate_bucket_name

__all__ = [
    "KEY_SET_BUCKET",
    "KeyDirectory",
    "ObjectstoreKey",
    "add_objectstore_key",
    "objectstore_keys",
    "revoke_objectstore_key",
]

KEY_SET_BUCKET = "natsobj_objectstore_keys"
PERMISSIONS = ("object.read", "object.write", "object.delete")
MAX_VERSIONS = 16
MAX_PEM_BYTES = 4096
_PERMISSIONS_KEY = "max_permissions"
_VERSION_PREFIX = "key."
_KID = re.compile(r"[A-Za-z0-9._\-]{1,128}")
# How often a broken key-set watch looks whether the connection is back.
_RETRY_SECONDS = 0.2
_log = logging.getLogger("natsobj.gateway")


@dataclass(frozen=True)
class ObjectstoreKey:
    """One kid: the key versions that verify its signatures and the permissions it may
    grant at most."""

    versions: tuple[Ed25519PublicKey, ...]
    max_permissions: frozenset[str] = frozenset(PERMISSIONS)


@dataclass
class KeyDirectory:
    """The keys a gateway instance checks credentials against, by kid.

    ``enforce``: credentials are required (keys were configured, from flags or a key
    set); otherwise authorization is off. ``stale``: the key set's watch is broken, so a
    revocation could go unseen; keyed requests are refused (503) until it is back.
    """

    static: dict[str, ObjectstoreKey] = field(default_factory=dict)
    shared: dict[str, ObjectstoreKey] = field(default_factory=dict)
    enforce: bool = False
    stale: bool = False

    def get(self, kid: str) -> ObjectstoreKey | None:
        """The kid's keys: the key set's entry wins over a flag's."""
        return self.shared.get(kid) or self.static.get(kid)


def check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise natsobj.InvalidArgumentError(
            f"a key id is 1 to 128 of A-Z a-z 0-9 . _ -, got {kid!r}"
        )
    return kid


def check_permissions(permissions: Iterable[str] | None) -> frozenset[str]:
    """``permissions`` (None: all three) as a set of Objectstore permissions."""
    if permissions is None:
        return frozenset(PERMISSIONS)
    if isinstance(permissions, str):
        raise natsobj.InvalidArgumentError("max_permissions is a list of permissions, not a str")
    out = frozenset(permissions)
    unknown = sorted(out - set(PERMISSIONS))
    if unknown:
        raise natsobj.InvalidArgumentError(f"unknown permission(s) {unknown}: use {PERMISSIONS}")
    return out


def load_public_key(pem: bytes | str, kid: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM (read from the key set: untrusted).

    Raises:
        InvalidArgumentError: too long, not PEM, or not an Ed25519 public key (of an
            algorithm or curve the cryptography library does not know, too).
    """
    data = pem.encode() if isinstance(pem, str) else pem
    if not isinstance(data, bytes) or len(data) > MAX_PEM_BYTES:
        raise natsobj.InvalidArgumentError(f"objectstore key {kid!r}: not a PEM of <= 4 KiB")
    try:
        key = load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise natsobj.InvalidArgumentError(f"objectstore key {kid!r}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise natsobj.InvalidArgumentError(f"objectstore key {kid!r} is not an Ed25519 key")
    return key


def objectstore_key(
    kid: str, pems: Iterable[bytes | str], max_permissions: Iterable[str] | None = None
) -> ObjectstoreKey:
    """A kid's config from its version PEMs (at least one).

    Raises:
        InvalidArgumentError: a bad kid, PEM or permission, no version, or too many.
    """
    versions = tuple(load_public_key(pem, check_kid(kid)) for pem in pems)
    if not 1 <= len(versions) <= MAX_VERSIONS:
        raise natsobj.InvalidArgumentError(f"kid {kid!r} needs 1 to {MAX_VERSIONS} key versions")
    return ObjectstoreKey(versions, check_permissions(max_permissions))


KeySpec = bytes | str | Sequence[bytes | str] | ObjectstoreKey


def static_keys(keys: Mapping[str, KeySpec]) -> dict[str, ObjectstoreKey]:
    """``create_app``'s ``objectstore_keys``: by kid, a PEM, a list of PEMs (versions)
    or an ``ObjectstoreKey``; PEM-only kids may grant every permission.

    Raises:
        InvalidArgumentError: a bad kid or PEM.
    """
    out: dict[str, ObjectstoreKey] = {}
    for kid, spec in keys.items():
        if isinstance(spec, ObjectstoreKey):
            out[check_kid(kid)] = spec
        else:
            out[kid] = objectstore_key(kid, [spec] if isinstance(spec, bytes | str) else spec)
    return out


def key_directory(keys: Mapping[str, KeySpec] | None, key_set: str | None) -> KeyDirectory:
    """``create_app``'s key directory: the flag keys, enforced when there are any or a
    shared key set (bucket ``key_set``) is named.

    Raises:
        InvalidArgumentError: a bad kid or PEM. InvalidBucketNameError: a bad bucket name.
    """
    if key_set is not None:
        validate_bucket_name(key_set)
    return KeyDirectory(static_keys(keys or {}), enforce=bool(keys) or key_set is not None)


def _fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:12]).decode()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _stored(info: natsobj.ObjectInfo) -> ObjectstoreKey:
    """The kid's config from its meta in the key set (read from the wire: checked).

    Raises:
        InvalidArgumentError: anything in it is not a valid key config.
    """
    metadata = info.metadata
    pems = [v for k, v in sorted(metadata.items()) if k.startswith(_VERSION_PREFIX)]
    listed = metadata.get(_PERMISSIONS_KEY, "")
    permissions = [p for p in listed.split(",") if p]
    return objectstore_key(info.name, pems, permissions)


def _metadata(config: ObjectstoreKey) -> dict[str, str]:
    out = {_PERMISSIONS_KEY: ",".join(sorted(config.max_permissions))}
    for key in config.versions:
        out[_VERSION_PREFIX + _fingerprint(key)] = public_pem(key)
    return out


async def _key_set(manager: natsobj.ObjectStoreManager, bucket: str) -> natsobj.ObjectStore:
    """The key set's bucket, created empty if it is missing."""
    try:
        return await manager.object_store(bucket)
    except natsobj.BucketNotFoundError:
        try:
            return await manager.create_object_store(
                bucket, description="natsobj gateway: Sentry Objectstore public keys"
            )
        except natsobj.BucketExistsError:
            return await manager.object_store(bucket)


async def _current(store: natsobj.ObjectStore, kid: str) -> natsobj.ObjectInfo | None:
    try:
        return await store.get_info(kid)
    except natsobj.ObjectNotFoundError:
        return None


def _versions(info: natsobj.ObjectInfo | None) -> tuple[Ed25519PublicKey, ...]:
    """The kid's key versions in the key set: none for no entry, or for one that does not
    parse (it verifies nothing, so a change may replace it)."""
    if info is None:
        return ()
    try:
        return _stored(info).versions
    except natsobj.InvalidArgumentError as exc:
        _log.warning("objectstore key set: kid %r replaced: %s", info.name, exc)
        return ()


def _permissions(info: natsobj.ObjectInfo | None) -> frozenset[str]:
    """The kid's ``max_permissions`` in the key set: all three for no entry, or for one
    that does not parse (it is replaced)."""
    if info is not None and _versions(info):
        return _stored(info).max_permissions
    return frozenset(PERMISSIONS)


async def add_objectstore_key(
    manager: natsobj.ObjectStoreManager,
    kid: str,
    pem: bytes | str,
    *,
    max_permissions: Iterable[str] | None = None,
    bucket: str = KEY_SET_BUCKET,
) -> None:
    """Add a key version to ``kid`` in the shared key set (a new kid, or rotation: the
    kid's other versions stay until revoked; an entry that does not parse is replaced).
    ``max_permissions`` replaces the kid's; None keeps them (a rotation never widens
    what a kid may grant), all three for a new kid. Every gateway watching the key set
    accepts it within a second.

    Raises:
        InvalidArgumentError: a bad kid, PEM or permission, or the kid has 16 versions.
    """
    key = load_public_key(pem, check_kid(kid))
    given = None if max_permissions is None else check_permissions(max_permissions)
    store = await _key_set(manager, bucket)

    async def step() -> None:
        info = await _current(store, kid)
        versions = list(_versions(info))
        if _fingerprint(key) not in {_fingerprint(v) for v in versions}:
            versions.append(key)
        permissions = given if given is not None else _permissions(info)
        config = objectstore_key(kid, [public_pem(v) for v in versions], permissions)
        meta = natsobj.ObjectMeta(name=kid, metadata=_metadata(config))
        await store.put(meta, b"", if_revision=0 if info is None else info.revision)

    await retry_cas(step, attempts=manager.cas_attempts)


async def revoke_objectstore_key(
    manager: natsobj.ObjectStoreManager,
    kid: str,
    pem: bytes | str | None = None,
    *,
    bucket: str = KEY_SET_BUCKET,
) -> bool:
    """Revoke one key version of ``kid`` (``pem``), or the whole kid (None); whether
    anything was revoked. Every gateway watching the key set refuses its signatures
    within a second (a kid left with no version is deleted; a whole kid is deleted even
    if its entry does not parse).

    Raises:
        InvalidArgumentError: a bad kid or PEM.
    """
    check_kid(kid)
    gone = None if pem is None else _fingerprint(load_public_key(pem, kid))
    store = await _key_set(manager, bucket)

    async def step() -> bool:
        info = await _current(store, kid)
        if info is None:
            return False
        if gone is None:  # the whole kid, whatever its entry holds
            await store.delete(kid, if_revision=info.revision)
            return True
        versions = _versions(info)
        kept = [v for v in versions if _fingerprint(v) != gone]
        if len(kept) == len(versions):
            return False
        if not kept:
            await store.delete(kid, if_revision=info.revision)
            return True
        config = _stored(info)
        meta = natsobj.ObjectMeta(
            name=kid, metadata=_metadata(ObjectstoreKey(tuple(kept), config.max_permissions))
        )
        await store.put(meta, b"", if_revision=info.revision)
        return True

    return await retry_cas(step, attempts=manager.cas_attempts)


async def objectstore_keys(
    manager: natsobj.ObjectStoreManager, *, bucket: str = KEY_SET_BUCKET
) -> dict[str, ObjectstoreKey]:
    """The shared key set as it is now, by kid (entries that do not parse are left out)."""
    out: dict[str, ObjectstoreKey] = {}
    store = await _key_set(manager, bucket)
    for info in await store.list():
        try:
            out[info.name] = _stored(info)
        except natsobj.InvalidArgumentError as exc:
            _log.warning("objectstore key set: kid %r ignored: %s", info.name, exc)
    return out


async def _reconnected(manager: natsobj.ObjectStoreManager) -> None:
    """Return once ``manager``'s connection is up (polled: nats-py has no event for it)."""
    while True:
        if manager.nc.is_connected:
            return
        await anyio.sleep(_RETRY_SECONDS)


def _apply(
    shared: Mapping[str, ObjectstoreKey], info: natsobj.ObjectInfo
) -> dict[str, ObjectstoreKey]:
    """``shared`` after the change ``info`` (a put or a deletion of one kid)."""
    out = {kid: config for kid, config in shared.items() if kid != info.name}
    if info.deleted:
        return out
    try:
        out[info.name] = _stored(info)
    except natsobj.InvalidArgumentError as exc:  # refused: the kid verifies nothing
        _log.warning("objectstore key set: kid %r ignored: %s", info.name, exc)
    return out


async def watch_key_set(
    manager: natsobj.ObjectStoreManager,
    directory: KeyDirectory,
    bucket: str,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``directory.shared`` equal to the key set in ``bucket`` until cancelled.

    Reports started once the current key set is loaded (a failure before that is
    raised: the app does not start). While the watch is broken, ``directory.stale`` is
    set (keyed requests get 503) until a new watch has loaded the key set afresh: after a
    lost connection (once it is back), the bucket deleted, or anything unforeseen. So the
    watch never ends while the app runs, and the keys are never followed silently stale
    (a key revoked during an outage is refused once the connection is back).
    """
    started = False
    while True:
        try:
            store = await _key_set(manager, bucket)
            async with store.watch() as watcher:
                loaded: dict[str, ObjectstoreKey] = {}
                async for info in watcher:
                    if info is not None:
                        loaded = _apply(loaded, info)
                        continue
                    directory.shared, directory.stale = loaded, False
                    if not started:
                        started = True
                        task_status.started()
                    break
                await _follow(manager, directory, watcher)
            directory.stale = True  # the watch ended, or the connection is back: load afresh
            await anyio.sleep(_RETRY_SECONDS)
        except Exception as exc:  # whatever it is: fail closed (stale), and go on
            if not started:
                raise
            directory.stale = True
            _log.warning("objectstore key set %r: watch failed (%s); reopening", bucket, exc)
            await anyio.sleep(_RETRY_SECONDS)


async def _follow(
    manager: natsobj.ObjectStoreManager, directory: KeyDirectory, watcher: natsobj.ObjectWatcher
) -> None:
    """Apply the watch's live changes to ``directory.shared`` until the watch ends or the
    connection is lost; then, once the connection is back, return with the directory
    stale so that the caller loads the key set afresh."""
    try:
        async for info in watcher:
            if info is not None:
                directory.shared = _apply(directory.shared, info)
    except natsobj.ServerUnavailableError:
        # A revocation may have passed unseen, and a resumed watch could call itself
        # caught up before replaying it: keyed requests wait (503) for a fresh load.
        directory.stale = True
        await _reconnected(manager)
