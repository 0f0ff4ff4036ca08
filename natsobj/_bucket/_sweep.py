"""The orphan sweep: find and purge chunks that no live meta references.

Chunks become orphans when a writer dies between its chunks and its meta (any client:
natsobj purges its own on failure, but a killed process cannot), when a purge after an
overwrite or delete failed, or when a meta expired (bucket TTL) before its chunks.

Safe while writers are active: a put in progress has chunks and no meta yet. The sweep
reads the chunk subjects *before* the metas, so a put that commits while it runs is seen
as live; a chunk subject is only a candidate when its newest chunk is older than
``grace``; the metas are read again just before purging; and each purge is bounded by the
last sequence examined, so a chunk stored after the check is never purged. The one case
it cannot tell apart is a writer that sends nothing for longer than ``grace`` and then
resumes: keep ``grace`` far above any pause a writer may take.

A mirror is swept too: the origin's purges are not mirrored, so the chunks of objects the
origin replaced or deleted are orphans in the mirror. It is swept only while it has caught
up with its origin.
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from .._errors import InvalidArgumentError, ReadOnlyStoreError
from .._jetstream import StoredMsg
from .._wire import chunk_subject_filter, nuid_of_chunk_subject, parse_timestamp, read_json
from ._core import BucketCore

__all__ = ["DEFAULT_SWEEP_GRACE", "OrphanChunks", "SweepReport", "sweep_orphans"]

# Far longer than any put takes between its last chunk and its meta (milliseconds), and
# than the pauses of a slow writer.
DEFAULT_SWEEP_GRACE = timedelta(hours=1)


class OrphanChunks(BaseModel):
    """The chunks of one put (one NUID) that no live meta references."""

    model_config = ConfigDict(frozen=True)

    subject: str
    nuid: str
    messages: int
    bytes: int = Field(
        description="Estimated from the first and last chunk (writers use uniform chunks)."
    )
    newest: datetime | None = None
    purged: bool = False


class SweepReport(BaseModel):
    """What ``ObjectStore.sweep_orphans`` found and did.

    ``orphans`` are the chunk subjects older than the grace period that no live meta
    references (purged unless ``dry_run``); ``recent`` counts unreferenced chunk subjects
    left alone because their newest chunk is younger than the grace period (puts in
    progress, most likely).
    """

    model_config = ConfigDict(frozen=True)

    bucket: str
    dry_run: bool
    grace: timedelta
    chunk_subjects: int
    live_objects: int
    recent: int
    orphans: list[OrphanChunks] = Field(default_factory=list)

    @property
    def messages(self) -> int:
        """Orphan chunk messages found."""
        return sum(orphan.messages for orphan in self.orphans)

    @property
    def bytes(self) -> int:
        """Orphan chunk bytes found (estimated, see ``OrphanChunks.bytes``)."""
        return sum(orphan.bytes for orphan in self.orphans)

    @property
    def purged_messages(self) -> int:
        """Orphan chunk messages purged (0 on a dry run)."""
        return sum(orphan.messages for orphan in self.orphans if orphan.purged)


def grace_delta(grace: float | timedelta) -> timedelta:
    """``grace`` as a timedelta; negative or non-numeric values are refused."""
    if isinstance(grace, bool) or not isinstance(grace, int | float | timedelta):
        raise InvalidArgumentError(f"grace must be seconds or a timedelta, got {grace!r}")
    delta = grace if isinstance(grace, timedelta) else timedelta(seconds=grace)
    if delta < timedelta(0):
        raise InvalidArgumentError(f"grace must not be negative, got {grace!r}")
    return delta


async def sweep_orphans(
    core: BucketCore, *, grace: float | timedelta, dry_run: bool
) -> SweepReport:
    """Find (and unless ``dry_run``, purge) the bucket's orphan chunks; see the module."""
    delta = grace_delta(grace)
    if not dry_run:
        await _check_mirror_current(core)
    js = core.js
    # Chunk subjects first, metas second: a put that commits in between is seen as live.
    counts, last_seq = await _chunk_subjects(core)
    live = await _referenced_nuids(core)
    # Only the chunk subject of a NUID is ever read or purged: another client may have
    # published on ``$O.<bucket>.C.*``, and a purge filtered by that would take every chunk.
    candidates: dict[str, tuple[str, int]] = {}
    for subject, messages in counts.items():
        nuid = nuid_of_chunk_subject(core.bucket, subject)
        if nuid is not None and nuid not in live[0]:
            candidates[subject] = (nuid, messages)
    recent = 0
    found: list[tuple[OrphanChunks, int]] = []
    cutoff = datetime.now(UTC) - delta
    for subject, (nuid, messages) in sorted(candidates.items()):
        newest = await js.last_msg(
            core.stream, subject, direct=not _leader_reads(core), bucket=core.bucket
        )
        if newest is None:
            continue  # purged by its writer meanwhile
        stamped = parse_timestamp(newest.time)
        if stamped is None or stamped > cutoff or newest.seq > last_seq:
            recent += 1
            continue
        first = await _first_chunk(core, subject) if messages > 1 else None
        size = len(newest.data) + (len(first.data) * (messages - 1) if first else 0)
        orphan = OrphanChunks(
            subject=subject, nuid=nuid, messages=messages, bytes=size, newest=stamped
        )
        found.append((orphan, newest.seq))
    orphans = [orphan for orphan, _ in found]
    if found and not dry_run:
        # Look again: a meta may have been written since (a put committing at this moment,
        # or a rename); what it references is not an orphan.
        referenced = (await _referenced_nuids(core))[0]
        orphans = []
        for orphan, seq in found:
            if orphan.nuid in referenced:
                continue
            # Bounded by the last sequence examined: a chunk stored after the check stays.
            await js.purge(core.stream, orphan.subject, through=seq, bucket=core.bucket)
            orphans.append(orphan.model_copy(update={"purged": True}))
    return SweepReport(
        bucket=core.bucket,
        dry_run=dry_run,
        grace=delta,
        chunk_subjects=len(counts),
        live_objects=live[1],
        recent=recent,
        orphans=orphans,
    )


