"""The natsobj error tree.

Every error natsobj raises derives from ``ObjectStoreError``; nats-py exceptions never
escape, they are chained as ``__cause__``::

    ObjectStoreError
    ├── BucketError
    │   ├── BucketNotFoundError            (also LookupError)
    │   ├── BucketExistsError              bucket exists with a different config
    │   ├── InvalidBucketNameError         (also ValueError)
    │   ├── BucketSealedError
    │   │   └── ReadOnlyStoreError         a write to a mirror (a read-only store)
    │   ├── BucketFullError                max_bytes (or the account's storage) used up
    │   └── BucketNotEmptyError            delete refused: the bucket still has objects
    ├── ObjectError
    │   ├── ObjectNotFoundError            (also FileNotFoundError)
    │   ├── ObjectExistsError              (also FileExistsError)
    │   ├── InvalidObjectNameError         (also ValueError)
    │   ├── BadObjectMetaError             meta that cannot be used (bad JSON, missing NUID, ...)
    │   ├── DigestMismatchError            the bytes read do not match the stored digest
    │   ├── IncompleteObjectError          chunks missing, or size / chunk count disagree
    │   ├── LinkError
    │   │   ├── NoLinkToDeletedError
    │   │   ├── NoLinkToLinkError
    │   │   ├── LinkNotAllowedError        a put whose meta carries a link
    │   │   └── LinkIsBucketError          get of a link to a whole bucket
    │   ├── UpdateMetaDeletedError
    │   ├── ObjectTooLargeError            over the bucket's file_size_limit
    │   ├── InvalidMimeTypeError           content type not in allowed_mime_types
    │   ├── PreconditionFailedError        the object is not at the expected revision
    │   └── ExpiryExtensionRejectedError   extend_expiry refused (never expires, replaced)
    ├── InvalidArgumentError               (also ValueError, TypeError) bad arguments
    │   ├── InvalidScopeError              a usecase scope component that breaks the path
    │   └── RangeNotSatisfiableError       a byte range that starts past the object's end
    ├── NotOpenError                       (also TypeError) a result or watcher used
    │                                      outside its ``async with``
    ├── LocalFileError                     (also OSError) a local file cannot be read or written
    │   └── LocalFileNotFoundError         (also FileNotFoundError)
    ├── UnsupportedFeatureError            the server, bucket or install lacks a feature
    ├── FeedNotFoundError                  (also LookupError) no change feed of that name
    ├── ManyOperationsError                ``error_for_failures``: every failed operation
    ├── EmbeddedServerError                (also RuntimeError; in ``natsobj.server``) the
    │   │                                  embedded server was used in the wrong state
    │   ├── ServerBinaryNotFoundError      no ``nats-server`` binary found
    │   └── ServerStartupError             ``nats-server`` exited or was not ready in time
    └── ServerError
        ├── ServerUnavailableError         (also ConnectionError) no connection / no JetStream
        │   └── NoRespondersError          nobody answered: no JetStream, or no such stream
        ├── ObjectStoreTimeoutError        (also TimeoutError)
        ├── PermissionDeniedError          (also PermissionError)
        └── JetStreamAPIError              any other error the JetStream API returned
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = [
    "BadObjectMetaError",
    "BucketError",
    "BucketExistsError",
    "BucketFullError",
    "BucketNotEmptyError",
    "BucketNotFoundError",
    "BucketSealedError",
    "DigestMismatchError",
    "ExpiryExtensionRejectedError",
    "FeedNotFoundError",
    "IncompleteObjectError",
    "InvalidArgumentError",
    "InvalidBucketNameError",
    "InvalidMimeTypeError",
    "InvalidObjectNameError",
    "InvalidScopeError",
    "JetStreamAPIError",
    "LinkError",
    "LinkIsBucketError",
    "LinkNotAllowedError",
    "LocalFileError",
    "LocalFileNotFoundError",
    "ManyOperationsError",
    "NoLinkToDeletedError",
    "NoLinkToLinkError",
    "NoRespondersError",
    "NotOpenError",
    "ObjectError",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "ObjectStoreError",
    "ObjectStoreTimeoutError",
    "ObjectTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RangeNotSatisfiableError",
    "ReadOnlyStoreError",
    "ServerError",
    "ServerUnavailableError",
    "UnsupportedFeatureError",
    "UpdateMetaDeletedError",
]


class ObjectStoreError(Exception):
    """Root of every error natsobj raises.

    Attributes:
        bucket: the bucket concerned, when known.
        name: the object name concerned, when known.
    """

    def __init__(self, message: str, *, bucket: str | None = None, name: str | None = None):
        super().__init__(message)
        self.bucket = bucket
        self.name = name


class BucketError(ObjectStoreError):
    """A problem with a bucket as a whole."""


class BucketNotFoundError(BucketError, LookupError):
    """The bucket (its ``OBJ_<bucket>`` stream) does not exist."""


class BucketExistsError(BucketError):
    """A bucket of that name exists with a different configuration."""


class InvalidBucketNameError(BucketError, ValueError):
    """Bucket names may only contain ``A-Z a-z 0-9 _ -``."""


class BucketSealedError(BucketError):
    """The bucket is sealed: no puts, deletes or meta updates."""


class ReadOnlyStoreError(BucketSealedError):
    """The bucket is a mirror of another (``create_object_store_mirror``): it is read-only,
    refused before anything is sent (its orphan sweep aside, refused only while it has not
    caught up). A ``BucketSealedError`` too: both mean that nothing can be written there;
    write to the bucket it mirrors."""


class BucketFullError(BucketError):
    """The bucket's ``max_bytes`` (or the account's storage limit) leaves no room for the
    write; a put that hits it stores nothing."""


class BucketNotEmptyError(BucketError):
    """The bucket still holds objects; empty it first, or delete it with ``force=True``."""


class ObjectError(ObjectStoreError):
    """A problem with one object."""


class ObjectNotFoundError(ObjectError, FileNotFoundError):
    """No live object of that name (deleted objects count as missing)."""


class ObjectExistsError(ObjectError, FileExistsError):
    """An object of that name already exists."""


class InvalidObjectNameError(ObjectError, ValueError):
    """Object names must be non-empty strings."""


class BadObjectMetaError(ObjectError):
    """The stored meta message cannot be used (bad JSON, no NUID, ...)."""


class DigestMismatchError(ObjectError):
    """The bytes read do not hash to the stored SHA-256 digest."""


class IncompleteObjectError(ObjectError):
    """Chunks are missing, or their total size or count disagrees with the meta."""


class LinkError(ObjectError):
    """A link could not be created or followed."""


class NoLinkToDeletedError(LinkError):
    """Links may not point to a deleted object."""


class NoLinkToLinkError(LinkError):
    """Links may not point to another link."""


class LinkNotAllowedError(LinkError):
    """A put's meta may not carry a link: use ``add_link``."""


