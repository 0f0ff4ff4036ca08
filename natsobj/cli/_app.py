"""The ``natsobj`` command: click commands over the public natsobj API.

Every command parses its arguments synchronously (including anything that touches the
local file system up front), then runs one async function with ``run``, which puts it on
anyio's asyncio backend and turns Ctrl-C and SIGTERM into a clean cancellation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, TypeVar

import anyio
import click
from click.shell_completion import CompletionItem

import natsobj
from natsobj import ObjectInfo, ObjectMeta

from ._connect import DEFAULT_SERVER, Settings, open_manager, open_store
from ._errors import CliError, ExitCode, classify, one_line
from ._output import (
    bucket_json,
    emit_json,
    emit_json_line,
    human_duration,
    human_size,
    human_time,
    object_json,
    print_buckets,
    print_object,
    print_objects,
    print_pairs,
    print_status,
)
from ._parse import DURATION, HEADER, KEY_VALUE, SIZE
from ._progress import THRESHOLD, Transfer, terminal

__all__ = ["cli", "invoke", "main", "run"]

F = TypeVar("F", bound=Callable[..., Any])

_BLOCK = 1024 * 1024  # bytes per read from stdin
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# --------------------------------------------------------------------------- running


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


class _Reported(CliError):
    """The errors were printed already; only the exit code is left."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__("", code)


async def _supervise(func: Callable[[], Awaitable[None]], received: list[int]) -> None:
    failure: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(*_STOP_SIGNALS) as signals:
                async for signum in signals:
                    received.append(signum)
                    tg.cancel_scope.cancel()
                    return

        if os.name == "posix":
            tg.start_soon(stop_on_signal)
        try:
            await func()
        except Exception as exc:
            failure.append(exc)
        tg.cancel_scope.cancel()
    if failure:
        raise failure[0]


def run(func: Callable[[], Awaitable[None]], *, stop_is_success: bool = False) -> None:
    """Run ``func`` on the asyncio backend. Ctrl-C or SIGTERM cancel it (cleanups run);
    then the command ends with 128 + the signal number, or 0 if ``stop_is_success``."""
    received: list[int] = []
    try:
        anyio.run(_supervise, func, received, backend="asyncio")
    except KeyboardInterrupt:
        received.append(signal.SIGINT)
    except BrokenPipeError as exc:
        # The reader of stdout went away (`natsobj cat ... | head`): end quietly, as
        # other tools do, and keep Python from complaining when it flushes at exit.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise _Reported(ExitCode.BROKEN_PIPE) from exc
    except Exception:
        if not received:
            raise
    if received and not stop_is_success:
        raise _Interrupted(received[0])


