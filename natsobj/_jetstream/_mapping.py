"""Where failures cross into natsobj: nats-py exceptions and JetStream API error answers
become errors of natsobj's tree (natsobj/_errors.py, which imports no nats)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.lowlevel
import nats.errors

from .._errors import (
    ERR_STREAM_NAME_IN_USE,
    ERR_STREAM_NOT_FOUND,
    ERR_STREAM_SEALED,
    ERR_WRONG_LAST_SEQUENCE,
    BucketExistsError,
    BucketFullError,
    BucketNotFoundError,
    BucketSealedError,
    InvalidArgumentError,
    JetStreamAPIError,
    NoRespondersError,
    ObjectStoreError,
    ObjectStoreTimeoutError,
    PermissionDeniedError,
    PreconditionFailedError,
    ServerError,
    ServerUnavailableError,
)

__all__ = ["api_error", "map_nats_errors", "nats_call"]

T = TypeVar("T")

# How the server words a write refused for lack of room (stream max_bytes; account limits).
_STORAGE_LIMITS = ("maximum bytes exceeded", "resource limits exceeded for account")


def _code(value: Any) -> int:
    """A numeric code from an answer, 0 if it is not one (answers are not trusted)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def api_error(
    error: Any, *, bucket: str | None = None, name: str | None = None
) -> ObjectStoreError:
    """The natsobj error for a JetStream API ``error`` object (any JSON value: whoever can
    publish on a reply subject can send one)."""
    if not isinstance(error, Mapping):
        error = {"description": str(error)}
    code = _code(error.get("code"))
    err_code = _code(error.get("err_code"))
    description = str(error.get("description", "JetStream API error"))
    if err_code == ERR_STREAM_NOT_FOUND:
        return BucketNotFoundError(f"bucket {bucket!r} not found", bucket=bucket, name=name)
    if err_code == ERR_STREAM_SEALED or "sealed" in description:
        return BucketSealedError(f"bucket {bucket!r} is sealed", bucket=bucket, name=name)
    if any(limit in description for limit in _STORAGE_LIMITS):
        return BucketFullError(
            f"bucket {bucket!r} is full: {description}", bucket=bucket, name=name
        )
    if err_code == ERR_STREAM_NAME_IN_USE:
        return BucketExistsError(
            f"bucket {bucket!r} already exists with a different configuration"
            " (use update_object_store to change it)",
            bucket=bucket,
        )
    if err_code == ERR_WRONG_LAST_SEQUENCE:
        # A publish conditional on Nats-Expected-Last-Subject-Sequence lost its race.
        return PreconditionFailedError(
            f"object {name!r} changed since the expected revision ({description})",
            bucket=bucket,
            name=name,
        )
    if code == 403:
        return PermissionDeniedError(description, bucket=bucket, name=name)
    return JetStreamAPIError(
        f"{description} (code {code}, err_code {err_code})",
        code=code,
        err_code=err_code,
        bucket=bucket,
        name=name,
    )


@contextmanager
def map_nats_errors(*, bucket: str | None = None, name: str | None = None) -> Iterator[None]:
    """Translate nats-py exceptions raised inside the block into natsobj errors.

    natsobj's own errors pass through untouched; everything else from nats-py becomes the
    most specific natsobj error that fits, with the original as ``__cause__``.
    """
    try:
        yield
    except ObjectStoreError:
        raise
    except (TimeoutError, nats.errors.TimeoutError) as exc:
        raise ObjectStoreTimeoutError(
            "the NATS server did not answer in time", bucket=bucket, name=name
        ) from exc
    except nats.errors.MaxPayloadError as exc:
        raise InvalidArgumentError(
            f"message larger than the server's max_payload: {exc}", bucket=bucket, name=name
        ) from exc
    except nats.errors.NoRespondersError as exc:
        raise NoRespondersError(
            "no responders: is JetStream enabled on this server?", bucket=bucket, name=name
        ) from exc
    except (
        nats.errors.ConnectionReconnectingError,
        nats.errors.OutboundBufferLimitError,
    ) as exc:
        # nats-py buffers what is published while it reconnects, up to a limit.
        raise ServerUnavailableError(
            "no connection to the NATS server (nats-py is reconnecting)", bucket=bucket, name=name
        ) from exc
    except (
        nats.errors.ConnectionClosedError,
        nats.errors.ConnectionDrainingError,
        nats.errors.NoServersError,
        nats.errors.StaleConnectionError,
        ConnectionError,
    ) as exc:
        raise ServerUnavailableError(
            f"connection to the NATS server failed: {exc}", bucket=bucket, name=name
        ) from exc
    except nats.errors.Error as exc:
        raise ServerError(f"NATS error: {exc}", bucket=bucket, name=name) from exc


async def nats_call(call: Awaitable[T]) -> T:
    """Await ``call``, a nats-py coroutine, without losing a cancellation to it.

    nats-py swallows a CancelledError thrown into some of its waits (``Client.publish``
    waiting for its flusher once more than ``pending_size`` bytes are buffered: ``except
    asyncio.CancelledError: pass``). An anyio cancel scope cancels again at the next
    checkpoint, but a native ``Task.cancel()`` (``asyncio.timeout``, ``wait_for``) is
    delivered once: the task would go on as if never cancelled, ``cancelling()`` stuck
    above zero, and could wait for good on a source its canceller stopped feeding. So
    when the task's cancellation requests grew during ``call`` and nothing was raised,
    the cancellation is raised here: an anyio scope's own, at a checkpoint (its scope then
    catches it as usual), else a CancelledError.
    """
    task = asyncio.current_task()
    before = task.cancelling() if task is not None else 0
    result = await call
    if task is not None and task.cancelling() > before:
        await anyio.lowlevel.checkpoint()  # a cancelled anyio scope cancels again here
        raise asyncio.CancelledError("cancelled while nats-py was sending (it swallowed it)")
    return result
