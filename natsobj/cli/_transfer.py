"""``natsobj put``, ``get`` and ``cat``: files, directories and stdin in; files and stdout out."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import anyio
import click

import natsobj
from natsobj import ObjectInfo, ObjectMeta

from ._connect import Settings, open_store
from ._errors import CliError, ExitCode
from ._options import bucket_argument, complete_object, global_options, json_option, pass_settings
from ._output import (
    emit_json,
    human_size,
    object_json,
    printable,
)
from ._parse import HEADER, KEY_VALUE, SIZE
from ._progress import THRESHOLD, Transfer, terminal
from ._run import run, warn

__all__ = ["cat", "get", "put"]

_BLOCK = 1024 * 1024  # bytes per read from stdin


@dataclass
class _Upload:
    name: str
    path: Path | None  # None: stdin
    size: int | None


def _plan_uploads(
    sources: Sequence[str], name: str | None, prefix: str, walk: _Walk
) -> list[_Upload]:
    """What to put under which names (warning about what directories leave out)."""
    if name is not None and len(sources) != 1:
        raise CliError("--name names one object: give one PATH (or '-')", ExitCode.BAD_INPUT)
    if sources.count("-") > 1:
        raise CliError("stdin ('-') can be read only once", ExitCode.BAD_INPUT)
    uploads: list[_Upload] = []
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
            found = walk(path)
            if not found:
                warn(f"{source} has no files to put")
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
    return uploads


@dataclass(frozen=True)
class _Walk:
    """Which files of a directory ``put`` takes (the rules are in ``put``'s help)."""

    follow_symlinks: bool
    hidden: bool

    def __call__(self, root: Path) -> list[tuple[str, Path]]:
        """The files under ``root``, named by their path relative to it with ``/``, sorted;
        a warning for each entry left out (other than hidden ones, left out on request)."""
        found: list[tuple[str, Path]] = []
        walked = {_identity(root.stat())}
        for directory, dirnames, filenames in os.walk(
            root, followlinks=self.follow_symlinks, onerror=_warn_unreadable
        ):
            here = Path(directory)
            dirnames[:] = [d for d in sorted(dirnames) if self._takes(here / d, walked)]
            for filename in sorted(filenames):
                if self._takes(here / filename, None):
                    found.append(((here / filename).relative_to(root).as_posix(), here / filename))
        return found

    def _takes(self, path: Path, walked: set[tuple[int, int]] | None) -> bool:
        """Whether to take ``path``: a directory (``walked`` given) or a file."""
        if not self.hidden and path.name.startswith("."):
            return False
        if path.is_symlink() and not self.follow_symlinks:
            warn(f"skipping {path}: a symbolic link (--follow-symlinks puts what it points to)")
            return False
        try:
            found = path.stat()
        except OSError as exc:  # a dangling link, a permission
            warn(f"skipping {path}: {exc.strerror or exc}")
            return False
        if walked is not None:
            if _identity(found) in walked:  # a link back up the tree: no endless walk
                warn(f"skipping {path}: it leads to a directory already put")
                return False
            walked.add(_identity(found))
            return True
        if not stat.S_ISREG(found.st_mode):
            warn(f"skipping {path}: not a regular file (a FIFO, socket or device)")
            return False
        return True


def _identity(found: os.stat_result) -> tuple[int, int]:
    return found.st_dev, found.st_ino


def _warn_unreadable(exc: OSError) -> None:
    warn(f"skipping {exc.filename}: {exc.strerror or exc}")


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
            f"{verb} {printable(where)}: {human_size(progress.done)} "
            f"({info.chunks} chunk{'' if info.chunks == 1 else 's'}) in {took}"
        )
        return
    for info in infos:
        click.echo(f"{verb} {printable(info.name)} ({human_size(info.size)})")
    click.echo(f"{verb} {len(infos)} objects, {human_size(progress.done)} in {took}")


@click.command(short_help="Put files, directories or stdin.")
@bucket_argument
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
@click.option(
    "-L",
    "--follow-symlinks",
    is_flag=True,
    help="In directories, put what symbolic links point to (skipped by default).",
)
@click.option(
    "--skip-hidden",
    is_flag=True,
    help="In directories, leave out files and directories whose names start with '.'.",
)
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
    follow_symlinks: bool,
    skip_hidden: bool,
    as_json: bool,
) -> None:
    """Put files, directories (recursively) or stdin ('-' with --name) into BUCKET.

    A file is named by its file name, a directory's files by their path relative to the
    directory. An object of the same name is replaced.

    In a directory, files and directories whose names start with '.' are put like any
    other (--skip-hidden leaves them out). Symbolic links are skipped with a warning, so a
    link cannot bring in a file from elsewhere unasked: --follow-symlinks puts what they
    point to, each directory once. FIFOs, sockets and devices are skipped. A PATH named
    on the command line is put even if it is a symbolic link.
    """
    walk = _Walk(follow_symlinks=follow_symlinks, hidden=not skip_hidden)
    uploads = _plan_uploads(sources, name, prefix, walk)
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


@click.command()
@bucket_argument
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
                warn(f"no objects with prefix {prefix!r} in bucket {bucket}")

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
                warn(f"skipping {printable(info.name)}: it links to a whole bucket ({link.bucket})")
                continue
            targets.append((info, _local_path(info.name[len(strip) :], root)))
        return targets
    return [(await store.get_info(name), _local_path(name, root)) for name in names]


async def _cat(
    settings: Settings, bucket: str, name: str, start: int | None, end: int | None
) -> None:
    async with open_store(settings, bucket) as store:
        await _to_stdout(store, name, start=start, end=end)


@click.command()
@bucket_argument
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