async def _check_mirror_current(core: BucketCore) -> None:
    """A mirror may be swept (purges are not mirrored: its orphans stay until swept) only
    while it has caught up with its origin: one still copying may hold chunks whose meta
    has not arrived yet, however old they are."""
    if core.mirror is None:
        return
    info = await core.js.stream_info(core.stream, bucket=core.bucket)
    lag = (info.get("mirror") or {}).get("lag")
    if lag != 0 or isinstance(lag, bool):
        raise ReadOnlyStoreError(
            f"mirror {core.bucket!r} has not caught up with its origin ({lag} messages"
            " behind): sweep it once it has; nothing was purged",
            bucket=core.bucket,
        )


async def _chunk_subjects(core: BucketCore) -> tuple[dict[str, int], int]:
    """Messages per chunk subject, from stream info (paged: the server caps subjects per
    answer), and the stream's last sequence when the first page was read."""
    counts: dict[str, int] = {}
    last_seq = -1
    while True:
        answer = await core.js.api(
            f"STREAM.INFO.{core.stream}",
            {"subjects_filter": chunk_subject_filter(core.bucket), "offset": len(counts)},
            bucket=core.bucket,
        )
        state = answer.get("state") or {}
        if last_seq < 0:
            last_seq = int(state.get("last_seq", 0))
        page: dict[str, int] = state.get("subjects") or {}
        new = {s: n for s, n in page.items() if s not in counts}
        counts.update(new)
        if not new or len(counts) >= int(answer.get("total", 0)):
            return counts, last_seq


async def _referenced_nuids(core: BucketCore) -> tuple[set[str], int]:
    """The NUIDs the latest meta of every live object references, and how many live
    objects there are. Metas other clients wrote are read leniently: any JSON object with
    a ``nuid`` that is not a tombstone keeps its chunks."""
    nuids: set[str] = set()
    objects = 0
    for msg in (await core.scan_metas()).values():
        try:
            raw = read_json(msg.data)
        except ValueError:
            continue
        if not isinstance(raw, dict) or raw.get("deleted") is True:
            continue
        objects += 1
        nuid = raw.get("nuid")
        if isinstance(nuid, str) and nuid:
            nuids.add(nuid)
    return nuids, objects


def _leader_reads(core: BucketCore) -> bool:
    """Whether chunk checks must ask the stream leader (a follower may lag on R>1)."""
    return not core.direct or core.consistent_meta


async def _first_chunk(core: BucketCore, subject: str) -> StoredMsg | None:
    msgs = core.js.next_msgs(
        core.stream,
        subject,
        start_seq=0,
        batch=1,
        max_bytes=1,
        direct=not _leader_reads(core),
        bucket=core.bucket,
    )
    async with aclosing(msgs):
        async for msg in msgs:
            return msg
    return None
