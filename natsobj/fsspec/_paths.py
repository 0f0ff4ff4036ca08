"""Paths, listing entries and errors as fsspec wants them (pure: no I/O).

A path is ``bucket/name``: the first segment is the bucket, the rest the object's name.
Directories are derived from ``/`` in names: ``b/a/x`` and ``b/a/y`` make ``b/a`` a
directory, which exists exactly while some object name starts with ``a/``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import natsobj

from .._wire import decode_digest

__all__ = [
    "Entry",
    "digest_int",
    "directory_entry",
    "file_entry",
    "fs_errors",
    "join",
    "parents_within",
    "split_path",
]

Entry = dict[str, Any]


def split_path(path: str) -> tuple[str, str]:
    """``(bucket, name)`` of a path without protocol; either may be ``""``."""
    bucket, _, name = path.strip("/").partition("/")
    return bucket, name


def join(bucket: str, name: str) -> str:
    return f"{bucket}/{name}" if name else bucket


def directory_entry(path: str) -> Entry:
    """What ``info`` says of a bucket or a pseudo-directory: size 0, type directory."""
    return {"name": path, "size": 0, "type": "directory"}


def file_entry(bucket: str, info: natsobj.ObjectInfo, target: natsobj.ObjectInfo | None) -> Entry:
    """What ``info`` says of an object. For a link, ``target`` is the object it points
    to: size, digest and nuid are the target's (what a read returns), ``link`` says where."""
    data = target or info
    entry: Entry = {
        "name": join(bucket, info.name),
        "size": data.size,
        "type": "file",
        "mtime": info.mtime,
        "created": info.created,
        "digest": data.digest,
        "nuid": data.nuid,
        "chunks": data.chunks,
        "revision": info.revision,
        "content_type": data.content_type,
        "description": info.description,
        "metadata": dict(info.metadata),
    }
    link = info.link
    if link is not None:
        entry["link"] = join(link.bucket, link.name or "")
        if link.name is None:  # a link to a whole bucket: nothing to read
            entry["type"] = "other"
    return entry


def digest_int(entry: Entry) -> int | None:
    """The SHA-256 digest of an entry as an int, if it has one (``checksum``)."""
    raw = decode_digest(entry.get("digest") or "")
    return None if raw is None else int.from_bytes(raw, "big")


def parents_within(name: str, maxdepth: int | None) -> Iterator[str]:
    """The directories above ``name`` (relative, ``a``, ``a/b``, ...) down to ``maxdepth``
    levels below the start (``find``'s ``withdirs``)."""
    parts = name.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        if maxdepth is not None and depth > maxdepth:
            return
        yield "/".join(parts[:depth])


@contextmanager
def fs_errors(path: str, forget: Callable[[str], None] | None = None) -> Iterator[None]:
    """natsobj's errors as the builtins fsspec and its callers catch: a missing bucket or
    an impossible name is FileNotFoundError, a sealed bucket PermissionError, a bucket
    that is not empty OSError(ENOTEMPTY). The rest are already builtins too
    (``ObjectNotFoundError`` is a FileNotFoundError, ``ObjectExistsError`` a
    FileExistsError, ``ServerUnavailableError`` a ConnectionError, timeouts TimeoutError,
    permissions PermissionError); the original is the cause. ``forget`` is told the
    bucket that was not found (an opened handle of it is stale)."""
    try:
        yield
    except (natsobj.BucketNotFoundError, natsobj.InvalidBucketNameError) as exc:
        if forget is not None and exc.bucket:
            forget(exc.bucket)
        raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
    except natsobj.BucketSealedError as exc:
        raise PermissionError(errno.EROFS, str(exc), path) from exc
    except natsobj.BucketNotEmptyError as exc:
        raise OSError(errno.ENOTEMPTY, str(exc), path) from exc
