"""``natsobj bucket ...``: create, list, inspect, change, seal and delete buckets."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
from click.core import ParameterSource

import natsobj

from ._connect import Settings, open_bucket, open_manager, open_store
from ._errors import CliError, ExitCode, classify, one_line
from ._options import F, bucket_argument, global_options, json_option, pass_settings
from ._output import bucket_json, emit_json, print_buckets, print_status
from ._parse import DURATION, KEY_VALUE, LIMIT
from ._run import report, run

__all__ = ["bucket", "bucket_status", "list_buckets"]


@click.group()
def bucket() -> None:
    """Create, list, inspect, change, seal and delete buckets."""


def _setting_options(*, update: bool) -> Callable[[F], F]:
    """The bucket settings ``bucket add`` sets and ``bucket update`` changes (there, only
    the options given change: the others keep the bucket's current values)."""

    def default(value: Any) -> dict[str, Any]:
        return {} if update else {"default": value, "show_default": True}

    options = [*_stream_options(default), *_policy_options(default)]

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


_Default = Callable[[Any], dict[str, Any]]


def _stream_options(default: _Default) -> list[Callable[[F], F]]:
    return [
        click.option("-d", "--description", help="What the bucket is for."),
        click.option(
            "--ttl",
            type=DURATION,
            help="Objects expire this long after they were written (e.g. 90s, 10m, 1h, 7d; "
            "0: never).",
        ),
        click.option(
            "--max-bytes",
            type=LIMIT,
            help="Size limit of the bucket (e.g. 512MiB, 10MB, 1GiB; 'none': unlimited).",
        ),
        click.option(
            "-R",
            "--replicas",
            type=click.IntRange(1, 5),
            help="Copies kept in a cluster.",
            **default(1),
        ),
        click.option(
            "--compression/--no-compression",
            help="Compress the stored data (S2).",
            **default(False),
        ),
        click.option(
            "-m",
            "--metadata",
            type=KEY_VALUE,
            multiple=True,
            help="Set a bucket metadata key (repeatable).",
        ),
        click.option("--placement-cluster", metavar="CLUSTER", help="Place it in this cluster."),
        click.option(
            "--placement-tag", metavar="TAG", multiple=True, help="Place on servers with this tag."
        ),
        click.option(
            "--atomic-puts/--no-atomic-puts",
            help="Write small objects as atomic batches (nats-server 2.12+).",
            **default(False),
        ),
        click.option(
            "--batched-puts/--no-batched-puts",
            help="Write chunks as flow-controlled fast-ingest batches (nats-server 2.14+).",
            **default(False),
        ),
        click.option(
            "--message-ttl",
            is_flag=True,
            help="Allow per-object TTLs (nats-server 2.11+; cannot be turned off again).",
        ),
    ]


def _policy_options(default: _Default) -> list[Callable[[F], F]]:
    return [
        click.option(
            "--public/--private",
            help="Policy: mark it public for gateways (natsobj itself does not authenticate).",
            **default(False),
        ),
        click.option(
            "--file-size-limit",
            type=LIMIT,
            help="Policy: the largest object it takes (e.g. 5MB; 'none': no limit).",
        ),
        click.option(
            "--allowed-mime-types",
            metavar="TYPES",
            help="Policy: the content types it takes, comma-separated (e.g. 'image/*,text/plain';"
            " 'any': every type).",
        ),
    ]


_FROM_USER = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
# Options that are ObjectStoreConfig fields as they are.
_PLAIN_FIELDS = frozenset(
    (
        "description",
        "max_bytes",
        "storage",
        "replicas",
        "compression",
        "atomic_puts",
        "batched_puts",
        "public",
        "file_size_limit",
    )
)


def _given(ctx: click.Context) -> dict[str, Any]:
    """The bucket settings given on the command line (or from the environment), as
    ``ObjectStoreConfig`` fields; metadata is left to the command."""
    given = {
        name: value
        for name, value in ctx.params.items()
        if ctx.get_parameter_source(name) in _FROM_USER
    }
    fields = {name: given[name] for name in _PLAIN_FIELDS & given.keys()}
    if "ttl" in given:
        fields["ttl"] = given["ttl"] or None
    if "message_ttl" in given:
        fields["message_ttl"] = True
    if "placement_cluster" in given or "placement_tag" in given:
        fields["placement"] = {
            "cluster": given.get("placement_cluster"),
            "tags": list(given.get("placement_tag", ())),
        }
    if "allowed_mime_types" in given:
        types = given["allowed_mime_types"]
        any_type = types.strip().lower() == "any"
        fields["allowed_mime_types"] = None if any_type else [t for t in types.split(",") if t]
    return fields


@bucket.command("add")
@click.argument("name", metavar="BUCKET")
@click.option(
    "--storage",
    type=click.Choice(["file", "memory"]),
    default="file",
    show_default=True,
    help="Where the server keeps the data (cannot be changed later).",
)
@_setting_options(update=False)
@json_option
@global_options()
@click.pass_context
def bucket_add(ctx: click.Context, /, name: str, **_: Any) -> None:
    """Create a bucket (or open it, if it exists with the same configuration)."""
    settings = ctx.ensure_object(Settings)
    fields = _given(ctx)
    metadata = dict(ctx.params["metadata"]) or None

    async def go() -> None:
        async with open_manager(settings) as manager:
            with _exists_as_conflict(name):
                store = await manager.create_object_store(name, metadata=metadata, **fields)
            status = await store.status()
        _show(status, ctx.params["as_json"], settings.quiet)

    run(go)


@bucket.command("mirror")
@click.argument("name", metavar="BUCKET")
@click.option("--origin-domain", metavar="DOMAIN", help="The JetStream domain of the origin.")
@click.option(
    "--origin-api-prefix", metavar="PREFIX", help="The origin's JetStream API prefix instead."
)
@click.option("--ttl", type=DURATION, help="Drop mirrored messages older than this (e.g. 7d).")
@click.option("--max-bytes", type=LIMIT, help="Size limit; the oldest messages go first.")
@click.option("-R", "--replicas", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--storage", type=click.Choice(["file", "memory"]), default="file")
@json_option
@global_options()
@click.pass_context
def bucket_mirror(ctx: click.Context, /, name: str, **_: Any) -> None:
    """Create a read-only mirror of bucket BUCKET of another JetStream domain (or API
    prefix), under the same name here; or open it, if it exists as that mirror.

    Purges are not mirrored: `natsobj sweep BUCKET` on the mirror's side purges what the
    origin replaced or deleted (or set --ttl or --max-bytes).
    """
    settings = ctx.ensure_object(Settings)
    params = ctx.params
    options = {
        "origin_domain": params["origin_domain"],
        "origin_api_prefix": params["origin_api_prefix"],
        "ttl": params["ttl"] or None,
        "max_bytes": params["max_bytes"],
        "replicas": params["replicas"],
        "storage": params["storage"],
    }

    async def go() -> None:
        async with open_manager(settings) as manager:
            with _exists_as_conflict(name):
                store = await manager.create_object_store_mirror(name, **options)
            status = await store.status()
        _show(status, params["as_json"], settings.quiet)

    run(go)


@bucket.command("update")
@bucket_argument
@_setting_options(update=True)
@click.option(
    "--remove-metadata", metavar="KEY", multiple=True, help="Remove a metadata key (repeatable)."
)
@json_option
@global_options()
@click.pass_context
def bucket_update(ctx: click.Context, /, bucket: str, **_: Any) -> None:
    """Change a bucket's settings and policy: only the options given change.

    The storage type cannot change, and per-object TTLs cannot be turned off again.
    Programs that opened the bucket earlier keep enforcing the policy they read until
    they reopen it (or call status()).
    """
    settings = ctx.ensure_object(Settings)
    changes = _given(ctx)
    set_keys = dict(ctx.params["metadata"])
    removed = ctx.params["remove_metadata"]
    if not changes and not set_keys and not removed:
        raise click.UsageError("nothing to change: give at least one setting")

    async def go() -> None:
        async with open_manager(settings) as manager:
            current = await (await open_bucket(manager, bucket)).status()
            fields = {**_settings_of(current), **changes}
            kept = {k: v for k, v in current.metadata.items() if k not in removed}
            fields["metadata"] = {**kept, **set_keys} or None
            store = await manager.update_object_store(_config(bucket, fields))
            status = await store.status()
        _show(status, ctx.params["as_json"], settings.quiet)

    run(go)


def _settings_of(status: natsobj.ObjectStoreStatus) -> dict[str, Any]:
    """A bucket's current settings as ``ObjectStoreConfig`` fields."""
    shown = bucket_json(status)
    return {
        "description": status.description or None,
        "ttl": status.ttl,
        "max_bytes": shown["max_bytes"],
        "storage": status.storage,
        "replicas": status.replicas,
        "placement": shown["placement"],
        "compression": status.compressed,
        "atomic_puts": status.atomic_puts,
        "batched_puts": status.batched_puts,
        "message_ttl": status.message_ttl,
        **status.policy.model_dump(),
    }


def _config(bucket: str, fields: dict[str, Any]) -> natsobj.ObjectStoreConfig:
    try:
        return natsobj.ObjectStoreConfig(bucket=bucket, **fields)
    except ValueError as exc:  # pydantic's ValidationError, a natsobj error inside
        message = f"invalid bucket settings: {one_line(str(exc))}"
        raise CliError(message, ExitCode.BAD_INPUT) from exc


def _show(status: natsobj.ObjectStoreStatus, as_json: bool, quiet: bool) -> None:
    if as_json:
        emit_json(bucket_json(status))
    elif not quiet:
        print_status(status)


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


def _confirm(action: str, force: bool) -> None:
    """Ask before ``action`` on a terminal; without one (a script, a pipe, cron) only
    ``--force`` goes ahead, so that nothing is destroyed unasked."""
    if force:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"not going to {action} unasked: stdin is not a terminal to ask on, pass --force",
            ExitCode.BAD_INPUT,
        )
    click.confirm(f"{action[0].upper()}{action[1:]}?", abort=True)


_FORCE_HELP = "Do not ask (needed where there is no terminal to ask on)."


@bucket.command("rm")
@click.argument("buckets", nargs=-1, required=True, metavar="BUCKET...")
@click.option("-f", "--force", is_flag=True, help=_FORCE_HELP)
@global_options()
@pass_settings
def bucket_rm(settings: Settings, buckets: tuple[str, ...], force: bool) -> None:
    """Delete buckets and every object in them."""
    _confirm(f"delete bucket(s) {', '.join(buckets)} and every object in them", force)

    async def go() -> None:
        outcomes: list[tuple[str, natsobj.ObjectStoreError | None]] = []
        async with open_manager(settings) as manager:
            for name in buckets:
                try:
                    await manager.delete_object_store(name)
                except natsobj.ObjectStoreError as exc:
                    outcomes.append((f"bucket {name}", exc))
                    if classify(exc) == ExitCode.UNREACHABLE:
                        break  # the others would each wait out the timeout
                else:
                    outcomes.append((f"bucket {name}", None))
            report("deleted", outcomes, quiet=settings.quiet)

    run(go)


@bucket.command("seal")
@bucket_argument
@click.option("-f", "--force", is_flag=True, help=_FORCE_HELP)
@json_option
@global_options()
@pass_settings
def bucket_seal(settings: Settings, bucket: str, force: bool, as_json: bool) -> None:
    """Seal a bucket: read-only from now on, for good."""
    _confirm(f"seal bucket {bucket} (it cannot be unsealed)", force)

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            status = await store.seal()
        if as_json:
            emit_json(bucket_json(status))
        elif not settings.quiet:
            click.echo(f"sealed bucket {bucket}")

    run(go)
