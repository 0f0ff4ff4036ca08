"""Interop peers for the tests in this directory.

Two peers, both real implementations of the NATS object store, never mocks:

* :class:`JSPeer` runs ``js/peer.mjs`` (``@nats-io/obj`` 3.4.0 on Node) as a subprocess, one
  command per call, and returns the JSON line it prints.
* The ``builtin_*`` helpers are thin wrappers around nats-py's own object store
  (``nats.js.object_store.ObjectStore``), so the tests read the same way for both peers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import nats
from nats.js import api
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore as BuiltinObjectStore

__all__ = [
    "INSTALL_HINT",
    "PEER_DIR",
    "BuiltinObjectStore",
    "JSPeer",
    "JSPeerError",
    "builtin_delete",
    "builtin_get",
    "builtin_info",
    "builtin_list",
    "builtin_put",
    "builtin_store",
    "builtin_update_meta",
    "digest_of",
    "js_peer_missing",
    "node_available",
]

PEER_DIR = Path(__file__).resolve().parent / "js"
PEER_SCRIPT = PEER_DIR / "peer.mjs"
INSTALL_HINT = "run `make test` (npm ci) to install the nats.js peer"

#: Every peer call is bounded; a 5 MiB put or get takes well under a second.
DEFAULT_TIMEOUT = 30.0

#: nats-py's list() never returns when the newest meta message is one it cannot parse.
BUILTIN_LIST_TIMEOUT = 10.0

JSON = Any
"""A decoded JSON value (the peer's output)."""
JSONList = list[Any]
"""A decoded JSON array (``JSPeer.list`` shadows ``list`` inside the class)."""


def digest_of(data: bytes) -> str:
    """The object store digest of ``data``: ``SHA-256=`` + padded base64url."""
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


# --------------------------------------------------------------------------- nats.js peer


def js_peer_missing() -> str | None:
    """Why the nats.js peer cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    for package in ("obj", "transport-node", "jetstream"):
        if not (PEER_DIR / "node_modules" / "@nats-io" / package / "package.json").is_file():
            return f"{PEER_DIR / 'node_modules'} has no @nats-io/{package}"
    return None


def node_available() -> bool:
    """True when Node and the peer's ``node_modules`` are both present."""
    return js_peer_missing() is None


class JSPeerError(Exception):
    """The nats.js peer printed ``{"error": ...}`` (or nothing parseable) and failed."""

    def __init__(self, command: Sequence[str], result: Mapping[str, Any], stderr: str) -> None:
        self.command = list(command)
        self.message: str = str(result.get("error", ""))
        self.type: str | None = result.get("type")
        self.not_found: bool = bool(result.get("not_found", False))
        self.stderr = stderr
        super().__init__(f"nats.js peer {' '.join(self.command)!r} failed: {self.message}")


def _pairs(flag: str, items: Mapping[str, str | Sequence[str]] | None) -> list[str]:
    out: list[str] = []
    for key, value in (items or {}).items():
        values = [value] if isinstance(value, str) else list(value)
        for v in values:
            out += [flag, f"{key}={v}"]
    return out


@dataclass(frozen=True)
class JSPeer:
    """The ``@nats-io/obj`` 3.4.0 object store, driven through ``js/peer.mjs``.

    Every method runs one ``node peer.mjs`` process against ``server`` and returns the JSON
    it printed; a failure raises :class:`JSPeerError`.
    """

    server: str
    timeout: float = DEFAULT_TIMEOUT

    async def run(self, command: str, *args: str, bucket: str) -> JSON:
        """``node peer.mjs COMMAND ARGS --server URL --bucket B``, parsed; bounded in time."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("`node` is not on PATH")
        argv = [node, str(PEER_SCRIPT), command, *args, "--server", self.server]
        argv += ["--bucket", bucket]
        with anyio.fail_after(self.timeout):
            # On timeout anyio kills the process.
            proc = await anyio.run_process(
                argv, stdin=subprocess.DEVNULL, check=False, cwd=PEER_DIR
            )
        stderr = proc.stderr.decode(errors="replace")
        lines = proc.stdout.decode(errors="replace").strip().splitlines()
        try:
            result: JSON = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            detail = {"error": f"no JSON on stdout (exit {proc.returncode}): {stderr.strip()}"}
            raise JSPeerError(argv[2:], detail, stderr) from None
        if proc.returncode != 0 or (isinstance(result, dict) and "error" in result):
            if not isinstance(result, dict):
                result = {"error": f"exit {proc.returncode}: {result!r}"}
            raise JSPeerError(argv[2:], result, stderr)
        return result

    async def create(self, bucket: str) -> JSON:
        return await self.run("create", bucket=bucket)

    async def put(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        chunk_size: int | None = None,
        description: str | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> JSON:
        args = [name]
        if chunk_size is not None:
            args += ["--chunk-size", str(chunk_size)]
        if description is not None:
            args += ["--description", description]
        args += _pairs("--header", headers)
        args += _pairs("--meta", metadata)
        with tempfile.TemporaryDirectory(prefix="natsobj-peer-") as tmp:
            source = anyio.Path(tmp) / "object.bin"
            await source.write_bytes(data)
            return await self.run("put", *args, "--file", str(source), bucket=bucket)

    async def get(self, bucket: str, name: str) -> tuple[bytes, JSON]:
        """The object's bytes (links followed) and the peer's ``{size, digest, ...}``."""
        with tempfile.TemporaryDirectory(prefix="natsobj-peer-") as tmp:
            out = anyio.Path(tmp) / "object.bin"
            result = await self.run("get", name, "--out", str(out), bucket=bucket)
            data = await out.read_bytes()
        return data, result

    async def info(self, bucket: str, name: str) -> JSON:
        return await self.run("info", name, bucket=bucket)

    async def list(self, bucket: str) -> JSONList:
        result: JSONList = await self.run("list", bucket=bucket)
        return result

    async def delete(self, bucket: str, name: str) -> JSON:
        return await self.run("delete", name, bucket=bucket)

    async def link(self, bucket: str, name: str, target_bucket: str, target: str) -> JSON:
        args = [name, "--target-bucket", target_bucket, "--target", target]
        return await self.run("link", *args, bucket=bucket)

    async def link_bucket(self, bucket: str, name: str, target_bucket: str) -> JSON:
        return await self.run("link-bucket", name, "--target-bucket", target_bucket, bucket=bucket)

    async def rename(self, bucket: str, old: str, new: str) -> JSON:
        return await self.run("rename", old, new, bucket=bucket)

    async def update(self, bucket: str, name: str, *, description: str) -> JSON:
        return await self.run("update", name, "--description", description, bucket=bucket)

    async def watch(self, bucket: str, count: int, *, include_history: bool = True) -> JSONList:
        """The first ``count`` watch entries (within 10 s), each info JSON + ``is_update``.

        nats.js's ``includeHistory`` is last-per-subject; without it, only new changes.
        """
        args = ["--count", str(count), "--timeout", "10000"]
        if include_history:
            args.append("--include-history")
        result: JSONList = await self.run("watch", *args, bucket=bucket)
        return result


# ----------------------------------------------------------------- nats-py built-in store


@asynccontextmanager
async def builtin_store(
    url: str, bucket: str, *, create: bool = False
) -> AsyncIterator[BuiltinObjectStore]:
    """nats-py's own object store for ``bucket`` on a fresh connection, closed on exit."""
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        if create:
            store = await js.create_object_store(bucket)
        else:
            store = await js.object_store(bucket)
        yield store
    finally:
        await nc.close()


async def builtin_put(
    store: BuiltinObjectStore,
    name: str,
    data: bytes,
    *,
    chunk_size: int | None = None,
    description: str | None = None,
    headers: Mapping[str, Sequence[str]] | None = None,
) -> api.ObjectInfo:
    """Put with nats-py (it has no object ``metadata`` field)."""
    meta = api.ObjectMeta(
        name=name,
        description=description,
        headers={k: list(v) for k, v in headers.items()} if headers is not None else None,
        options=api.ObjectMetaOptions(max_chunk_size=chunk_size) if chunk_size else None,
    )
    return await store.put(name, data, meta=meta)


async def builtin_get(store: BuiltinObjectStore, name: str) -> tuple[bytes, api.ObjectInfo]:
    """The bytes (nats-py follows object links; JS links have no nuid and fail) and info."""
    result = await store.get(name)
    return bytes(result.data or b""), result.info


async def builtin_info(
    store: BuiltinObjectStore, name: str, *, show_deleted: bool = False
) -> api.ObjectInfo:
    return await store.get_info(name, show_deleted=show_deleted)


async def builtin_delete(store: BuiltinObjectStore, name: str) -> None:
    await store.delete(name)


async def builtin_list(
    store: BuiltinObjectStore, *, ignore_deletes: bool = False
) -> list[api.ObjectInfo]:
    """nats-py ``list()``, with ``[]`` for an empty bucket (it raises NotFoundError).

    Bounded by BUILTIN_LIST_TIMEOUT (TimeoutError): nats-py's list hangs forever when the
    newest meta message is one it cannot parse, such as a nats.js object link.
    """
    with anyio.fail_after(BUILTIN_LIST_TIMEOUT):
        try:
            infos: list[api.ObjectInfo] = await store.list(ignore_deletes=ignore_deletes)
        except NotFoundError:
            return []
    return infos


async def builtin_update_meta(
    store: BuiltinObjectStore,
    name: str,
    *,
    new_name: str | None = None,
    description: str | None = None,
    headers: Mapping[str, Sequence[str]] | None = None,
) -> None:
    meta = api.ObjectMeta(
        name=new_name if new_name is not None else name,
        description=description,
        headers={k: list(v) for k, v in headers.items()} if headers is not None else None,
    )
    await store.update_meta(name, meta)
