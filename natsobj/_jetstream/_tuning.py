"""The two nats-py patches that depend on its version: the socket read size and the
header parser. Both are checked against nats-py by tests/unit/test_header_parsing.py;
a nats-py upgrade that changes what they replace shows there first."""

from __future__ import annotations

import re

import nats.aio.client

__all__ = ["READ_BUFFER_SIZE", "parse_header_lines", "speed_up_header_parsing", "tune_nats_reads"]

# nats-py reads the socket 32 KiB at a time; at object-store rates that costs more in
# per-read overhead than the bytes themselves (measured: 1 MiB reads make a 256 MiB get
# 15-25% faster). The setting is nats-py's module global, read on every socket read.
READ_BUFFER_SIZE = 1024 * 1024


def tune_nats_reads() -> None:
    """Make nats-py read up to READ_BUFFER_SIZE per socket read, if nobody changed it."""
    if nats.aio.client.DEFAULT_BUFFER_SIZE == 32768:
        nats.aio.client.DEFAULT_BUFFER_SIZE = READ_BUFFER_SIZE


_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """The headers of a message's header block, exactly as nats-py 2.16's own parser reads
    them, without its per-character generator over every header name: that generator
    was 56% of the client's CPU when listing a bucket (every Direct Get reply carries six
    or more headers). The library's one header parser: a stored message's header block
    (``NATS/1.0`` first, a line without a colon) is read with it too."""
    headers: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue  # nats-py drops names that are not ASCII
        if _WHITESPACE.search(key):
            continue  # nor names with whitespace inside
        headers[key] = value.strip().decode("utf-8", "replace")
    return headers


def speed_up_header_parsing(nc: nats.aio.client.Client) -> None:
    """Give this connection ``parse_header_lines`` in place of nats-py's own parser.

    Only where nats-py uses that parser (not its optional fast_mail_parser path) and has
    the static method this replaces; the unit tests check both give the same result.
    """
    native = getattr(type(nc), "_parse_header_lines", None)
    if native is not None and getattr(nats.aio.client, "parse_email", None) is None:
        nc._parse_header_lines = parse_header_lines  # type: ignore[method-assign]
