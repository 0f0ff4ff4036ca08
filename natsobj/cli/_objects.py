"""``natsobj ls``, ``info``, ``status``, ``rm``, ``mv`` and ``link``: objects one by one."""

from __future__ import annotations

from typing import Any

import click

import natsobj
from natsobj import ObjectMeta

from ._buckets import bucket_status, list_buckets
from ._connect import Settings, open_manager, open_store
from ._options import (
    bucket_argument,
    complete_bucket,
    complete_object,
    global_options,
    json_option,
    pass_settings,
)
from ._output import (
    emit_json,
    human_size,
    object_json,
    print_object,
    print_objects,
    print_pairs,
)
from ._run import report, run, warn

__all__ = ["info", "link", "ls", "mv", "rm", "status"]


@click.command("ls", short_help="List objects (or buckets).")
@click.argument("bucket", required=False, shell_complete=complete_bucket)
@click.option("--prefix", help="Only names starting with PREFIX.")
@click.option("--deleted", is_flag=True, help="Include deleted objects.")
@json_option
@global_options()
@pass_settings
def ls(
    settings: Settings, bucket: str | None, prefix: str | None, deleted: bool, as_json: bool
) -> None:
    """List the objects of BUCKET, sorted by name (without BUCKET: list the buckets)."""
    if bucket is None:
        if prefix is not None or deleted:
            raise click.UsageError("--prefix and --deleted need a BUCKET")
        run(lambda: list_buckets(settings, as_json))
        return

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            infos = await store.list(prefix=prefix or None, show_deleted=deleted)
        infos.sort(key=lambda info: info.name)
        if as_json:
            emit_json([object_json(info) for info in infos])
        else:
            print_objects(infos, bucket)

    run(go)


@click.command(short_help="Show an object's meta (or a bucket's status).")
@bucket_argument
@click.argument("name", required=False, shell_complete=complete_object)
@click.option("--deleted", is_flag=True, help="Show a deleted object's last state.")
@json_option
@global_options()
@pass_settings
def info(settings: Settings, bucket: str, name: str | None, deleted: bool, as_json: bool) -> None:
    """Show an object's meta (without NAME: the bucket's status)."""
    if name is None:
        run(lambda: bucket_status(settings, bucket, as_json))
        return

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            found = await store.get_info(name, show_deleted=deleted)
        if as_json:
            emit_json(object_json(found))
        else:
            print_object(found)

    run(go)


@click.command(short_help="Show bucket or server status.")
@click.argument("bucket", required=False, shell_complete=complete_bucket)
@json_option
@global_options()
@pass_settings
def status(settings: Settings, bucket: str | None, as_json: bool) -> None:
    """Show a bucket's status (without BUCKET: the server and the account)."""
    if bucket is not None:
        run(lambda: bucket_status(settings, bucket, as_json))
        return

    async def go() -> None:
        async with open_manager(settings) as manager:
            account = await manager.js.account_info()
            names = await manager.object_store_names()
            nc = manager.nc
            url = nc.connected_url.geturl() if nc.connected_url is not None else None
            version = _version(nc.connected_server_version)
            max_payload = int(nc.max_payload)
        data: dict[str, Any] = {
            "server": {"url": url, "version": version, "max_payload": max_payload},
            "jetstream": {
                "memory": int(account.get("memory", 0)),
                "storage": int(account.get("storage", 0)),
                "streams": int(account.get("streams", 0)),
                "consumers": int(account.get("consumers", 0)),
            },
            "buckets": len(names),
        }
        if as_json:
            emit_json(data)
            return
        js: dict[str, int] = data["jetstream"]
        print_pairs(
            [
                ("Server", f"{url} (nats-server {version})"),
                ("Max payload", human_size(max_payload)),
                ("Buckets", str(len(names))),
                ("JetStream storage", human_size(js["storage"])),
                ("JetStream memory", human_size(js["memory"])),
                ("Streams", str(js["streams"])),
                ("Consumers", str(js["consumers"])),
            ]
        )

    run(go)


def _version(version: Any) -> str:
    try:
        text = f"{version.major}.{version.minor}.{version.patch}"
        return f"{text}-{version.prerelease}" if version.prerelease else text
    except (ValueError, TypeError, AttributeError):
        return str(version)


# --------------------------------------------------------------------------- rm / mv / link


@click.command("rm")
@bucket_argument
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_object)
@click.option("--prefix", help="Delete every object whose name starts with PREFIX.")
@click.option("-f", "--force", is_flag=True, help="No error for names that do not exist.")
@global_options()
@pass_settings
def rm(
    settings: Settings, bucket: str, names: tuple[str, ...], prefix: str | None, force: bool
) -> None:
    """Delete objects: the NAMEs, or every object whose name starts with --prefix.

    Every object is tried even when others fail; each failure is one error line, and the
    command ends with the first one's exit code.
    """
    if bool(names) == (prefix is not None):
        raise click.UsageError("give object NAMEs or --prefix, not both")
    if prefix == "":
        raise click.UsageError("--prefix needs at least one character")

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            if prefix is None:
                results = await store.delete_many(names)
            else:
                results = await store.delete_prefix(prefix)
            if prefix is not None and not results:
                warn(f"no objects with prefix {prefix!r} in bucket {bucket}")
            missing_ok = (natsobj.ObjectNotFoundError,) if force else ()
            report(
                "deleted",
                [
                    (result.name, result.error)
                    for result in results
                    if not isinstance(result.error, missing_ok)
                ],
                quiet=settings.quiet,
            )

    run(go)


@click.command("mv")
@bucket_argument
@click.argument("source", shell_complete=complete_object)
@click.argument("target")
@json_option
@global_options()
@pass_settings
def mv(settings: Settings, bucket: str, source: str, target: str, as_json: bool) -> None:
    """Rename an object (its data stays where it is). Fails if TARGET exists."""

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            current = await store.get_info(source)
            renamed = await store.update_meta(
                source,
                ObjectMeta(
                    name=target,
                    description=current.description,
                    headers=current.headers,
                    metadata=current.metadata,
                ),
            )
        if as_json:
            emit_json(object_json(renamed))
        elif not settings.quiet:
            click.echo(f"renamed {source} -> {target}")

    run(go)


@click.command("link", short_help="Link to an object or a whole bucket.")
@bucket_argument
@click.argument("name")
@click.argument("target")
@click.option("-b", "--target-bucket", metavar="BUCKET", help="Bucket of TARGET. [default: BUCKET]")
@click.option("--bucket-link", is_flag=True, help="Link to the whole bucket named TARGET.")
@json_option
@global_options()
@pass_settings
def link(
    settings: Settings,
    bucket: str,
    name: str,
    target: str,
    target_bucket: str | None,
    bucket_link: bool,
    as_json: bool,
) -> None:
    """Add NAME as a link to the object TARGET (or, with --bucket-link, to bucket TARGET)."""
    if bucket_link and target_bucket is not None:
        raise click.UsageError("--bucket-link takes the bucket as TARGET; drop --target-bucket")

    async def go() -> None:
        async with open_manager(settings) as manager:
            store = await manager.object_store(bucket)
            if bucket_link:
                made = await store.add_bucket_link(name, await manager.object_store(target))
                where = f"bucket {target}"
            else:
                source = store
                if target_bucket is not None and target_bucket != bucket:
                    source = await manager.object_store(target_bucket)
                made = await store.add_link(name, await source.get_info(target))
                where = f"{source.bucket}/{target}"
        if as_json:
            emit_json(object_json(made))
        elif not settings.quiet:
            click.echo(f"linked {bucket}/{name} -> {where}")

    run(go)
