"""What every conformance peer offers: its verbs, the views they return, its capabilities.

A peer is one implementation of the NATS object store (natsobj, nats.go, nats.js, nats-py's
built-in store) behind the :class:`Peer` protocol. Each verb names the bucket it works
on, so one peer object serves a whole test module. Results are normalised (:class:`Info`,
:class:`Status`) so that what a writer reports and what a reader sees can be compared field
by field, and failures are :class:`PeerError` with a shared :class:`ErrorKind`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

import anyio

T = TypeVar("T")

KIB = 1024
MIB = 1024 * KIB
#: The chunk size every peer uses when the writer gives none.
DEFAULT_CHUNK = 128 * KIB
#: How long a watcher waits for the events a scenario expects.
WATCH_TIMEOUT = 10.0


class Cap(enum.Enum):
    """Something a scenario needs that not every peer can do (its value reads in a reason)."""

    METADATA = "object metadata"
    UTF8_NAMES = "non-ASCII object names (UTF-8 in the meta subject, as nats.go writes them)"
    RENAME = "renaming an object with update_meta"
    ADD_LINK = "creating object links"
    ADD_BUCKET_LINK = "creating bucket links"
    READ_NUIDLESS_LINK = "reading object links that carry no nuid"
    DELETE = "deleting objects"
    READ_EMPTY_MTIME = 'reading metas whose mtime is "" (nats-py writes it on delete)'


class ErrorKind(enum.Enum):
    """Why a verb failed, in the terms all peers share."""

    NOT_FOUND = "not_found"
    LINK_IS_BUCKET = "link_is_bucket"
    SEALED = "sealed"
    OTHER = "other"


class PeerError(Exception):
    """A peer's verb failed; ``kind`` says why, the message is the peer's own."""

    def __init__(self, peer: str, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{peer}: {kind.value}: {message}")
        self.peer = peer
        self.kind = kind


@dataclass(frozen=True)
class Meta:
    """What a writer says about an object."""

    name: str
    description: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Link:
    """Where a link points; ``name`` is empty for a link to a whole bucket."""

    bucket: str
    name: str = ""


@dataclass(frozen=True)
class Info:
    """An object's stored meta as one peer reads it; absent fields are empty.

    ``metadata`` is None when the peer has no place for object metadata.
    """

    name: str
    bucket: str = ""
    nuid: str = ""
    size: int = 0
    chunks: int = 0
    digest: str = ""
    deleted: bool = False
    description: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, str] | None = None
    link: Link | None = None
    max_chunk_size: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, metadata: bool = True) -> Info:
        """From the JSON fields of a meta message (ADR-20 names); ``metadata=False`` for a
        peer that cannot see object metadata."""
        options = raw.get("options") or {}
        link = options.get("link")
        return cls(
            name=raw["name"],
            bucket=raw.get("bucket") or "",
            nuid=raw.get("nuid") or "",
            size=raw.get("size") or 0,
            chunks=raw.get("chunks") or 0,
            digest=raw.get("digest") or "",
            deleted=bool(raw.get("deleted")),
            description=raw.get("description") or "",
            headers={k: list(v) for k, v in (raw.get("headers") or {}).items()},
            metadata=dict(raw.get("metadata") or {}) if metadata else None,
            link=Link(link["bucket"], link.get("name") or "") if link else None,
            max_chunk_size=options.get("max_chunk_size"),
        )


@dataclass(frozen=True)
class Status:
    """A bucket's status, as far as every peer reports it."""

    bucket: str
    description: str
    sealed: bool
    storage: str
    replicas: int
    size: int


class Watcher(Protocol):
    """Changes to a bucket: the newest entry of every object first, then each change."""

    async def take(self, count: int) -> list[Info]:
        """The next ``count`` events, waiting at most WATCH_TIMEOUT for them."""
        ...


class MarkedWatcher(Generic[T]):
    """A :class:`Watcher` over an in-process watcher that yields the peer's own infos, and
    None once after the initial values (natsobj's and nats-py's both do)."""

    def __init__(self, events: AsyncIterator[T | None], convert: Callable[[T], Info]) -> None:
        self._events = events
        self._convert = convert

    async def take(self, count: int) -> list[Info]:
        events: list[Info] = []
        with anyio.fail_after(WATCH_TIMEOUT):
            while len(events) < count:
                event = await anext(self._events)
                if event is not None:
                    events.append(self._convert(event))
        return events


