"""Peers in another process (nats.js on Node, nats.go as a Go program), spoken to over a line
protocol, one process per test module.

The protocol. The program is started with ``--server URL`` and reads one JSON request per line
on stdin, ``{"id": N, "op": OP, ...fields}``; it answers each, in order, with one line on
stdout: ``{"id": N, "result": ...}`` or ``{"id": N, "error": {"kind": K, "message": M}}``,
where K is an :class:`ErrorKind` value (``not_found``, ``link_is_bucket``, ``sealed``,
``other``). It exits at the end of stdin. Bytes travel in files named by the request. An info
is the stored meta's JSON fields (``name, description, headers, metadata, options, bucket,
nuid, size, chunks, digest, deleted``; absent ones null); a status is ``{bucket,
description, sealed, storage, replicas, size}``; a meta is ``{name, description, headers:
{K: [v, ...]}, metadata}``.

=================  ================================================  ============
op                 fields                                            result
=================  ================================================  ============
``create``         bucket, description                               status
``status``         bucket                                            status
``seal``           bucket                                            status
``put``            bucket, meta, file, chunk_size (null: default)    info
``get``            bucket, name, out (write the bytes there)         null
``info``           bucket, name, show_deleted                        info
``list``           bucket                                            [info] (live)
``delete``         bucket, name                                      null
``update``         bucket, name, meta (replaces every field)         null
``link``           bucket, name, target_bucket, target               info
``link-bucket``    bucket, name, target_bucket                       info
``watch``          bucket (newest entry per object, then changes)    {"watch": W}
``watch-take``     watch, count, timeout_ms                          [info]
``watch-stop``     watch                                             null
=================  ================================================  ============
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from ._core import WATCH_TIMEOUT, Cap, ErrorKind, Info, Meta, PeerError, Status, Watcher

#: Every request is answered within this; a 4 MiB put or get takes well under a second.
CALL_TIMEOUT = 30.0
#: The longest answer line read (a list of a few hundred infos is far below it).
MAX_LINE = 16 * 1024 * 1024

JS_DIR = Path(__file__).resolve().parent.parent / "js"
JS_INSTALL_HINT = "run `make test` (npm ci) to install the nats.js peer"
JS_LACKS: Mapping[Cap, str] = {
    Cap.UTF8_NAMES: (
        "nats.js encodes the meta subject with btoa(name), Latin-1 code units: `café` is"
        " another object than nats.go's, and a character above U+00FF fails"
    ),
}
#: nats.js link() writes no nuid (nor size, digest, mtime) and no Nats-Rollup header.
JS_READERS_NEED: Mapping[Cap, frozenset[Cap]] = {Cap.ADD_LINK: frozenset({Cap.READ_NUIDLESS_LINK})}


ROOT = Path(__file__).resolve().parents[3]
#: ``make test`` builds the nats.go peer (``tests/interop/go``) here.
GO_PEER = ROOT / ".gocache" / "bin" / "gopeer"
GO_INSTALL_HINT = "run `make test` (or `make go-peers`) to build the nats.go peer"
GO_LACKS: Mapping[Cap, str] = {
    Cap.READ_NUIDLESS_LINK: (
        "nats.go Get() and Delete() fail with ErrBadObjectMeta on a meta without a nuid"
    ),
    Cap.READ_EMPTY_MTIME: (
        "nats.go unmarshals mtime into a time.Time: every read of such a meta (info, get,"
        " put over it, watch) fails with ErrBadObjectMeta or skips it"
    ),
}


def go_peer_missing() -> str | None:
    """Why the nats.go peer cannot run here, or None when it can."""
    if not GO_PEER.is_file():
        return f"no {GO_PEER}"
    return None


def js_peer_missing() -> str | None:
    """Why the nats.js peer cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    for package in ("obj", "transport-node", "jetstream"):
        if not (JS_DIR / "node_modules" / "@nats-io" / package / "package.json").is_file():
            return f"{JS_DIR / 'node_modules'} has no @nats-io/{package}"
    return None


class _ProcessWatcher:
    def __init__(self, peer: ProcessPeer, watch: int) -> None:
        self._peer = peer
        self._watch = watch

    async def take(self, count: int) -> list[Info]:
        timeout_ms = int(WATCH_TIMEOUT * 1000)
        events = await self._peer.call(
            "watch-take", watch=self._watch, count=count, timeout_ms=timeout_ms
        )
        return [self._peer.info_of(event) for event in events]


