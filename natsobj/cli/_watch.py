"""``natsobj watch`` (changes as they happen) and ``natsobj sweep`` (orphan chunks)."""

from __future__ import annotations

import sys

import click

from natsobj import ObjectInfo

from ._connect import Settings, open_store
from ._options import bucket_argument, global_options, json_option, pass_settings
from ._output import (
    emit_json,
    emit_json_line,
    human_duration,
    human_size,
    human_time,
    object_json,
    printable,
)
from ._parse import DURATION
from ._run import run

__all__ = ["sweep", "watch"]


def _event(info: ObjectInfo) -> str:
    if info.deleted:
        return "delete"
    if info.is_link:
        return "link"
    return "put"


@click.command()
@bucket_argument
@click.option("--history", is_flag=True, help="Replay every change, not only current objects.")
@click.option("--updates-only", is_flag=True, help="Only changes from now on.")
@click.option("--ignore-deletes", is_flag=True, help="Leave out deletions.")
@click.option(
    "--durable",
    metavar="NAME",
    help="Read durable feed NAME (created if missing: from now on, or every stored change"
    " with --history), acknowledging each change once printed: a later run goes on after"
    " it, and runs with the same NAME share the changes. See `natsobj feed`.",
)
@json_option
@global_options()
@pass_settings
def watch(
    settings: Settings,
    bucket: str,
    history: bool,
    updates_only: bool,
    ignore_deletes: bool,
    durable: str | None,
    as_json: bool,
) -> None:
    """Print changes to BUCKET's objects as they happen, until Ctrl-C.

    First the current objects (every change with --history), then a line saying the
    watch is up to date, then live changes. Objects deleted before the watch started
    are not current: only --history shows their deletion. A lost server ends it with an
    error (exit code 4) within --timeout.
    """
    if history and updates_only:
        raise click.UsageError("--history and --updates-only cannot be combined")
    if durable is not None:
        _watch_feed(settings, bucket, durable, history, ignore_deletes, as_json)
        return

    async def go() -> None:
        async with (
            open_store(settings, bucket) as store,
            store.watch(
                include_history=history,
                ignore_deletes=ignore_deletes,
                updates_only=updates_only,
            ) as watcher,
        ):
            initial = not updates_only
            if updates_only:
                _synced(as_json, settings.quiet)
            async for found in watcher:
                if found is None:
                    initial = False
                    _synced(as_json, settings.quiet)
                elif initial and found.deleted and not history:
                    continue  # the tombstone of an object deleted before: not a change
                elif as_json:
                    emit_json_line({"event": _event(found), **object_json(found)})
                else:
                    _print_event(found)

    run(go, stop_is_success=True)


def _watch_feed(
    settings: Settings, bucket: str, name: str, history: bool, ignore_deletes: bool, as_json: bool
) -> None:
    """``watch --durable``: print the events of feed ``name``, acknowledging each."""

    async def go() -> None:
        async with (
            open_store(settings, bucket) as store,
            store.changes(
                name,
                deliver="all" if history else "new",
                kinds=("put", "link") if ignore_deletes else None,
            ) as feed,
        ):
            if not as_json and not settings.quiet:
                click.echo(f"-- reading feed {printable(name)} (Ctrl-C to stop) --", err=True)
            async for event in feed:
                if as_json:
                    emit_json_line(
                        {"event": event.kind, "revision": event.revision, **object_json(event.info)}
                    )
                else:
                    _print_event(event.info, event.kind)
                await event.ack()

    run(go, stop_is_success=True)


def _synced(as_json: bool, quiet: bool) -> None:
    if as_json:
        emit_json_line({"event": "synced"})
    elif not quiet:
        click.echo("-- up to date, watching for changes (Ctrl-C to stop) --", err=True)


def _print_event(info: ObjectInfo, event: str | None = None) -> None:
    event = event or _event(info)
    if event == "put":
        detail = human_size(info.size)
    elif event == "link" and info.link is not None:
        target = info.link
        detail = f"-> {target.bucket}" + (f"/{target.name}" if target.name else " (bucket)")
        detail = printable(detail)
    else:
        detail = ""
    name = printable(info.name)
    click.echo(f"{human_time(info.mtime)}  {event.upper():<6}  {name}  {detail}".rstrip())
    sys.stdout.flush()


# --------------------------------------------------------------------------- sweep


@click.command(short_help="Find and purge orphan chunks.")
@bucket_argument
@click.option("--dry-run", is_flag=True, help="Report what would be purged; purge nothing.")
@click.option(
    "--grace",
    type=DURATION,
    default="1h",
    show_default=True,
    help="Leave chunks younger than this alone (puts in progress), e.g. 10m, 2h.",
)
@json_option
@global_options()
@pass_settings
def sweep(settings: Settings, bucket: str, dry_run: bool, grace: float, as_json: bool) -> None:
    """Purge chunks that no object in BUCKET references (left by crashed writers).

    Safe while others write: chunks written within --grace are never touched.
    """

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            report = await store.sweep_orphans(grace=grace, dry_run=dry_run)
        if as_json:
            emit_json(
                {
                    **report.model_dump(mode="json", exclude={"grace"}),
                    "grace": report.grace.total_seconds(),
                    "messages": report.messages,
                    "bytes": report.bytes,
                }
            )
            return
        if settings.quiet:
            return
        verb = "would purge" if dry_run else "purged"
        for orphan in report.orphans:
            size = human_size(orphan.bytes)
            click.echo(
                f"{verb} {printable(orphan.nuid)}  {orphan.messages} chunks  {size}"
                f"  last written {human_time(orphan.newest)}"
            )
        click.echo(
            f"{bucket}: {len(report.orphans)} orphan(s), {report.messages} chunks,"
            f" {human_size(report.bytes)} {verb if report.orphans else 'to purge'};"
            f" {report.live_objects} live objects, {report.recent} recent unreferenced"
            f" (younger than {human_duration(report.grace)})"
        )

    run(go)
