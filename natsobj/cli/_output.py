"""What the commands print: JSON documents with stable keys, human sizes, rich tables.

rich is imported only by the functions that draw, so commands that print JSON or nothing
start faster.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

import natsobj

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

__all__ = [
    "bucket_json",
    "emit_json",
    "emit_json_line",
    "human_duration",
    "human_size",
    "human_time",
    "object_json",
    "print_buckets",
    "print_object",
    "print_objects",
    "print_pairs",
    "print_status",
    "printable",
    "short_digest",
    "stdout_console",
]


# --------------------------------------------------------------------------- JSON


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def object_json(info: natsobj.ObjectInfo) -> dict[str, Any]:
    """An object as the CLI's JSON shows it (keys documented in docs/cli.md)."""
    link = info.link
    return {
        "bucket": info.bucket,
        "name": info.name,
        "description": info.description,
        "size": info.size,
        "chunks": info.chunks,
        "chunk_size": info.chunk_size,
        "digest": info.digest,
        "mtime": _timestamp(info.mtime),
        "deleted": info.deleted,
        "nuid": info.nuid,
        "revision": info.revision,
        "headers": {key: list(values) for key, values in info.headers.items()},
        "metadata": dict(info.metadata),
        "link": None if link is None else {"bucket": link.bucket, "name": link.name or None},
    }


def bucket_json(status: natsobj.ObjectStoreStatus) -> dict[str, Any]:
    """A bucket's status as the CLI's JSON shows it (keys documented in docs/cli.md)."""
    config = status.stream_info.get("config", {}) if status.stream_info else {}
    state = status.stream_info.get("state", {}) if status.stream_info else {}
    max_bytes = config.get("max_bytes", -1)
    placement = config.get("placement") or None
    return {
        "bucket": status.bucket,
        "description": status.description,
        "ttl_seconds": status.ttl.total_seconds() if status.ttl else None,
        "max_bytes": max_bytes if isinstance(max_bytes, int) and max_bytes >= 0 else None,
        "storage": status.storage,
        "replicas": status.replicas,
        "compression": status.compressed,
        "sealed": status.sealed,
        "size": status.size,
        "messages": int(state.get("messages", 0) or 0),
        "atomic_puts": status.atomic_puts,
        "batched_puts": status.batched_puts,
        "message_ttl": status.message_ttl,
        "public": status.public,
        "file_size_limit": status.file_size_limit,
        "allowed_mime_types": status.allowed_mime_types,
        "placement": (
            {"cluster": placement.get("cluster"), "tags": list(placement.get("tags") or [])}
            if isinstance(placement, dict)
            else None
        ),
        "metadata": dict(status.metadata),
        "backing_store": status.backing_store,
        "stream": f"OBJ_{status.bucket}",
    }


def emit_json(data: Any) -> None:
    """One JSON document on stdout, indented."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def emit_json_line(data: Any) -> None:
    """One JSON document on one line of stdout, flushed at once (for ``watch``)."""
    click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    sys.stdout.flush()


# --------------------------------------------------------------------------- human text

# Bidirectional overrides and isolates: they reorder what a terminal shows around them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe to show on a terminal, as escapes (``\\x1b``, ``\\n``, ``\\u202e``)
    for control characters, line separators and bidirectional overrides.

    Object names, descriptions and metadata come from the wire, where any client may have
    put escape sequences that would rewrite the screen, or newlines that forge output lines.
    JSON output needs none of this: it escapes them itself.
    """
    if text.isprintable():
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_size(size: int | float) -> str:
    """``1536`` -> ``"1.5 KiB"`` (binary units, as the size options accept them)."""
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_duration(value: timedelta | float | None) -> str:
    """``5400`` -> ``"1h30m"``; ``None`` -> ``"-"``."""
    if value is None:
        return "-"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    parts = []
    rest = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def human_time(value: datetime | None) -> str:
    """Local time to the second, or ``"-"``."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_digest(digest: str, length: int = 12) -> str:
    """The first characters of the base64 part of ``SHA-256=...``."""
    _, _, value = digest.partition("=")
    return (value or digest)[:length]


def _link_text(info: natsobj.ObjectInfo) -> str:
    link = info.link
    if link is None:
        return ""
    text = f"bucket {link.bucket}" if link.is_bucket_link else f"{link.bucket}/{link.name}"
    return printable(text)


# --------------------------------------------------------------------------- rich


def stdout_console() -> Console:
    """A console on stdout; not a terminal means no colours and no width limit."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=10_000, no_color=True)


def _print(renderable: RenderableType) -> None:
    stdout_console().print(renderable)