class LinkIsBucketError(LinkError):
    """The object is a link to a whole bucket and has no bytes of its own."""


class UpdateMetaDeletedError(ObjectError):
    """The meta of a missing or deleted object cannot be updated."""


class ObjectTooLargeError(ObjectError):
    """The object is larger than the bucket's ``file_size_limit`` (Supabase ``EntityTooLarge``).

    Attributes:
        limit: the bucket's limit in bytes, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: int | None = None,
        bucket: str | None = None,
        name: str | None = None,
    ):
        super().__init__(message, bucket=bucket, name=name)
        self.limit = limit


class InvalidMimeTypeError(ObjectError):
    """The content type is not in the bucket's ``allowed_mime_types``
    (Supabase ``InvalidMimeType``)."""


class PreconditionFailedError(ObjectError):
    """The object is not at the revision the operation was conditional on: another writer
    changed it first (a lost compare-and-set)."""


class ExpiryExtensionRejectedError(ObjectError):
    """An expiry extension was refused: the object never expires (manual policy), is a
    link, or was replaced or deleted while the extension ran (Sentry's
    ``ExpiryExtensionRejected``, HTTP 409)."""


class InvalidArgumentError(ObjectStoreError, ValueError, TypeError):
    """An argument has a type or value natsobj cannot use."""


class InvalidScopeError(InvalidArgumentError):
    """A scope component is empty, too long, or has a character outside
    ``A-Z a-z 0-9 _ - ( ) $ ! + '`` (``/``, ``.`` and ``=`` would break the path)."""


