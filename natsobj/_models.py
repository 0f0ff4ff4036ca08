"""Pydantic models for bucket config, object meta and status.

Models are frozen; change them with ``model_copy(update=...)``. ``ObjectInfo`` keeps JSON
keys it does not know (``extra="allow"``) so a meta written by another client survives
``update_meta`` and ``delete`` unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ._assembly import assemble, fields_set
from ._checks import TypedModel, check_headers, check_metadata, check_text
from ._errors import BadObjectMetaError, InvalidArgumentError
from ._policy import (
    CONTENT_TYPE_HEADER,
    POLICY_METADATA_KEYS,
    PolicyFields,
    guess_content_type,
    policy_from_metadata,
    policy_metadata,
    without_policy,
)
from ._wire import (
    BACKING_STORE,
    SERVER_METADATA_PREFIX,
    is_nuid,
    is_sha256_digest,
    meta_payload,
    name_of_meta_subject,
    parse_json,
    parse_timestamp,
    stream_config,
    validate_bucket_name,
    validate_object_name,
)

__all__ = [
    "ObjectInfo",
    "ObjectLink",
    "ObjectMeta",
    "ObjectMetaOptions",
    "ObjectStoreConfig",
    "ObjectStoreStatus",
    "Placement",
]

StorageType = Literal["file", "memory"]
# Meta header that carries an object's creation time across overwrites.
CREATED_HEADER = "Natsobj-Created"
_MAX_INT64 = 2**63 - 1


class _Model(TypedModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class ObjectLink(_Model):
    """Where a link points: an object (``name`` set) or a whole bucket (``name`` empty)."""

    bucket: str
    name: str | None = None

    @property
    def is_bucket_link(self) -> bool:
        return not self.name


class ObjectMetaOptions(_Model):
    """Per-object options: a link target, and the chunk size the object was written with."""

    link: ObjectLink | None = None
    max_chunk_size: int | None = None


def _headers(value: Any) -> dict[str, list[str]]:
    """Headers as ``{"K": ["v1", "v2"]}``; a bare string value is taken as one value."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("headers must be a mapping of names to lists of values")
    out: dict[str, list[str]] = {}
    for key, values in value.items():
        if isinstance(values, str):
            out[str(key)] = [values]
        elif isinstance(values, list | tuple):
            out[str(key)] = [str(v) for v in values]
        else:  # pydantic reports ValueError, not the TypeError iterating would raise
            raise ValueError(f"header {key!r} must be a list of values, got {values!r}")
    return out


class ObjectMeta(_Model):
    """What a caller says about an object: its name and descriptive fields.

    ``headers`` are NATS-style (a list of values per key); ``metadata`` is free-form
    string key/values (ADR-20 rev 2).
    """

    name: str
    description: str = ""
    headers: dict[str, list[str]] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    options: ObjectMetaOptions | None = None

    @field_validator("headers", mode="before")
    @classmethod
    def _check_headers(cls, value: Any) -> dict[str, list[str]]:
        return _headers(value)

    @field_validator("metadata", "description", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "metadata" else ""
        return value

    @model_validator(mode="after")
    def _encodable(self) -> ObjectMeta:
        # The meta travels as UTF-8 JSON: a lone surrogate would fail only at publish time.
        texts = [self.description, *self.metadata, *self.metadata.values(), *self.headers]
        texts.extend(v for values in self.headers.values() for v in values)
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"{text!r} is not valid Unicode") from exc
        return self


