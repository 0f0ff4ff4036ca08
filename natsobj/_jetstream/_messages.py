"""Messages as natsobj reads and sends them: what a publish accepts, a stored message,
and the headers and status codes the server's answers carry."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, TypeAlias

from nats.aio.msg import Msg

from .._errors import JetStreamAPIError
from ._tuning import parse_header_lines

__all__ = [
    "Msg",
    "Payload",
    "StoredMsg",
    "direct_get_failed",
    "header",
    "header_size",
    "status",
    "stored_from_api",
    "stored_from_direct",
]

# What may be published: memoryviews of immutable bytes save a copy per chunk (nats-py
# concatenates the payload into its protocol command either way).
Payload: TypeAlias = bytes | memoryview

STATUS = "Status"
NO_HEADERS: Mapping[str, str] = MappingProxyType({})
DESCRIPTION = "Description"


class StoredMsg(NamedTuple):
    """A message read back from a stream (a tuple: a scan builds 100,000 of them, three
    times faster than a frozen dataclass)."""

    subject: str
    seq: int
    time: str
    data: bytes
    headers: Mapping[str, str] = NO_HEADERS


def status(msg: Msg) -> str | None:
    """The status code of a server answer (``"404"``, ...), None on a plain message."""
    return msg.headers.get(STATUS) if msg.headers else None


def header(msg: Msg, key: str, default: str = "") -> str:
    return msg.headers.get(key, default) if msg.headers else default


def direct_get_failed(msg: Msg, code: str, *, bucket: str | None) -> JetStreamAPIError:
    """The error for a Direct Get answered with an unexpected status ``code``."""
    return JetStreamAPIError(
        f"direct get failed: {code} {header(msg, DESCRIPTION)}",
        code=int(code) if code.isdigit() else 0,
        bucket=bucket,
    )


def stored_from_direct(msg: Msg) -> StoredMsg:
    """A StoredMsg from a Direct Get reply (stream info travels in headers)."""
    headers = msg.headers or {}
    return StoredMsg(
        subject=headers.get("Nats-Subject", ""),
        seq=int(headers.get("Nats-Sequence", "0")),
        time=headers.get("Nats-Time-Stamp", ""),
        data=msg.data,
        headers=headers,
    )


def stored_from_api(answer: Mapping[str, Any]) -> StoredMsg:
    """A StoredMsg from a ``STREAM.MSG.GET`` answer (base64 data and header block)."""
    try:
        raw = answer["message"]
        hdrs = raw.get("hdrs")
        return StoredMsg(
            subject=str(raw["subject"]),
            seq=int(raw["seq"]),
            time=str(raw.get("time", "")),
            data=base64.b64decode(raw.get("data", "")),
            headers=parse_header_lines(base64.b64decode(hdrs)) if hdrs else {},
        )
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise JetStreamAPIError(f"unreadable stored message: {str(answer)[:200]}") from exc


def header_size(headers: Mapping[str, str]) -> int:
    """Bytes of the header block nats-py sends for ``headers`` (``NATS/1.0``, a
    ``Key: value`` line each, a blank line)."""
    lines = sum(len(k.strip().encode()) + len(v.strip().encode()) + 4 for k, v in headers.items())
    return len(b"NATS/1.0\r\n") + lines + 2