def _error(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    click.echo(f"natsobj: error: {message}", err=True)


def _warn(message: str) -> None:
    click.echo(f"natsobj: warning: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script: run the command line and exit with its code."""
    sys.exit(invoke(argv))


def invoke(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        result = cli.main(args=argv, prog_name="natsobj", standalone_mode=False)
    except _Interrupted as exc:
        _error("interrupted")
        return exc.code
    except CliError as exc:
        if str(exc):
            _error(one_line(str(exc)))
        return int(exc.code)
    except natsobj.ObjectStoreError as exc:
        _error(one_line(str(exc)))
        return int(classify(exc))
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # click 8.2+: `natsobj` alone
            exc.show()
            return ExitCode.BAD_INPUT
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _error(one_line(exc.format_message()) + hint)
        return ExitCode.BAD_INPUT
    except click.ClickException as exc:
        _error(one_line(exc.format_message()))
        return exc.exit_code
    except click.Abort:
        _error("aborted")
        return ExitCode.ERROR
    except OSError as exc:
        _error(one_line(str(exc)))
        return ExitCode.ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: still one line, the details on request
        if os.environ.get("NATSOBJ_DEBUG"):
            raise
        _error(
            f"unexpected {type(exc).__name__}: {one_line(str(exc))} (NATSOBJ_DEBUG=1 shows more)"
        )
        return ExitCode.ERROR
    return result if isinstance(result, int) else ExitCode.OK


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class _Option:
    decls: tuple[str, ...]
    dest: str
    env: str
    help: str
    metavar: str
    type: Any = None


_CONNECTION_OPTIONS = (
    _Option(
        ("-s", "--server"),
        "server",
        "NATS_URL",
        f"NATS server URL(s), comma-separated. [default: {DEFAULT_SERVER}]",
        "URL",
    ),
    _Option(("--user",), "user", "NATS_USER", "User name.", "USER"),
    _Option(("--password",), "password", "NATS_PASSWORD", "Password.", "PASSWORD"),
    _Option(("--token",), "token", "NATS_TOKEN", "Authentication token.", "TOKEN"),
    _Option(("--nkey",), "nkey", "NATS_NKEY", "NKey seed file.", "FILE"),
    _Option(("--creds",), "creds", "NATS_CREDS", "User credentials (JWT) file.", "FILE"),
    _Option(("--tls-cert",), "tls_cert", "NATS_CERT", "TLS client certificate file.", "FILE"),
    _Option(("--tls-key",), "tls_key", "NATS_KEY", "TLS client key file.", "FILE"),
    _Option(("--tls-ca",), "tls_ca", "NATS_CA", "CA file to verify the server with.", "FILE"),
    _Option(
        ("--timeout",),
        "timeout",
        "NATS_TIMEOUT",
        "Deadline of each request to the server (e.g. 5s, 500ms). [default: 5s]",
        "DURATION",
        DURATION,
    ),
)


def _set_setting(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name is not None:
        if param.name == "timeout" and value <= 0:
            raise click.BadParameter("must be more than 0", ctx=ctx, param=param)
        setattr(ctx.ensure_object(Settings), param.name, value)
    return value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        ctx.ensure_object(Settings).quiet = True
    return value


def global_options(*, group: bool = False) -> Callable[[F], F]:
    """The connection options and ``--quiet``, accepted by the group and every command.

    On the group they also read the environment (``NATS_URL``, ...); given on a command
    they win over the group's.
    """

    def decorate(func: F) -> F:
        for opt in reversed(_CONNECTION_OPTIONS):
            func = click.option(
                *opt.decls,
                opt.dest,
                type=opt.type,
                metavar=opt.metavar,
                envvar=opt.env if group else None,
                show_envvar=group,
                expose_value=False,
                callback=_set_setting,
                help=opt.help if group else f"{opt.help} [env: {opt.env}]",
            )(func)
        func = click.option(
            "-q",
            "--quiet",
            "quiet",
            is_flag=True,
            expose_value=False,
            callback=_set_quiet,
            help="No progress bars or summaries; errors only.",
        )(func)
        return func

    return decorate


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (keys documented in docs/cli.md)."
    )(func)


pass_settings = click.make_pass_decorator(Settings, ensure=True)


# --------------------------------------------------------------------------- completion


def _completion_settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        settings = Settings(server=os.environ.get("NATS_URL", DEFAULT_SERVER))
    settings.timeout = min(settings.timeout, 2.0)
    return settings


def _complete(ctx: click.Context, fetch: Callable[[Settings], Awaitable[list[str]]]) -> list[str]:
    names: list[str] = []

    async def go() -> None:
        with anyio.move_on_after(3):
            names.extend(await fetch(_completion_settings(ctx)))

    with contextlib.suppress(Exception):
        anyio.run(go, backend="asyncio")
    return names


def complete_bucket(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    async def fetch(settings: Settings) -> list[str]:
        async with open_manager(settings) as manager:
            return await manager.object_store_names()

    return [CompletionItem(n) for n in _complete(ctx, fetch) if n.startswith(incomplete)]


def complete_object(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    bucket = ctx.params.get("bucket")
    if not isinstance(bucket, str):
        return []

    async def fetch(settings: Settings) -> list[str]:
        async with open_store(settings, bucket) as store:
            return [info.name for info in await store.list(prefix=incomplete or None)]

    return [CompletionItem(n) for n in _complete(ctx, fetch)]


_bucket_argument = click.argument("bucket", shell_complete=complete_bucket)


# --------------------------------------------------------------------------- the group


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    no_args_is_help=True,
)
@click.version_option(natsobj.__version__, "-V", "--version", prog_name="natsobj")
@global_options(group=True)
def cli() -> None:
    """Store files and streams in NATS JetStream object stores.

    Wire-compatible with the NATS object store: `nats object`, nats.go, nats.js and
    nats-py read what natsobj writes, and the other way round.

    \b
    Try it:
      natsobj server &                 # a local nats-server with JetStream
      natsobj bucket add files
      natsobj put files ./photos       # a directory, recursively
      natsobj ls files
      natsobj get files photo.jpg -o /tmp/photo.jpg

    Exit codes: 0 ok, 1 error, 2 bad input, 3 not found, 4 server unreachable,
    5 conflict (exists, sealed), 6 permission denied, 130 interrupted.
    """


# --------------------------------------------------------------------------- server


@cli.command()
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=4222,
    show_default=True,
    help="Client port; 0 picks a free one.",
)
@click.option("-a", "--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option(
    "-d",
    "--store-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="JetStream store directory, kept on exit. "
    "[default: a temporary directory, removed on exit]",
)
@click.option(
    "--cluster",
    "cluster_size",
    type=click.IntRange(1, 9),
    help="Run a loopback JetStream cluster of N servers (free ports), e.g. to try replicas.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line once it is ready.")
@click.pass_context
def server(
    ctx: click.Context,
    port: int,
    host: str,
    store_dir: Path | None,
    cluster_size: int | None,
    as_json: bool,
) -> None:
    """Run nats-server with JetStream until Ctrl-C.

    Prints the URL to use (also as `export NATS_URL=...`). Data lives in a temporary
    directory unless --store-dir names one.
    """
    port_given = ctx.get_parameter_source("port") is not click.core.ParameterSource.DEFAULT
    if cluster_size is not None and port_given:
        raise click.UsageError("--port cannot be used with --cluster (nodes take free ports)")

    def announce(urls: list[str], version: str | None, store: str | None) -> None:
        url = ",".join(urls)
        if as_json:
            emit_json_line(
                {
                    "url": url,
                    "urls": urls,
                    "version": version,
                    "store_dir": store,
                }
            )
        else:
            what = f"nats-server {version}" if version else "nats-server"
            nodes = f" ({len(urls)} nodes)" if len(urls) > 1 else ""
            click.echo(f"{what} with JetStream{nodes} listening on {url}")
            kept = "kept" if store_dir is not None else "temporary, removed on exit"
            click.echo(f"store: {store} ({kept})")
            click.echo(f"use it: export NATS_URL={url}")
            click.echo("press Ctrl-C to stop")
        sys.stdout.flush()

    async def single() -> None:
        async with natsobj.EmbeddedServer(host=host, port=port, store_dir=store_dir) as node:
            store = str(node.store_dir) if node.store_dir is not None else None
            announce([node.url], node.version, store)
            code = await node.wait()
            # Ctrl-C in a terminal reaches nats-server too; if it was faster than our own
            # handler, give that signal a moment to arrive and count as a clean stop.
            await anyio.sleep(0.25)
        if code != 0:
            raise CliError(f"nats-server exited with code {code}")

    async def cluster() -> None:
        assert cluster_size is not None
        async with natsobj.EmbeddedCluster(cluster_size, host=host, store_dir=store_dir) as nodes:
            first = nodes.servers[0]
            store = (
                f"{store_dir}{os.sep}n1 ... n{cluster_size}"
                if store_dir is not None
                else ", ".join(str(node.store_dir) for node in nodes.servers)
            )
            announce(nodes.urls, first.version, store)
            codes: list[int] = []
            async with anyio.create_task_group() as tg:

                async def wait(node: natsobj.EmbeddedServer) -> None:
                    codes.append(await node.wait())
                    tg.cancel_scope.cancel()

                for node in nodes.servers:
                    tg.start_soon(wait, node)
            await anyio.sleep(0.25)  # as above: a Ctrl-C may be on its way
        if codes and codes[0] != 0:
            raise CliError(f"a nats-server of the cluster exited with code {codes[0]}")

    try:
        run(single if cluster_size is None else cluster, stop_is_success=True)
    except natsobj.ServerStartupError as exc:
        raise CliError(f"nats-server failed to start: {exc.reason}") from exc
    except natsobj.EmbeddedServerError as exc:
        raise CliError(str(exc)) from exc
    if not as_json:
        click.echo("nats-server stopped", err=True)


# --------------------------------------------------------------------------- buckets


@cli.group()
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
    run(lambda: _list_buckets(settings, as_json))


async def _list_buckets(settings: Settings, as_json: bool) -> None:
    async with open_manager(settings) as manager:
        statuses = await manager.object_store_statuses()
    if as_json:
        emit_json([bucket_json(status) for status in statuses])
    else:
        print_buckets(statuses)


@bucket.command("info")
@_bucket_argument
@json_option
@global_options()
@pass_settings
def bucket_info(settings: Settings, bucket: str, as_json: bool) -> None:
    """Show a bucket's configuration and usage."""
    run(lambda: _bucket_status(settings, bucket, as_json))


async def _bucket_status(settings: Settings, bucket: str, as_json: bool) -> None:
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
                    _error(one_line(str(exc)))
                    failed.append(code)
                    continue
                if not settings.quiet:
                    click.echo(f"deleted bucket {name}")
        if failed:
            raise _Reported(failed[0])

    run(go)


@bucket.command("seal")
@_bucket_argument
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


# --------------------------------------------------------------------------- put


@dataclass
class _Upload:
    name: str
    path: Path | None  # None: stdin
    size: int | None


def _plan_uploads(
    sources: Sequence[str], name: str | None, prefix: str
) -> tuple[list[_Upload], list[str]]:
    """What to put under which names; also the directories that had no files."""
    if name is not None and len(sources) != 1:
        raise CliError("--name names one object: give one PATH (or '-')", ExitCode.BAD_INPUT)
    if sources.count("-") > 1:
        raise CliError("stdin ('-') can be read only once", ExitCode.BAD_INPUT)
    uploads: list[_Upload] = []
    empty: list[str] = []
    for source in sources:
        if source == "-":
            if name is None:
                raise CliError("reading stdin ('-') needs --name", ExitCode.BAD_INPUT)
            uploads.append(_Upload(prefix + name, None, None))
            continue
        path = Path(source)
        if path.is_dir():
            if name is not None:
                raise CliError(
                    f"--name names one object, and {source} is a directory: use --prefix",
                    ExitCode.BAD_INPUT,
                )
            found = _walk(path)
            if not found:
                empty.append(source)
            uploads += [_Upload(prefix + rel, file, file.stat().st_size) for rel, file in found]
        elif path.is_file():
            uploads.append(_Upload(prefix + (name or path.name), path, path.stat().st_size))
        else:
            raise CliError(f"{source} is not a file or directory", ExitCode.BAD_INPUT)
    seen: set[str] = set()
    for upload in uploads:
        if upload.name in seen:
            raise CliError(f"two sources would be named {upload.name!r}", ExitCode.BAD_INPUT)
        seen.add(upload.name)
    return uploads, empty


def _walk(root: Path) -> list[tuple[str, Path]]:
    """Regular files under ``root`` (following file symlinks, not directory ones), named by
    their path relative to ``root`` with ``/`` separators, sorted."""
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            file = Path(directory, filename)
            with contextlib.suppress(OSError):
                if stat.S_ISREG(file.stat().st_mode):
                    found.append((file.relative_to(root).as_posix(), file))
    return found


async def _stdin_blocks(progress: Transfer) -> AsyncIterator[bytes]:
    stream = sys.stdin.buffer
    while block := await anyio.to_thread.run_sync(stream.read, _BLOCK, abandon_on_cancel=True):
        progress.advance(len(block))
        yield block


def _headers(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for key, value in pairs:
        headers.setdefault(key, []).append(value)
    return headers


def _summary(verb: str, infos: Sequence[ObjectInfo], progress: Transfer, where: str) -> None:
    took = f"{progress.elapsed:.1f} s"
    if progress.done >= THRESHOLD:
        took += f", {progress.rate()}"
    if len(infos) == 1:
        info = infos[0]
        click.echo(
            f"{verb} {where}: {human_size(progress.done)} "
            f"({info.chunks} chunk{'' if info.chunks == 1 else 's'}) in {took}"
        )
        return
    for info in infos:
        click.echo(f"{verb} {info.name} ({human_size(info.size)})")
    click.echo(f"{verb} {len(infos)} objects, {human_size(progress.done)} in {took}")


@cli.command(short_help="Put files, directories or stdin.")
@_bucket_argument
@click.argument(
    "sources",
    nargs=-1,
    required=True,
    metavar="PATH...",
    type=click.Path(exists=True, allow_dash=True),
)
@click.option("-n", "--name", help="Object name for one file or stdin. [default: the file name]")
@click.option(
    "--prefix",
    default="",
    help="Put this before every object name (e.g. 'photos/').",
)
@click.option("-d", "--description", default="", help="Object description.")
@click.option(
    "-H", "--header", "headers", type=HEADER, multiple=True, help="Object header (repeatable)."
)
@click.option(
    "-m", "--metadata", type=KEY_VALUE, multiple=True, help="Object metadata (repeatable)."
)
@click.option("--chunk-size", type=SIZE, help="Chunk size (e.g. 128KiB, 1MiB). [default: 128KiB]")
@json_option
@global_options()
@pass_settings
def put(
    settings: Settings,
    bucket: str,
    sources: tuple[str, ...],
    name: str | None,
    prefix: str,
    description: str,
    headers: tuple[tuple[str, str], ...],
    metadata: tuple[tuple[str, str], ...],
    chunk_size: int | None,
    as_json: bool,
) -> None:
    """Put files, directories (recursively) or stdin ('-' with --name) into BUCKET.

    A file is named by its file name, a directory's files by their path relative to the
    directory. An object of the same name is replaced.
    """
    uploads, empty = _plan_uploads(sources, name, prefix)
    for source in empty:
        _warn(f"{source} has no files")
    if not uploads:
        return
    total = None if any(u.size is None for u in uploads) else sum(u.size or 0 for u in uploads)
    show = not settings.quiet and terminal()

    async def go() -> None:
        infos: list[ObjectInfo] = []
        async with open_store(settings, bucket) as store:
            with Transfer(enabled=show, total=total, label=f"put {uploads[0].name}") as progress:
                for upload in uploads:
                    progress.next_item(f"put {upload.name}")
                    meta = ObjectMeta(
                        name=upload.name,
                        description=description,
                        headers=_headers(headers),
                        metadata=dict(metadata),
                    )
                    if upload.path is None:
                        info = await store.put(meta, _stdin_blocks(progress), chunk_size=chunk_size)
                    else:
                        info = await store.put_file(
                            upload.path, meta=meta, progress=progress.advance, chunk_size=chunk_size
                        )
                    infos.append(info)
        if as_json:
            emit_json([object_json(info) for info in infos])
        elif not settings.quiet:
            _summary("put", infos, progress, f"{bucket}/{infos[0].name}")

    run(go)


# --------------------------------------------------------------------------- get / cat


def _local_path(name: str, root: Path) -> Path:
    """Where object ``name`` goes under ``root``; names that would escape it are refused."""
    parts = [part for part in PurePosixPath(name.lstrip("/")).parts]
    unsafe = any(part in ("..", ".") for part in name.lstrip("/").split("/"))
    if not parts or unsafe or "\x00" in name:
        raise CliError(
            f"object name {name!r} is not a safe local path: get it alone with -o FILE",
            ExitCode.BAD_INPUT,
        )
    return root.joinpath(*parts)


async def _to_file(
    store: natsobj.ObjectStore,
    name: str,
    path: Path,
    progress: Transfer,
    *,
    start: int | None,
    end: int | None,
    sized: bool,
) -> ObjectInfo:
    """Stream one object into ``path`` (replaced only once the bytes verify)."""

    def advance(info: ObjectInfo, size: int) -> None:
        if size:
            progress.advance(size)
        elif not sized:
            progress.add_total(_expected(info, start, end))

    await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
    return await store.get_file(name, path, progress=advance, start=start, end=end)


def _expected(info: ObjectInfo, start: int | None, end: int | None) -> int:
    first = min(start or 0, info.size)
    last = info.size if end is None else min(end, info.size)
    return max(last - first, 0)


async def _to_stdout(
    store: natsobj.ObjectStore, name: str, *, start: int | None, end: int | None
) -> None:
    out = sys.stdout.buffer
    sys.stdout.flush()
    async with store.get(name, start=start, end=end) as result:
        async for chunk in result:
            await anyio.to_thread.run_sync(out.write, chunk)
    await anyio.to_thread.run_sync(out.flush)


@cli.command()
@_bucket_argument
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_object)
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True),
    help="File, directory, or '-' for stdout. [default: the current directory]",
)
@click.option("--prefix", help="Get every object whose name starts with PREFIX ('' for all).")
@click.option("--start", type=SIZE, help="First byte of a range (e.g. 0, 4MiB).")
@click.option("--end", type=SIZE, help="End of a range, exclusive (e.g. 1KiB).")
@json_option
@global_options()
@pass_settings
def get(
    settings: Settings,
    bucket: str,
    names: tuple[str, ...],
    output: str | None,
    prefix: str | None,
    start: int | None,
    end: int | None,
    as_json: bool,
) -> None:
    """Get objects into files, a directory, or stdout ('-o -').

    One NAME goes to OUTPUT (a file, or a directory to put it in), by default to its base
    name in the current directory. Several NAMEs or --prefix go into the OUTPUT directory,
    named by their object names (with the --prefix up to its last '/' taken off).
    Files are replaced only once the whole object arrived with a matching digest.
    """
    if not names and prefix is None:
        raise click.UsageError("give object NAMEs or --prefix")
    if names and prefix is not None:
        raise click.UsageError("give object NAMEs or --prefix, not both")
    single = prefix is None and len(names) == 1
    if (start is not None or end is not None) and not single:
        raise click.UsageError("--start and --end need exactly one NAME")
    if start is not None and end is not None and end < start:
        raise click.UsageError("--end is before --start")
    if output == "-":
        if not single:
            raise click.UsageError("-o - (stdout) takes exactly one NAME")
        if as_json:
            raise click.UsageError("--json cannot share stdout with -o -")
        run(lambda: _cat(settings, bucket, names[0], start, end))
        return
    show = not settings.quiet and terminal()

    async def go() -> None:
        infos: list[ObjectInfo] = []
        async with open_store(settings, bucket) as store:
            targets = await _get_targets(store, names, prefix, output)
            known = None if single else sum(info.size for info, _ in targets if not info.is_link)
            label = f"get {targets[0][0].name}" if targets else "get"
            with Transfer(enabled=show, total=known, label=label) as progress:
                for info, path in targets:
                    progress.next_item(f"get {info.name}")
                    infos.append(
                        await _to_file(
                            store,
                            info.name,
                            path,
                            progress,
                            start=start,
                            end=end,
                            sized=known is not None and not info.is_link,
                        )
                    )
        if as_json:
            emit_json([object_json(info) for info in infos])
        elif not settings.quiet:
            if infos:
                _summary("got", infos, progress, str(targets[0][1]))
            else:
                _warn(f"no objects with prefix {prefix!r} in bucket {bucket}")

    run(go)


async def _get_targets(
    store: natsobj.ObjectStore, names: Sequence[str], prefix: str | None, output: str | None
) -> list[tuple[ObjectInfo, Path]]:
    if prefix is None and len(names) == 1:
        info = await store.get_info(names[0])
        base = _local_path(PurePosixPath(names[0]).name or names[0], Path(".")).name
        if output is None:
            return [(info, Path(base))]
        path = Path(output)
        if output.endswith(("/", os.sep)) or await anyio.Path(path).is_dir():
            return [(info, path / base)]
        return [(info, path)]
    root = Path(output or ".")
    if await anyio.Path(root).exists() and not await anyio.Path(root).is_dir():
        raise CliError(f"{root} is not a directory", ExitCode.BAD_INPUT)
    if prefix is not None:
        infos = sorted(await store.list(prefix=prefix or None), key=lambda i: i.name)
        strip = prefix[: prefix.rfind("/") + 1]
        targets = []
        for info in infos:
            link = info.link
            if link is not None and link.is_bucket_link:
                _warn(f"skipping {info.name}: it links to a whole bucket ({link.bucket})")
                continue
            targets.append((info, _local_path(info.name[len(strip) :], root)))
        return targets
    return [(await store.get_info(name), _local_path(name, root)) for name in names]


async def _cat(
    settings: Settings, bucket: str, name: str, start: int | None, end: int | None
) -> None:
    async with open_store(settings, bucket) as store:
        await _to_stdout(store, name, start=start, end=end)


@cli.command()
@_bucket_argument
@click.argument("name", shell_complete=complete_object)
@click.option("--start", type=SIZE, help="First byte of a range (e.g. 0, 4MiB).")
@click.option("--end", type=SIZE, help="End of a range, exclusive (e.g. 1KiB).")
@global_options()
@pass_settings
def cat(settings: Settings, bucket: str, name: str, start: int | None, end: int | None) -> None:
    """Write an object's bytes (or a byte range) to stdout."""
    if start is not None and end is not None and end < start:
        raise click.UsageError("--end is before --start")
    run(lambda: _cat(settings, bucket, name, start, end))


# --------------------------------------------------------------------------- ls / info


@cli.command("ls", short_help="List objects (or buckets).")
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
        run(lambda: _list_buckets(settings, as_json))
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


@cli.command(short_help="Show an object's meta (or a bucket's status).")
@_bucket_argument
@click.argument("name", required=False, shell_complete=complete_object)
@click.option("--deleted", is_flag=True, help="Show a deleted object's last state.")
@json_option
@global_options()
@pass_settings
def info(settings: Settings, bucket: str, name: str | None, deleted: bool, as_json: bool) -> None:
    """Show an object's meta (without NAME: the bucket's status)."""
    if name is None:
        run(lambda: _bucket_status(settings, bucket, as_json))
        return

    async def go() -> None:
        async with open_store(settings, bucket) as store:
            found = await store.get_info(name, show_deleted=deleted)
        if as_json:
            emit_json(object_json(found))
        else:
            print_object(found)

    run(go)


@cli.command(short_help="Show bucket or server status.")
@click.argument("bucket", required=False, shell_complete=complete_bucket)
@json_option
@global_options()
@pass_settings
def status(settings: Settings, bucket: str | None, as_json: bool) -> None:
    """Show a bucket's status (without BUCKET: the server and the account)."""
    if bucket is not None:
        run(lambda: _bucket_status(settings, bucket, as_json))
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


@cli.command("rm")
@_bucket_argument
@click.argument("names", nargs=-1, required=True, metavar="NAME...", shell_complete=complete_object)
@click.option("-f", "--force", is_flag=True, help="No error for names that do not exist.")
@global_options()
@pass_settings
def rm(settings: Settings, bucket: str, names: tuple[str, ...], force: bool) -> None:
    """Delete objects."""

    async def go() -> None:
        failed: list[ExitCode] = []
        async with open_store(settings, bucket) as store:
            for name in names:
                try:
                    await store.delete(name)
                except natsobj.ObjectNotFoundError:
                    if force:
                        continue
                    _error(f"object {name!r} not found in bucket {bucket!r}")
                    failed.append(ExitCode.NOT_FOUND)
                    continue
                except natsobj.ObjectStoreError as exc:
                    if classify(exc) in (ExitCode.UNREACHABLE, ExitCode.CONFLICT):
                        raise
                    _error(one_line(str(exc)))
                    failed.append(classify(exc))
                    continue
                if not settings.quiet:
                    click.echo(f"deleted {name}")
        if failed:
            raise _Reported(failed[0])

    run(go)


@cli.command("mv")
@_bucket_argument
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


@cli.command("link", short_help="Link to an object or a whole bucket.")
@_bucket_argument
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


# --------------------------------------------------------------------------- watch


def _event(info: ObjectInfo) -> str:
    if info.deleted:
        return "delete"
    if info.is_link:
        return "link"
    return "put"


@cli.command()
@_bucket_argument
@click.option("--history", is_flag=True, help="Replay every change, not only current objects.")
@click.option("--updates-only", is_flag=True, help="Only changes from now on.")
@click.option("--ignore-deletes", is_flag=True, help="Leave out deletions.")
@json_option
@global_options()
@pass_settings
def watch(
    settings: Settings,
    bucket: str,
    history: bool,
    updates_only: bool,
    ignore_deletes: bool,
    as_json: bool,
) -> None:
    """Print changes to BUCKET's objects as they happen, until Ctrl-C.

    First the current objects (every change with --history), then a line saying the
    watch is up to date, then live changes. A lost server ends it with an error (exit
    code 4) within --timeout.
    """
    if history and updates_only:
        raise click.UsageError("--history and --updates-only cannot be combined")

    async def go() -> None:
        async with (
            open_store(settings, bucket) as store,
            store.watch(
                include_history=history,
                ignore_deletes=ignore_deletes,
                updates_only=updates_only,
            ) as watcher,
        ):
            if updates_only:
                _synced(as_json, settings.quiet)
            async for found in watcher:
                if found is None:
                    _synced(as_json, settings.quiet)
                elif as_json:
                    emit_json_line({"event": _event(found), **object_json(found)})
                else:
                    _print_event(found)

    run(go, stop_is_success=True)


def _synced(as_json: bool, quiet: bool) -> None:
    if as_json:
        emit_json_line({"event": "synced"})
    elif not quiet:
        click.echo("-- up to date, watching for changes (Ctrl-C to stop) --", err=True)


def _print_event(info: ObjectInfo) -> None:
    event = _event(info)
    if event == "put":
        detail = human_size(info.size)
    elif event == "link" and info.link is not None:
        target = info.link
        detail = f"-> {target.bucket}" + (f"/{target.name}" if target.name else " (bucket)")
    else:
        detail = ""
    click.echo(f"{human_time(info.mtime)}  {event.upper():<6}  {info.name}  {detail}".rstrip())
    sys.stdout.flush()


# --------------------------------------------------------------------------- sweep


@cli.command(short_help="Find and purge orphan chunks.")
@_bucket_argument
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
            click.echo(
                f"{verb} {orphan.nuid}  {orphan.messages} chunks  {human_size(orphan.bytes)}"
                f"  last written {human_time(orphan.newest)}"
            )
        click.echo(
            f"{bucket}: {len(report.orphans)} orphan(s), {report.messages} chunks,"
            f" {human_size(report.bytes)} {verb if report.orphans else 'to purge'};"
            f" {report.live_objects} live objects, {report.recent} recent unreferenced"
            f" (younger than {human_duration(report.grace)})"
        )

    run(go)
