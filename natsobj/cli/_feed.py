"""``natsobj feed ...``: list, inspect, reset and delete a bucket's durable change feeds
(``natsobj watch --durable NAME`` reads one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

import natsobj

from ._connect import Settings, open_store
from ._options import bucket_argument, global_options, json_option, pass_settings
from ._output import emit_json, human_duration, human_time, print_pairs, printable
from ._run import run

__all__ = ["feed"]


@click.group()
def feed() -> None:
    """List, inspect, reset and delete durable change feeds (see `watch --durable`)."""


def feed_json(info: natsobj.FeedInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "bucket": info.bucket,
        "pending": info.pending,
        "ack_pending": info.ack_pending,
        "redelivered": info.redelivered,
        "waiting": info.waiting,
        "last_acked": info.last_acked,
        "last_delivered": info.last_delivered,
        "created": info.created.isoformat() if info.created else None,
        "ack_wait": info.ack_wait.total_seconds(),
        "exclusive": info.exclusive,
        "pinned": info.pinned,
    }


def _print_feed(info: natsobj.FeedInfo) -> None:
    exclusive = "yes" if info.exclusive else "no"
    if info.pinned:
        exclusive += f" (pinned: {printable(info.pinned)})"
    print_pairs(
        [
            ("feed", printable(info.name)),
            ("bucket", info.bucket),
            ("pending", str(info.pending)),
            ("unacknowledged", str(info.ack_pending)),
            ("redelivered", str(info.redelivered)),
            ("replicas waiting", str(info.waiting)),
            ("last acknowledged revision", str(info.last_acked)),
            ("last delivered revision", str(info.last_delivered)),
            ("created", human_time(info.created)),
            ("ack wait", human_duration(info.ack_wait)),
            ("exclusive", exclusive),
        ]
    )


name_argument = click.argument("name")


@feed.command("ls")
@bucket_argument
@json_option
@global_options()
@pass_settings
def feed_ls(settings: Settings, bucket: str, as_json: bool) -> None:
    """List BUCKET's change feeds: pending and unacknowledged events of each."""

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            feeds = await store.feeds()
        if as_json:
            emit_json([feed_json(found) for found in feeds])
            return
        for found in feeds:
            click.echo(
                f"{printable(found.name)}  pending {found.pending}"
                f"  unacknowledged {found.ack_pending}  last acked {found.last_acked}"
            )

    run(go)


@feed.command("info")
@bucket_argument
@name_argument
@json_option
@global_options()
@pass_settings
def feed_info(settings: Settings, bucket: str, name: str, as_json: bool) -> None:
    """Show feed NAME of BUCKET: pending, redelivered, last acknowledged revision."""

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            found = await store.feed_info(name)
        if as_json:
            emit_json(feed_json(found))
        else:
            _print_feed(found)

    run(go)


def _position(text: str) -> int | datetime:
    # ASCII digits (isdigit alone takes "²", which int refuses), an int64 at most.
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is neither a revision nor an ISO 8601 time", param_hint="--to"
        ) from exc
    if when.tzinfo is None:
        when = when.astimezone()  # a local time
    return when


@feed.command("reset")
@bucket_argument
@name_argument
@click.option(
    "--to",
    "to",
    required=True,
    help="A revision (the next event is the first at or after it) or an ISO 8601 time"
    " (e.g. 2026-12-04T10:00:00Z; without a zone: local time).",
)
@json_option
@global_options()
@pass_settings
def feed_reset(settings: Settings, bucket: str, name: str, to: str, as_json: bool) -> None:
    """Move feed NAME of BUCKET back or forward to a revision or a time."""
    position = _position(to)

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            found = await store.reset_feed(name, position)
        if as_json:
            emit_json(feed_json(found))
        elif not settings.quiet:
            click.echo(f"feed {printable(name)}: {found.pending} events pending")

    run(go)


@feed.command("rm")
@bucket_argument
@name_argument
@global_options()
@pass_settings
def feed_rm(settings: Settings, bucket: str, name: str) -> None:
    """Delete feed NAME of BUCKET (its position is lost)."""

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            await store.delete_feed(name)
        if not settings.quiet:
            click.echo(f"deleted feed {printable(name)}")

    run(go)
