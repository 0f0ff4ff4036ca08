"""Writes of metas alone (no data): update_meta and rename (with its undo), delete, links,
and sealing the bucket. Every meta write is ``BucketCore.commit``; the compare-and-set
ones run through ``retry_cas``."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from .._errors import (
    InvalidArgumentError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    ObjectExistsError,
    ObjectNotFoundError,
    PreconditionFailedError,
    UpdateMetaDeletedError,
)
from .._jetstream import new_nuid
from .._models import (
    ObjectInfo,
    ObjectLink,
    ObjectMeta,
    ObjectMetaOptions,
    ObjectStoreStatus,
    check_meta,
)
from .._wire import meta_subject, validate_bucket_name, validate_object_name
from ._core import BucketCore, retry_cas, validate_revision

__all__ = ["add_link", "delete", "link_to_object", "seal", "update_meta"]


async def update_meta(core: BucketCore, name: str, meta: ObjectMeta) -> ObjectInfo:
    """Replace ``name``'s description, headers and metadata, or rename it (see
    ``ObjectStore.update_meta`` for the guarantees)."""
    core.check_writable(name)
    validate_object_name(name)
    if not isinstance(meta, ObjectMeta):
        raise InvalidArgumentError("update_meta takes an ObjectMeta")
    return await _Update(core, name, check_meta(meta)).run()


class _Update:
    """One update_meta: the new meta is a compare-and-set on the one it replaces (a put
    that replaced the object meanwhile, and purged the chunks this meta points to, is never
    overwritten by it); a rename then purges the old name's meta it renamed."""

    def __init__(self, core: BucketCore, name: str, meta: ObjectMeta):
        self.core = core
        self.name = name
        self.meta = meta
        self.renamed_seq = 0  # the old name's meta a rename moves, once looked up

    async def run(self) -> ObjectInfo:
        info = await retry_cas(self._attempt, attempts=self.core.cas_attempts)
        if self.meta.name != self.name:
            core = self.core
            await core.js.purge(
                core.stream,
                meta_subject(core.bucket, self.name),
                through=self.renamed_seq,
                bucket=core.bucket,
            )
            await _undo_rename_if_raced(core, self.name, info)
        return info

    async def _attempt(self) -> ObjectInfo:
        core, name, meta = self.core, self.name, self.meta
        current, seq = await core.current(name, strict=True)
        self.renamed_seq = seq
        if current is None or current.deleted:
            raise UpdateMetaDeletedError(
                f"cannot update the meta of missing or deleted object {name!r}",
                bucket=core.bucket,
                name=name,
            )
        if meta.name != name:
            target, seq = await core.current(meta.name, strict=True)
            if target is not None and not target.deleted:
                raise ObjectExistsError(
                    f"an object named {meta.name!r} already exists",
                    bucket=core.bucket,
                    name=meta.name,
                )
        updated = current.model_copy(
            update={
                "name": meta.name,
                "description": meta.description,
                "headers": meta.headers,
                "metadata": meta.metadata,
            }
        )
        return await core.commit(updated, expected=seq)


async def _undo_rename_if_raced(core: BucketCore, old_name: str, renamed: ObjectInfo) -> None:
    """Take a rename back if another writer wrote ``old_name`` while it ran: that writer
    (a put or a delete) purges the chunks ``renamed`` points to."""
    raced, _ = await core.current(old_name)
    if raced is None:  # nothing, or a server marker: no other writer
        return
    # A tombstone without the NUID: the chunks may be another name's (a racing rename).
    tombstone = renamed.tombstone(keep_nuid=False)
    with contextlib.suppress(PreconditionFailedError):  # the new name moved on already
        await core.commit(tombstone, expected=renamed.revision)
    raise PreconditionFailedError(
        f"object {old_name!r} was written by another client during its rename to"
        f" {renamed.name!r}; the rename was taken back",
        bucket=core.bucket,
        name=old_name,
    )


async def delete(
    core: BucketCore,
    name: str,
    *,
    if_revision: int | None = None,
    tombstone_ttl: float | timedelta | None = None,
) -> ObjectInfo:
    """Write ``name``'s tombstone, then purge its chunks (see ``ObjectStore.delete``)."""
    core.check_writable(name)
    validate_object_name(name)
    validate_revision(if_revision)
    ttl = None
    if tombstone_ttl is not None:
        ttl = core.message_ttls(tombstone_ttl, renewable=True, name=name)[1]

    async def attempt() -> ObjectInfo:
        current, seq = await core.current(name)
        if not seq:
            raise ObjectNotFoundError(
                f"object {name!r} not found in bucket {core.bucket!r}",
                bucket=core.bucket,
                name=name,
            )
        if if_revision is not None and seq != if_revision:
            raise PreconditionFailedError(
                f"object {name!r} is at revision {seq}, not {if_revision}",
                bucket=core.bucket,
                name=name,
            )
        if current is None:
            # Unreadable meta of another client: replace it with a bare tombstone.
            current = ObjectInfo(name=name, bucket=core.bucket)
        if current.deleted:
            return current
        # Compare-and-set: a put that lands meanwhile is not hidden with its chunks kept.
        tombstone = await core.commit(current.tombstone(), expected=seq, ttl=ttl)
        await core.purge_chunks(current)
        return tombstone

    return await retry_cas(attempt, attempts=core.cas_attempts, retry=if_revision is None)


async def add_link(core: BucketCore, name: str, link: ObjectLink) -> ObjectInfo:
    """Publish ``name`` as a link (to an object or a bucket); an existing link is
    replaced, anything else refused with ObjectExistsError."""
    core.check_writable(name)
    existing = await core.find(name)
    if existing is not None and not existing.is_link:
        raise ObjectExistsError(
            f"an object named {name!r} exists and is not a link", bucket=core.bucket, name=name
        )
    info = ObjectInfo(
        name=name,
        bucket=core.bucket,
        nuid=new_nuid(),
        options=ObjectMetaOptions(link=link),
    )
    return await core.commit(info, expected=None)


def link_to_object(core: BucketCore, name: str, target: ObjectInfo) -> ObjectLink:
    """The link ``name`` (a valid name) gets to the object ``target``, checked."""
    if not isinstance(target, ObjectInfo) or not target.name:
        raise InvalidArgumentError("add_link needs the ObjectInfo of the object to link to")
    if target.deleted:
        raise NoLinkToDeletedError("cannot link to a deleted object", bucket=core.bucket, name=name)
    if target.is_link:
        raise NoLinkToLinkError("cannot link to a link", bucket=core.bucket, name=name)
    return ObjectLink(
        bucket=validate_bucket_name(target.bucket or core.bucket),
        name=validate_object_name(target.name),
    )


async def seal(core: BucketCore) -> ObjectStoreStatus:
    """Seal the bucket: from now on it is read-only, for good."""
    core.check_writable()
    stream_info = await core.js.stream_info(core.stream, bucket=core.bucket)
    config = {**stream_info["config"], "sealed": True}
    answer = await core.js.api(f"STREAM.UPDATE.{core.stream}", config, bucket=core.bucket)
    return ObjectStoreStatus.from_stream_info(core.bucket, answer)
