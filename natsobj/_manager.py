"""ObjectStoreManager (buckets over one connection) and ``connect``."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio

from ._bucket._core import DEFAULT_CAS_ATTEMPTS, POLICY_MAX_AGE, BucketCore, SharedPolicy
from ._checks import (
    check_bool,
    check_int,
    check_seconds,
    check_subject,
    check_text,
    validate_model,
)
from ._errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    InvalidArgumentError,
    JetStreamAPIError,
    UnsupportedFeatureError,
)
from ._jetstream import JetStream, NatsClient, first_connect
from ._models import ObjectStoreConfig, ObjectStoreStatus, Placement
from ._policy import BucketPolicy, policy_from_metadata, policy_metadata, without_policy
from ._store import ObjectStore
from ._wire import (
    bucket_from_stream,
    chunk_subject_filter,
    stream_name,
    validate_bucket_name,
)

__all__ = ["DEFAULT_TIMEOUT", "POLICY_MAX_AGE", "ObjectStoreManager", "connect"]

DEFAULT_TIMEOUT = 5.0
# Operations of a ``Session.many()`` batch in flight at once, unless the batch says otherwise.
DEFAULT_MANY_CONCURRENCY = 5
# nats-server's "error creating store for stream" (see _create_stream): tries, and the wait
# before the n-th retry (n times this, in seconds).
_STORE_CREATE_FAILED = 10049
_STORE_CREATE_ATTEMPTS = 3
_STORE_CREATE_BACKOFF = 0.05


def jetstream_api_prefix(api_prefix: str | None, domain: str | None) -> str:
    """The JetStream API prefix for ``api_prefix`` or ``domain`` (at most one of them)."""
    if domain is not None:
        if api_prefix is not None:
            raise InvalidArgumentError("give api_prefix or domain, not both")
        # The domain becomes a token of every API subject.
        return f"$JS.{check_subject(domain, 'domain', token=True)}.API"
    if api_prefix is None:
        return "$JS.API"
    return check_subject(api_prefix, "api_prefix")


class _Unset:
    """The type of UNSET: a keyword argument that was not given (None means "no limit")."""


UNSET = _Unset()


class ObjectStoreManager:
    """Creates, opens, lists and deletes buckets over one nats-py connection.

    ``timeout`` bounds every request to the server (and every chunk of a transfer), in
    seconds; ``many_concurrency`` is the default for ``Session.many()`` batches. The manager
    does not own ``nc``: ``close()`` (and leaving ``async with manager``) leaves it open.
    ``natsobj.connect`` makes a manager that owns its connection.

    One name per operation: the ADR-20 names (``create_object_store``, ``object_store``,
    ``update_object_store``, ``delete_object_store``, as nats.go has them). The Supabase
    Storage names beside them (``get_bucket``, ``update_bucket``, ``empty_bucket``,
    ``delete_bucket``) carry Supabase's rules; each docstring says how it differs and which
    to prefer. docs/guide.md has the table.

    ``cas_attempts`` (default 100) bounds every compare-and-set meta write that keeps
    losing to other writers of the same name (puts, deletes, meta updates, renames): it
    runs that many times in all, the third and later after a random wait of up to 1 ms,
    doubling each time, at most 50 ms (``CAS_FIRST_BACKOFF``, ``CAS_MAX_BACKOFF``), then
    raises PreconditionFailedError. Set it here, or as ``manager.cas_attempts`` (for
    buckets opened afterwards).

    ``api_prefix`` is the subject prefix of the JetStream API (``$JS.API``); ``domain``
    names a JetStream domain instead (its API is ``$JS.<domain>.API``, as nats.go's
    ``jetstream.WithDomain``). Every request, read, write and watch goes through it.
    """

    def __init__(
        self,
        nc: NatsClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        api_prefix: str | None = None,
        domain: str | None = None,
        many_concurrency: int = DEFAULT_MANY_CONCURRENCY,
        cas_attempts: int = DEFAULT_CAS_ATTEMPTS,
    ):
        if not isinstance(nc, NatsClient):
            raise InvalidArgumentError(
                f"ObjectStoreManager wraps a nats-py connection, got {type(nc).__name__}"
            )
        check_seconds(timeout, "timeout")
        api_prefix = jetstream_api_prefix(api_prefix, domain)
        self.many_concurrency = check_int(many_concurrency, "many_concurrency", minimum=1)
        self.cas_attempts = check_int(cas_attempts, "cas_attempts", minimum=1)
        self.nc = nc
        self.js = JetStream(nc, timeout=timeout, api_prefix=api_prefix)
        # Each bucket's policy, shared by every handle on this manager.
        self._policies: dict[str, SharedPolicy] = {}
        # The sessions' opened usecase buckets (natsobj._sessions._ops.usecase_registry),
        # made on first use; opaque here.
        self._usecases: object = None
        # Set when this manager owns its connection (``await natsobj.connect(...)``).
        self._closing: contextlib.AsyncExitStack | None = None

    async def close(self) -> None:
        """Close the connection, if this manager owns it (from ``natsobj.connect``);
        closing again does nothing. A manager over a caller's connection leaves it open."""
        closing, self._closing = self._closing, None
        if closing is not None:
            await closing.aclose()

    async def __aenter__(self) -> ObjectStoreManager:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _bucket_core(self, bucket: str, stream_info: Mapping[str, Any]) -> BucketCore:
        """The core of a bucket whose stream info was just read; its policy is shared by
        every handle of this manager, and its cross-bucket links open through this manager."""
        return BucketCore(
            self.js,
            bucket,
            stream_info,
            policy=self._shared_policy(bucket),
            open_bucket=self._open_core,
            cas_attempts=self.cas_attempts,
        )

    async def _open_core(self, bucket: str) -> BucketCore:
        return (await self.object_store(bucket))._core

    def _shared_policy(self, bucket: str) -> SharedPolicy:
        shared = self._policies.get(bucket)
        if shared is None:
            shared = self._policies[bucket] = SharedPolicy()
        return shared

    async def create_object_store(
        self,
        config: ObjectStoreConfig | str,
        *,
        description: str | None = None,
        ttl: float | timedelta | None = None,
        max_bytes: int | None = None,
        storage: str = "file",
        replicas: int = 1,
        placement: Placement | Mapping[str, Any] | None = None,
        compression: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic_puts: bool = False,
        batched_puts: bool = False,
        message_ttl: bool = False,
        public: bool = False,
        file_size_limit: int | str | None = None,
        allowed_mime_types: Sequence[str] | None = None,
    ) -> ObjectStore:
        """Create a bucket, or open it if it exists with exactly this configuration.

        ``message_ttl`` allows per-object TTLs (``put(ttl=...)``); it needs nats-server
        2.11+ and can never be turned off again.

        ``public``, ``file_size_limit`` (bytes or a size such as ``"50MB"``) and
        ``allowed_mime_types`` (``image/*`` wildcards allowed) set the bucket policy that
        puts through natsobj enforce (see ``ObjectStore.put``).

        Raises:
            InvalidBucketNameError: the name has characters other than ``A-Za-z0-9_-``.
            BucketExistsError: the bucket exists with a different configuration (change it
                explicitly with ``update_object_store``).
        """
        fields = {
            "description": description,
            "ttl": ttl,
            "max_bytes": max_bytes,
            "storage": storage,
            "replicas": replicas,
            "placement": placement,
            "compression": compression,
            "metadata": metadata,
            "atomic_puts": atomic_puts,
            "batched_puts": batched_puts,
            "message_ttl": message_ttl,
            "public": public,
            "file_size_limit": file_size_limit,
            "allowed_mime_types": allowed_mime_types,
        }
        if not isinstance(config, ObjectStoreConfig):
            config = make_config(bucket=config, **fields)
        elif given := [k for k, v in fields.items() if _differs(v, _CREATE_DEFAULTS[k])]:
            # They would be ignored: the config says everything.
            raise InvalidArgumentError(
                f"give the settings in the ObjectStoreConfig or as keywords, not both: {given}",
                bucket=config.bucket,
            )
        self._check_server_supports(config)
        info = await self._create_stream(config.bucket, config.stream_config())
        return ObjectStore(self._bucket_core(config.bucket, info))

    async def create_object_store_mirror(
        self,
        bucket: str,
        *,
        origin_domain: str | None = None,
        origin_api_prefix: str | None = None,
        description: str | None = None,
        ttl: float | timedelta | None = None,
        max_bytes: int | None = None,
        storage: str = "file",
        replicas: int = 1,
        placement: Placement | Mapping[str, Any] | None = None,
    ) -> ObjectStore:
        """Create here a read-only mirror of the bucket of the same name in another
        JetStream: another domain (``origin_domain``, e.g. the hub seen from a leaf node)
        or another API prefix (``origin_api_prefix``, e.g. an account's import); or open
        it, if it exists as exactly this mirror. Returns a read-only store.

        The server copies every message of the origin, chunks and metas, its history
        first, then each write as it happens (the mirror lags by the time a message takes
        to cross). So every read (``get``, ``get_info``, ``list``, ``watch``, ``status``)
        works against the mirror, also while the origin is out of reach, and sees the
        objects as the origin had them when their metas were copied. Every write raises
        ReadOnlyStoreError before anything is sent; ``object_store(bucket)`` in this
        JetStream opens it read-only too. ``object_store_names`` does not list it (a
        mirror has no subjects).

        Purges are not mirrored: chunks of objects the origin replaced or deleted stay in
        the mirror until ``sweep_orphans()`` on the mirror (the one write it takes, once
        it has caught up) or its ``ttl`` or ``max_bytes`` removes them.

        Raises:
            InvalidArgumentError: neither or both of ``origin_domain`` and
                ``origin_api_prefix``, or the origin is this JetStream.
            BucketExistsError: a bucket of that name exists here, and is not this mirror.
        """
        if (origin_domain is None) == (origin_api_prefix is None):
            raise InvalidArgumentError(
                "give origin_domain or origin_api_prefix: where the bucket to mirror is",
                bucket=bucket,
            )
        origin = jetstream_api_prefix(origin_api_prefix, origin_domain)
        if origin == self.js.prefix:
            raise InvalidArgumentError(
                f"the origin ({origin}) is this JetStream: a mirror of a bucket lives in"
                " another domain or account",
                bucket=bucket,
            )
        config = make_config(
            bucket=bucket,
            description=description,
            ttl=ttl,
            max_bytes=max_bytes,
            storage=storage,
            replicas=replicas,
            placement=placement,
        )
        stream = mirror_stream_config(config.stream_config(), origin)
        info = await self._create_stream(bucket, stream)
        return ObjectStore(self._bucket_core(bucket, info))

    async def _create_stream(self, bucket: str, config: dict[str, Any]) -> dict[str, Any]:
        """Create the bucket's stream. nats-server answers every failure to set up a
        stream's storage with one fixed sentence (err_code 10049, the cause only in its
        log), and some are passing (a file-system hiccup under load); creating is
        idempotent, so a few more tries, a little apart, come before the error."""
        create = f"STREAM.CREATE.{stream_name(bucket)}"
        for attempt in range(1, _STORE_CREATE_ATTEMPTS):
            try:
                return await self.js.api(create, config, bucket=bucket)
            except JetStreamAPIError as exc:
                if exc.err_code != _STORE_CREATE_FAILED:
                    raise
            await anyio.sleep(_STORE_CREATE_BACKOFF * attempt)
        return await self.js.api(create, config, bucket=bucket)

    def _check_server_supports(self, config: ObjectStoreConfig) -> None:
        for wanted, option, minor in (
            (config.atomic_puts, "atomic_puts", 12),
            (config.batched_puts, "batched_puts", 14),
        ):
            if wanted and not self.js.server_at_least(2, minor):
                raise InvalidArgumentError(
                    f"{option} needs nats-server 2.{minor} or newer "
                    f"(connected to {self.nc.connected_server_version})",
                    bucket=config.bucket,
                )
        if config.message_ttl and not self.js.server_at_least(2, 11):
            raise UnsupportedFeatureError(
                "message_ttl needs nats-server 2.11 or newer "
                f"(connected to {self.nc.connected_server_version})",
                bucket=config.bucket,
            )

    async def update_object_store(self, config: ObjectStoreConfig) -> ObjectStore:
        """Change an existing bucket's description, ttl, max_bytes, replicas, compression,
        placement, metadata and policy (all as ``config`` says: a config without a policy
        clears it; ``update_bucket`` changes policy fields one by one). Stream flags natsobj
        does not manage are left as they are. The one to use to change a bucket's
        configuration; ``update_bucket`` for a policy field alone.
        """
        if not isinstance(config, ObjectStoreConfig):
            raise InvalidArgumentError(
                f"update_object_store takes an ObjectStoreConfig, got {type(config).__name__}"
            )
        self._check_server_supports(config)
        current = await self.js.stream_info(stream_name(config.bucket), bucket=config.bucket)
        wanted = config.stream_config()
        merged = {**current["config"], **wanted}
        if "description" not in wanted:
            merged.pop("description", None)
        if "compression" not in wanted:
            merged["compression"] = "none"
        for flag in ("allow_atomic", "allow_batched"):
            if flag not in wanted:
                merged.pop(flag, None)
        if "metadata" not in wanted:
            merged["metadata"] = without_policy(merged.get("metadata"))
        info = await self.js.api(
            f"STREAM.UPDATE.{stream_name(config.bucket)}", merged, bucket=config.bucket
        )
        return ObjectStore(self._bucket_core(config.bucket, info))

    async def object_store(self, bucket: str) -> ObjectStore:
        """Open an existing bucket.

        Raises:
            BucketNotFoundError: there is no such bucket.
        """
        validate_bucket_name(bucket)
        info = await self.js.stream_info(stream_name(bucket), bucket=bucket)
        return ObjectStore(self._bucket_core(bucket, info))

    async def object_store_names(self) -> list[str]:
        """Names of every bucket in the account, sorted."""
        streams = await self.js.stream_names(chunk_subject_filter("*"))
        return sorted(b for b in map(bucket_from_stream, streams) if b is not None)

    async def object_store_statuses(self) -> list[ObjectStoreStatus]:
        """Status of every bucket in the account, sorted by name."""
        statuses = []
        for bucket in await self.object_store_names():
            try:
                statuses.append(await (await self.object_store(bucket)).status())
            except BucketNotFoundError:
                continue  # deleted while we listed
        return statuses

    async def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and every object in it.

        Raises:
            BucketNotFoundError: there is no such bucket.
        """
        validate_bucket_name(bucket)
        await self.js.api(f"STREAM.DELETE.{stream_name(bucket)}", bucket=bucket)

    # -- Supabase Storage's bucket API ----------------------------------------------------

    async def get_bucket(self, bucket: str) -> ObjectStoreStatus:
        """A bucket's details: configuration, size and policy.

        Supabase-style alias (supabase-js ``getBucket``) of ``(await
        object_store(bucket)).status()``: it returns the status, not a handle. Prefer
        ``object_store`` when you will use the bucket.

        Raises:
            BucketNotFoundError: there is no such bucket.
        """
        validate_bucket_name(bucket)
        info = await self.js.stream_info(stream_name(bucket), bucket=bucket)
        return ObjectStoreStatus.from_stream_info(bucket, info)

    async def update_bucket(
        self,
        bucket: str,
        *,
        public: bool | None = None,
        file_size_limit: int | str | _Unset | None = UNSET,
        allowed_mime_types: Sequence[str] | _Unset | None = UNSET,
    ) -> ObjectStoreStatus:
        """Change some of a bucket's policy fields, keeping everything else. Pass
        ``file_size_limit=None`` or ``allowed_mime_types=None`` to lift that restriction.

        Supabase-style alias (supabase-js ``updateBucket``) of ``update_object_store``.
        Differs from it: only the policy fields given change, where ``update_object_store``
        sets the whole configuration. Prefer this for a policy change, the other for the
        rest.

        The new policy applies at once to puts through this manager's handles, and within
        about a second (``POLICY_MAX_AGE``) to those of every other handle and process.

        Raises:
            BucketNotFoundError, InvalidArgumentError (a bad size or MIME type).
        """
        validate_bucket_name(bucket)
        changes: dict[str, Any] = {}
        if public is not None:
            changes["public"] = check_bool(public, "public")
        if not isinstance(file_size_limit, _Unset):
            changes["file_size_limit"] = file_size_limit
        if not isinstance(allowed_mime_types, _Unset):
            changes["allowed_mime_types"] = allowed_mime_types
        validate_model(BucketPolicy, changes)  # bad values fail before anything is sent
        current = await self.js.stream_info(stream_name(bucket), bucket=bucket)
        config = dict(current["config"])
        policy = validate_model(
            BucketPolicy, {**policy_from_metadata(config.get("metadata")).model_dump(), **changes}
        )
        config["metadata"] = {**without_policy(config.get("metadata")), **policy_metadata(policy)}
        info = await self.js.api(f"STREAM.UPDATE.{stream_name(bucket)}", config, bucket=bucket)
        self._shared_policy(bucket).remember(info)
        return ObjectStoreStatus.from_stream_info(bucket, info)

    async def empty_bucket(self, bucket: str) -> int:
        """Remove every object from a bucket and keep the bucket: Supabase-style alias
        (supabase-js ``emptyBucket``) of ``(await object_store(bucket)).empty()``, the
        one to prefer when you hold the store."""
        return await (await self.object_store(bucket)).empty()

    async def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        """Delete a bucket, but only if it holds no live object, unless ``force``.

        Supabase-style alias (supabase-js ``deleteBucket``) of ``delete_object_store``.
        Differs from it: a bucket with live objects is refused (``BucketNotEmptyError``)
        unless ``force``; ``delete_object_store`` deletes regardless. Prefer
        ``delete_object_store``; this one where Supabase's guard is wanted.

        Raises:
            BucketNotFoundError: there is no such bucket.
            BucketNotEmptyError: it still holds objects and ``force`` is off.
        """
        validate_bucket_name(bucket)
        if not check_bool(force, "force"):
            store = await self.object_store(bucket)
            if (await store.list_page(limit=1)).objects:
                raise BucketNotEmptyError(
                    f"bucket {bucket!r} is not empty: empty it first or pass force=True",
                    bucket=bucket,
                )
        await self.delete_object_store(bucket)


# The keyword defaults of create_object_store (the config's own, unless changed).
_CREATE_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(
        ObjectStoreManager.create_object_store
    ).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


def _differs(value: object, default: object) -> bool:
    return type(value) is not type(default) or value != default


def mirror_stream_config(config: Mapping[str, Any], origin_api: str) -> dict[str, Any]:
    """The stream config of a mirror of the bucket ``config`` describes, in the JetStream
    whose API prefix is ``origin_api``: the same stream, with no subjects of its own, and
    full means dropping the oldest (a mirror that refused new messages would stall)."""
    mirror = {key: value for key, value in config.items() if key != "subjects"}
    mirror["discard"] = "old"
    mirror["mirror"] = {"name": config["name"], "external": {"api": origin_api}}
    return mirror


def make_config(**fields: Any) -> ObjectStoreConfig:
    """An ObjectStoreConfig from keyword fields; bad values raise natsobj errors."""
    validate_bucket_name(fields.get("bucket"))
    for key in ("placement", "metadata"):  # any mapping, as the signature says
        if isinstance(fields.get(key), Mapping):
            fields[key] = dict(fields[key])
    return validate_model(ObjectStoreConfig, fields)


class Connecting:
    """What ``connect`` returns: ``async with`` it for a manager whose connection closes
    on exit, or ``await`` it for one you close with ``await manager.close()``."""

    def __init__(self, opening: AbstractAsyncContextManager[ObjectStoreManager]):
        self._opening = opening
        self._manager: ObjectStoreManager | None = None

    def __await__(self) -> Generator[Any, None, ObjectStoreManager]:
        return self._open().__await__()

    async def _open(self) -> ObjectStoreManager:
        closing = contextlib.AsyncExitStack()
        manager = await closing.enter_async_context(self._opening)
        manager._closing = closing
        return manager

    async def __aenter__(self) -> ObjectStoreManager:
        self._manager = await self._open()
        return self._manager

    async def __aexit__(self, *exc_info: object) -> None:
        if self._manager is not None:
            await self._manager.close()


def connect(
    servers: str | Sequence[str] = "nats://127.0.0.1:4222",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    many_concurrency: int = DEFAULT_MANY_CONCURRENCY,
    api_prefix: str | None = None,
    domain: str | None = None,
    **options: Any,
) -> Connecting:
    """Connect to NATS for an ObjectStoreManager that owns the connection.

    ``async with natsobj.connect(url) as manager:`` closes the connection on exit;
    ``manager = await natsobj.connect(url)`` (as with ``nats.connect``) leaves it open
    until ``await manager.close()`` (or ``async with manager``).

    The one place to configure a client: takes what ``nats.connect`` takes (``user``/
    ``password``, ``token``, ``nkeys_seed``, ``user_credentials``, ``tls``,
    ``connect_timeout`` (default ``timeout``), reconnect options, ...). ``timeout`` bounds
    each request, in seconds; ``many_concurrency`` is how many operations of a
    ``Session.many()`` batch run at once by default. ``api_prefix`` or ``domain`` (a
    JetStream domain: ``$JS.<domain>.API``) say where the JetStream API is, as for
    ObjectStoreManager.

    A lost connection is re-established by nats-py in the background; meanwhile every call
    fails with ServerUnavailableError within its deadline (``timeout``) plus 0.5 s, sooner
    when what it waits for went out on the lost connection. Leaving the block never raises,
    whatever state the connection is in (it takes at most ``timeout``).

    Raises:
        InvalidArgumentError: a bad argument (raised by this call).
        ServerUnavailableError: no server answered, it has no JetStream, or the TLS
            handshake failed (an untrusted certificate fails at once, not at the timeout);
            raised on entering, or awaiting.
    """
    if isinstance(servers, str):
        check_text(servers, "servers")
    elif not isinstance(servers, Sequence) or not all(isinstance(s, str) for s in servers):
        raise InvalidArgumentError(f"servers must be a URL or a list of URLs, got {servers!r}")
    check_seconds(timeout, "timeout")
    check_int(many_concurrency, "many_concurrency", minimum=1)
    prefix = jetstream_api_prefix(api_prefix, domain)
    return Connecting(
        _connect(
            servers,
            timeout=timeout,
            many_concurrency=many_concurrency,
            api_prefix=prefix,
            **options,
        )
    )


@asynccontextmanager
async def _connect(
    servers: str | Sequence[str],
    *,
    timeout: float,
    many_concurrency: int,
    api_prefix: str,
    **options: Any,
) -> AsyncIterator[ObjectStoreManager]:
    """Connect and yield an ObjectStoreManager; the connection is closed on exit."""
    if isinstance(servers, str):
        # "nats://a:4222,nats://b:4222" as nats.go and the nats CLI accept it.
        servers = [url.strip() for url in servers.split(",") if url.strip()]
    async with first_connect(list(servers), timeout=timeout, **options) as nc:
        manager = ObjectStoreManager(
            nc, timeout=timeout, api_prefix=api_prefix, many_concurrency=many_concurrency
        )
        await manager.js.account_info()
        yield manager