class ObjectInfo(ObjectMeta):
    """The stored meta of an object: the caller's meta plus where and what the bytes are.

    ``mtime`` is the server's timestamp of the meta message (never the stored value, which
    nats.go writes as the zero time); ``revision`` is that message's stream sequence.
    """

    bucket: str = ""
    nuid: str = ""
    size: int = 0
    mtime: datetime | None = None
    chunks: int = 0
    digest: str = ""
    deleted: bool = False
    revision: int = 0

    @field_validator("digest", "nuid", "bucket", mode="before")
    @classmethod
    def _none_is_empty_str(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("size", "chunks", mode="before")
    @classmethod
    def _none_is_zero(cls, value: Any) -> Any:
        return 0 if value is None else value

    @field_validator("mtime", mode="before")
    @classmethod
    def _tolerant_mtime(cls, value: Any) -> Any:
        # nats-py writes "" on delete, Go the zero time; neither is a real time.
        if isinstance(value, str):
            value = parse_timestamp(value)
        if isinstance(value, datetime) and value.year <= 1:
            return None
        return value

    def tombstone(self, *, keep_nuid: bool = True) -> ObjectInfo:
        """This meta as a deletion (size, chunks and digest cleared, as nats.go writes it).
        Without ``keep_nuid`` no client can purge chunks through it: for chunks another
        name may now point to."""
        cleared: dict[str, Any] = {"deleted": True, "size": 0, "chunks": 0, "digest": ""}
        if not keep_nuid:
            cleared["nuid"] = ""
        return self.model_copy(update=cleared)

    @property
    def is_link(self) -> bool:
        """True when this entry is a link to another object or bucket."""
        return self.options is not None and self.options.link is not None

    @property
    def link(self) -> ObjectLink | None:
        return self.options.link if self.options else None

    @property
    def chunk_size(self) -> int | None:
        return self.options.max_chunk_size if self.options else None

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header stored with the object, else the type its name
        implies (``application/octet-stream`` when nothing is known)."""
        for key, values in self.headers.items():
            if key.lower() == CONTENT_TYPE_HEADER.lower() and values:
                return values[0]
        return guess_content_type(self.name)

    @property
    def created(self) -> datetime | None:
        """When the object was first put: kept across overwrites in the ``Natsobj-Created``
        header; an object never overwritten by natsobj was created at its ``mtime``."""
        for key, values in self.headers.items():
            if key.lower() == CREATED_HEADER.lower() and values:
                return parse_timestamp(values[0]) or self.mtime
        return self.mtime

    def to_payload(self) -> bytes:
        """The canonical meta message body (nats.go's bytes; unknown keys kept)."""
        data = self.model_dump(mode="json", exclude={"mtime", "revision"})
        return meta_payload(data)

    @classmethod
    def from_message(
        cls,
        data: bytes,
        *,
        subject: str | None = None,
        timestamp: str | None = None,
        sequence: int | None = None,
    ) -> ObjectInfo:
        """Parse a meta message tolerantly, taking mtime and revision from the message.

        Tolerant of what real peers write, and nothing more: every value that later becomes
        a subject (NUID, link bucket and name), a size or a verification (digest) is
        checked here, since any client with write access can publish any bytes on any
        meta subject. The subject is the truth about the name: a payload naming another
        object is a bad meta for the subject's name.

        Raises:
            BadObjectMetaError: the payload is not a usable meta of the subject's object
                (``name`` is the subject's name when it has one).
        """
        try:
            raw, unicode_ok = parse_json(data)
        except ValueError as exc:
            raise BadObjectMetaError(
                f"object meta is not JSON: {exc}", name=_name_from_subject(subject)
            ) from exc
        if not isinstance(raw, dict):
            raise BadObjectMetaError(
                "object meta is not a JSON object", name=_name_from_subject(subject)
            )
        name: str | None = None
        if subject is not None:
            try:
                name = name_of_meta_subject(subject, raw.get("name"))
            except ValueError as exc:
                raise BadObjectMetaError(f"{subject!r} is not an object meta subject") from exc
        if not raw.get("name"):
            # A meta without a name (not seen in the wild) still has it in its subject.
            raw["name"] = name
        elif name is not None and raw["name"] != name:
            raise BadObjectMetaError(
                f"the meta stored for {name!r} names {raw['name']!r}", name=name
            )
        # The message's own time and sequence replace whatever the payload claims.
        stamped = parse_timestamp(timestamp) if timestamp else None
        if stamped is not None:
            raw["mtime"] = stamped
        if sequence is not None:
            raw["revision"] = sequence
        # The shapes peers write are checked and built here (_common_info); anything else
        # (and any subclass) goes through pydantic, which decides as it always did.
        info = _common_info(raw) if unicode_ok and cls is ObjectInfo else None
        if info is None:
            try:
                info = cls.model_validate(raw)
            except ValueError as exc:
                raise BadObjectMetaError(
                    f"invalid object meta: {exc}", name=name or _text(raw.get("name"))
                ) from exc
        problem = _untrusted_problem(info)
        if problem is not None:
            raise BadObjectMetaError(f"the meta of {info.name!r} {problem}", name=info.name)
        return info


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_INFO_FIELDS = tuple(ObjectInfo.model_fields)
_INFO_KEYS = frozenset(_INFO_FIELDS)
_OPTIONS_KEYS = frozenset(ObjectMetaOptions.model_fields)
_LINK_KEYS = frozenset(ObjectLink.model_fields)
_OPTIONS_FIELDS = tuple(ObjectMetaOptions.model_fields)
_LINK_FIELDS = tuple(ObjectLink.model_fields)
# Shared options without a link, by their keys and chunk size (frozen: never changed in
# place); forgotten all at once past _OPTIONS_MAX.
_options: dict[tuple[tuple[str, ...], int | None], ObjectMetaOptions] = {}
_OPTIONS_MAX = 256
# isinstance(value, str), without a Python call per value; JSON gives no str subclass.
_is_str = str.__instancecheck__
# A value _plain refuses: the meta goes through pydantic.
_NO: Any = object()
# The types of name, description, bucket, nuid, digest, size, chunks, deleted, revision,
# and what a null reads as (_NO: a null that pydantic refuses).
_PLAIN_TYPES = (str, str, str, str, str, int, int, bool, int)
_PLAIN_NULLS = (_NO, "", "", "", "", 0, 0, _NO, _NO)


def _plain(value: Any, kind: type, default: Any) -> Any:
    """``value`` if it is exactly a ``kind`` (a bool is no int), ``default`` for null."""
    if type(value) is kind:
        return value
    return default if value is None else _NO


def _common_info(raw: dict[str, Any]) -> ObjectInfo | None:
    """``ObjectInfo.model_validate(raw)`` for the shapes peers write, built without pydantic;
    None when ``raw`` is not one of them (then pydantic decides, as before).

    Accepted: the known keys only, each null (read as its default) or of its exact JSON
    type: headers as lists of strings, metadata as strings, options with only a link and a
    chunk size; a string or datetime mtime. Each value is then what pydantic's validators
    give for it, and ``tests/unit/test_meta_assembly.py`` holds both to the same result.
    The caller has checked the text is valid Unicode (``_encodable`` has nothing to find).
    """
    if not _INFO_KEYS.issuperset(raw):
        return None
    get = raw.get
    plain = (
        get("name"),
        get("description", ""),
        get("bucket", ""),
        get("nuid", ""),
        get("digest", ""),
        get("size", 0),
        get("chunks", 0),
        get("deleted", False),
        get("revision", 0),
    )
    if tuple(map(type, plain)) != _PLAIN_TYPES:
        # nats-py writes nulls; a bool is no int here (pydantic decides about it).
        plain = tuple(map(_null_as, plain, _PLAIN_NULLS))
        if tuple(map(type, plain)) != _PLAIN_TYPES:
            return None
    name, description, bucket, nuid, digest, size, chunks, deleted, revision = plain
    headers = get("headers")
    if headers is None:
        headers = {}
    elif type(headers) is not dict:
        return None
    for values in headers.values():
        if type(values) is not list or not all(map(_is_str, values)):
            return None
    metadata = get("metadata")
    if metadata is None:
        metadata = {}
    elif type(metadata) is not dict or not all(map(_is_str, metadata.values())):
        return None
    options = get("options")
    if options is not None and (options := _common_options(options)) is None:
        return None
    mtime = get("mtime")
    if type(mtime) is str:
        mtime = parse_timestamp(mtime)
    elif mtime is not None and type(mtime) is not datetime:
        return None
    if mtime is not None and mtime.year <= 1:
        mtime = None
    return assemble(
        ObjectInfo,
        _INFO_FIELDS,
        (
            name,
            description,
            headers,
            metadata,
            options,
            bucket,
            nuid,
            size,
            mtime,
            chunks,
            digest,
            deleted,
            revision,
        ),
        fields_set(raw),
    )


def _null_as(value: Any, default: Any) -> Any:
    return default if value is None else value


def _common_options(raw: Any) -> ObjectMetaOptions | None:
    """The options ``raw`` holds if it has only a link (bucket and name) and a chunk size."""
    if type(raw) is not dict or not _OPTIONS_KEYS.issuperset(raw):
        return None
    chunk_size = _plain(raw.get("max_chunk_size"), int, None)
    link = raw.get("link")
    if chunk_size is _NO:
        return None
    if link is None:
        key = (tuple(raw), chunk_size)
        shared = _options.get(key)
        if shared is None:
            if len(_options) >= _OPTIONS_MAX:
                _options.clear()
            shared = _options[key] = assemble(
                ObjectMetaOptions, _OPTIONS_FIELDS, (None, chunk_size), fields_set(raw)
            )
        return shared
    if type(link) is not dict or not _LINK_KEYS.issuperset(link):
        return None
    target = (_plain(link.get("bucket"), str, _NO), _plain(link.get("name"), str, None))
    if _NO in target:
        return None
    built = assemble(ObjectLink, _LINK_FIELDS, target, fields_set(link))
    return assemble(ObjectMetaOptions, _OPTIONS_FIELDS, (built, chunk_size), fields_set(raw))


def _untrusted_problem(info: ObjectInfo) -> str | None:
    """What makes a parsed meta unusable, or None: the fields that become subjects, sizes
    and the digest check, as no honest peer writes them."""
    options = info.options
    link = options.link if options is not None else None
    chunk_size = options.max_chunk_size if options is not None else None
    try:
        validate_object_name(info.name)
        if info.bucket:
            validate_bucket_name(info.bucket)
        if link is not None:
            validate_bucket_name(link.bucket)
            if link.name:
                validate_object_name(link.name)
    except ValueError as exc:
        return f"has an unusable name: {exc}"
    nuid, size, chunks, digest = info.nuid, info.size, info.chunks, info.digest
    if nuid and not is_nuid(nuid):
        return f"has a NUID that is not one: {nuid!r}"
    if size < 0 or chunks < 0:
        return f"has a negative size or chunk count ({size}, {chunks})"
    if chunk_size is not None and chunk_size <= 0:
        return f"has a chunk size that is not positive ({chunk_size})"
    if digest and not is_sha256_digest(digest):
        return f"has a digest that is not a SHA-256 digest: {digest[:100]!r}"
    # Links and tombstones carry neither; data always has both (nats.go refuses it too).
    if size and not info.deleted and link is None and not (nuid and digest):
        return "has data without the NUID to find it by or the digest to verify it with"
    return None


def _name_from_subject(subject: str | None) -> str | None:
    """The object name of a meta subject, or None if it is not one."""
    if not subject:
        return None
    try:
        return name_of_meta_subject(subject)
    except ValueError:
        return None


class Placement(_Model):
    """Where the bucket's stream is placed in a cluster (JetStream placement)."""

    cluster: str | None = None
    tags: list[str] = Field(default_factory=list)


def _ttl(value: Any) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidArgumentError(f"ttl must be seconds or a timedelta, got {value!r}")
    if isinstance(value, int | float):
        try:
            value = timedelta(seconds=value)
        except (OverflowError, ValueError) as exc:
            raise InvalidArgumentError(f"ttl out of range: {value!r}") from exc
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"ttl must be seconds or a timedelta, got {value!r}")
    if value < timedelta(0):
        raise InvalidArgumentError(f"ttl must not be negative, got {value}")
    if value // timedelta(microseconds=1) * 1000 > _MAX_INT64:
        raise InvalidArgumentError(f"ttl too large for the server: {value}")
    return value or None


class ObjectStoreConfig(PolicyFields):
    """How a bucket is created. ``ttl`` (seconds or timedelta) applies to the whole bucket.

    ``public``, ``file_size_limit`` (bytes, or a size such as ``"50MB"``) and
    ``allowed_mime_types`` (``image/*`` wildcards allowed) are the bucket policy, kept in
    the stream config ``metadata`` for every client to see.
    """

    # Built from callers' values only: "3" is not taken for 3, nor "no" for False.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    bucket: str
    description: str | None = None
    ttl: timedelta | None = None
    max_bytes: int | None = None
    storage: StorageType = "file"
    replicas: int = 1
    placement: Placement | None = None
    compression: bool = False
    metadata: dict[str, str] | None = None
    atomic_puts: bool = False
    batched_puts: bool = False
    # Per-object TTLs (``ObjectStore.put(ttl=...)``): server 2.11+, irreversible.
    message_ttl: bool = False

    @field_validator("bucket", mode="before")
    @classmethod
    def _check_bucket(cls, value: Any) -> str:
        return validate_bucket_name(value)

    @field_validator("ttl", mode="before")
    @classmethod
    def _check_ttl(cls, value: Any) -> timedelta | None:
        return _ttl(value)

    @model_validator(mode="after")
    def _check_numbers(self) -> ObjectStoreConfig:
        if self.max_bytes is not None and self.max_bytes != -1 and self.max_bytes < 0:
            raise InvalidArgumentError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.max_bytes is not None and self.max_bytes > _MAX_INT64:
            raise InvalidArgumentError(f"max_bytes too large for the server: {self.max_bytes}")
        if not 1 <= self.replicas <= 5:
            raise InvalidArgumentError(f"replicas must be 1 to 5, got {self.replicas}")
        if self.metadata and any(k.startswith(SERVER_METADATA_PREFIX) for k in self.metadata):
            raise InvalidArgumentError("metadata keys starting with '_nats.' belong to the server")
        if self.metadata and POLICY_METADATA_KEYS & self.metadata.keys():
            raise InvalidArgumentError(
                f"metadata keys {sorted(POLICY_METADATA_KEYS)} hold the bucket policy: "
                "use public, file_size_limit and allowed_mime_types"
            )
        return self

    @property
    def ttl_ns(self) -> int:
        return self.ttl // timedelta(microseconds=1) * 1000 if self.ttl else 0

    def stream_config(self) -> dict[str, Any]:
        """The JetStream stream config of the bucket (``_wire.stream_config``), with the
        policy in its metadata."""
        return stream_config(
            bucket=self.bucket,
            description=self.description,
            ttl_ns=self.ttl_ns,
            max_bytes=self.max_bytes,
            storage=self.storage,
            replicas=self.replicas,
            compression=self.compression,
            atomic_puts=self.atomic_puts,
            batched_puts=self.batched_puts,
            message_ttl=self.message_ttl,
            placement=self.placement.model_dump(exclude_defaults=True) if self.placement else None,
            metadata={**(self.metadata or {}), **policy_metadata(self.policy)} or None,
        )


class ObjectStoreStatus(_Model, PolicyFields):
    """A bucket's configuration and usage, read from its stream info, with its policy."""

    bucket: str
    description: str = ""
    ttl: timedelta | None = None
    storage: StorageType = "file"
    replicas: int = 1
    sealed: bool = False
    size: int = 0
    backing_store: str = BACKING_STORE
    metadata: dict[str, str] = Field(default_factory=dict)
    compressed: bool = False
    atomic_puts: bool = False
    batched_puts: bool = False
    message_ttl: bool = False
    stream_info: dict[str, Any] = Field(default_factory=dict, repr=False)

    @classmethod
    def from_stream_info(cls, bucket: str, stream_info: dict[str, Any]) -> ObjectStoreStatus:
        config = stream_info.get("config", {})
        max_age = config.get("max_age", 0) or 0
        metadata = {
            k: v
            for k, v in without_policy(config.get("metadata")).items()
            if not k.startswith(SERVER_METADATA_PREFIX)
        }
        policy = policy_from_metadata(config.get("metadata"))
        return cls(
            bucket=bucket,
            description=config.get("description", "") or "",
            ttl=timedelta(microseconds=max_age / 1000) if max_age else None,
            storage=config.get("storage", "file"),
            replicas=config.get("num_replicas", 1),
            sealed=bool(config.get("sealed", False)),
            size=stream_info.get("state", {}).get("bytes", 0),
            metadata=metadata,
            compressed=config.get("compression", "none") not in ("none", "", None),
            atomic_puts=bool(config.get("allow_atomic", False)),
            batched_puts=bool(config.get("allow_batched", False)),
            message_ttl=bool(config.get("allow_msg_ttl", False)),
            **policy.model_dump(),
            stream_info=stream_info,
        )


# Fields the store sets: a caller's meta may not carry them as unknown keys.
_STORE_FIELDS = frozenset(("bucket", "nuid", "size", "mtime", "chunks", "digest", "deleted"))


def check_meta(meta: object) -> ObjectMeta:
    """A caller's object (a name or an ObjectMeta) as a checked ObjectMeta.

    Every field is checked again: a model changed with ``model_copy(update=...)`` or made
    with ``model_construct`` skipped pydantic's checks. An ObjectInfo gives only its
    ObjectMeta fields (and unknown keys), never its NUID, size or deletion flag.

    Raises:
        InvalidObjectNameError: the name is empty, not a str, or too long (``meta`` is
            neither a str nor an ObjectMeta).
        InvalidArgumentError: another field has a wrong type or value.
    """
    if not isinstance(meta, ObjectMeta):
        return ObjectMeta(name=validate_object_name(meta))
    extra = dict(meta.model_extra or {})
    if taken := sorted(_STORE_FIELDS & extra.keys()):
        raise InvalidArgumentError(f"an ObjectMeta cannot set {taken}: the store sets them")
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"the ObjectMeta's extra fields are not JSON: {exc}") from exc
    return ObjectMeta(
        name=validate_object_name(meta.name),
        description=check_text(meta.description, "description"),
        headers=check_headers(meta.headers),
        metadata=check_metadata(meta.metadata),
        options=meta.options,
        **extra,
    )
