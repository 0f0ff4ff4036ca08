"""Object operations on top of the core put/get/delete: conditional commits, copy, move,
create-only upload and update, bulk deletes (Supabase Storage's object API).

Every operation here commits through the meta message, so readers see the old state or the
new one, never a half-done copy or move.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from ._errors import (
    InvalidArgumentError,
    ObjectExistsError,
    ObjectStoreError,
    PreconditionFailedError,
)
from ._models import CREATED_HEADER, ObjectInfo, ObjectMeta, check_meta
from ._policy import content_type_headers
from ._wire import validate_object_name

if TYPE_CHECKING:
    from ._source import PutData
    from ._store import ObjectResult, ObjectStore

__all__ = [
    "DeleteResult",
    "copy_object",
    "delete_many",
    "move_object",
    "plan_commit",
    "update_object",
    "upload_object",
    "validate_revision",
]

# Deletes in flight at once in bulk operations.
BULK_CONCURRENCY = 32


def validate_revision(revision: object) -> int | None:
    """``revision`` if it is None or a non-negative int, else InvalidArgumentError."""
    if revision is not None and (
        isinstance(revision, bool) or not isinstance(revision, int) or revision < 0
    ):
        raise InvalidArgumentError(f"if_revision must be a non-negative int, got {revision!r}")
    return revision


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _with_created(
    headers: Mapping[str, list[str]], created: datetime | None
) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in headers.items() if k.lower() != CREATED_HEADER.lower()}
    if created is not None:
        out[CREATED_HEADER] = [_format_time(created)]
    return out


def plan_commit(
    info: ObjectInfo, existing: ObjectInfo | None, if_revision: int | None
) -> tuple[ObjectInfo, int | None]:
    """What a put publishes as its meta, and the meta subject sequence it expects.

    ``existing`` is the object the put replaces, as looked up before the commit. An
    overwrite of a live object keeps its creation time, unless the put names one itself.

    Raises:
        PreconditionFailedError: ``if_revision`` does not match ``existing`` (checked here
            to fail early; the server checks it again atomically at publish time).
    """
    live = existing is not None and not existing.deleted
    expected: int | None = None
    if if_revision == 0:
        if live:
            raise PreconditionFailedError(
                f"object {info.name!r} exists (revision {existing.revision if existing else 0})",
                bucket=info.bucket,
                name=info.name,
            )
        expected = existing.revision if existing is not None else 0
    elif if_revision is not None:
        current = existing.revision if existing is not None else 0
        if current != if_revision:
            raise PreconditionFailedError(
                f"object {info.name!r} is at revision {current}, not {if_revision}",
                bucket=info.bucket,
                name=info.name,
            )
        expected = if_revision
    has_created = any(k.lower() == CREATED_HEADER.lower() for k in info.headers)
    if live and existing is not None and not has_created and existing.created is not None:
        info = info.model_copy(update={"headers": _with_created(info.headers, existing.created)})
    return info, expected


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
    store: ObjectStore,
    meta: ObjectMeta | str,
    data: PutData,
    *,
    upsert: bool,
    content_type: str | None,
    **options: Any,
) -> ObjectInfo:
    meta = check_meta(meta)
    # Supabase-style uploads always record their content type.
    _, content_type = content_type_headers(meta.headers, meta.name, content_type, store_guess=True)
    if upsert:
        return await store.put(meta, data, content_type=content_type, **options)
    with _create_only(store.bucket, meta.name):
        return await store.put(meta, data, content_type=content_type, if_revision=0, **options)


async def update_object(
    store: ObjectStore,
    meta: ObjectMeta | str,
    data: PutData,
    *,
    content_type: str | None,
    **options: Any,
) -> ObjectInfo:
    meta = check_meta(meta)
    current = await store.get_info(meta.name)
    _, content_type = content_type_headers(meta.headers, meta.name, content_type, store_guess=True)
    return await store.put(
        meta, data, content_type=content_type, if_revision=current.revision, **options
    )


async def _commit_meta(target: ObjectStore, info: ObjectInfo, *, upsert: bool) -> ObjectInfo:
    """Publish ``info`` (data already stored) under its name in ``target``: create-only
    unless ``upsert``, and conditional on what it replaces, whose chunks it then purges."""
    existing = await target._find(info.name)
    live = existing is not None and not existing.deleted
    if live and not upsert:
        raise ObjectExistsError(
            f"an object named {info.name!r} already exists in bucket {target.bucket!r}",
            bucket=target.bucket,
            name=info.name,
        )
    expected = existing.revision if existing is not None else 0
    with contextlib.nullcontext() if upsert else _create_only(target.bucket, info.name):
        committed = await target._publish_meta(
            info.model_copy(update={"bucket": target.bucket}), expected=expected
        )
    if live and existing is not None and existing.nuid != info.nuid:
        with contextlib.suppress(ObjectStoreError):
            await target._purge_chunks(existing)
    return committed


async def copy_object(
    store: ObjectStore,
    source: str,
    destination: str,
    *,
    to_store: ObjectStore | None,
    metadata: Mapping[str, str] | None,
    upsert: bool,
    keep_created: bool = False,
) -> ObjectInfo:
    target = to_store or store
    validate_object_name(destination)
    src = await store.get_info(source)
    if src.is_link:
        # A link is copied as a link to the same target (links name their bucket).
        link = src.model_copy(update={"name": destination})
        if metadata is not None:
            link = link.model_copy(update={"metadata": dict(metadata)})
        return await _commit_meta(target, link, upsert=upsert)
    async with store.get(source) as result:
        read = result.info
        created = read.created if keep_created else None
        meta = ObjectMeta(
            name=destination,
            description=read.description,
            headers=_with_created(read.headers, created),
            metadata=read.metadata if metadata is None else dict(metadata),
        )
        options: dict[str, Any] = {"chunk_size": read.chunk_size} if read.chunk_size else {}
        chunks = _chunks(result)
        if upsert:
            return await target.put(meta, chunks, **options)
        with _create_only(target.bucket, destination):
            return await target.put(meta, chunks, if_revision=0, **options)


async def _chunks(result: ObjectResult) -> AsyncIterator[bytes]:
    # The result also has read(), which put would take for a file's read(size).
    async for chunk in result:
        yield chunk


async def move_object(
    store: ObjectStore,
    source: str,
    destination: str,
    *,
    to_store: ObjectStore | None,
    upsert: bool,
) -> ObjectInfo:
    target = to_store or store
    validate_object_name(destination)
    src = await store.get_info(source)
    if target.bucket == store.bucket and source == destination:
        return src
    if target.bucket != store.bucket:
        moved = await copy_object(
            store,
            source,
            destination,
            to_store=target,
            metadata=None,
            upsert=upsert,
            keep_created=True,
        )
        await _retire_source(store, src, lambda: store.delete(source, if_revision=src.revision))
        return moved
    # Same bucket: a new meta pointing at the same chunks, then the old name's tombstone.
    moved = src.model_copy(
        update={"name": destination, "headers": _with_created(src.headers, src.created)}
    )
    committed = await _commit_meta(store, moved, upsert=upsert)
    # The tombstone drops the NUID: no client may purge chunks the new name now owns.
    tombstone = src.tombstone(keep_nuid=False)
    await _retire_source(store, src, lambda: store._publish_meta(tombstone, expected=src.revision))
    return committed


async def _retire_source(
    store: ObjectStore, src: ObjectInfo, retire: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``retire`` (the source's conditional delete); a lost race is reported as such."""
    try:
        await retire()
    except PreconditionFailedError as exc:
        raise PreconditionFailedError(
            f"{src.name!r} changed while it was moved: the destination holds the version "
            f"of revision {src.revision}, the source keeps the newer one",
            bucket=store.bucket,
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
    store: ObjectStore, names: Iterable[str], *, concurrency: int = BULK_CONCURRENCY
) -> list[DeleteResult]:
    if isinstance(names, str):
        raise InvalidArgumentError("delete_many takes a list of names, not a str")
    ordered = list(names)
    results: list[DeleteResult] = [DeleteResult(name) for name in ordered]
    work = iter(enumerate(ordered))

    async def worker() -> None:
        for index, name in work:  # the workers share one iterator
            try:
                results[index] = DeleteResult(name, info=await store.delete(name))
            except ObjectStoreError as exc:
                results[index] = DeleteResult(name, error=exc)

    async with anyio.create_task_group() as tg:
        for _ in range(min(max(1, concurrency), len(ordered))):
            tg.start_soon(worker)
    return results
