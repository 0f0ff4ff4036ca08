"""NatsObjFileSystem: natsobj buckets as an fsspec async filesystem (``natsobj://bucket/name``)."""

from __future__ import annotations

import contextlib
import errno
import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
from fsspec.asyn import AsyncFileSystem, sync
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

import natsobj

from ._connection import Connection, connect_options, servers_from
from ._file import NatsObjFile, SequentialReadAhead, WriteOptions, read_range, write_options
from ._paths import (
    Entry,
    digest_int,
    directory_entry,
    file_entry,
    fs_errors,
    join,
    parents_within,
    split_path,
)

__all__ = ["NatsObjFileSystem"]

# The most objects one listing page may hold (natsobj's limit): a directory of more is
# listed in several pages, each a pass over the bucket's metas.
_PAGE = 10_000
# fsspec's own options, for AbstractFileSystem (the listings cache, which this filesystem
# does not use: a listing is always read afresh).
_FSSPEC_OPTIONS = ("use_listings_cache", "listings_expiry_time", "max_paths")


class NatsObjFileSystem(AsyncFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """natsobj buckets as an fsspec filesystem: ``natsobj://bucket/path/to/object``.

    Storage options: ``servers`` (a NATS URL, comma-separated URLs or a list; default
    ``NATS_URL`` from the environment, else ``nats://127.0.0.1:4222``), ``timeout`` (seconds,
    each request), ``api_prefix``/``domain`` (where the JetStream API is), and whatever
    ``natsobj.connect`` (so ``nats.connect``) takes: ``user``/``password``, ``token``,
    ``nkeys_seed``, ``user_credentials``, ``tls``, ... ``block_size`` (default 4 MiB: what a
    file holds before handing it on, and how far a sequential read reads ahead) and
    ``cache_type`` (default ``sequential-readahead``: read ahead only while reads are
    sequential, so random access such as parquet's fetches only the ranges it asks for).

    The root lists buckets; a bucket is a directory; deeper directories are derived from
    ``/`` in object names and exist while some object is under them (``mkdir`` below a
    bucket does nothing, ``mkdir("bucket")`` creates the bucket). Writes are atomic: an
    object appears whole when its write completes (``pipe``, ``put``, closing a file opened
    for writing), never in part, and a write that fails or is aborted leaves nothing.

    The connection is made on first use on the loop that runs the call (fsspec's IO thread
    for sync calls), reused afterwards, and closed by ``close()``, when the filesystem is
    collected, or at exit. Listings are read afresh each time (no listings cache), each a
    pass over the bucket's metas.
    """

    protocol = "natsobj"
    root_marker = ""
    default_block_size = 4 << 20
    default_cache_type = SequentialReadAhead.name

    def __init__(
        self,
        servers: str | Sequence[str] | None = None,
        *,
        timeout: float = 5.0,
        block_size: int | None = None,
        cache_type: str | None = None,
        asynchronous: bool = False,
        loop: Any = None,
        batch_size: int | None = None,
        **options: Any,
    ):
        fsspec_options = {key: options.pop(key) for key in _FSSPEC_OPTIONS if key in options}
        super().__init__(
            asynchronous=asynchronous, loop=loop, batch_size=batch_size, **fsspec_options
        )
        self.servers = servers_from(servers, os.environ)
        self.block_size = block_size or self.default_block_size
        self.cache_type = cache_type or self.default_cache_type
        self._conn = Connection(self.servers, connect_options(options, timeout))
        # Closes the connection when the filesystem is collected, or at exit: the loop
        # thread is still running when finalizers run, so the close is orderly.
        self._finalizer = weakref.finalize(self, self._conn.close_blocking)

    # -- the connection -----------------------------------------------------------------

    @property
    def manager(self) -> natsobj.ObjectStoreManager | None:
        """The natsobj manager, once connected (None before the first call)."""
        return self._conn.current

    async def _close(self) -> None:
        await self._conn.close()

    def close(self) -> None:
        """Close the NATS connection; the next call connects again."""
        if self.asynchronous:
            raise RuntimeError("an asynchronous filesystem closes with `await fs._close()`")
        self._conn.close_blocking()

    @contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        with fs_errors(path, self._conn.forget):
            yield

    async def _store(self, bucket: str) -> natsobj.ObjectStore:
        return await self._conn.store(bucket)

    def _object_path(self, path: str) -> tuple[str, str, str]:
        """``(path, bucket, name)`` of a path that must name an object.

        Raises:
            IsADirectoryError: the path is the root or a bucket.
        """
        path = self._strip_protocol(path)
        bucket, name = split_path(path)
        if not name:
            raise IsADirectoryError(errno.EISDIR, "a bucket or the root is not a file", path)
        return path, bucket, name

    async def _file_entry(self, store: natsobj.ObjectStore, info: natsobj.ObjectInfo) -> Entry:
        """The entry of an object; a link's with its target's size and digest."""
        target = None
        link = info.link
        if link is not None and link.name is not None:
            try:
                target_store = await self._store(link.bucket)
                target = await target_store.get_info(link.name)
            except natsobj.ObjectStoreError:
                target = None  # a dangling link: listed, but reading it fails
        return file_entry(store.bucket, info, target)

    # -- looking up and listing ---------------------------------------------------------

    async def _info(self, path: str, **kwargs: Any) -> Entry:
        path = self._strip_protocol(path)
        bucket, name = split_path(path)
        if not bucket:
            return directory_entry("")
        with self._errors(path):
            store = await self._store(bucket)
            if not name:
                return directory_entry(bucket)
            try:
                return await self._file_entry(store, await store.get_info(name))
            except natsobj.ObjectNotFoundError:
                pass
            except natsobj.InvalidObjectNameError as exc:
                raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
            page = await store.list_page(f"{name}/", delimiter="/", limit=1)
        if page.objects or page.folders:
            return directory_entry(path)
        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        bucket, name = split_path(path)
        with self._errors(path):
            if bucket:
                entries = await self._ls_bucket(path, bucket, name)
            else:
                manager = await self._conn.manager()
                names = await manager.object_store_names()
                entries = [directory_entry(b) for b in sorted(names)]
        return entries if detail else [entry["name"] for entry in entries]

    async def _ls_bucket(self, path: str, bucket: str, name: str) -> list[Entry]:
        """One level of a bucket: the directories, then the objects, by name."""
        store = await self._store(bucket)
        prefix = f"{name}/" if name else ""
        objects: list[natsobj.ObjectInfo] = []
        folders: list[str] = []
        cursor = None
        while True:
            page = await store.list_page(prefix, delimiter="/", limit=_PAGE, cursor=cursor)
            objects.extend(info for info in page.objects if info.name != prefix)
            folders.extend(page.folders)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        entries = [directory_entry(join(bucket, folder[:-1])) for folder in folders]
        entries.extend([await self._file_entry(store, info) for info in objects])
        if not entries and name:
            try:  # ls of a file lists the file
                return [await self._file_entry(store, await store.get_info(name))]
            except (natsobj.ObjectNotFoundError, natsobj.InvalidObjectNameError) as exc:
                raise FileNotFoundError(errno.ENOENT, "no such directory", path) from exc
        return sorted(entries, key=lambda entry: str(entry["name"]))

    async def _find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every object under ``path`` (and with ``withdirs`` every directory), from one
        listing per bucket rather than one per directory."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        path = self._strip_protocol(path)
        detail = kwargs.pop("detail", False)
        bucket, name = split_path(path)
        with self._errors(path):
            if bucket:
                found = await self._find_in(bucket, name, maxdepth, withdirs)
            else:
                found = await self._find_everywhere(maxdepth, withdirs)
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    async def _find_everywhere(self, maxdepth: int | None, withdirs: bool) -> dict[str, Entry]:
        manager = await self._conn.manager()
        found: dict[str, Entry] = {}
        for bucket in await manager.object_store_names():
            if withdirs:
                found[bucket] = directory_entry(bucket)
            if maxdepth is None or maxdepth > 1:
                deeper = None if maxdepth is None else maxdepth - 1
                found.update(await self._find_in(bucket, "", deeper, withdirs))
        return found

    async def _find_in(
        self, bucket: str, name: str, maxdepth: int | None, withdirs: bool
    ) -> dict[str, Entry]:
        store = await self._store(bucket)
        prefix = f"{name}/" if name else ""
        found: dict[str, Entry] = {}
        for info in await store.list(prefix=prefix):
            rest = info.name[len(prefix) :]
            if withdirs:
                for parent in parents_within(rest, maxdepth):
                    directory = join(bucket, prefix + parent)
                    found.setdefault(directory, directory_entry(directory))
            if not rest or rest.endswith("/"):
                continue  # a directory marker: the directory, not a file
            if maxdepth is None or rest.count("/") < maxdepth:
                found[join(bucket, info.name)] = await self._file_entry(store, info)
        here = join(bucket, name)
        if withdirs and (found or not name):
            found[here] = directory_entry(here)
        if not found and name:
            # find of a file finds the file
            with contextlib.suppress(natsobj.ObjectNotFoundError, natsobj.InvalidObjectNameError):
                found[here] = await self._file_entry(store, await store.get_info(name))
        return found

    # -- reading ------------------------------------------------------------------------

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The object's bytes, or ``[start, end)`` of them in one range read (negative:
        from the end, which first looks up the size). Past the end reads ``b""``."""
        path, bucket, name = self._object_path(path)
        with self._errors(path):
            store = await self._store(bucket)
            if (start is not None and start < 0) or (end is not None and end < 0):
                size = int((await self._file_entry(store, await store.get_info(name)))["size"])
                start = None if start is None else max(start + size if start < 0 else start, 0)
                end = None if end is None else max(end + size if end < 0 else end, 0)
            return await read_range(store, name, start or 0, end)

    # -- writing ------------------------------------------------------------------------

    async def _pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Store ``value`` as the object (``mode="create"``: only if there is none, else
        FileExistsError). Options: ``content_type``, ``metadata``, ``description``,
        ``chunk_size``."""
        path, _, name = self._object_path(path)
        await self._write(path, value, write_options(name, mode, kwargs))

    async def _write(self, path: str, data: Any, options: WriteOptions) -> natsobj.ObjectInfo:
        """One put of ``data`` (what ``ObjectStore.put`` takes) as the object at ``path``."""
        bucket, _ = split_path(path)
        with self._errors(path), options.exists_error(path):
            store = await self._store(bucket)
            return await store.put(options.meta, data, **options.put_options)

    async def _put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Stream a local file into an object; ``callback`` hears of every block read."""
        local = anyio.Path(lpath)
        if await local.is_dir():
            return  # directories are derived from the names of the files under them
        path, bucket, name = self._object_path(rpath)
        options = write_options(name, mode, kwargs)
        with self._errors(path), options.exists_error(path):
            store = await self._store(bucket)
            callback.set_size((await local.stat()).st_size)
            await store.put_file(
                lpath, meta=options.meta, progress=callback.relative_update, **options.put_options
            )

    async def _get_file(
        self, rpath: str, lpath: str, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        """Stream an object into a local file, which appears only once the digest has been
        verified; ``callback`` hears of the size, then of every chunk written."""
        if await anyio.Path(lpath).is_dir():
            return
        path, bucket, name = self._object_path(rpath)

        def progress(info: natsobj.ObjectInfo, size: int) -> None:
            if size:
                callback.relative_update(size)
            else:
                callback.set_size(info.size)

        with self._errors(path):
            store = await self._store(bucket)
            try:
                await store.get_file(name, lpath, progress=progress)
            except natsobj.ObjectNotFoundError:
                if not await self._isdir(path):
                    raise
                await anyio.Path(lpath).mkdir(parents=True, exist_ok=True)

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy (or with ``move=True``, move) one object, within or across buckets; the
        copy appears whole or not at all. Within a bucket a move copies no data."""
        source, source_bucket, source_name = self._object_path(path1)
        target, target_bucket, target_name = self._object_path(path2)
        with self._errors(source):
            store = await self._store(source_bucket)
            to_store = None
            if target_bucket != source_bucket:
                with self._errors(target):
                    to_store = await self._store(target_bucket)
            if kwargs.get("move"):
                await store.move(source_name, target_name, to_store=to_store, upsert=True)
            else:
                await store.copy(source_name, target_name, to_store=to_store, upsert=True)

    async def _mv(
        self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None
    ) -> None:
        """``copy``'s paths, each object moved (not copied, then deleted)."""
        await self._copy(path1, path2, recursive=recursive, maxdepth=maxdepth, move=True)

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        if path1 != path2:
            sync(self.loop, self._mv, path1, path2, recursive=recursive, maxdepth=maxdepth)

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        path, bucket, name = self._object_path(path)
        with self._errors(path):
            await (await self._store(bucket)).delete(name)

    async def _rm(
        self,
        path: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Delete objects; with ``recursive`` everything under a directory, and a bucket
        named alone goes with its objects. Deletes up to 32 objects at once."""
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        names: dict[str, list[str]] = {}
        buckets: list[str] = []
        for each in paths:
            bucket, name = split_path(each)
            if name:
                names.setdefault(bucket, []).append(name)
            elif bucket and recursive:
                buckets.append(bucket)
        for bucket, bucket_names in names.items():
            with self._errors(bucket):
                results = await (await self._store(bucket)).delete_many(bucket_names)
            for result in results:
                missing = isinstance(result.error, natsobj.ObjectNotFoundError)
                if result.error is not None and not (missing and recursive):
                    raise result.error  # not found, non-recursive: rm of a missing file
        for bucket in buckets:
            await self._rmdir(bucket, force=True)

    # -- buckets ------------------------------------------------------------------------

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a bucket (``kwargs``: ``create_object_store``'s options); below a bucket
        there is nothing to create (FileNotFoundError if the bucket is missing and not
        ``create_parents``)."""
        path = self._strip_protocol(path)
        bucket, name = split_path(path)
        if not bucket:
            raise FileExistsError(errno.EEXIST, "the root exists", path)
        manager = await self._conn.manager()
        with self._errors(path):
            if bucket in await manager.object_store_names():
                if not name:
                    raise FileExistsError(errno.EEXIST, "the bucket exists", path)
                return
            if name and not create_parents:
                raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
            await manager.create_object_store(bucket, **kwargs)
            self._conn.forget(bucket)

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        try:
            await self._mkdir(path, create_parents=True)
        except FileExistsError:
            if not exist_ok:
                raise

    async def _rmdir(self, path: str, force: bool = False) -> None:
        """Delete an empty bucket (with ``force``, one with objects); below a bucket there
        is nothing to remove."""
        bucket, name = split_path(self._strip_protocol(path))
        if name or not bucket:
            return
        manager = await self._conn.manager()
        with self._errors(bucket):
            try:
                await manager.delete_bucket(bucket, force=force)
            finally:
                self._conn.forget(bucket)

    def rmdir(self, path: str) -> None:
        sync(self.loop, self._rmdir, path)

    # -- what fsspec asks of files ------------------------------------------------------

    def ukey(self, path: str) -> str:
        """The object's SHA-256 digest (it changes exactly when the bytes do)."""
        entry = self.info(path)
        return str(entry.get("digest") or super().ukey(path))

    def checksum(self, path: str) -> int:
        """The object's SHA-256 digest as an int."""
        value = digest_int(self.info(path))
        return int(super().checksum(path)) if value is None else value

    def modified(self, path: str) -> Any:
        """When the object was last written (the server's time)."""
        return self._time(path, "mtime")

    def created(self, path: str) -> Any:
        """When the object was first written (kept across overwrites by natsobj)."""
        return self._time(path, "created")

    def _time(self, path: str, key: str) -> Any:
        entry = self.info(path)
        if entry["type"] != "file":
            raise IsADirectoryError(errno.EISDIR, "a directory has no times", path)
        return entry[key]

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> NatsObjFile:
        """A file: reading fetches ranges as it goes (``cache_type``, ``block_size``);
        writing streams blocks into one put that commits on close. Mode ``xb`` refuses an
        existing object (when opened and again, atomically, when it commits)."""
        path, _, name = self._object_path(path)
        options: WriteOptions | None = None
        if mode in ("wb", "xb"):
            options = write_options(name, "create" if mode == "xb" else "overwrite", kwargs)
            if mode == "xb" and self.exists(path):
                raise FileExistsError(errno.EEXIST, "the object exists", path)
        elif mode != "rb":
            raise NotImplementedError(f"mode {mode!r}: objects are read (rb) or written whole")
        details = kwargs.pop("details", None)
        if mode == "rb" and details is None:
            details = self.info(path)
        if details is not None and details["type"] != "file":
            raise IsADirectoryError(errno.EISDIR, "not an object", path)
        return NatsObjFile(
            self,
            path,
            mode,
            block_size=block_size or self.block_size,
            autocommit=autocommit,
            cache_type=kwargs.pop("cache_type", self.cache_type),
            cache_options=cache_options,
            size=None if details is None else details["size"],
            details=details,
            write=options,
        )
