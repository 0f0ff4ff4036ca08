"""ObjectStoreManager (buckets over one connection) and ``connect``."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import ValidationError

from ._errors import (
    BucketNotEmptyError,
    BucketNotFoundError,
    InvalidArgumentError,
    ServerUnavailableError,
    UnsupportedFeatureError,
)
from ._jsapi import JetStream, close_connection
from ._models import ObjectStoreConfig, ObjectStoreStatus, Placement
from ._policy import BucketPolicy, policy_from_metadata, policy_metadata, without_policy
from ._store import ObjectStore
from ._wire import (
    bucket_from_stream,
    chunk_subject_filter,
    stream_config,
    stream_name,
    validate_bucket_name,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient

__all__ = ["DEFAULT_TIMEOUT", "ObjectStoreManager", "connect"]

DEFAULT_TIMEOUT = 5.0
# Operations of a ``Session.many()`` batch in flight at once, unless the batch says otherwise.
DEFAULT_MANY_CONCURRENCY = 5


class _Unset:
    """The type of UNSET: a keyword argument that was not given (None means "no limit")."""


UNSET = _Unset()
logger = logging.getLogger("natsobj")


class ObjectStoreManager:
    """Creates, opens, lists and deletes buckets over one nats-py connection.

    ``timeout`` bounds every request to the server (and every chunk of a transfer), in
    seconds; ``many_concurrency`` is the default for ``Session.many()`` batches. The manager
    does not own ``nc``; ``natsobj.connect`` makes one that does.
    """

    def __init__(
        self,
        nc: NatsClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        api_prefix: str = "$JS.API",
        many_concurrency: int = DEFAULT_MANY_CONCURRENCY,
    ):
        if timeout <= 0:
            raise InvalidArgumentError(f"timeout must be positive, got {timeout!r}")
        if isinstance(many_concurrency, bool) or not isinstance(many_concurrency, int):
            raise InvalidArgumentError(f"many_concurrency must be an int, got {many_concurrency!r}")
        if many_concurrency < 1:
            raise InvalidArgumentError(f"many_concurrency must be positive, got {many_concurrency}")
        self.many_concurrency = many_concurrency
        self.nc = nc
        self.js = JetStream(nc, timeout=timeout, api_prefix=api_prefix)

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
        if not isinstance(config, ObjectStoreConfig):
            config = make_config(
                bucket=config,
                description=description,
                ttl=ttl,
                max_bytes=max_bytes,
                storage=storage,
                replicas=replicas,
                placement=placement,
                compression=compression,
                metadata=metadata,
                atomic_puts=atomic_puts,
                batched_puts=batched_puts,
                message_ttl=message_ttl,
                public=public,
                file_size_limit=file_size_limit,
                allowed_mime_types=allowed_mime_types,
            )
        self._check_server_supports(config)
        info = await self.js.api(
            f"STREAM.CREATE.{stream_name(config.bucket)}",
            _stream_config(config),
            bucket=config.bucket,
        )
        return ObjectStore(self, config.bucket, info)

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
        does not manage are left as they are.
        """
        self._check_server_supports(config)
        current = await self.js.stream_info(stream_name(config.bucket), bucket=config.bucket)
        wanted = _stream_config(config)
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
        return ObjectStore(self, config.bucket, info)

    async def object_store(self, bucket: str) -> ObjectStore:
        """Open an existing bucket.

        Raises:
            BucketNotFoundError: there is no such bucket.
        """
        validate_bucket_name(bucket)
        info = await self.js.stream_info(stream_name(bucket), bucket=bucket)
        return ObjectStore(self, bucket, info)

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

        Handles opened earlier enforce the policy they read until ``status()`` re-reads it.

        Raises:
            BucketNotFoundError, InvalidArgumentError (a bad size or MIME type).
        """
        validate_bucket_name(bucket)
        current = await self.js.stream_info(stream_name(bucket), bucket=bucket)
        config = dict(current["config"])
        changes: dict[str, Any] = {}
        if public is not None:
            changes["public"] = public
        if not isinstance(file_size_limit, _Unset):
            changes["file_size_limit"] = file_size_limit
        if not isinstance(allowed_mime_types, _Unset):
            changes["allowed_mime_types"] = allowed_mime_types
        try:
            policy = BucketPolicy.model_validate(
                {**policy_from_metadata(config.get("metadata")).model_dump(), **changes}
            )
        except ValidationError as exc:
            raise InvalidArgumentError(f"invalid bucket policy: {exc}", bucket=bucket) from exc
        config["metadata"] = {**without_policy(config.get("metadata")), **policy_metadata(policy)}
        info = await self.js.api(f"STREAM.UPDATE.{stream_name(bucket)}", config, bucket=bucket)
        return ObjectStoreStatus.from_stream_info(bucket, info)

    async def empty_bucket(self, bucket: str) -> int:
        """Remove every object from a bucket and keep the bucket (``ObjectStore.empty``)."""
        return await (await self.object_store(bucket)).empty()

    async def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        """Delete a bucket, but only if it holds no live object, unless ``force``
        (Supabase's rule; ``delete_object_store`` deletes regardless).

        Raises:
            BucketNotFoundError: there is no such bucket.
            BucketNotEmptyError: it still holds objects and ``force`` is off.
        """
        if not force:
            store = await self.object_store(bucket)
            if (await store.list_page(limit=1)).objects:
                raise BucketNotEmptyError(
                    f"bucket {bucket!r} is not empty: empty it first or pass force=True",
                    bucket=bucket,
                )
        await self.delete_object_store(bucket)


def make_config(**fields: Any) -> ObjectStoreConfig:
    """An ObjectStoreConfig from keyword fields; bad values raise natsobj errors."""
    validate_bucket_name(fields.get("bucket"))
    try:
        return ObjectStoreConfig.model_validate(fields)
    except ValidationError as exc:
        raise InvalidArgumentError(f"invalid bucket config: {exc}") from exc


def _stream_config(config: ObjectStoreConfig) -> dict[str, Any]:
    return stream_config(
        bucket=config.bucket,
        description=config.description,
        ttl_ns=config.ttl_ns,
        max_bytes=config.max_bytes,
        storage=config.storage,
        replicas=config.replicas,
        compression=config.compression,
        atomic_puts=config.atomic_puts,
        batched_puts=config.batched_puts,
        message_ttl=config.message_ttl,
        placement=config.placement.model_dump(exclude_defaults=True) if config.placement else None,
        metadata={**(config.metadata or {}), **policy_metadata(config.policy)} or None,
    )


# First-connect resets tolerated per server before the connect fails.
_RESETS_PER_SERVER = 2


class _FirstConnectFailed(Exception):
    """Raised from nats-py's error callback to stop it retrying the first connect."""


async def _log_error(exc: Exception) -> None:
    logger.debug("nats connection error: %s", exc)


@asynccontextmanager
async def connect(
    servers: str | Sequence[str] = "nats://127.0.0.1:4222",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    many_concurrency: int = DEFAULT_MANY_CONCURRENCY,
    **options: Any,
) -> AsyncIterator[ObjectStoreManager]:
    """Connect to NATS and yield an ObjectStoreManager; the connection is closed on exit.

    The one place to configure a client: takes what ``nats.connect`` takes (``user``/
    ``password``, ``token``, ``nkeys_seed``, ``user_credentials``, ``tls``,
    ``connect_timeout`` (default ``timeout``), reconnect options, ...). ``timeout`` bounds
    each request, in seconds; ``many_concurrency`` is how many operations of a
    ``Session.many()`` batch run at once by default.

    A lost connection is re-established by nats-py in the background; meanwhile every call
    fails with ServerUnavailableError within its deadline (``timeout``) plus 0.5 s, sooner
    when what it waits for went out on the lost connection. Leaving the block never raises,
    whatever state the connection is in (it takes at most ``timeout``).

    Raises:
        ServerUnavailableError: no server answered, it has no JetStream, or the TLS
            handshake failed (an untrusted certificate fails at once, not at the timeout).
    """
    import nats.aio.client

    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidArgumentError(f"timeout must be a positive number of seconds, not {timeout!r}")
    options.setdefault("connect_timeout", timeout)
    if isinstance(servers, str):
        # "nats://a:4222,nats://b:4222" as nats.go and the nats CLI accept it.
        servers = [url.strip() for url in servers.split(",") if url.strip()]
    servers = list(servers)
    count = max(len(servers), 1)
    # nats-py retries a first connect as often as it would reconnect (minutes by default):
    # here the first failure of every server ends it, with that failure as the cause.
    # Reconnects after a successful connect are left to nats-py.
    failures: list[Exception] = []
    resets = 0
    connected = False
    user_error_cb = options.pop("error_cb", None) or _log_error

    async def error_cb(exc: Exception) -> None:
        nonlocal resets
        await user_error_cb(exc)
        if not connected:
            if isinstance(exc, ConnectionResetError) and resets < _RESETS_PER_SERVER * count:
                # A server refusing the credentials says why and closes at once; the reason
                # can be lost in the reset. Another try usually hears it.
                resets += 1
                return
            failures.append(exc)
            if len(failures) >= count:
                raise _FirstConnectFailed from exc

    nc = nats.aio.client.Client()
    try:
        tries = count * (1 + _RESETS_PER_SERVER)
        wait = float(options.get("reconnect_time_wait", 2))
        with anyio.fail_after(tries * (options["connect_timeout"] + wait + 1) + 1):
            await nc.connect(servers, error_cb=error_cb, **options)
    except Exception as exc:
        cause = failures[-1] if failures else exc
        # A refused first connect (bad credentials) leaves nats-py's socket open otherwise.
        # A failed TLS handshake has closed it, and there nats-py's close would wait until
        # the timeout for the plain stream under it.
        if not isinstance(cause, ssl.SSLError):
            await close_connection(nc, timeout)
        raise ServerUnavailableError(_connect_failure(servers, cause)) from cause
    connected = True
    try:
        manager = ObjectStoreManager(nc, timeout=timeout, many_concurrency=many_concurrency)
        await manager.js.account_info()
        yield manager
    finally:
        await close_connection(nc, timeout)


def _connect_failure(servers: Sequence[str], cause: Exception) -> str:
    """Why a first connect failed, and what to do about it."""
    reason = str(cause) or type(cause).__name__
    where = f"cannot connect to NATS at {', '.join(servers)}"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"{where}: the server's TLS certificate is not trusted ({reason}). "
            "Pass tls=ssl.SSLContext trusting its CA (or the CLI's --tls-ca)."
        )
    if isinstance(cause, ssl.SSLError):
        return f"{where}: the TLS handshake failed ({reason})."
    return f"{where}: {reason}. Start a server with `natsobj server` or natsobj.EmbeddedServer()."
