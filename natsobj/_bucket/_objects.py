"""Object operations on top of the core put/get/delete: conditional commits, copy, move,
create-only upload and update, bulk deletes (Supabase Storage's object API).

Every operation here commits through the meta message, so readers see the old state or the
new one, never a half-done copy or move.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Unpack

import anyio

from .._errors import (
    InvalidArgumentError,
    ObjectExistsError,
    ObjectStoreError,
    PreconditionFailedError,
)
from .._models import ObjectInfo, ObjectMeta, check_meta
from .._policy import content_type_headers
from .._source import PutData
from .._wire import validate_object_name
from ._core import BucketCore
from ._get import ObjectResult, open_result
from ._meta import delete
from ._put import UploadOptions, put, with_created

__all__ = [
    "DeleteResult",
    "copy_object",
    "delete_many",
    "move_object",
    "update_object",
    "upload_object",
]

# Deletes in flight at once in bulk operations.
BULK_CONCURRENCY = 32


@contextlib.contextmanager
def _create_only(bucket: str, name: str) -> Iterator[None]:
    """A lost create-only race means the name exists: say so with ObjectExistsError."""
    try:
        yield
    except PreconditionFailedError as exc:
        raise ObjectExistsError(
            f"an object named {name!r} already exists in bucket {bucket!r}",
            bucket=bucket,
            name=name,
        ) from exc


async def upload_object(
    core: BucketCore,
    meta: ObjectMeta | str,
    data: PutData,
    *,
    upsert: bool,
    content_type: str | None,
    **options: Unpack[UploadOptions],
) -> ObjectInfo:
    meta = check_meta(meta)
    # Supabase-style uploads always record their content type.
    _, content_type = content_type_headers(meta.headers, meta.name, content_type, store_guess=True)
    if upsert:
        return await put(core, meta, data, content_type=content_type, **options)
    with _create_only(core.bucket, meta.name):
        return await put(core, meta, data, content_type=content_type, if_revision=0, **options)


async def update_object(
    core: BucketCore,
    meta: ObjectMeta | str,
    data: PutData,
    *,
    content_type: str | None,
    **options: Unpack[UploadOptions],
) -> ObjectInfo:
    meta = check_meta(meta)
    current = await core.info(meta.name)
    _, content_type = content_type_headers(meta.headers, meta.name, content_type, store_guess=True)
    return await put(
        core, meta, data, content_type=content_type, if_revision=current.revision, **options
    )


async def _commit_meta(target: BucketCore, info: ObjectInfo, *, upsert: bool) -> ObjectInfo:
    """Publish ``info`` (data already stored) under its name in ``target``: create-only
    unless ``upsert``, and conditional on what it replaces, whose chunks it then purges."""
    existing = await target.find(info.name)
    live = existing is not None and not existing.deleted
    if live and not upsert:
        raise ObjectExistsError(
            f"an object named {info.name!r} already exists in bucket {target.bucket!r}",
            bucket=target.bucket,
            name=info.name,
        )
    expected = existing.revision if existing is not None else 0
    with contextlib.nullcontext() if upsert else _create_only(target.bucket, info.name):
        committed = await target.commit(
            info.model_copy(update={"bucket": target.bucket}), expected=expected
        )
    await target.purge_replaced(existing, committed)
    return committed


async def copy_object(
    core: BucketCore,
    source: str,
    destination: str,
    *,
    to_core: BucketCore | None,
    metadata: Mapping[str, str] | None,
    upsert: bool,
    keep_created: bool = False,
) -> ObjectInfo:
    target = to_core or core
    core.check_writable(source)
    target.check_writable(destination)
    validate_object_name(destination)
    src = await core.info(source)
    if src.is_link:
        # A link is copied as a link to the same target (links name their bucket).
        link = src.model_copy(update={"name": destination})
        if metadata is not None:
            link = link.model_copy(update={"metadata": dict(metadata)})
        return await _commit_meta(target, link, upsert=upsert)
    async with open_result(core, source) as result:
        read = result.info
        created = read.created if keep_created else None
        meta = ObjectMeta(
            name=destination,
            description=read.description,
            headers=with_created(read.headers, created),
            metadata=read.metadata if metadata is None else dict(metadata),
        )
        chunks = _chunks(result)
        chunk_size = read.chunk_size or None
        if upsert:
            return await put(target, meta, chunks, chunk_size=chunk_size)
        with _create_only(target.bucket, destination):
            return await put(target, meta, chunks, chunk_size=chunk_size, if_revision=0)


async def _chunks(result: ObjectResult) -> AsyncIterator[bytes]:
    # The result also has read(), which put would take for a file's read(size).
    async for chunk in result:
        yield chunk


async def move_object(
    core: BucketCore,
    source: str,
    destination: str,
    *,
    to_core: BucketCore | None,
    upsert: bool,
) -> ObjectInfo:
    target = to_core or core
    validate_object_name(destination)
    src = await core.info(source)
    if target.bucket == core.bucket and source == destination:
        return src
    if target.bucket != core.bucket:
        moved = await copy_object(
            core,
            source,
            destination,
            to_core=target,
            metadata=None,
            upsert=upsert,
            keep_created=True,
        )
        await _retire_source(core, src, lambda: delete(core, source, if_revision=src.revision))
        return moved
    # Same bucket: a new meta pointing at the same chunks, then the old name's tombstone.
    moved = src.model_copy(
        update={"name": destination, "headers": with_created(src.headers, src.created)}
    )
    committed = await _commit_meta(core, moved, upsert=upsert)
    # The tombstone drops the NUID: no client may purge chunks the new name now owns.
    tombstone = src.tombstone(keep_nuid=False)
    await _retire_source(core, src, lambda: core.commit(tombstone, expected=src.revision))
    return committed


async def _retire_source(
    core: BucketCore, src: ObjectInfo, retire: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``retire`` (the source's conditional delete); a lost race is reported as such."""
    try:
        await retire()
    except PreconditionFailedError as exc:
        raise PreconditionFailedError(
            f"{src.name!r} changed while it was moved: the destination holds the version "
            f"of revision {src.revision}, the source keeps the newer one",
            bucket=core.bucket,
            name=src.name,
        ) from exc


@dataclass(frozen=True)
class DeleteResult:
    """The outcome of deleting one name in a bulk delete: the tombstone, or the error."""

    name: str
    info: ObjectInfo | None = None
    error: ObjectStoreError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def delete_many(
    core: BucketCore, names: Iterable[str], *, concurrency: int = BULK_CONCURRENCY
) -> list[DeleteResult]:
    if isinstance(names, str):
        raise InvalidArgumentError("delete_many takes a list of names, not a str")
    core.check_writable()
    ordered = list(names)
    results: list[DeleteResult] = [DeleteResult(name) for name in ordered]
    work = iter(enumerate(ordered))

    async def worker() -> None:
        for index, name in work:  # the workers share one iterator
            try:
                results[index] = DeleteResult(name, info=await delete(core, name))
            except ObjectStoreError as exc:
                results[index] = DeleteResult(name, error=exc)

    async with anyio.create_task_group() as tg:
        for _ in range(min(max(1, concurrency), len(ordered))):
            tg.start_soon(worker)
    return results
