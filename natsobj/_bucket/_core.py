"""BucketCore: the primitives every operation on one bucket is built from.

The current meta of a name, parsing a meta read from the wire, THE compare-and-set meta
write (``commit``), purging an object's chunks, one scan of every meta, following links
(across buckets through the ``open_bucket`` callable the manager injects), and
``retry_cas``, the one loop that runs a compare-and-set again when another writer won.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio

from .._errors import (
    BadObjectMetaError,
    InvalidArgumentError,
    LinkIsBucketError,
    ObjectNotFoundError,
    ObjectStoreError,
    PermissionDeniedError,
    PreconditionFailedError,
    ReadOnlyStoreError,
    UnsupportedFeatureError,
)
from .._expiration import CHUNK_TTL_MARGIN, duration
from .._jetstream import MULTI_LAST_SUBJECTS, JetStream, StoredMsg
from .._models import ObjectInfo
from .._policy import BucketPolicy, policy_from_metadata
from .._wire import (
    EXPECTED_SUBJECT_SEQUENCE_HEADER,
    MAX_ATOMIC_CHUNKS,
    ROLLUP_HEADER,
    ROLLUP_SUBJECT,
    TTL_HEADER,
    chunk_subject,
    meta_subject,
    meta_subject_filter,
    stream_name,
    ttl_header,
)
from ._get import DEFAULT_READ_RUN_BYTES, ChunkReader

__all__ = [
    "CAS_FIRST_BACKOFF",
    "CAS_MAX_BACKOFF",
    "DEFAULT_CAS_ATTEMPTS",
    "POLICY_MAX_AGE",
    "BucketCore",
    "SharedPolicy",
    "acknowledged",
    "retry_cas",
    "validate_revision",
]

# Attempts of a compare-and-set meta write that keeps losing to other writers, in all:
# the default of ``ObjectStoreManager(cas_attempts=...)``.
DEFAULT_CAS_ATTEMPTS = 100
# Before the third and later attempts, a random wait (full jitter) of up to
# CAS_FIRST_BACKOFF seconds, doubling with each attempt, at most CAS_MAX_BACKOFF.
CAS_FIRST_BACKOFF = 0.001
CAS_MAX_BACKOFF = 0.05
# How old a bucket policy may be when a put enforces it (see ``BucketCore.current_policy``).
POLICY_MAX_AGE = 1.0
# Links are one level deep by rule; this only guards against loops written by others.
MAX_LINK_DEPTH = 8
# Meta messages per Direct Get run when scanning every meta; a bucket with more is read
# through an ordered consumer (``metas``).
META_RUN = 1000

T = TypeVar("T")


def _within_one_run(first: StoredMsg) -> bool:
    """Whether the metas after ``first``, the first of a batched Direct Get, fit in its
    run (its pending count says so; answers without one are one message each)."""
    pending = first.headers.get("Nats-Num-Pending", "")
    return pending.isdigit() and int(pending) < META_RUN


# Opens another bucket of the same connection, for links that cross buckets.
OpenBucket = Callable[[str], Awaitable["BucketCore"]]


async def retry_cas(step: Callable[[], Awaitable[T]], *, attempts: int, retry: bool = True) -> T:
    """Run ``step`` (reads, then a compare-and-set meta write) and return what it returns;
    each time it loses the compare-and-set to another writer (PreconditionFailedError),
    run it again, up to ``attempts`` runs in all (once, unless ``retry``).

    The second run follows at once: a first loss mostly means the step bet on a state it
    had not read (see ``put``). Later runs wait a random time first, up to
    ``CAS_FIRST_BACKOFF`` doubling with each run, at most ``CAS_MAX_BACKOFF``, so writers
    that keep colliding on one name spread out.

    Raises:
        PreconditionFailedError: the last run lost too; anything else ``step`` raises.
    """
    for attempt in range(1, attempts + 1):
        if attempt > 2:
            bound = min(CAS_MAX_BACKOFF, CAS_FIRST_BACKOFF * 2 ** (attempt - 3))
            await anyio.sleep(random.uniform(0, bound))
        try:
            return await step()
        except PreconditionFailedError:
            if not retry or attempt == attempts:
                raise
    raise InvalidArgumentError(f"attempts must be at least 1, got {attempts}")


def validate_revision(revision: object) -> int | None:
    """``revision`` if it is None or a non-negative int, else InvalidArgumentError."""
    if revision is not None and (
        isinstance(revision, bool) or not isinstance(revision, int) or revision < 0
    ):
        raise InvalidArgumentError(f"if_revision must be a non-negative int, got {revision!r}")
    return revision


def acknowledged(info: ObjectInfo, revision: int) -> ObjectInfo:
    """``info`` as the server stored it at stream sequence ``revision``. Its ``mtime`` is this
    client's clock when the answer came, as nats.go sets it. The server's own stamp (what
    ``get_info`` and ``list`` return; it differs by the clock skew and up to a round trip)
    would cost a request more per write: a quarter fewer sequential 1 KiB puts (measured)."""
    return info.model_copy(update={"revision": revision, "mtime": datetime.now(UTC)})


@dataclass
class SharedPolicy:
    """A bucket's policy as last read (``read_at``, ``time.monotonic()``), shared by every
    handle of one manager, and the lock that makes one task re-read it while others wait."""

    policy: BucketPolicy = field(default_factory=BucketPolicy)
    read_at: float = -math.inf
    refreshing: anyio.Lock = field(default_factory=anyio.Lock)

    def remember(self, stream_info: Mapping[str, Any]) -> None:
        """Keep the policy in ``stream_info`` (just read from the server)."""
        self.policy = policy_from_metadata(stream_info.get("config", {}).get("metadata"))
        self.read_at = time.monotonic()


class BucketCore:
    """One bucket's primitives, shared by its operations (put, get, meta writes, objects,
    listing, sweep, watch) and reached from a store as ``store._core``.

    Built by the manager from the bucket's stream info: the flags say what the stream
    allows. ``open_bucket`` opens another bucket of the same connection (cross-bucket
    links); ``cas_attempts`` bounds every compare-and-set loop (``retry_cas``).
    """

    def __init__(
        self,
        js: JetStream,
        bucket: str,
        stream_info: Mapping[str, Any],
        *,
        policy: SharedPolicy,
        open_bucket: OpenBucket,
        cas_attempts: int = DEFAULT_CAS_ATTEMPTS,
    ):
        self.js = js
        self.bucket = bucket
        self.stream = stream_name(bucket)
        config = stream_info.get("config", {})
        self.direct = bool(config.get("allow_direct", False))
        self.atomic = bool(config.get("allow_atomic", False))
        self.batched = bool(config.get("allow_batched", False))
        self.message_ttl = bool(config.get("allow_msg_ttl", False))
        # Direct Get may be served by a follower; meta reads on R>1 go to the leader.
        self.consistent_meta = int(config.get("num_replicas", 1)) > 1
        # A mirror (create_object_store_mirror) is read-only: where it mirrors from.
        mirror = config.get("mirror")
        self.mirror: dict[str, Any] | None = dict(mirror) if isinstance(mirror, Mapping) else None
        self.open_bucket = open_bucket
        self.cas_attempts = cas_attempts
        self._policy = policy
        policy.remember(stream_info)
        # How often recent unconditional puts found their name taken (a moving average):
        # it decides whether the next one looks the name up first (see ``_put``).
        self.overwrite_rate = 0.0

    def __repr__(self) -> str:
        return f"BucketCore(bucket={self.bucket!r})"

    def check_writable(self, name: str | None = None) -> None:
        """Raise ReadOnlyStoreError if the bucket is a mirror: every write checks first,
        before anything is sent (a mirror stores only what it copies from its origin)."""
        if self.mirror is not None:
            origin = self.mirror.get("name", "?")
            raise ReadOnlyStoreError(
                f"bucket {self.bucket!r} is a mirror of stream {origin!r}: it is read-only"
                " (write to the bucket it mirrors)",
                bucket=self.bucket,
                name=name,
            )

    # -- policy -------------------------------------------------------------------------

    @property
    def policy(self) -> BucketPolicy:
        """The bucket policy as last read, by any handle of this manager."""
        return self._policy.policy

    def remember(self, stream_info: Mapping[str, Any]) -> None:
        """Keep the policy of ``stream_info``, just read from the server."""
        self._policy.remember(stream_info)

    async def current_policy(self) -> BucketPolicy:
        """The bucket's policy, read again when the copy held is ``POLICY_MAX_AGE`` old.

        So a change by any client reaches every put within about a second, with one
        stream info request per bucket and second at most (and none while no one puts);
        concurrent puts wait for the one request. A change made through the same manager
        applies at once.
        """
        shared = self._policy
        if time.monotonic() - shared.read_at < POLICY_MAX_AGE:
            return shared.policy
        async with shared.refreshing:
            if time.monotonic() - shared.read_at >= POLICY_MAX_AGE:  # no one did meanwhile
                shared.remember(await self.js.stream_info(self.stream, bucket=self.bucket))
        return shared.policy

    # -- metas --------------------------------------------------------------------------

    async def _last_meta_msg(self, name: str) -> StoredMsg | None:
        return await self.js.last_msg(
            self.stream,
            meta_subject(self.bucket, name),
            direct=self.direct and not self.consistent_meta,
            bucket=self.bucket,
        )

    def parse(self, msg: StoredMsg, *, name: str | None = None) -> ObjectInfo:
        """The meta in ``msg`` (read from the wire: untrusted), checked.

        Raises:
            BadObjectMetaError: it cannot be read or used (``ObjectInfo.from_message``).
        """
        try:
            return ObjectInfo.from_message(
                msg.data, subject=msg.subject, timestamp=msg.time, sequence=msg.seq
            )
        except BadObjectMetaError as exc:
            exc.bucket, exc.name = self.bucket, exc.name or name
            raise

    async def current(self, name: str, *, strict: bool = False) -> tuple[ObjectInfo | None, int]:
        """The meta ``name`` has now and its stream sequence (0: none), the base of a
        compare-and-set write. An unreadable meta (another client's) is None unless
        ``strict``, which raises BadObjectMetaError."""
        msg = await self._last_meta_msg(name)
        if msg is None:
            return None, 0
        if not msg.data:
            return None, msg.seq  # the marker the server leaves when a TTL removed it
        try:
            return self.parse(msg, name=name), msg.seq
        except BadObjectMetaError:
            if strict:
                raise
            return None, msg.seq

    async def info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The current meta of ``name`` (a valid name); mtime is the server's stamp.

        Raises:
            ObjectNotFoundError: no such object, or it is deleted and ``show_deleted`` is off.
            BadObjectMetaError: the stored meta cannot be read or used.
        """
        msg = await self._last_meta_msg(name)
        # No message, or the marker the server leaves when a TTL removed the meta.
        info = None if msg is None or not msg.data else self.parse(msg, name=name)
        if info is None or (info.deleted and not show_deleted):
            raise ObjectNotFoundError(
                f"object {name!r} not found in bucket {self.bucket!r}",
                bucket=self.bucket,
                name=name,
            )
        return info

    async def find(self, name: str) -> ObjectInfo | None:
        """The current meta of ``name``, deleted or not; None if it has none."""
        try:
            return await self.info(name, show_deleted=True)
        except ObjectNotFoundError:
            return None

    def payload(self, info: ObjectInfo) -> bytes:
        """``info`` as a meta message; refused before anything is written if it cannot
        fit one message with what a put adds.

        Raises:
            InvalidArgumentError: too big for the server's max_payload.
        """
        payload = info.to_payload()
        # Room for what a put adds (NUID, size, chunks, digest) and the headers.
        needed = len(payload) + 512
        limit = int(self.js.nc.max_payload or 0)
        if limit and needed > limit:
            raise InvalidArgumentError(
                f"the meta of {info.name!r} (description, headers, metadata: {needed} bytes)"
                f" does not fit the server's max_payload of {limit} bytes",
                bucket=self.bucket,
                name=info.name,
            )
        return payload

    async def commit(
        self,
        info: ObjectInfo,
        *,
        expected: int | None,
        ttl: str | None = None,
        batch: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Publish ``info`` as its object's meta, rolling up the subject: THE meta write.

        With ``expected`` it is a compare-and-set: stored only if the name's meta is still
        at that stream sequence (0: the name has none). With ``ttl`` (a ``Nats-TTL``
        value) the server removes it after that long; ``batch`` headers make it the
        commit message of an atomic batch. Returns ``info`` with the revision the server
        gave it (see ``acknowledged``).

        Raises:
            PreconditionFailedError: another writer changed the meta since ``expected``.
            InvalidArgumentError: the meta does not fit one message.
        """
        self.check_writable(info.name)
        payload = self.payload(info)
        headers = {ROLLUP_HEADER: ROLLUP_SUBJECT, **(batch or {})}
        if expected is not None:
            headers[EXPECTED_SUBJECT_SEQUENCE_HEADER] = str(expected)
        if ttl is not None:
            headers[TTL_HEADER] = ttl
        ack = await self.js.publish(
            meta_subject(self.bucket, info.name),
            payload,
            headers=headers,
            bucket=self.bucket,
            name=info.name,
        )
        return acknowledged(info, int(ack.get("seq", 0)))

    async def purge_chunks(self, info: ObjectInfo) -> None:
        """Purge the chunks ``info`` points to (nothing for a link or a bare tombstone)."""
        self.check_writable(info.name)
        if info.nuid and not info.is_link:
            await self.js.purge(
                self.stream, chunk_subject(self.bucket, info.nuid), bucket=self.bucket
            )

    async def purge_replaced(self, replaced: ObjectInfo | None, by: ObjectInfo) -> None:
        """Purge the chunks of ``replaced``, the object the just committed ``by`` replaced,
        unless it was deleted or ``by`` points at the same chunks. ``by`` is committed: a
        purge that fails only leaves orphans for the sweep."""
        if replaced is None or replaced.deleted or replaced.nuid == by.nuid:
            return
        with contextlib.suppress(ObjectStoreError):
            await self.purge_chunks(replaced)

    async def metas(self) -> AsyncGenerator[list[StoredMsg], None]:
        """Every object's meta message, oldest first, in lists of those read together; a
        subject's older message may come before its newer one (the later one is the
        newer). Close it when done.

        Up to ``META_RUN`` metas come from one batched Direct Get (no consumer). A bigger
        bucket, as the first answer's pending count tells, is read through an ordered
        consumer that delivers each subject's newest meta (``newest_per_subject``: a
        fraction of the server's work, and every header block the same). So is a bucket
        without batched Direct Get (servers before 2.11, streams without direct access).
        A caller that may not create consumers reads it all with Direct Get.
        """
        async with aclosing(self._direct_metas()) as messages:
            async for msg in messages:
                if not _within_one_run(msg):
                    break
                yield [msg, *[later async for later in messages]]
                return
            else:
                return  # no meta at all
        newest = self.js.newest_per_subject(
            self.stream, meta_subject_filter(self.bucket), bucket=self.bucket
        )
        async with aclosing(newest) as batches:
            try:
                first = await anext(batches)
            except StopAsyncIteration:
                return
            except PermissionDeniedError:
                first = None  # may read but not create consumers: Direct Get it is
            if first is not None:
                yield first
                async for batch in batches:
                    yield batch
                return
        async with aclosing(self._direct_metas()) as messages:
            async for msg in messages:
                yield [msg]

    def _direct_metas(self) -> AsyncGenerator[StoredMsg, None]:
        return self.js.next_msgs(
            self.stream,
            meta_subject_filter(self.bucket),
            start_seq=0,
            batch=META_RUN,
            max_bytes=DEFAULT_READ_RUN_BYTES,
            direct=self.direct,
            bucket=self.bucket,
        )

    async def scan_metas(self) -> dict[str, StoredMsg]:
        """The newest meta message of every subject, in the order they were last written
        (one pass of ``metas``)."""
        latest: dict[str, StoredMsg] = {}
        async with aclosing(self.metas()) as metas:
            async for batch in metas:
                for msg in batch:
                    latest.pop(msg.subject, None)  # keep the newest, in its own position
                    latest[msg.subject] = msg
        return latest

    async def last_metas(self, names: Iterable[str]) -> dict[str, ObjectInfo]:
        """The current metas of ``names`` that have one, by name, in batched Direct Gets
        (server 2.11+, ``direct``); a name missing from the answer is for the caller to
        look up. Expired objects' markers and unusable metas are left out."""
        subjects = [meta_subject(self.bucket, name) for name in names]
        found: dict[str, ObjectInfo] = {}
        for start in range(0, len(subjects), MULTI_LAST_SUBJECTS):
            run = subjects[start : start + MULTI_LAST_SUBJECTS]
            for msg in (await self.js.last_msgs(self.stream, run, bucket=self.bucket)).values():
                if not msg.data:
                    continue  # the marker of an expired object
                with contextlib.suppress(BadObjectMetaError):
                    info = self.parse(msg)
                    found[info.name] = info
        return found

    # -- links and reads ----------------------------------------------------------------

    async def resolve(
        self, name: str, *, show_deleted: bool = False
    ) -> tuple[BucketCore, ObjectInfo]:
        """The bucket and meta of the object whose bytes ``name`` stands for (links
        followed, into other buckets through ``open_bucket``).

        Raises:
            ObjectNotFoundError: ``name`` or the object it links to is missing or deleted.
            LinkIsBucketError: ``name`` links to a whole bucket.
            BadObjectMetaError: the links go round in a loop.
        """
        core: BucketCore = self
        info = await self.info(name, show_deleted=show_deleted)
        for _ in range(MAX_LINK_DEPTH):
            link = info.link
            if link is None:
                return core, info
            if link.is_bucket_link:
                raise LinkIsBucketError(
                    f"{name!r} is a link to bucket {link.bucket!r}, not to an object",
                    bucket=self.bucket,
                    name=name,
                )
            if link.bucket != core.bucket:
                core = await self.open_bucket(link.bucket)
            assert link.name is not None
            info = await core.info(link.name)
        raise BadObjectMetaError(f"link {name!r} leads to a loop", bucket=self.bucket, name=name)

    def reader(self, info: ObjectInfo, *, start: int = 0, end: int | None = None) -> ChunkReader:
        """A reader of the bytes ``[start, end)`` of the object ``info`` (of this bucket)."""
        return ChunkReader(
            self.js,
            self.bucket,
            info,
            direct=self.direct,
            start=start,
            end=end,
            replicated=self.consistent_meta,
        )

    # -- what a write may ask of the stream ---------------------------------------------

    def message_ttls(
        self, ttl: float | timedelta, renewable: bool, name: str
    ) -> tuple[str | None, str]:
        """``Nats-TTL`` values for the chunks (None: no TTL) and the meta of a put.

        Raises:
            UnsupportedFeatureError: the bucket was created without message TTLs.
        """
        lifetime = duration(ttl, "ttl")
        if not self.message_ttl:
            raise UnsupportedFeatureError(
                f"bucket {self.bucket!r} was created without message_ttl, so objects in it "
                "cannot expire (the flag is irreversible: natsobj never sets it on its own)",
                bucket=self.bucket,
                name=name,
            )
        meta_ttl = ttl_header(lifetime.total_seconds())
        if renewable:
            return None, meta_ttl
        return ttl_header((lifetime + CHUNK_TTL_MARGIN).total_seconds()), meta_ttl

    def fits_atomic_batch(self, size: int | None, chunk_size: int) -> bool:
        """Whether a put can be one atomic batch: the bucket allows it and the size is
        known up front to fit (a batch cannot be turned back into a plain put midway)."""
        if not self.atomic or size is None:
            return False
        return -(-size // chunk_size) <= MAX_ATOMIC_CHUNKS
