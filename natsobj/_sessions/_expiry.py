"""Extending an object's expiration deadline (Sentry's ``extend_expiry``).

The target is one of: an absolute time (``at``, rounded up to whole seconds), a lifetime
since the object's creation (``from_creation``) or from now (``from_now``), durations cut
to whole seconds, as Sentry's server resolves them. A deadline already at or past the
target is left alone (never shortened). Otherwise the meta is rewritten by
compare-and-set on the revision read:

- time to idle: the meta carries the only TTL (its chunks have none), so the meta is
  republished with the new deadline and a ``Nats-TTL`` that reaches it; the TTI duration
  stays, and a later read moves the deadline only once ``now + tti`` passes it.
- time to live: the chunks carry their own TTL (the object's lifetime plus a margin),
  which a message cannot change once stored, so the stored bytes are copied into a put
  with the new TTL, conditional on the revision read (readers see the old object or the
  new one, whole); the policy becomes ``ttl:<deadline - creation>`` and the creation
  time stays.

A compare-and-set lost to a time-to-idle renewal of the same object is retried; one
lost to a put or delete of the key is a rejection.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .._bucket._core import BucketCore, retry_cas
from .._errors import (
    ExpiryExtensionRejectedError,
    IncompleteObjectError,
    InvalidArgumentError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from .._expiration import MAX_EXPIRATION, MIN_EXPIRATION, ExpirationPolicy, expired
from .._models import ObjectInfo, ObjectMeta
from .._wire import ttl_header
from ._ops import SessionContext
from ._scope import EXPIRATION, TIME_EXPIRES, ObjectMetadata, timestamp, validate_key

__all__ = ["ExpiryTarget", "expiry_target", "extend_expiry"]

# A time-to-idle renewal racing the extension is retried this many times in all.
EXTEND_ATTEMPTS = 5


@dataclass(frozen=True)
class ExpiryTarget:
    """A validated extension target: exactly one of the three is set."""

    at: datetime | None = None
    from_creation: timedelta | None = None
    from_now: timedelta | None = None

    def deadline(self, created: datetime, now: datetime) -> datetime:
        """The deadline this target asks for, for an object created at ``created`` (read
        from the object's meta: any time a datetime holds).

        Raises:
            InvalidArgumentError: the deadline is past what a datetime holds (year 9999).
        """
        try:
            if self.at is not None:
                return _ceil_seconds(self.at)
            if self.from_creation is not None:
                return created + self.from_creation
            assert self.from_now is not None
            return now + self.from_now
        except OverflowError:
            raise InvalidArgumentError(
                f"the new deadline is over {MAX_EXPIRATION.days} days away"
            ) from None


def _ceil_seconds(value: datetime) -> datetime:
    whole = value.replace(microsecond=0)
    return whole if whole == value else whole + timedelta(seconds=1)


def _whole_seconds(value: object, what: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise InvalidArgumentError(f"{what} must be a timedelta or seconds, got {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidArgumentError(f"{what} must be a non-negative duration, got {value!r}")
    if seconds > MAX_EXPIRATION.total_seconds():
        raise InvalidArgumentError(f"{what} must be at most {MAX_EXPIRATION.days} days")
    return timedelta(seconds=int(seconds))


def expiry_target(
    at: object = None, from_creation: object = None, from_now: object = None
) -> ExpiryTarget:
    """Validate ``extend_expiry``'s arguments: exactly one, ``at`` a timezone-aware
    datetime, the durations non-negative (timedelta or seconds, cut to whole seconds).

    Raises:
        InvalidArgumentError: none or several given, a naive datetime (or one past year
            9999 in UTC), a bad duration.
    """
    if sum(value is not None for value in (at, from_creation, from_now)) != 1:
        raise InvalidArgumentError("give exactly one of at, from_creation, from_now")
    if at is not None:
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise InvalidArgumentError(f"at must be a timezone-aware datetime, got {at!r}")
        try:
            return ExpiryTarget(at=at.astimezone(UTC))
        except OverflowError:  # past year 9999 in UTC
            raise InvalidArgumentError(f"at is past what a datetime holds: {at!r}") from None
    if from_creation is not None:
        return ExpiryTarget(from_creation=_whole_seconds(from_creation, "from_creation"))
    return ExpiryTarget(from_now=_whole_seconds(from_now, "from_now"))


async def extend_expiry(context: SessionContext, key: str, target: ExpiryTarget) -> ObjectMetadata:
    """Move ``key``'s deadline to ``target`` if it is earlier (see the module); the
    object's metadata afterwards.

    Raises:
        ObjectNotFoundError: no such key in the scope, deleted, or expired.
        ExpiryExtensionRejectedError: the object never expires, is a link, or was
            replaced or deleted meanwhile.
        InvalidArgumentError: the new deadline is over ``MAX_EXPIRATION`` away, or past
            what a datetime holds (also when the meta's creation time puts it there).
    """
    name = context.object_name(validate_key(key))
    first: list[str] = []  # the nuid of the object first read: a replaced one is refused

    async def step() -> ObjectMetadata:
        store = (await context.bucket()).store
        core = store._core
        try:
            info = await core.info(name)
        except ObjectNotFoundError:
            if first:
                raise ExpiryExtensionRejectedError(
                    f"{key!r} was deleted during the extension", bucket=core.bucket, name=key
                ) from None
            raise context.not_found(key) from None
        first.append(info.nuid)
        if info.nuid != first[0]:
            raise ExpiryExtensionRejectedError(
                f"{key!r} was replaced during the extension", bucket=core.bucket, name=key
            )
        return await _extend(context, core, key, info, target)

    with context.forgets_deleted_bucket():
        try:
            return await retry_cas(step, attempts=EXTEND_ATTEMPTS)
        except PreconditionFailedError:
            raise ExpiryExtensionRejectedError(
                f"{key!r} kept changing during the extension",
                bucket=context.usecase.name,
                name=key,
            ) from None


async def _extend(
    context: SessionContext, core: BucketCore, key: str, info: ObjectInfo, target: ExpiryTarget
) -> ObjectMetadata:
    meta = ObjectMetadata.from_info(key, info)
    now = datetime.now(UTC)
    if expired(meta.time_expires, now):
        raise context.not_found(key)
    policy = meta.expiration_policy
    if info.is_link or meta.time_expires is None or policy.duration is None:
        raise ExpiryExtensionRejectedError(
            f"{key!r} does not expire (policy {policy}): nothing to extend",
            bucket=core.bucket,
            name=key,
        )
    created = meta.time_created or info.mtime or now
    deadline = target.deadline(created, now)
    if deadline <= meta.time_expires:
        return meta  # already sufficient: never shortened
    if deadline - now > MAX_EXPIRATION:
        raise InvalidArgumentError(f"the new deadline is over {MAX_EXPIRATION.days} days away")
    remaining = max(deadline - now, MIN_EXPIRATION)
    headers = {**info.headers, TIME_EXPIRES: [timestamp(deadline)]}
    if policy.kind == "tti":
        renewed = info.model_copy(update={"headers": headers})
        stored = await core.commit(
            renewed, expected=info.revision, ttl=ttl_header(remaining.total_seconds())
        )
        return ObjectMetadata.from_info(key, stored)
    lifetime = max(deadline - created, MIN_EXPIRATION)
    headers[EXPIRATION] = [str(ExpirationPolicy.time_to_live(lifetime))]
    return await _copy_with_ttl(context, core, key, info, headers, remaining)


async def _copy_with_ttl(
    context: SessionContext,
    core: BucketCore,
    key: str,
    info: ObjectInfo,
    headers: dict[str, list[str]],
    ttl: timedelta,
) -> ObjectMetadata:
    """Put the stored bytes of ``info`` again under its name, with ``headers`` and a TTL
    of ``ttl``, if the name is still at ``info``'s revision."""
    store = (await context.bucket()).store
    meta = ObjectMeta(
        name=info.name,
        description=info.description,
        headers=headers,
        metadata=dict(info.metadata),
    )

    async def stored_bytes() -> AsyncIterator[bytes]:
        async with contextlib.aclosing(core.reader(info).chunks()) as chunks:
            async for chunk in chunks:
                yield chunk

    try:
        stored = await store.put(meta, stored_bytes(), ttl=ttl, if_revision=info.revision)
    except IncompleteObjectError:
        # Its chunks were purged under the copy: a put or delete replaced it meanwhile
        # (else the loss is real and raised as it is).
        current = await core.find(info.name)
        if current is None or current.revision != info.revision:
            raise PreconditionFailedError(
                f"{key!r} changed during the extension", bucket=core.bucket, name=key
            ) from None
        raise
    return ObjectMetadata.from_info(key, stored)
