"""The rules of the sessions model, as pure functions and values (no I/O).

Scope components, object keys, the put options and their validation, the headers a
session records in an object's meta, and ``ObjectMetadata``, what a session reads back.
A scope ``k1=v1/k2=v2`` and a key map to the object name ``<k1>.<v1>/<k2>.<v2>/objects/<key>``
(``objects/<key>`` for the empty scope). Scope keys and values never contain ``/`` or ``.``,
so every scope element has exactly one ``.`` and the marker ``objects`` none: the name
decodes one way only, and no scope's names, or listing prefix, fall inside another's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypedDict

from .._checks import check_metadata
from .._errors import InvalidArgumentError, InvalidScopeError
from .._expiration import ExpirationPolicy
from .._models import ObjectInfo
from .._policy import CONTENT_TYPE_HEADER, DEFAULT_CONTENT_TYPE
from .._wire import parse_timestamp
from ._compression import Compression

__all__ = ["ObjectMetadata"]

# Where a usecase keeps its defaults: the bucket's stream metadata.
COMPRESSION_KEY = "natsobj.usecase.compression"
EXPIRATION_KEY = "natsobj.usecase.expiration"
DEFAULT_COMPRESSION: Compression = "zstd"
# How the meta records what Sentry sends as headers (an HTTP gateway can pass them on).
CONTENT_ENCODING = "Content-Encoding"
EXPIRATION = "X-Sn-Expiration"
TIME_CREATED = "X-Sn-Time-Created"
TIME_EXPIRES = "X-Sn-Time-Expires"
ORIGIN = "X-Sn-Origin"
FILENAME = "X-Sn-Filename"

MAX_COMPONENT_CHARS = 128
MAX_KEY_BYTES = 1024
MAX_TEXT_CHARS = 1024
# Custom metadata travels in the meta message, which must fit the server's max_payload.
MAX_CUSTOM_METADATA_BYTES = 64 * 1024
OBJECTS_MARKER = "objects"
_COMPONENT = re.compile(r"^[A-Za-z0-9_\-()$!+']+$")
_CONTENT_TYPE = re.compile(r"^[\w!#$&^.+-]+/[\w!#$&^.+-]+(\s*;.*)?$")


class UsecaseDefaults(Protocol):
    """What the session operations read of a ``Usecase``: its name and its defaults."""

    @property
    def name(self) -> str: ...

    @property
    def compression(self) -> Compression | None: ...

    @property
    def expiration_policy(self) -> ExpirationPolicy | None: ...


class SessionPutOptions(TypedDict, total=False):
    """The keyword options of a session put, written once for ``Session.put`` and
    ``Many.put`` (``Session.put`` says what each does); all of them may be left out."""

    compression: Compression | None
    content_type: str | None
    metadata: Mapping[str, str] | None
    expiration_policy: ExpirationPolicy | None
    origin: str | None
    filename: str | None


def scope_component(value: object, what: str) -> str:
    """A scope key (``what="key"``) or value as text, if it cannot break the path.

    Raises:
        InvalidScopeError: a wrong type, empty, over 128 characters, or a character outside
            ``A-Z a-z 0-9 _ - ( ) $ ! + '``.
    """
    allowed = str if what == "key" else str | int
    if isinstance(value, bool) or not isinstance(value, allowed):
        kinds = "a str" if what == "key" else "a str or int"
        raise InvalidScopeError(f"scope {what} must be {kinds}, got {value!r}")
    text = str(value)
    if not text or len(text) > MAX_COMPONENT_CHARS or not _COMPONENT.fullmatch(text):
        raise InvalidScopeError(
            f"invalid scope {what} {text!r}: use 1 to {MAX_COMPONENT_CHARS} of "
            "A-Z a-z 0-9 _ - ( ) $ ! + ' (no '/', '.', '=' or spaces)"
        )
    return text


def scope_prefix(components: tuple[tuple[str, str], ...]) -> str:
    """The object-name prefix of every key in the scope ``components`` (and no other)."""
    return "".join(f"{k}.{v}/" for k, v in components) + f"{OBJECTS_MARKER}/"


def validate_key(key: object) -> str:
    """An object key: any non-empty string (``/`` allowed) of at most 1024 UTF-8 bytes."""
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(f"key must be a non-empty str, got {key!r}")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(f"key is not valid Unicode: {key!r}") from exc
    if size > MAX_KEY_BYTES:
        raise InvalidArgumentError(f"key is {size} bytes long; the limit is {MAX_KEY_BYTES}")
    return key


def optional_text(value: object, what: str) -> str | None:
    """None, or a non-empty single-line str of at most ``MAX_TEXT_CHARS``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        raise InvalidArgumentError(
            f"{what} must be a non-empty str of at most {MAX_TEXT_CHARS} characters, got {value!r}"
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidArgumentError(f"{what} must not contain control characters: {value!r}")
    return value


def validate_content_type(value: object) -> str | None:
    """None, or a media type such as ``text/plain; charset=utf-8``."""
    text = optional_text(value, "content_type")
    if text is not None and not _CONTENT_TYPE.fullmatch(text):
        raise InvalidArgumentError(f"content_type must be a media type like 'text/plain': {text!r}")
    return text


def custom_metadata(value: object) -> dict[str, str]:
    """The caller's metadata (str to str, non-empty keys) if it fits in a meta message."""
    out = check_metadata(value)
    if "" in out:
        raise InvalidArgumentError("metadata keys must not be empty")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > MAX_CUSTOM_METADATA_BYTES:
        raise InvalidArgumentError(
            f"metadata is {size} bytes; the limit is {MAX_CUSTOM_METADATA_BYTES}"
        )
    return out


def validate_policy(value: object, what: str = "expiration_policy") -> ExpirationPolicy | None:
    """None, or an ``ExpirationPolicy``."""
    if value is None or isinstance(value, ExpirationPolicy):
        return value
    raise InvalidArgumentError(
        f"{what} must be an ExpirationPolicy (time_to_live, time_to_idle, manual), got {value!r}"
    )


def timestamp(value: datetime) -> str:
    """``value`` as an RFC 3339 UTC timestamp ending in ``Z``, as the headers carry it."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ObjectMetadata:
    """What a session knows about an object (``head``, ``get``, ``list``).

    ``size`` is the stored size (compressed when ``compression`` is ``"zstd"``);
    ``time_expires`` is the current deadline (None for manual); ``custom`` is the caller's
    metadata. ``info`` is the raw object-store meta.
    """

    key: str
    size: int
    compression: Compression
    content_type: str
    expiration_policy: ExpirationPolicy
    time_created: datetime | None
    time_expires: datetime | None
    origin: str | None
    filename: str | None
    custom: dict[str, str]
    digest: str
    info: ObjectInfo = field(repr=False)

    @classmethod
    def from_info(cls, key: str, info: ObjectInfo) -> ObjectMetadata:
        """Read the fields a session put into ``info``; meta of other clients reads as
        uncompressed and never expiring."""

        def header(name: str) -> str | None:
            values = info.headers.get(name)
            return values[0] if values else None

        try:
            policy = ExpirationPolicy.parse(header(EXPIRATION) or "manual")
        except InvalidArgumentError:
            policy = ExpirationPolicy.manual()
        return cls(
            key=key,
            size=info.size,
            compression="zstd" if header(CONTENT_ENCODING) == "zstd" else "none",
            content_type=header(CONTENT_TYPE_HEADER) or DEFAULT_CONTENT_TYPE,
            expiration_policy=policy,
            time_created=parse_timestamp(header(TIME_CREATED) or "") or info.mtime,
            time_expires=parse_timestamp(header(TIME_EXPIRES) or ""),
            origin=header(ORIGIN),
            filename=header(FILENAME),
            custom=dict(info.metadata),
            digest=info.digest,
            info=info,
        )
