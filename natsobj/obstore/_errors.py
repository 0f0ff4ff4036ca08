"""obspec's well-known error names, as natsobj errors.

obspec asks implementations to raise exceptions *named* as its own
(``obspec.exceptions.map_exception`` maps by class name). Each class here is also the
natsobj error of the same meaning, so ``except natsobj.ObjectNotFoundError`` (and
``FileNotFoundError``) still catch what the adapter raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import natsobj

__all__ = [
    "AlreadyExistsError",
    "InvalidPathError",
    "NotFoundError",
    "NotModifiedError",
    "NotSupportedError",
    "PermissionDeniedError",
    "PreconditionError",
    "mapped_errors",
]

PermissionDeniedError = natsobj.PermissionDeniedError  # already obspec's name


class NotFoundError(natsobj.ObjectNotFoundError):
    """No object at that path (also ``natsobj.ObjectNotFoundError`` and
    ``FileNotFoundError``)."""


class AlreadyExistsError(natsobj.ObjectExistsError):
    """An object is already at that path (a put with ``mode="create"``, a copy or rename
    with ``overwrite=False``)."""


class PreconditionError(natsobj.PreconditionFailedError):
    """The object is not at the expected e-tag (``if_match``, a put's ``UpdateVersion``) or
    was modified after ``if_unmodified_since``."""


class NotModifiedError(natsobj.ObjectError):
    """``if_none_match`` matched, or the object was not modified after
    ``if_modified_since``."""


class InvalidPathError(natsobj.InvalidObjectNameError):
    """The path is not a valid object name."""


class NotSupportedError(natsobj.UnsupportedFeatureError):
    """An option natsobj cannot honour (an object ``version``)."""


_MAPPED: list[tuple[type[natsobj.ObjectStoreError], type[natsobj.ObjectStoreError]]] = [
    (natsobj.ObjectNotFoundError, NotFoundError),
    (natsobj.ObjectExistsError, AlreadyExistsError),
    (natsobj.PreconditionFailedError, PreconditionError),
    (natsobj.InvalidObjectNameError, InvalidPathError),
    (natsobj.UnsupportedFeatureError, NotSupportedError),
]


@contextlib.contextmanager
def mapped_errors(*, exists_on_precondition: bool = False) -> Iterator[None]:
    """natsobj errors re-raised under obspec's names (the original as ``__cause__``).
    With ``exists_on_precondition`` a failed precondition means the path is taken (a put
    with ``mode="create"``, made as "only if there is no live object")."""
    try:
        yield
    except natsobj.ObjectStoreError as exc:
        if isinstance(exc, tuple(new for _, new in _MAPPED)):
            raise
        for old, new in _MAPPED:
            if isinstance(exc, old):
                if new is PreconditionError and exists_on_precondition:
                    new = AlreadyExistsError
                raise new(str(exc), bucket=exc.bucket, name=exc.name) from exc
        raise
