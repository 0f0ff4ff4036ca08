"""Checks of what callers hand to natsobj: one rule per kind of value, applied by every
public call before anything is sent.

Each check raises a natsobj error (``InvalidArgumentError`` unless a more specific one
fits), never pydantic's ``ValidationError`` or a bare ``TypeError``; models that callers
build (``ObjectMeta``, ``ObjectStoreConfig``, ...) raise natsobj errors too
(``TypedModel``). Objects that work only inside ``async with`` raise ``NotOpenError``
naming that form (``RequiresAsyncWith``); ``Resource`` is their shell.
"""

from __future__ import annotations

import math
import os
import re
import reprlib
from collections.abc import AsyncIterable, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, NoReturn, Self, TypeVar
from urllib.parse import urlsplit

from anyio import CancelScope
from anyio.abc import AsyncResource
from pydantic import BaseModel, ValidationError

from ._errors import InvalidArgumentError, NotOpenError, ObjectStoreError

__all__ = [
    "RequiresAsyncWith",
    "Resource",
    "TypedModel",
    "check_bool",
    "check_callable",
    "check_headers",
    "check_int",
    "check_local_path",
    "check_metadata",
    "check_origins",
    "check_put_data",
    "check_seconds",
    "check_server_seconds",
    "check_subject",
    "check_text",
    "model_error",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


def _short(value: object) -> str:
    """``value`` for an error message: its repr cut short, and its type."""
    return f"{_repr.repr(value)} ({type(value).__name__})"


def check_bool(value: object, what: str) -> bool:
    """``value`` if it is True or False (not merely truthy)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be True or False, got {_short(value)}")
    return value


def check_int(value: object, what: str, *, minimum: int = 0) -> int:
    """``value`` if it is an int (not a bool), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{what} must be an int, got {_short(value)}")
    if value < minimum:
        raise InvalidArgumentError(f"{what} must be at least {minimum}, got {value}")
    return value


def check_seconds(value: object, what: str) -> float:
    """``value`` if it is a finite, positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{what} must be a number of seconds, got {_short(value)}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{what} must be a positive number of seconds, got {value}")
    return value


def check_server_seconds(value: object, what: str) -> float:
    """``value`` if it is a number of seconds the server can hold: a Go duration, whole
    nanoseconds in an int64 (at least 1 ns, under about 292 years)."""
    seconds = check_seconds(value, what)
    if not 1 <= seconds * 1e9 < 2.0**63:
        raise InvalidArgumentError(
            f"{what} must be 1 ns to 292 years (a server duration), got {seconds} s"
        )
    return seconds


def check_text(value: object, what: str) -> str:
    """``value`` if it is a str that can travel as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, got {_short(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(f"{what} is not valid Unicode: {_short(value)}") from exc
    return value


_SUBJECT_TOKEN = re.compile(r"[^\s.*>]+")
_SUBJECT = re.compile(r"[^\s.*>]+(\.[^\s.*>]+)*")  # tokens joined by dots, no wildcards


def check_subject(value: object, what: str, *, token: bool = False) -> str:
    """``value`` if it is a NATS subject without wildcards (with ``token``: one subject
    token, as a JetStream domain), such as an API or inbox prefix."""
    text = check_text(value, what)
    if not (_SUBJECT_TOKEN if token else _SUBJECT).fullmatch(text):
        kind = "one subject token" if token else "a subject without wildcards"
        raise InvalidArgumentError(f"{what} must be {kind}, got {_short(value)}")
    return text


def check_metadata(value: object) -> dict[str, str]:
    """A metadata map: str keys to str values (None is empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"metadata must be a mapping of str to str, got {_short(value)}")
    return {
        check_text(key, "a metadata key"): check_text(item, f"metadata[{key!r}]")
        for key, item in value.items()
    }


def check_headers(value: object) -> dict[str, list[str]]:
    """Headers as ``{"K": ["v1", "v2"]}`` (a str alone is one value; None is empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"headers must be a mapping of str to lists of str, got {_short(value)}"
        )
    out: dict[str, list[str]] = {}
    for key, values in value.items():
        check_text(key, "a header name")
        if isinstance(values, str):
            values = [values]
        elif not isinstance(values, list | tuple):
            raise InvalidArgumentError(
                f"header {key!r} must be a list of str, got {_short(values)}"
            )
        out[key] = [check_text(item, f"header {key!r}") for item in values]
    return out


def check_origins(origins: object) -> list[str]:
    """Web origins for CORS, each ``*`` or ``scheme://host[:port]`` (http or https, no
    path), as a browser sends them (lower case, no trailing slash).

    Raises:
        InvalidArgumentError: ``origins`` is not a list of those.
    """
    if isinstance(origins, str | bytes) or not isinstance(origins, list | tuple):
        raise InvalidArgumentError(f"CORS origins are a list of origins, got {_short(origins)}")
    checked = []
    for origin in origins:
        if origin == "*":
            checked.append(origin)
            continue
        parts = urlsplit(origin) if isinstance(origin, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username is not None
            or origin != origin.strip()
        ):
            raise InvalidArgumentError(
                f"a CORS origin is '*' or scheme://host[:port] (no path), got {_short(origin)}"
            )
        checked.append(origin.rstrip("/").lower())
    return checked


def check_callable(value: object, what: str) -> None:
    """Nothing, if ``value`` is None or callable."""
    if value is not None and not callable(value):
        raise InvalidArgumentError(f"{what} must be callable, got {_short(value)}")


def check_put_data(data: object) -> None:
    """Nothing, if ``data`` is something a put can store: bytes-like, str, a file (sync or
    async ``read``) or an async iterable of bytes."""
    if callable(getattr(data, "read", None)):
        return
    if not isinstance(data, bytes | bytearray | memoryview | str | AsyncIterable):
        raise InvalidArgumentError(
            f"cannot put {type(data).__name__}: give bytes, str, a binary file, "
            "an async iterable of bytes or a byte stream"
        )


def check_local_path(value: object) -> Path:
    """A local file path from a str or an ``os.PathLike`` of str, without NUL."""
    if not isinstance(value, str | os.PathLike):
        raise InvalidArgumentError(f"path must be a str or a path, got {_short(value)}")
    try:
        path = Path(value)
    except TypeError as exc:  # a PathLike of bytes
        raise InvalidArgumentError(f"path must be a path of str, got {_short(value)}") from exc
    if "\x00" in str(path):
        raise InvalidArgumentError(f"a path cannot contain NUL: {str(path)!r}")
    return path


def model_error(exc: ValidationError, what: str) -> ObjectStoreError:
    """pydantic's error as natsobj's: the natsobj error a validator raised (an
    ``InvalidBucketNameError``, say), else ``InvalidArgumentError`` saying what is wrong."""
    details = []
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ObjectStoreError):
            return cause
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            where = ".".join(str(part) for part in error["loc"])
            message = f"{where}: {message}, got {_short(error['input'])}"
        details.append(message)
    return InvalidArgumentError(f"invalid {what}: {'; '.join(details)}")


def validate_model(cls: type[M], data: Mapping[str, Any]) -> M:
    """``cls.model_validate(data)`` with natsobj's errors."""
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        raise model_error(exc, cls.__name__) from exc


class TypedModel(BaseModel):
    """A model whose constructor raises natsobj's errors, not pydantic's."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise model_error(exc, type(self).__name__) from exc

    # pydantic then validates dicts (``model_validate``: the wire's metas) without calling
    # this constructor, as for a model without one: parsing stays as fast as it was.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class RequiresAsyncWith:
    """For objects opened by ``async with``: ``await``-ing one raises ``NotOpenError`` that
    names the right form (``_usage``), not a bare ``TypeError``."""

    _usage: ClassVar[str]

    def __await__(self) -> Generator[Any, None, NoReturn]:
        raise self._not_open()

    def _not_open(self) -> NotOpenError:
        return NotOpenError(f"{type(self).__name__} is not open; use: {self._usage}")


class Resource(RequiresAsyncWith, AsyncResource):
    """The shell of what ``async with`` opens once and ``aclose()`` releases (reads,
    watchers): entering runs ``_acquire``, leaving the block calls ``aclose``. A failed
    ``_acquire`` is released at once; entering a second time raises NotOpenError."""

    _entered = False

    async def _acquire(self) -> None:
        """Take what the object holds while open (subclasses)."""

    async def __aenter__(self) -> Self:
        if self._entered:
            raise NotOpenError(f"a {type(self).__name__} is opened once: ask for a new one")
        self._entered = True
        try:
            await self._acquire()
        except BaseException:
            with CancelScope(shield=True):
                await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
