"""ADR-20 (the NATS object store wire format) as pure functions.

Writing is canonical, byte for byte what nats.go writes; reading is tolerant of what the
other official clients write (see shared/reference/wire-captures.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json

from ._errors import (
    BadObjectMetaError,
    InvalidArgumentError,
    InvalidBucketNameError,
    InvalidObjectNameError,
)

DEFAULT_CHUNK_SIZE = 128 * 1024
# The server's default max_payload is 1 MiB; larger chunks need a server configured for it.
MAX_CHUNK_SIZE = 64 * 1024 * 1024
STREAM_PREFIX = "OBJ_"
ROLLUP_HEADER = "Nats-Rollup"
ROLLUP_SUBJECT = "sub"
BATCH_ID_HEADER = "Nats-Batch-Id"
BATCH_SEQUENCE_HEADER = "Nats-Batch-Sequence"
BATCH_COMMIT_HEADER = "Nats-Batch-Commit"
# Compare-and-set: the meta is stored only if its subject is still at this sequence.
EXPECTED_SUBJECT_SEQUENCE_HEADER = "Nats-Expected-Last-Subject-Sequence"
# Per-message TTL (server 2.11+, streams with allow_msg_ttl); the server's minimum is 1 s.
TTL_HEADER = "Nats-TTL"
MIN_MESSAGE_TTL_SECONDS = 1
# How long the marker the server leaves when a TTL removes a subject's last message
# stays. It is also a floor on every message's TTL, so it is the 1 s minimum.
DELETE_MARKER_TTL_NS = 1_000_000_000
MARKER_REASON_HEADER = "Nats-Marker-Reason"
# The reason on the marker of a message a TTL or the stream's max_age removed.
EXPIRY_MARKER_REASON = "MaxAge"
# The server's default limit of messages in one atomic batch; the meta takes one.
MAX_ATOMIC_CHUNKS = 999
DIGEST_PREFIX = "SHA-256="
# The prefix and 44 characters of padded base64url: the digest as natsobj and nats.go write it.
_CANONICAL_DIGEST_LENGTH = len(DIGEST_PREFIX) + 44
_CANONICAL_DIGEST = re.compile(re.escape(DIGEST_PREFIX) + r"[A-Za-z0-9_-]{43}=")
ZERO_TIME = "0001-01-01T00:00:00Z"
BACKING_STORE = "JetStream"
# Keys the server adds to stream metadata (API versioning); hidden from users.
SERVER_METADATA_PREFIX = "_nats."

_BUCKET_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
# A NUID as every official client writes it (22 base-62 characters), or the 32 lowercase
# hex digits of ``uuid4().hex`` that the nats-py ``nats-object`` draft writes. Nothing else
# read from the wire may become a chunk subject: a wildcard token (``*``, ``>``), a dot or
# whitespace there would reach other objects' chunks.
_NUID = re.compile(r"[0-9A-Za-z]{22}|[0-9a-f]{32}")
_NUID_LENGTH = 22
# Standard base64 to base64url (what ``base64.urlsafe_b64encode`` does, without its steps).
_URLSAFE = bytes.maketrans(b"+/", b"-_")
# The server's limit on stream names is 255 characters, "OBJ_" included.
MAX_BUCKET_NAME = 255 - len(STREAM_PREFIX)
# Encoded into subjects (4/3 longer) next to the bucket name twice, they must fit the
# server's 4 KiB control line; a longer one would make the server drop the connection.
MAX_OBJECT_NAME_BYTES = 2048
# Go's json.Marshal escapes these even inside strings; we do the same to match its bytes.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


# Bucket names found valid (listings check the one in every meta they read); forgotten
# all at once past _VALID_BUCKETS_MAX.
_valid_buckets: set[str] = set()
_VALID_BUCKETS_MAX = 1024


def validate_bucket_name(bucket: object) -> str:
    """Return ``bucket`` if it is a valid bucket name, else raise InvalidBucketNameError."""
    if isinstance(bucket, str) and bucket in _valid_buckets:
        return bucket
    if not isinstance(bucket, str) or not _BUCKET_NAME.fullmatch(bucket):
        raise InvalidBucketNameError(
            f"invalid bucket name {bucket!r}: use only A-Z, a-z, 0-9, '_' and '-'",
            bucket=bucket if isinstance(bucket, str) else None,
        )
    if len(bucket) > MAX_BUCKET_NAME:
        raise InvalidBucketNameError(
            f"bucket name too long ({len(bucket)} characters, at most {MAX_BUCKET_NAME})"
        )
    if len(_valid_buckets) >= _VALID_BUCKETS_MAX:
        _valid_buckets.clear()
    _valid_buckets.add(bucket)
    return bucket


def validate_object_name(name: object) -> str:
    """Return ``name`` if it is a usable object name, else raise InvalidObjectNameError.

    ADR-20 leaves names unrestricted (they are base64-encoded into the subject); only
    an empty name, a non-string, a string that is not valid Unicode, or one longer than
    MAX_OBJECT_NAME_BYTES of UTF-8 (its subjects would not fit the server's limit) is
    refused.
    """
    if not isinstance(name, str) or not name:
        raise InvalidObjectNameError(
            f"object name must be a non-empty string, got {name!r}",
            name=name if isinstance(name, str) else None,
        )
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidObjectNameError(f"object name is not valid Unicode: {name!r}") from exc
    if size > MAX_OBJECT_NAME_BYTES:
        raise InvalidObjectNameError(
            f"object name too long ({size} bytes of UTF-8, at most {MAX_OBJECT_NAME_BYTES})",
            name=name[:100],
        )
    return name


def validate_chunk_size(chunk_size: object) -> int:
    """Return ``chunk_size`` if it is a usable chunk size in bytes."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise InvalidArgumentError(f"chunk_size must be an int, got {chunk_size!r}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidArgumentError(
            f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes, got {chunk_size}"
        )
    return chunk_size


def ttl_header(seconds: float) -> str:
    """The ``Nats-TTL`` value for a TTL of ``seconds``: whole seconds, rounded up, so a
    message never leaves before its time (Go duration syntax, as the server parses it)."""
    if seconds < MIN_MESSAGE_TTL_SECONDS:
        raise InvalidArgumentError(f"a message TTL must be at least 1 s, got {seconds} s")
    return f"{-int(-seconds // 1)}s"


def stream_name(bucket: str) -> str:
    """The JetStream stream that holds a bucket."""
    return f"{STREAM_PREFIX}{bucket}"


def bucket_from_stream(stream: str) -> str | None:
    """The bucket a stream name holds, or None if it is not an object store stream."""
    if stream.startswith(STREAM_PREFIX) and _BUCKET_NAME.fullmatch(stream[len(STREAM_PREFIX) :]):
        return stream[len(STREAM_PREFIX) :]
    return None


def chunk_subject_filter(bucket: str) -> str:
    return f"$O.{bucket}.C.>"


def meta_subject_filter(bucket: str) -> str:
    return f"$O.{bucket}.M.>"


def is_nuid(value: object) -> bool:
    """Whether ``value`` is a NUID a peer may have written (see ``_NUID``)."""
    if type(value) is str and len(value) == _NUID_LENGTH and value.isascii():
        return value.isalnum()  # the ASCII letters and digits: [0-9A-Za-z]
    return isinstance(value, str) and _NUID.fullmatch(value) is not None


def chunk_subject(bucket: str, nuid: str) -> str:
    """Subject of every chunk of one put (one NUID per put).

    Raises:
        BadObjectMetaError: ``nuid`` is not a NUID (it came from a bad meta): no subject,
            and so no read or purge, is ever built from it.
    """
    if not is_nuid(nuid):
        raise BadObjectMetaError(f"{nuid!r} is not a NUID: it cannot name a chunk subject")
    return f"$O.{bucket}.C.{nuid}"


def nuid_of_chunk_subject(bucket: str, subject: str) -> str | None:
    """The NUID whose chunks ``subject`` holds, or None if it is not exactly the chunk
    subject of a NUID in ``bucket`` (any client can publish on any ``$O.<bucket>.C.>``
    subject, a wildcard token included: the server stores ``*`` and ``>`` literally)."""
    prefix = f"$O.{bucket}.C."
    nuid = subject[len(prefix) :]
    return nuid if subject.startswith(prefix) and is_nuid(nuid) else None


def encode_name(name: str) -> str:
    """Padded base64url of the UTF-8 name, as nats.go (``base64.URLEncoding``) encodes it."""
    encoded = binascii.b2a_base64(name.encode("utf-8"), newline=False)
    return encoded.translate(_URLSAFE).decode("ascii")


def decode_name(token: str) -> str:
    """Inverse of encode_name; tolerates missing padding, refuses anything else.

    Raises:
        ValueError: ``token`` is not base64url of a non-empty UTF-8 name.
    """
    stripped = token.rstrip("=")
    if not stripped or not re.fullmatch(r"[A-Za-z0-9_-]+", stripped):
        raise ValueError(f"not a base64url object name: {token!r}")
    padded = stripped + "=" * (-len(stripped) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")


def name_of_meta_subject(subject: str, claimed: object = None) -> str:
    """The object name a meta subject ``$O.<bucket>.M.<token>`` stands for.

    ``claimed``, the name the meta's payload gives, is checked by encoding it, which is
    cheaper than decoding the token (listings do this for every object); the token is
    decoded only when it is not the canonical encoding of ``claimed``.

    Raises:
        ValueError: ``subject`` has another shape, or its token is not the base64url of a
            usable object name (a subject with more tokens would otherwise pass for the
            name in its last one).
    """
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "$O" or parts[2] != "M":
        raise ValueError(f"not an object meta subject: {subject!r}")
    validate_bucket_name(parts[1])
    if isinstance(claimed, str) and 0 < len(claimed) <= MAX_OBJECT_NAME_BYTES:
        try:
            if encode_name(claimed) == parts[3]:
                return claimed
        except UnicodeEncodeError:
            pass  # a lone surrogate: decoding the token says what the name is
        if _is_latin1_token(claimed, parts[3]):
            return claimed
    return validate_object_name(decode_name(parts[3]))


def _is_latin1_token(name: str, token: str) -> bool:
    """Whether ``token`` is nats.js's encoding of ``name``: it base64-encodes Latin-1 code
    units (``btoa``), not UTF-8, so its non-ASCII names sit on other subjects than ours.
    Read as the name they claim (a tolerant reader), they list beside ours."""
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") == token.rstrip("=")


def meta_subject(bucket: str, name: str) -> str:
    """Subject of an object's meta message."""
    return f"$O.{bucket}.M.{encode_name(name)}"


def encode_digest(digest: bytes) -> str:
    """``SHA-256=`` plus padded base64url of the raw SHA-256 digest."""
    return DIGEST_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


def is_sha256_digest(value: str) -> bool:
    """Whether ``decode_digest`` reads a SHA-256 digest from ``value`` (cheaply for the
    canonical form, which is almost every digest a listing meets)."""
    return _CANONICAL_DIGEST.fullmatch(value) is not None or decode_digest(value) is not None


def decode_digest(value: str) -> bytes | None:
    """The raw 32-byte digest from a stored digest string, or None if it holds none.

    Tolerant: any case of the ``SHA-256=`` prefix; the value padded or unpadded base64url,
    standard base64, or hex. None means "not a SHA-256 digest" (empty, another algorithm,
    another length), never "nothing to check": callers refuse such a meta.
    """
    if len(value) == _CANONICAL_DIGEST_LENGTH and value.startswith(DIGEST_PREFIX):
        encoded = value[len(DIGEST_PREFIX) :]  # the common case, without the steps below
    else:
        algo, sep, encoded = value.partition("=")
        if not sep or algo.upper() != "SHA-256":
            return None
        encoded = encoded.strip()
        if len(encoded) == 64 and re.fullmatch(r"[0-9a-fA-F]{64}", encoded):
            return bytes.fromhex(encoded)
        stripped = encoded.rstrip("=")
        encoded = stripped.replace("+", "-").replace("/", "_") + "=" * (-len(stripped) % 4)
    try:
        raw = base64.urlsafe_b64decode(encoded)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == hashlib.sha256().digest_size else None


EMPTY_DIGEST = encode_digest(hashlib.sha256(b"").digest())


def go_json(value: Any) -> bytes:
    """Serialise like Go's ``json.Marshal``: compact, raw UTF-8, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group(0)], text).encode("utf-8")


def meta_payload(info: Mapping[str, Any]) -> bytes:
    """The canonical meta message body for an ObjectInfo given as a JSON-ready dict.

    Field order and omission follow nats.go's ``ObjectInfo`` struct tags: ``name``,
    ``description``/``headers``/``metadata``/``options`` (omitempty), ``bucket``, ``nuid``,
    ``size``, ``mtime`` (always the zero time: readers take it from the message),
    ``chunks``, ``digest`` and ``deleted`` (omitempty). Map keys are sorted as Go sorts them.
    Keys nats.go does not know (written by other clients) follow, unchanged.
    """
    out: dict[str, Any] = {"name": info["name"]}
    if info.get("description"):
        out["description"] = info["description"]
    if info.get("headers"):
        out["headers"] = {k: list(v) for k, v in sorted(info["headers"].items())}
    if info.get("metadata"):
        out["metadata"] = dict(sorted(info["metadata"].items()))
    options = info.get("options") or {}
    opts_out: dict[str, Any] = {}
    link = options.get("link")
    if link:
        opts_out["link"] = {"bucket": link["bucket"]}
        if link.get("name"):
            opts_out["link"]["name"] = link["name"]
    if options.get("max_chunk_size"):
        opts_out["max_chunk_size"] = options["max_chunk_size"]
    opts_out.update((k, v) for k, v in options.items() if k not in ("link", "max_chunk_size"))
    if opts_out:
        out["options"] = opts_out
    out["bucket"] = info["bucket"]
    out["nuid"] = info.get("nuid") or ""
    out["size"] = info.get("size") or 0
    out["mtime"] = ZERO_TIME
    out["chunks"] = info.get("chunks") or 0
    if info.get("digest"):
        out["digest"] = info["digest"]
    if info.get("deleted"):
        out["deleted"] = True
    known = {*out, "description", "headers", "metadata", "options", "digest", "deleted"}
    out.update((k, v) for k, v in info.items() if k not in known)
    return go_json(out)


def parse_json(data: bytes | str) -> tuple[Any, bool]:
    """What ``json.loads(data)`` returns, and whether pydantic-core's parser read it (then
    its text is surely valid Unicode: that parser refuses lone surrogates).

    pydantic-core's parser is three times faster on a meta. What it refuses (a lone
    surrogate, escaped or not, a byte order mark, other encodings) goes to ``json.loads``;
    whatever both read, they read alike (checked on generated numbers and strings). Past
    the interpreter's limit on digits a payload could hold a number one parser reads and
    the other refuses: ``json.loads`` decides.

    Raises:
        ValueError: ``data`` is not JSON (also when nested too deep to read, where
            ``json.loads`` alone raises RecursionError).
    """
    limit = sys.get_int_max_str_digits()
    if not limit or len(data) <= limit:
        try:
            return from_json(data), True
        except ValueError:
            pass
    try:
        return json.loads(data), False
    except RecursionError as exc:
        raise ValueError("JSON nested too deep") from exc


def read_json(data: bytes | str) -> Any:
    """``parse_json``'s value: what ``json.loads(data)`` returns, mostly faster.

    Raises:
        ValueError: ``data`` is not JSON.
    """
    return parse_json(data)[0]


_YEAR_10000 = 253_402_300_800  # seconds since the epoch
_second_text: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def timestamp_of_ns(ns: int) -> str:
    """The RFC 3339 UTC text of ``ns`` nanoseconds since the epoch, with all nine digits of
    the fraction (what ``parse_timestamp`` reads back). A consumer's deliveries carry
    their time this way; a scan formats one per object, mostly in the same second as the
    one before, so that second's text is kept. Empty for a time before 1970 or after 9999
    (no server writes one; anyone can publish a forged delivery)."""
    global _second_text
    seconds, fraction = divmod(ns, 1_000_000_000)
    if not 0 <= seconds < _YEAR_10000:
        return ""
    if _second_text[0] != seconds:
        text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_text = (seconds, text)
    return f"{_second_text[1]}.{fraction:09d}Z"


def parse_timestamp(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp with up to nanosecond precision; None if malformed."""
    if not value:
        return None
    if len(value) >= 20 and value[-1] == "Z" and value[10] == "T" and value[19] in ".Z":
        # The server's form (and nats.go's): the same text as below, without the regex.
        # Python (3.11+) reads it as it is: "Z" as UTC, the fraction cut to microseconds.
        fraction = value[20:-1]
        if len(value) == 20 or (value[19] == "." and fraction.isascii() and fraction.isdigit()):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python accepts at most 6 fractional digits.
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)", text)
    if match is None:
        return None
    head, frac, tail = match.groups()
    text = head + (frac[:7] if frac else "") + tail
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stream_config(
    *,
    bucket: str,
    description: str | None,
    ttl_ns: int,
    max_bytes: int | None,
    storage: str,
    replicas: int,
    compression: bool,
    atomic_puts: bool = False,
    batched_puts: bool = False,
    message_ttl: bool = False,
    placement: Mapping[str, Any] | None,
    metadata: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The stream config a bucket is created with, as nats.go's ``prepareObjectStoreConfig``.

    Only fields every server since 2.10 knows are sent (2.12+ rejects unknown fields).
    """
    config: dict[str, Any] = {"name": stream_name(bucket)}
    if description:
        config["description"] = description
    config.update(
        {
            "subjects": [chunk_subject_filter(bucket), meta_subject_filter(bucket)],
            "max_age": ttl_ns,
            "max_bytes": max_bytes if max_bytes else -1,
            "storage": storage,
            "num_replicas": replicas or 1,
            "discard": "new",
            "allow_rollup_hdrs": True,
            "allow_direct": True,
        }
    )
    if compression:
        config["compression"] = "s2"
    if atomic_puts:
        config["allow_atomic"] = True  # server 2.12+
    if batched_puts:
        config["allow_batched"] = True  # server 2.14+
    if message_ttl:
        # Server 2.11+; once set it can never be unset. The markers let watchers see an
        # expiry as a deletion.
        config["allow_msg_ttl"] = True
        config["subject_delete_marker_ttl"] = DELETE_MARKER_TTL_NS
    if placement:
        config["placement"] = dict(placement)
    if metadata:
        config["metadata"] = dict(metadata)
    return config
