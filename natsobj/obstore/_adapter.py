"""``ObstoreAdapter``: obspec's async protocols over one ``natsobj.ObjectStore``.

Code written for obstore's async methods (``get_async``, ``put_async``, ``head_async``,
``list_async``, ``list_with_delimiter_async``, ``delete_async``, ``copy_async``,
``rename_async``, ``get_range_async``, ``get_ranges_async``) runs unchanged on a NATS
bucket. Each method is a thin mapping onto one natsobj operation, which gives the
guarantees (atomic puts, verified reads, compare-and-set).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import natsobj
from natsobj import InvalidArgumentError, ObjectInfo
from natsobj.sync._client import blocks_in_thread

from ._errors import (
    NotModifiedError,
    NotSupportedError,
    PreconditionError,
    mapped_errors,
)

if TYPE_CHECKING:
    from obspec import Attributes, GetOptions, ListResult, ObjectMeta, PutMode, PutResult
    from typing_extensions import Buffer

    from natsobj._source import PutData

__all__ = ["GetResult", "ObstoreAdapter", "object_meta"]

# Objects per chunk of ``list_async`` (obstore's own streams come in pages of 1,000).
LIST_CHUNK = 1000
# Attributes kept as meta headers and given back by ``get``.
ATTRIBUTE_HEADERS = (
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Type",
    "Cache-Control",
)
# A range read retries this many times when the object changes between its reads.
RANGE_ATTEMPTS = 5
_EPOCH = datetime.fromtimestamp(0, UTC)


def object_meta(info: ObjectInfo) -> ObjectMeta:
    """obspec's ``ObjectMeta`` of a natsobj meta: ``e_tag`` is the meta's revision (its
    stream sequence: it changes on every write of the object), ``version`` is None."""
    return {
        "path": info.name,
        "last_modified": info.mtime or _EPOCH,
        "size": info.size,
        "e_tag": str(info.revision) if info.revision else None,
        "version": None,
    }


def _attributes(info: ObjectInfo) -> Attributes:
    wanted = {name.lower(): name for name in ATTRIBUTE_HEADERS}
    return {
        wanted[key.lower()]: values[0]
        for key, values in info.headers.items()
        if key.lower() in wanted and values
    }


def _dir(prefix: str | None) -> str:
    """A listing prefix as path segments: ``a/b`` lists ``a/b/...``, never ``a/bc``."""
    return prefix.rstrip("/") + "/" if prefix and prefix.strip("/") else ""


def _etag_matches(header: str, info: ObjectInfo) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` value (``*``, or e-tags, quoted or not,
    comma-separated) matches the object."""
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    return "*" in tags or str(info.revision) in tags