class RangeNotSatisfiableError(InvalidArgumentError):
    """The byte range starts at or past the end of the object (HTTP 416); a range that only
    ends past it is cut to the object's size instead.

    Attributes:
        size: the object's size in bytes (HTTP's ``Content-Range: bytes */<size>``).
    """

    def __init__(
        self, message: str, *, size: int, bucket: str | None = None, name: str | None = None
    ):
        super().__init__(message, bucket=bucket, name=name)
        self.size = size


class NotOpenError(ObjectStoreError, TypeError):
    """A streaming result, watcher or batch used without the ``async with`` that opens it
    (``await``-ed, or iterated, outside the block); the message names the right form."""


class LocalFileError(ObjectStoreError, OSError):
    """A local file (``put_file``, ``get_file``) cannot be read or written; ``errno``,
    ``strerror`` and ``filename`` are the operating system's, whose error is the cause."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """The local file, or the folder above it, does not exist."""


class UnsupportedFeatureError(ObjectStoreError):
    """The operation needs something missing here: a newer nats-server, a bucket created
    with the feature (message TTLs), or an optional package (``zstandard``)."""


class FeedNotFoundError(ObjectStoreError, LookupError):
    """There is no change feed (durable consumer) of that name on the bucket; ``name`` is
    the feed's."""


class ManyOperationsError(ObjectStoreError):
    """Some operations of a ``Session.many()`` batch failed.

    Attributes:
        failures: the failed ``OperationResult``s, each with its operation, key and error.
    """

    def __init__(self, message: str, failures: Sequence[Any]):
        super().__init__(message)
        self.failures = list(failures)


class ServerError(ObjectStoreError):
    """The server or the connection to it failed."""


class ServerUnavailableError(ServerError, ConnectionError):
    """No connection to a NATS server with JetStream."""


class NoRespondersError(ServerUnavailableError):
    """Nobody answered the request: no JetStream, or no stream for the subject."""


class ObjectStoreTimeoutError(ServerError, TimeoutError):
    """The server did not answer in time."""


class PermissionDeniedError(ServerError, PermissionError):
    """The connection's permissions do not allow the operation."""


class JetStreamAPIError(ServerError):
    """An error answer from the JetStream API that has no more specific class.

    Attributes:
        code: the HTTP-like status code (400, 404, 503, ...).
        err_code: JetStream's own error code (10059 for "stream not found", ...).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        err_code: int = 0,
        bucket: str | None = None,
        name: str | None = None,
    ):
        super().__init__(message, bucket=bucket, name=name)
        self.code = code
        self.err_code = err_code


def local_file_error(exc: OSError, doing: str, *, name: str | None = None) -> LocalFileError:
    """``exc`` (from reading or writing a local file) as natsobj's error, saying what failed:
    ``doing`` is, say, ``"cannot read 'a.txt'"``."""
    cls = LocalFileNotFoundError if isinstance(exc, FileNotFoundError) else LocalFileError
    error = cls(f"{doing}: {exc.strerror or exc}", name=name)
    error.errno, error.strerror, error.filename = exc.errno, exc.strerror, exc.filename
    return error


# JetStream err_codes we give a meaning to (nats-server errors.json).
ERR_STREAM_NOT_FOUND = 10059
ERR_STREAM_NAME_IN_USE = 10058
ERR_STREAM_SEALED = 10109
# A compare-and-set publish lost: the subject changed since it was read.
ERR_WRONG_LAST_SEQUENCE = 10071


@contextmanager
def unwrap_single_error() -> Iterator[None]:
    """Raise a failed task group's error as itself, not as a group.

    Callers catch ``ObjectNotFoundError``, not an ExceptionGroup holding one. When the
    tasks failed together (both saw the bucket vanish, say) the first error stands for
    all of them.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = [e for e in _leaves(group) if isinstance(e, Exception)] or _leaves(group)
        raise leaves[0] from leaves[0].__cause__


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out
