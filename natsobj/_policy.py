"""Bucket policies (Supabase Storage's ``public``, ``file_size_limit``, ``allowed_mime_types``)
as pure functions: parsing, checking, and their place in the stream config ``metadata``.

A policy lives in the bucket's stream config ``metadata`` under ``natsobj.*`` keys, so every
client that reads the stream info sees it. It is enforced by natsobj on the writing side.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from ._checks import TypedModel
from ._errors import InvalidArgumentError, InvalidMimeTypeError, ObjectTooLargeError
from ._sizes import parse_size
from ._wire import read_json

__all__ = [
    "CONTENT_TYPE_HEADER",
    "DEFAULT_CONTENT_TYPE",
    "POLICY_METADATA_KEYS",
    "BucketPolicy",
    "PolicyFields",
    "check_content_type",
    "check_size_limit",
    "content_type_headers",
    "guess_content_type",
    "mime_type_allowed",
    "parse_mime_patterns",
    "policy_from_metadata",
    "policy_metadata",
    "without_policy",
]

# Where an object's content type lives: the ADR-20 meta ``headers``, which every client keeps.
CONTENT_TYPE_HEADER = "Content-Type"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
POLICY_METADATA_PREFIX = "natsobj."
_PUBLIC = POLICY_METADATA_PREFIX + "public"
_SIZE_LIMIT = POLICY_METADATA_PREFIX + "file_size_limit"
_MIME_TYPES = POLICY_METADATA_PREFIX + "allowed_mime_types"
# Only these are the policy's: other ``natsobj.`` keys (a usecase's defaults) are metadata.
POLICY_METADATA_KEYS = frozenset((_PUBLIC, _SIZE_LIMIT, _MIME_TYPES))
_MAX_LIMIT_DIGITS = 19  # a size limit read from metadata fits an int64

# type/subtype or type/* (RFC 6838 restricted names), case-insensitive.
_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]*"
_MIME_PATTERN = re.compile(rf"^{_TOKEN}/(\*|{_TOKEN})$", re.IGNORECASE)


def parse_mime_patterns(patterns: Iterable[str]) -> list[str]:
    """Validated, lower-cased MIME types and ``type/*`` wildcards.

    Raises:
        InvalidArgumentError: a pattern is not ``type/subtype`` or ``type/*``.
    """
    if isinstance(patterns, str) or not isinstance(patterns, Iterable):
        raise InvalidArgumentError(
            f"allowed_mime_types must be a list of MIME types, got {type(patterns).__name__}"
        )
    out: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not _MIME_PATTERN.match(pattern.strip()):
            raise InvalidArgumentError(
                f"allowed_mime_types entries must be 'type/subtype' or 'type/*', got {pattern!r}"
            )
        out.append(pattern.strip().lower())
    return out


def _essence(content_type: str) -> str:
    """``text/plain`` from ``Text/Plain; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def mime_type_allowed(content_type: str, patterns: Iterable[str]) -> bool:
    """Whether ``content_type`` (parameters ignored) matches one of ``patterns``."""
    essence = _essence(content_type)
    major = essence.split("/", 1)[0]
    return any(p == essence or p == f"{major}/*" for p in patterns)


def guess_content_type(name: str) -> str:
    """The content type implied by the name's extension, or ``application/octet-stream``."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


class PolicyFields(TypedModel):
    """The policy fields a bucket config and status carry (see ``BucketPolicy``)."""

    public: bool = False
    file_size_limit: int | None = None
    allowed_mime_types: list[str] | None = Field(default=None)

    @field_validator("file_size_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:
        return None if value is None else parse_size(value, what="file_size_limit")

    @field_validator("allowed_mime_types", mode="before")
    @classmethod
    def _mimes(cls, value: Any) -> list[str] | None:
        return None if value is None else parse_mime_patterns(value)

    @property
    def policy(self) -> BucketPolicy:
        """The bucket policy these fields set."""
        return BucketPolicy(
            public=self.public,
            file_size_limit=self.file_size_limit,
            allowed_mime_types=self.allowed_mime_types,
        )


class BucketPolicy(PolicyFields):
    """What a bucket lets in: ``public`` (a flag for gateways: natsobj itself does not
    authenticate), ``file_size_limit`` in bytes and ``allowed_mime_types`` (``type/*``
    wildcards allowed). None means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def check_size_limit(limit: int | None, size: int, *, bucket: str, name: str) -> None:
    """Raise ObjectTooLargeError when ``size`` bytes are over ``limit`` (None: no limit)."""
    if limit is not None and size > limit:
        raise ObjectTooLargeError(
            f"object {name!r} is larger than bucket {bucket!r} allows ({limit} bytes)",
            limit=limit,
            bucket=bucket,
            name=name,
        )


def check_content_type(policy: BucketPolicy, content_type: str, *, bucket: str, name: str) -> None:
    """Raise InvalidMimeTypeError when the policy does not allow ``content_type``."""
    allowed = policy.allowed_mime_types
    if allowed is not None and not mime_type_allowed(content_type, allowed):
        raise InvalidMimeTypeError(
            f"content type {content_type!r} of {name!r} is not allowed in bucket {bucket!r} "
            f"(allowed: {', '.join(allowed) or 'none'})",
            bucket=bucket,
            name=name,
        )


def content_type_headers(
    headers: Mapping[str, list[str]], name: str, explicit: str | None, *, store_guess: bool
) -> tuple[dict[str, list[str]], str]:
    """An object's headers with its content type, and that content type.

    ``explicit`` (the caller's) wins over a ``Content-Type`` already in ``headers``, which
    wins over a guess from the name. A guess is written into the headers only when
    ``store_guess`` is set (a bucket that checks types records what it checked).
    """
    out = {k: list(v) for k, v in headers.items()}
    present = [k for k in out if k.lower() == CONTENT_TYPE_HEADER.lower()]
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit.strip():
            raise InvalidArgumentError(f"content_type must be a non-empty str, got {explicit!r}")
        for key in present:
            del out[key]
        out[CONTENT_TYPE_HEADER] = [explicit.strip()]
        return out, explicit.strip()
    if present and out[present[0]]:
        return out, out[present[0]][0]
    guessed = guess_content_type(name)
    if store_guess:
        out[CONTENT_TYPE_HEADER] = [guessed]
    return out, guessed


def policy_metadata(policy: BucketPolicy) -> dict[str, str]:
    """The stream ``metadata`` entries that record ``policy`` (only what is set)."""
    out: dict[str, str] = {}
    if policy.public:
        out[_PUBLIC] = "true"
    if policy.file_size_limit is not None:
        out[_SIZE_LIMIT] = str(policy.file_size_limit)
    if policy.allowed_mime_types is not None:
        out[_MIME_TYPES] = json.dumps(policy.allowed_mime_types, separators=(",", ":"))
    return out


def policy_from_metadata(metadata: Mapping[str, str] | None) -> BucketPolicy:
    """The policy recorded in a stream's ``metadata``; entries that cannot be read (written
    by hand, say) are ignored rather than locking the bucket."""
    metadata = metadata or {}
    fields: dict[str, Any] = {"public": metadata.get(_PUBLIC) == "true"}
    limit = metadata.get(_SIZE_LIMIT, "")
    # ASCII digits only (isdigit takes '²' too, which int refuses), and few of them.
    if limit.isascii() and limit.isdigit() and len(limit) <= _MAX_LIMIT_DIGITS:
        fields["file_size_limit"] = int(limit)
    if _MIME_TYPES in metadata:
        with contextlib.suppress(ValueError, TypeError):
            fields["allowed_mime_types"] = parse_mime_patterns(read_json(metadata[_MIME_TYPES]))
    return BucketPolicy.model_validate(fields)


def without_policy(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """``metadata`` without natsobj's policy entries."""
    return {k: v for k, v in (metadata or {}).items() if k not in POLICY_METADATA_KEYS}