class GetResult:
    """obspec's ``GetResultAsync``: ``meta``, ``range``, ``attributes``, the bytes by
    ``async for`` (once) or ``await buffer_async()``. The read was opened by ``get_async``
    (so the object is pinned: its bytes are the ones ``meta`` describes, verified) and is
    closed when the bytes are consumed, or when an abandoned iteration is collected."""

    def __init__(
        self,
        result: natsobj.ObjectResult | None,
        info: ObjectInfo,
        byte_range: tuple[int, int],
    ):
        self._result = result
        self.meta = object_meta(info)
        self.range = byte_range
        self.attributes = _attributes(info)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        result, self._result = self._result, None
        if result is None:
            return
        try:
            async for chunk in result:
                yield chunk
        finally:
            await result.aclose()

    async def buffer_async(self) -> bytes:
        """Every byte of the result (verified), in one buffer."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        """Release the read without consuming it (optional: consuming it releases it)."""
        result, self._result = self._result, None
        if result is not None:
            await result.aclose()


class ObstoreAdapter:
    """obspec's async protocols (``GetAsync``, ``GetRangeAsync``, ``GetRangesAsync``,
    ``PutAsync``, ``HeadAsync``, ``ListAsync``, ``ListWithDelimiterAsync``,
    ``DeleteAsync``, ``CopyAsync``, ``RenameAsync``) over ``store``.

    Paths are object names. Errors carry obspec's names (``natsobj.obstore.NotFoundError``
    and friends) and are natsobj errors too. e-tags are revisions (see ``object_meta``).
    """

    def __init__(self, store: natsobj.ObjectStore):
        if not isinstance(store, natsobj.ObjectStore):
            raise InvalidArgumentError(
                f"ObstoreAdapter wraps a natsobj.ObjectStore, got {type(store).__name__}"
            )
        self.store = store

    def __repr__(self) -> str:
        return f"ObstoreAdapter(bucket={self.store.bucket!r})"

    # -- reads --------------------------------------------------------------------------

    async def get_async(self, path: str, *, options: GetOptions | None = None) -> GetResult:
        """Open a read of ``path`` (or of ``options["range"]``: ``(start, end)``
        end-exclusive, ``{"offset": n}`` or ``{"suffix": n}``); the conditions
        ``if_match``, ``if_none_match``, ``if_modified_since``, ``if_unmodified_since`` are
        checked against the object actually opened. ``head`` gives the meta, no bytes.

        Raises:
            NotFoundError, PreconditionError, NotModifiedError, NotSupportedError (a
            ``version``), natsobj.RangeNotSatisfiableError (a range starting past the end),
            natsobj.InvalidArgumentError (a malformed or empty range).
        """
        options = options or {}
        if options.get("version") is not None:
            raise NotSupportedError("natsobj objects have no versions: use if_match")
        with mapped_errors():
            if options.get("head"):
                info = await self.store.get_info(path)
                _check_conditions(info, options)
                return GetResult(None, info, (0, info.size))
            result, start, end = await self._open(path, options.get("range"))
            try:
                info = result.info
                _check_conditions(info, options)
            except BaseException:
                await result.aclose()
                raise
            return GetResult(result, info, (start, min(end, info.size)))

    async def _open(self, path: str, byte_range: object) -> tuple[natsobj.ObjectResult, int, int]:
        """The opened read of ``byte_range`` (a suffix needs the size: it is read first
        and the read retried if the object changed meanwhile)."""
        start, end, suffix = _parse_range(byte_range)
        for _ in range(RANGE_ATTEMPTS):
            info = None
            if suffix is not None:
                info = await self.store.get_info(path)
                start, end = max(info.size - suffix, 0), info.size
            result = self.store.get(path, start=start, end=end)
            await result.__aenter__()
            if info is None or result.info.revision == info.revision:
                return result, start, result.info.size if end is None else end
            await result.aclose()
        raise PreconditionError(f"{path!r} kept changing while its range was located")

    async def get_range_async(
        self, path: str, *, start: int, end: int | None = None, length: int | None = None
    ) -> bytes:
        """The bytes ``[start, end)`` (or ``length`` bytes from ``start``): give one of
        ``end`` and ``length``. An end past the object's end reads to its end."""
        return (await self.get_ranges_async(path, starts=[start], **_ends(end, length)))[0]

    async def get_ranges_async(
        self,
        path: str,
        *,
        starts: Sequence[int],
        ends: Sequence[int] | None = None,
        lengths: Sequence[int] | None = None,
    ) -> list[bytes]:
        """The bytes of every range, all read from one version of the object (if it
        changes between the reads, they are read again).

        Raises:
            natsobj.InvalidArgumentError: neither or both of ``ends`` and ``lengths``, or
                not one per start.
        """
        spans = _spans(starts, ends, lengths)
        with mapped_errors():
            for _ in range(RANGE_ATTEMPTS):
                out: list[bytes] = []
                revisions = set()
                for start, end in spans:
                    async with self.store.get(path, start=start, end=end) as result:
                        revisions.add(result.info.revision)
                        out.append(await result.read())
                if len(revisions) <= 1:
                    return out
        raise PreconditionError(f"{path!r} kept changing while its ranges were read")

    async def head_async(self, path: str) -> ObjectMeta:
        """The meta of ``path``. Raises NotFoundError."""
        with mapped_errors():
            return object_meta(await self.store.get_info(path))

    # -- writes -------------------------------------------------------------------------

    async def put_async(
        self,
        path: str,
        file: IO[bytes]
        | Path
        | bytes
        | Buffer
        | AsyncIterator[Buffer]
        | AsyncIterable[Buffer]
        | Iterable[Buffer],
        *,
        attributes: Attributes | None = None,
        tags: dict[str, str] | None = None,
        mode: PutMode | None = None,
        use_multipart: bool | None = None,
        chunk_size: int = 0,
        max_concurrency: int = 0,
    ) -> PutResult:
        """Store ``file`` at ``path``, atomically (readers see the old object or the new
        one, whole). ``mode``: ``"overwrite"`` (default), ``"create"`` (AlreadyExistsError
        if a live object is there) or ``{"e_tag": ...}`` (PreconditionError unless the
        object is at that e-tag). ``attributes`` become meta headers, ``tags`` the meta's
        metadata. ``use_multipart``, ``chunk_size`` and ``max_concurrency`` are accepted
        and ignored: every put streams in the bucket's chunks, its memory bounded."""
        meta = natsobj.ObjectMeta(
            name=path,
            headers={key: [value] for key, value in (attributes or {}).items()},
            metadata=dict(tags or {}),
        )
        if_revision = _if_revision(mode)
        with mapped_errors(exists_on_precondition=mode == "create"):
            if isinstance(file, Path):
                info = await self.store.put_file(file, path, meta=meta, if_revision=if_revision)
            else:
                info = await self.store.put(meta, _put_data(file), if_revision=if_revision)
        return {"e_tag": str(info.revision), "version": None}

    async def delete_async(self, paths: str | Sequence[str]) -> None:
        """Delete every path; a path with no object is not an error (as S3)."""
        names = [paths] if isinstance(paths, str) else list(paths)
        with mapped_errors():
            for done in await self.store.delete_many(names):
                if done.error is not None and not isinstance(
                    done.error, natsobj.ObjectNotFoundError
                ):
                    raise done.error

    async def copy_async(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Copy ``from_`` to ``to`` (bytes, headers and metadata); with ``overwrite=False``
        AlreadyExistsError if ``to`` holds a live object (checked atomically)."""
        with mapped_errors():
            await self.store.copy(from_, to, upsert=overwrite)

    async def rename_async(self, from_: str, to: str, *, overwrite: bool = True) -> None:
        """Move ``from_`` to ``to`` without copying bytes (``natsobj.ObjectStore.move``):
        ``to`` appears whole before ``from_`` goes."""
        with mapped_errors():
            await self.store.move(from_, to, upsert=overwrite)

    # -- listings -----------------------------------------------------------------------

    def list_async(
        self, prefix: str | None = None, *, offset: str | None = None
    ) -> AsyncIterator[list[ObjectMeta]]:
        """Every live object under ``prefix`` (path segments: ``a/b`` lists ``a/b/...``),
        in name order, after ``offset`` if given, in chunks of up to 1,000. One scan of the
        bucket's metas, when iteration starts."""
        return self._list(_dir(prefix), offset)

    async def _list(self, prefix: str, offset: str | None) -> AsyncIterator[list[ObjectMeta]]:
        with mapped_errors():
            infos = sorted(await self.store.list(prefix=prefix or None), key=lambda i: i.name)
        metas = [object_meta(i) for i in infos if offset is None or i.name > offset]
        for at in range(0, len(metas), LIST_CHUNK):
            yield metas[at : at + LIST_CHUNK]

    async def list_with_delimiter_async(
        self, prefix: str | None = None
    ) -> ListResult[Sequence[ObjectMeta]]:
        """One level under ``prefix``: the objects there, and the deeper ``/`` levels as
        ``common_prefixes`` (full paths, no trailing ``/``), both in name order."""
        base = _dir(prefix)
        with mapped_errors():
            infos = await self.store.list(prefix=base or None)
        objects: list[ObjectMeta] = []
        folders: set[str] = set()
        for info in sorted(infos, key=lambda i: i.name):
            rest = info.name[len(base) :]
            if "/" in rest:
                folders.add(base + rest.split("/", 1)[0])
            else:
                objects.append(object_meta(info))
        return {"common_prefixes": sorted(folders), "objects": objects}


def _check_conditions(info: ObjectInfo, options: GetOptions) -> None:
    if_match, if_none_match = options.get("if_match"), options.get("if_none_match")
    if if_match is not None and not _etag_matches(if_match, info):
        raise PreconditionError(f"{info.name!r} is not at e-tag {if_match}", name=info.name)
    if if_none_match is not None and _etag_matches(if_none_match, info):
        raise NotModifiedError(f"{info.name!r} is at e-tag {if_none_match}", name=info.name)
    mtime = info.mtime or _EPOCH
    since = options.get("if_unmodified_since")
    if since is not None and mtime > since:
        raise PreconditionError(f"{info.name!r} was modified after {since}", name=info.name)
    since = options.get("if_modified_since")
    if since is not None and mtime <= since:
        raise NotModifiedError(f"{info.name!r} was not modified after {since}", name=info.name)


def _parse_range(byte_range: object) -> tuple[int, int | None, int | None]:
    """(start, end, suffix) of an obspec range (None: the whole object)."""
    if byte_range is None:
        return 0, None, None
    if isinstance(byte_range, dict):
        if set(byte_range) == {"offset"}:
            return _count(byte_range["offset"], "offset"), None, None
        if set(byte_range) == {"suffix"}:
            return 0, None, _count(byte_range["suffix"], "suffix", minimum=1)
    elif isinstance(byte_range, Sequence) and len(byte_range) == 2:
        start, end = (_count(value, "range") for value in byte_range)
        if end <= start:
            raise InvalidArgumentError(f"the range {start}..{end} is empty")
        return start, end, None
    raise InvalidArgumentError(
        f"a range is (start, end), {{'offset': n}} or {{'suffix': n}}, got {byte_range!r}"
    )


def _count(value: object, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{what} must be an int of at least {minimum}, got {value!r}")
    return value


def _ends(end: int | None, length: int | None) -> dict[str, list[int]]:
    if (end is None) == (length is None):
        raise InvalidArgumentError("give one of end and length")
    return {"ends": [end]} if end is not None else {"lengths": [cast(int, length)]}


def _spans(
    starts: Sequence[int], ends: Sequence[int] | None, lengths: Sequence[int] | None
) -> list[tuple[int, int]]:
    if (ends is None) == (lengths is None):
        raise InvalidArgumentError("give one of ends and lengths")
    stops = list(ends if ends is not None else lengths or ())
    if len(stops) != len(starts):
        raise InvalidArgumentError("give one end (or length) per start")
    if ends is None:
        stops = [start + length for start, length in zip(starts, stops, strict=True)]
    spans = [(_count(s, "start"), _count(e, "end")) for s, e in zip(starts, stops, strict=True)]
    for start, end in spans:
        if end <= start:
            raise InvalidArgumentError(f"the range {start}..{end} is empty")
    return spans


def _if_revision(mode: PutMode | None) -> int | None:
    if mode is None or mode == "overwrite":
        return None
    if mode == "create":
        return 0
    if isinstance(mode, dict):
        if mode.get("version") is not None:
            raise NotSupportedError("natsobj objects have no versions: update by e_tag")
        e_tag = mode.get("e_tag")
        digits = e_tag.strip('"') if isinstance(e_tag, str) else ""
        # A revision: ASCII digits (isdigit alone takes '²', which int refuses), an int64.
        if digits.isascii() and digits.isdigit() and len(digits) <= 19:
            return int(digits)
    raise InvalidArgumentError(
        f"mode is 'overwrite', 'create' or {{'e_tag': <an e-tag from head>}}, got {mode!r}"
    )


def _put_data(file: object) -> PutData:
    """What ``ObjectStore.put`` takes for an obspec put's ``file``."""
    if isinstance(file, bytes | bytearray | memoryview):
        return file
    if callable(getattr(file, "read", None)):
        return cast("IO[bytes]", file)
    with contextlib.suppress(TypeError):
        view = memoryview(file)  # type: ignore[arg-type]  # any buffer: numpy, array
        return view if view.c_contiguous else view.tobytes()
    if isinstance(file, AsyncIterable):
        return _buffers(file)
    if isinstance(file, Iterable):
        return blocks_in_thread(file)
    return cast("PutData", file)  # refused by the put, with its error


async def _buffers(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    async for block in source:
        if isinstance(block, bytes | bytearray | memoryview | str):
            yield block
        else:
            with contextlib.suppress(TypeError):
                block = memoryview(block).tobytes()
            yield block
