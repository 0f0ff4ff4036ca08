"""The two nats-py patches that depend on its version: the socket read size and the
header parser. Both are checked against nats-py by tests/unit/test_header_parsing.py;
a nats-py upgrade that changes what they replace shows there first. And one nudge to the
C allocator for the way nats-py copies what it publishes."""

from __future__ import annotations

import re

import nats.aio.client

__all__ = [
    "ALLOCATOR_WARMUP_BYTES",
    "READ_BUFFER_SIZE",
    "parse_header_lines",
    "raise_heap_trim_threshold",
    "speed_up_header_parsing",
    "tune_nats_reads",
]

# nats-py reads the socket 32 KiB at a time; at object-store rates that costs more in
# per-read overhead than the bytes themselves (measured: 1 MiB reads make a 256 MiB get
# 15-25% faster). The setting is nats-py's module global, read on every socket read, and
# at connect time as the limit of the connection's asyncio stream buffer: left at 32 KiB
# there, asyncio stops and restarts reading the socket (two epoll_ctl calls, each a GIL
# hand-over) for nearly every read, so it is set before the first connect.
READ_BUFFER_SIZE = 1024 * 1024


def tune_nats_reads() -> None:
    """Make nats-py read up to READ_BUFFER_SIZE per socket read, if nobody changed it."""
    if nats.aio.client.DEFAULT_BUFFER_SIZE == 32768:
        nats.aio.client.DEFAULT_BUFFER_SIZE = READ_BUFFER_SIZE


# glibc gives freed memory at the top of its heap back to the OS once there is twice its
# mmap threshold of it; that threshold starts at 128 KiB and rises to the size of the
# largest mmapped block freed (up to 32 MiB). nats-py copies every message it publishes
# twice (into its PUB command, then into one write of its ~2 MiB of pending commands), so
# a put of 128 KiB chunks frees about 4 MiB per flush: right at that edge. Over it, the
# heap shrinks and regrows at every flush and each page is faulted in again (measured:
# ~32k page faults and 1.8x the client CPU per 64 MiB fast-ingest put); whether a process
# lands over it or not was chance. One freed block of this size lifts the threshold above
# any flush for the rest of the process (the heap may then keep up to twice this free).
ALLOCATOR_WARMUP_BYTES = 8 * 1024 * 1024


def raise_heap_trim_threshold() -> None:
    """Raise glibc's dynamic mmap and trim thresholds (see ALLOCATOR_WARMUP_BYTES); with
    other allocators, one short-lived allocation and nothing else."""
    # bytes(n) is calloc'd: mapped and unmapped without a page being touched.
    bytes(ALLOCATOR_WARMUP_BYTES)


_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts


# Header blocks that repeat (a consumer delivers each meta with the same one) are parsed
# once: up to this many, forgotten all at once when full. Direct Get replies, unique by
# their sequence header, are not kept.
_REPEATED_MAX = 256
_repeated: dict[bytes, tuple[tuple[str, str], ...]] = {}


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """The headers of a message's header block, exactly as nats-py 2.16's own parser reads
    them, without its per-character generator over every header name: that generator
    was 56% of the client's CPU when listing a bucket (every Direct Get reply carries six
    or more headers). The library's one header parser: a stored message's header block
    (``NATS/1.0`` first, a line without a colon) is read with it too. A block seen before
    (see ``_REPEATED_MAX``) costs a dict lookup: a fresh dict each time."""
    known = _repeated.get(raw)
    if known is not None:
        return dict(known)
    headers = _parse_header_lines(raw)
    if b"Nats-Sequence:" not in raw:
        if len(_repeated) >= _REPEATED_MAX:
            _repeated.clear()
        _repeated[raw] = tuple(headers.items())
    return headers


_BYTES_WHITESPACE = " \t\n\r\x0b\x0c"  # what bytes.strip() strips


def _parse_header_lines(raw: bytes) -> dict[str, str]:
    if not raw.isascii():
        return _parse_any_header_lines(raw)
    # ASCII (every block the server writes): decoded once, the same rules on str.
    headers: dict[str, str] = {}
    for line in raw.decode("ascii").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip(_BYTES_WHITESPACE)
        if (not key.isprintable() or " " in key) and _WHITESPACE.search(key):
            continue
        headers[key] = value.strip(_BYTES_WHITESPACE)
    return headers


def _parse_any_header_lines(raw: bytes) -> dict[str, str]:
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