def print_objects(infos: Sequence[natsobj.ObjectInfo], bucket: str) -> None:
    """The ``ls`` table: name, size, modified, chunks, short digest."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, caption_justify="left")
    table.add_column("Name", overflow="fold")
    table.add_column("Size", justify="right", no_wrap=True)
    table.add_column("Modified", no_wrap=True)
    table.add_column("Chunks", justify="right", no_wrap=True)
    table.add_column("Digest", no_wrap=True)
    total = 0
    for info in infos:
        name = Text(printable(info.name))
        if info.deleted:
            name.append(" (deleted)", style="red")
            size = Text("-")
        elif info.is_link:
            name.append(f" -> {_link_text(info)}", style="cyan")
            size = Text("link", style="cyan")
        else:
            size = Text(human_size(info.size))
            total += info.size
        table.add_row(
            name,
            size,
            human_time(info.mtime),
            "-" if info.is_link or info.deleted else str(info.chunks),
            short_digest(info.digest) if info.digest else "-",
        )
    count = len(infos)
    table.caption = (
        f"{count} object{'' if count == 1 else 's'}, {human_size(total)} in bucket {bucket}"
    )
    _print(table)


def _kv_table(rows: Sequence[tuple[str, str]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, Text(printable(value)))
    return table


def _mapping_text(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) if values else "-"


def print_object(info: natsobj.ObjectInfo) -> None:
    """``info BUCKET NAME``: every field of an object."""
    rows: list[tuple[str, str]] = [
        ("Name", info.name),
        ("Bucket", info.bucket),
    ]
    if info.is_link:
        rows.append(("Link to", _link_text(info)))
    else:
        rows += [
            ("Size", f"{human_size(info.size)} ({info.size} bytes)"),
            ("Chunks", f"{info.chunks} (up to {human_size(info.chunk_size or 0)} each)"),
            ("Digest", info.digest or "-"),
        ]
    rows += [
        ("Modified", human_time(info.mtime)),
        ("Description", info.description or "-"),
        ("Headers", "; ".join(f"{k}: {', '.join(v)}" for k, v in info.headers.items()) or "-"),
        ("Metadata", _mapping_text(info.metadata)),
        ("NUID", info.nuid or "-"),
        ("Revision", str(info.revision)),
    ]
    if info.deleted:
        rows.append(("Deleted", "yes"))
    _print(_kv_table(rows))


def print_status(status: natsobj.ObjectStoreStatus) -> None:
    """``bucket info``: a bucket's configuration and usage."""
    data = bucket_json(status)
    placement = data["placement"]
    rows: list[tuple[str, str]] = [
        ("Bucket", status.bucket),
        ("Description", status.description or "-"),
        ("Size", f"{human_size(status.size)} in {data['messages']} messages"),
        ("TTL", human_duration(status.ttl) if status.ttl else "none"),
        ("Max bytes", _limit(data["max_bytes"])),
        ("Storage", status.storage),
        ("Replicas", str(status.replicas)),
        ("Compression", "s2" if status.compressed else "none"),
        ("Sealed", "yes" if status.sealed else "no"),
        ("Atomic puts", "yes" if status.atomic_puts else "no"),
        ("Batched puts", "yes" if status.batched_puts else "no"),
        ("Object TTLs", "yes" if status.message_ttl else "no"),
        ("Public", "yes" if status.public else "no"),
        ("File size limit", _limit(status.file_size_limit)),
        ("MIME types", ", ".join(status.allowed_mime_types or ["any"])),
        ("Metadata", _mapping_text(status.metadata)),
    ]
    if placement is not None:
        tags = ",".join(placement["tags"]) or "-"
        rows.append(("Placement", f"cluster {placement['cluster'] or '-'}, tags {tags}"))
    rows.append(("Stream", data["stream"]))
    _print(_kv_table(rows))


def _limit(size: int | None) -> str:
    return "none" if size is None else human_size(size)


def print_buckets(statuses: Sequence[natsobj.ObjectStoreStatus]) -> None:
    """``bucket ls``: one row per bucket."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, caption_justify="left")
    table.add_column("Bucket", no_wrap=True)
    table.add_column("Description", overflow="fold")
    table.add_column("Size", justify="right", no_wrap=True)
    table.add_column("TTL", justify="right", no_wrap=True)
    table.add_column("Storage", no_wrap=True)
    table.add_column("Replicas", justify="right", no_wrap=True)
    table.add_column("Sealed", no_wrap=True)
    for status in statuses:
        table.add_row(
            Text(status.bucket),
            Text(printable(status.description)),
            human_size(status.size),
            human_duration(status.ttl) if status.ttl else "-",
            status.storage,
            str(status.replicas),
            "sealed" if status.sealed else "",
        )
    count = len(statuses)
    table.caption = f"{count} bucket{'' if count == 1 else 's'}"
    _print(table)


def print_pairs(rows: Sequence[tuple[str, str]]) -> None:
    """A two-column key/value table."""
    _print(_kv_table(rows))
