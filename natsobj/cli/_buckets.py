"""``natsobj bucket ...``: create, list, inspect, seal and delete buckets."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import click

import natsobj

from ._connect import Settings, open_manager, open_store
from ._errors import CliError, ExitCode, classify, one_line
from ._options import bucket_argument, global_options, json_option, pass_settings
from ._output import (
    bucket_json,
    emit_json,
    print_buckets,
    print_status,
)
from ._parse import DURATION, KEY_VALUE, SIZE
from ._run import Reported, error, run

__all__ = ["bucket", "bucket_status", "list_buckets"]


@click.group()
def bucket() -> None:
    """Create, list, inspect, seal and delete buckets."""


@bucket.command("add")
@click.argument("name", metavar="BUCKET")
@click.option("-d", "--description", help="What the bucket is for.")
@click.option(
    "--ttl",
    type=DURATION,
    help="Objects expire this long after they were written (e.g. 90s, 10m, 1h, 7d). "
    "[default: never]",
)
@click.option(
    "--max-bytes",
    type=SIZE,
    help="Size limit of the bucket (e.g. 512MiB, 10MB, 1GiB). [default: unlimited]",
)
@click.option(
    "--storage",
    type=click.Choice(["file", "memory"]),
    default="file",
    show_default=True,
    help="Where the server keeps the data.",
)
@click.option(
    "-R",
    "--replicas",
    type=click.IntRange(1, 5),
    default=1,
    show_default=True,
    help="Copies kept in a cluster.",
)
@click.option(
    "--compression/--no-compression",
    default=False,
    show_default=True,
    help="Compress the stored data (S2).",
)
@click.option(
    "-m", "--metadata", type=KEY_VALUE, multiple=True, help="Bucket metadata (repeatable)."
)
@click.option("--placement-cluster", metavar="CLUSTER", help="Place the bucket in this cluster.")
@click.option(
    "--placement-tag", metavar="TAG", multiple=True, help="Place on servers with this tag."
)
@click.option(
    "--atomic-puts",
    is_flag=True,
    help="Write small objects as atomic batches (nats-server 2.12+; irreversible).",
)
@click.option(
    "--batched-puts",
    is_flag=True,
    help="Write chunks as flow-controlled fast-ingest batches (nats-server 2.14+).",
)
@json_option
@global_options()
@pass_settings
def bucket_add(
    settings: Settings,
    name: str,
    description: str | None,
    ttl: float | None,
    max_bytes: int | None,
    storage: str,
    replicas: int,
    compression: bool,
    metadata: tuple[tuple[str, str], ...],
    placement_cluster: str | None,
    placement_tag: tuple[str, ...],
    atomic_puts: bool,
    batched_puts: bool,
    as_json: bool,
) -> None:
    """Create a bucket (or open it, if it exists with the same configuration)."""
    placement: dict[str, Any] | None = None
    if placement_cluster or placement_tag:
        placement = {"cluster": placement_cluster, "tags": list(placement_tag)}

    async def go() -> None:
        async with open_manager(settings) as manager:
            with _exists_as_conflict(name):
                store = await manager.create_object_store(
                    name,
                    description=description,
                    ttl=ttl or None,
                    max_bytes=max_bytes,
                    storage=storage,
                    replicas=replicas,
                    placement=placement,
                    compression=compression,
                    metadata=dict(metadata) or None,
                    atomic_puts=atomic_puts,
                    batched_puts=batched_puts,
                )
            status = await store.status()
        if as_json:
            emit_json(bucket_json(status))
        elif not settings.quiet:
            print_status(status)

    run(go)


@contextlib.contextmanager
def _exists_as_conflict(name: str) -> Iterator[None]:
    try:
        yield
    except natsobj.BucketExistsError as exc:
        raise CliError(
            f"bucket {name!r} already exists with a different configuration",
            ExitCode.CONFLICT,
        ) from exc


@bucket.command("ls")
@json_option
@global_options()
@pass_settings
def bucket_ls(settings: Settings, as_json: bool) -> None:
    """List the buckets."""
    run(lambda: list_buckets(settings, as_json))


async def list_buckets(settings: Settings, as_json: bool) -> None:
    async with open_manager(settings) as manager:
        statuses = await manager.object_store_statuses()
    if as_json:
        emit_json([bucket_json(status) for status in statuses])
    else:
        print_buckets(statuses)


@bucket.command("info")
@bucket_argument
@json_option
@global_options()
@pass_settings
def bucket_info(settings: Settings, bucket: str, as_json: bool) -> None:
    """Show a bucket's configuration and usage."""
    run(lambda: bucket_status(settings, bucket, as_json))


async def bucket_status(settings: Settings, bucket: str, as_json: bool) -> None:
    async with open_store(settings, bucket) as store:
        status = await store.status()
    if as_json:
        emit_json(bucket_json(status))
    else:
        print_status(status)


def _confirm(question: str, force: bool) -> None:
    if not force and sys.stdin.isatty():
        click.confirm(question, abort=True)


@bucket.command("rm")
@click.argument("buckets", nargs=-1, required=True, metavar="BUCKET...")
@click.option("-f", "--force", is_flag=True, help="Do not ask (asked only on a terminal).")
@global_options()
@pass_settings
def bucket_rm(settings: Settings, buckets: tuple[str, ...], force: bool) -> None:
    """Delete buckets and every object in them."""
    listed = ", ".join(buckets)
    _confirm(f"Delete bucket(s) {listed} and every object in them?", force)

    async def go() -> None:
        failed: list[ExitCode] = []
        async with open_manager(settings) as manager:
            for name in buckets:
                try:
                    await manager.delete_object_store(name)
                except natsobj.ObjectStoreError as exc:
                    code = classify(exc)
                    if code == ExitCode.UNREACHABLE:
                        raise
                    error(one_line(str(exc)))
                    failed.append(code)
                    continue
                if not settings.quiet:
                    click.echo(f"deleted bucket {name}")
        if failed:
            raise Reported(failed[0])

    run(go)


@bucket.command("seal")
@bucket_argument
@click.option("-f", "--force", is_flag=True, help="Do not ask (asked only on a terminal).")
@json_option
@global_options()
@pass_settings
def bucket_seal(settings: Settings, bucket: str, force: bool, as_json: bool) -> None:
    """Seal a bucket: read-only from now on, for good."""
    _confirm(f"Seal bucket {bucket}? It cannot be unsealed.", force)

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            status = await store.seal()
        if as_json:
            emit_json(bucket_json(status))
        elif not settings.quiet:
            click.echo(f"sealed bucket {bucket}")

    run(go)