class ProcessPeer:
    """A peer program speaking the line protocol above, one request at a time."""

    def __init__(
        self,
        name: str,
        process: Process,
        workdir: Path,
        stderr: IO[bytes],
        *,
        lacks: Mapping[Cap, str],
        readers_need: Mapping[Cap, frozenset[Cap]],
    ) -> None:
        self.name = name
        self.lacks = lacks
        self.readers_need = readers_need
        # open_process gives both pipes unless told otherwise
        assert process.stdin is not None
        assert process.stdout is not None
        self._process = process
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self._workdir = workdir
        self._stderr = stderr
        self._lock = anyio.Lock()
        self._last_id = 0

    @classmethod
    @asynccontextmanager
    async def start(
        cls,
        name: str,
        command: Sequence[str],
        server_url: str,
        *,
        cwd: Path,
        lacks: Mapping[Cap, str] | None = None,
        readers_need: Mapping[Cap, frozenset[Cap]] | None = None,
    ) -> AsyncIterator[ProcessPeer]:
        """Run ``command --server URL`` in ``cwd`` until the context exits."""
        with (
            tempfile.TemporaryDirectory(prefix=f"natsobj-{name}-") as workdir,
            tempfile.TemporaryFile() as stderr,
        ):
            argv = [*command, "--server", server_url]
            process = await anyio.open_process(argv, cwd=cwd, stderr=stderr)
            peer = cls(
                name,
                process,
                Path(workdir),
                stderr,
                lacks=lacks or {},
                readers_need=readers_need or {},
            )
            try:
                yield peer
            finally:
                await peer._stop()

    async def _stop(self) -> None:
        """End stdin, which makes the program exit; kill it if it has not after 5 s."""
        with anyio.move_on_after(5, shield=True):
            await self._stdin.aclose()
            await self._process.wait()
        if self._process.returncode is None:
            self._process.kill()
            with anyio.CancelScope(shield=True):
                await self._process.wait()

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode(errors="replace").strip()

    async def call(self, op: str, **fields: Any) -> Any:
        """Send one request and return its result; a failure raises PeerError."""
        async with self._lock:
            self._last_id += 1
            request_id = self._last_id
            line = json.dumps({"id": request_id, "op": op, **fields}) + "\n"
            try:
                with anyio.fail_after(CALL_TIMEOUT):
                    await self._stdin.send(line.encode())
                    answer = json.loads(await self._stdout.receive_until(b"\n", MAX_LINE))
                    # Answers to requests abandoned by a timeout or a cancellation come first.
                    while answer.get("id") != request_id:
                        answer = json.loads(await self._stdout.receive_until(b"\n", MAX_LINE))
            except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError) as exc:
                raise RuntimeError(f"{self.name} peer exited: {self._stderr_tail()}") from exc
        error = answer.get("error")
        if error is not None:
            raise PeerError(self.name, ErrorKind(error["kind"]), error["message"])
        return answer["result"]

    def info_of(self, raw: Mapping[str, Any]) -> Info:
        return Info.from_json(raw, metadata=Cap.METADATA not in self.lacks)

    async def create_bucket(self, bucket: str, *, description: str = "") -> Status:
        return Status(**await self.call("create", bucket=bucket, description=description))

    async def status(self, bucket: str) -> Status:
        return Status(**await self.call("status", bucket=bucket))

    async def seal(self, bucket: str) -> None:
        await self.call("seal", bucket=bucket)

    async def put(
        self, bucket: str, meta: Meta, data: bytes, *, chunk_size: int | None = None
    ) -> Info:
        path = anyio.Path(self._workdir / f"{uuid.uuid4().hex}.bin")
        await path.write_bytes(data)
        try:
            info = await self.call(
                "put", bucket=bucket, meta=asdict(meta), file=str(path), chunk_size=chunk_size
            )
        finally:
            await path.unlink(missing_ok=True)
        return self.info_of(info)

    async def get(self, bucket: str, name: str) -> bytes:
        path = anyio.Path(self._workdir / f"{uuid.uuid4().hex}.bin")
        try:
            await self.call("get", bucket=bucket, name=name, out=str(path))
            return await path.read_bytes()
        finally:
            await path.unlink(missing_ok=True)

    async def info(self, bucket: str, name: str, *, show_deleted: bool = False) -> Info:
        raw = await self.call("info", bucket=bucket, name=name, show_deleted=show_deleted)
        return self.info_of(raw)

    async def list(self, bucket: str) -> list[Info]:
        return [self.info_of(raw) for raw in await self.call("list", bucket=bucket)]

    async def delete(self, bucket: str, name: str) -> None:
        await self.call("delete", bucket=bucket, name=name)

    async def update_meta(self, bucket: str, name: str, meta: Meta) -> None:
        await self.call("update", bucket=bucket, name=name, meta=asdict(meta))

    async def add_link(self, bucket: str, name: str, target_bucket: str, target: str) -> None:
        fields = {"name": name, "target_bucket": target_bucket, "target": target}
        await self.call("link", bucket=bucket, **fields)

    async def add_bucket_link(self, bucket: str, name: str, target_bucket: str) -> None:
        await self.call("link-bucket", bucket=bucket, name=name, target_bucket=target_bucket)

    @asynccontextmanager
    async def watch(self, bucket: str) -> AsyncIterator[Watcher]:
        watch = (await self.call("watch", bucket=bucket))["watch"]
        try:
            yield _ProcessWatcher(self, watch)
        finally:
            with anyio.CancelScope(shield=True):
                await self.call("watch-stop", watch=watch)


@asynccontextmanager
async def js_peer(server_url: str) -> AsyncIterator[ProcessPeer]:
    """The nats.js object store (``@nats-io/obj`` on Node, ``js/peer.mjs``)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("`node` is not on PATH")
    command = [node, str(JS_DIR / "peer.mjs")]
    async with ProcessPeer.start(
        "nats.js", command, server_url, cwd=JS_DIR, lacks=JS_LACKS, readers_need=JS_READERS_NEED
    ) as peer:
        yield peer


@asynccontextmanager
async def go_peer(server_url: str) -> AsyncIterator[ProcessPeer]:
    """The nats.go object store (``jetstream`` package, ``go/``, built to ``GO_PEER``)."""
    async with ProcessPeer.start(
        "nats.go", [str(GO_PEER)], server_url, cwd=GO_PEER.parent, lacks=GO_LACKS
    ) as peer:
        yield peer