class Peer(Protocol):
    """One object store implementation, driven by the conformance scenarios.

    ``lacks`` names each capability the peer does not have, with the reason; ``readers_need``
    says what a reader must be able to do to read what this peer writes with a capability
    (nats.js writes object links without a nuid, for instance).
    """

    name: str
    lacks: Mapping[Cap, str]
    readers_need: Mapping[Cap, frozenset[Cap]]

    async def create_bucket(self, bucket: str, *, description: str = "") -> Status: ...

    async def status(self, bucket: str) -> Status: ...

    async def seal(self, bucket: str) -> None: ...

    async def put(
        self, bucket: str, meta: Meta, data: bytes, *, chunk_size: int | None = None
    ) -> Info:
        """Store an object (``chunk_size`` None: the peer's default); its info as written."""
        ...

    async def get(self, bucket: str, name: str) -> bytes:
        """The object's bytes, following an object link."""
        ...

    async def info(self, bucket: str, name: str, *, show_deleted: bool = False) -> Info: ...

    async def list(self, bucket: str) -> list[Info]:
        """The live objects, in no particular order ([] for an empty bucket)."""
        ...

    async def delete(self, bucket: str, name: str) -> None: ...

    async def update_meta(self, bucket: str, name: str, meta: Meta) -> None:
        """Replace the name, description, headers and metadata of an object."""
        ...

    async def add_link(self, bucket: str, name: str, target_bucket: str, target: str) -> None: ...

    async def add_bucket_link(self, bucket: str, name: str, target_bucket: str) -> None: ...

    def watch(self, bucket: str) -> AbstractAsyncContextManager[Watcher]:
        """Watch ``bucket``; the watcher is ready for changes once entered."""
        ...


def missing(
    writer: Peer,
    reader: Peer,
    *,
    writer_needs: Iterable[Cap] = (),
    reader_needs: Iterable[Cap] = (),
) -> str | None:
    """Why ``writer`` and ``reader`` cannot run a scenario together, or None if they can."""
    writer_caps = set(writer_needs)
    needed = {cap: "" for cap in reader_needs}
    reasons = []
    for cap in Cap:  # in their order, so that a reason reads the same in every run
        if cap not in writer_caps:
            continue
        if cap in writer.lacks:
            reasons.append(f"{writer.name} lacks {cap.value}: {writer.lacks[cap]}")
        for then in writer.readers_need.get(cap, ()):
            needed.setdefault(then, f" (what {writer.name} writes needs it)")
    for cap in Cap:
        if cap in needed and cap in reader.lacks:
            reasons.append(f"{reader.name} lacks {cap.value}{needed[cap]}: {reader.lacks[cap]}")
    return "; ".join(reasons) or None


def same_view(read: Info, written: Info) -> None:
    """Assert that a reader sees every field the writer reports (object metadata only where
    both have a place for it)."""
    if read.metadata is None or written.metadata is None:
        read, written = replace(read, metadata=None), replace(written, metadata=None)
    assert read == written


async def wait_gone(peer: Peer, bucket: str, name: str) -> None:
    """Wait (at most 10 s) until ``peer`` finds no ``name``, not even a tombstone; other
    failures (a meta it cannot read, say) count as not gone yet."""
    with anyio.fail_after(10):
        while True:
            try:
                await peer.info(bucket, name, show_deleted=True)
            except PeerError as exc:
                if exc.kind is ErrorKind.NOT_FOUND:
                    return
            await anyio.sleep(0.02)


def digest_of(data: bytes) -> str:
    """The object store digest of ``data``: ``SHA-256=`` and padded base64url."""
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


def chunks_for(size: int, chunk_size: int | None) -> int:
    """How many chunks a writer that fills whole chunks uses for ``size`` bytes."""
    return -(-size // (chunk_size or DEFAULT_CHUNK))
