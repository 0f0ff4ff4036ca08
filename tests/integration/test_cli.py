"""The ``natsobj`` command, run as a real subprocess against a real nats-server.

Every command, its JSON output, exit codes and error lines, binary stdin/stdout piping,
directory round trips, ``natsobj server`` start and stop, and the progress display of a
large transfer in a pseudo-terminal.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import nats
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

import natsobj
from natsobj._wire import encode_name
from tests.conftest import unique_bucket

pytestmark = pytest.mark.anyio

NATSOBJ = [sys.executable, "-m", "natsobj.cli"]
RUN_TIMEOUT = 30.0

OBJECT_KEYS = {
    "bucket",
    "name",
    "description",
    "size",
    "chunks",
    "chunk_size",
    "digest",
    "mtime",
    "deleted",
    "nuid",
    "revision",
    "headers",
    "metadata",
    "link",
}
BUCKET_KEYS = {
    "bucket",
    "description",
    "ttl_seconds",
    "max_bytes",
    "storage",
    "replicas",
    "compression",
    "sealed",
    "size",
    "messages",
    "atomic_puts",
    "batched_puts",
    "message_ttl",
    "public",
    "file_size_limit",
    "allowed_mime_types",
    "placement",
    "metadata",
    "backing_store",
    "stream",
}


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode()

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_env(url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_DEBUG"))}
    if url is not None:
        env["NATS_URL"] = url
    env.update(extra)
    return env


async def natsobj_cli(
    url: str | None,
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Result:
    """Run ``natsobj ARGS`` to completion; every error must be one line, never a traceback."""
    with anyio.fail_after(timeout):
        proc = await anyio.run_process(
            [*NATSOBJ, *args], input=stdin, check=False, env=cli_env(url), cwd=cwd
        )
    result = Result(proc.returncode, proc.stdout, proc.stderr.decode())
    assert "Traceback" not in result.stderr, result.stderr
    if result.code != 0:
        assert result.stderr.count("\n") <= 1, result.stderr
    return result


async def concurrently(url: str | None, *commands: Sequence[str]) -> list[Result]:
    """Run several ``natsobj`` commands at once (they are independent); results in order."""
    return await concurrently_in(None, url, *commands)


async def concurrently_in(
    cwd: Path | None, url: str | None, *commands: Sequence[str]
) -> list[Result]:
    results: dict[int, Result] = {}

    async def one(index: int, args: Sequence[str]) -> None:
        results[index] = await natsobj_cli(url, *args, cwd=cwd)

    async with anyio.create_task_group() as tg:
        for index, args in enumerate(commands):
            tg.start_soon(one, index, args)
    return [results[index] for index in range(len(commands))]


def assert_error(result: Result, code: int, *words: str) -> None:
    assert result.code == code, (result.code, result.stderr)
    assert result.stderr.startswith("natsobj: error: "), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def sha256_digest(data: bytes) -> str:
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def url(server: natsobj.EmbeddedServer) -> str:
    return server.url


@pytest.fixture
def bucket(store: natsobj.ObjectStore) -> str:
    """A fresh bucket (made with the library: the commands under test are the point)."""
    return store.bucket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def started(
    url: str | None, *args: str, cwd: Path | None = None
) -> AsyncIterator[tuple[Process, BufferedByteReceiveStream]]:
    """A long-running ``natsobj`` (server, watch) with its stdout readable by line."""
    process = await anyio.open_process(
        [*NATSOBJ, *args], stdin=subprocess.DEVNULL, env=cli_env(url), cwd=cwd
    )
    try:
        assert process.stdout is not None
        yield process, BufferedByteReceiveStream(process.stdout)
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.aclose()


async def read_json_line(lines: BufferedByteReceiveStream, timeout: float = 15) -> Any:
    with anyio.fail_after(timeout):
        return json.loads(await lines.receive_until(b"\n", 1 << 20))


async def stop(process: Process, signum: signal.Signals = signal.SIGINT) -> tuple[int, str]:
    """Send ``signum``, wait for the exit; the exit code and what it wrote to stderr."""
    process.send_signal(signum)
    with anyio.fail_after(20):
        code = await process.wait()
    assert process.stderr is not None
    err = b"".join([chunk async for chunk in process.stderr]).decode()
    return code, err


# --------------------------------------------------------------------------- basics


async def test_version_help_and_usage_errors() -> None:
    version, helped, no_file, size, ttl = await concurrently(
        None,
        ["--version"],
        ["put", "--help"],
        ["put", "b", "/nonexistent/file"],
        ["put", "b", "-", "-n", "x", "--chunk-size", "12XB"],
        ["bucket", "add", "b", "--ttl", "soon"],
    )
    assert version.code == 0
    assert natsobj.__version__ in version.out
    assert helped.code == 0
    assert "--chunk-size" in helped.out
    assert "--server" in helped.out
    assert_error(no_file, 2, "/nonexistent/file")
    assert_error(size, 2, "--chunk-size", "not a size")
    assert_error(ttl, 2, "--ttl", "not a duration")


# A core-only install: click and rich cannot be imported (what `pip install natsobj` leaves).
WITHOUT_CLI_EXTRA = """
import runpy, sys
sys.modules["click"] = sys.modules["rich"] = None
import natsobj.cli
assert "click" not in sys.modules or sys.modules["click"] is None
runpy.run_module("natsobj", run_name="__main__")
"""


async def test_python_m_natsobj_and_a_core_only_install() -> None:
    with anyio.fail_after(RUN_TIMEOUT):
        version = await anyio.run_process([sys.executable, "-m", "natsobj", "--version"])
        bare = await anyio.run_process(
            [sys.executable, "-c", WITHOUT_CLI_EXTRA, "ls"], check=False, env=cli_env(None)
        )
    assert natsobj.__version__ in version.stdout.decode()
    assert bare.returncode == 1
    err = bare.stderr.decode()
    assert err.count("\n") == 1, err  # one line, no traceback
    assert "natsobj: error: the command line needs click and rich" in err
    assert "pip install 'natsobj[cli]'" in err


async def test_no_server_says_how_to_start_one() -> None:
    started_at = time.monotonic()
    result = await natsobj_cli(f"nats://127.0.0.1:{free_port()}", "ls")
    assert_error(result, 4, "cannot connect", "natsobj server")
    assert time.monotonic() - started_at < 5  # no retrying for minutes
    # --server on the command wins over NATS_URL.
    result = await natsobj_cli(None, "bucket", "ls", "--server", "nats://127.0.0.1:1")
    assert_error(result, 4, "nats://127.0.0.1:1")


async def test_credentials_options() -> None:
    config = "authorization { user: alice, password: s3cret }"
    async with natsobj.EmbeddedServer(config=config) as secured:
        wrong, right, no_creds = await concurrently(
            secured.url,
            ["ls", "--user", "alice", "--password", "nope"],
            ["--user", "alice", "--password", "s3cret", "ls", "--json"],  # on the group
            ["ls", "--creds", "/nonexistent/user.creds"],
        )
        assert_error(wrong, 6, "refused the credentials")
        assert right.code == 0, right.stderr
        assert right.json() == []
        assert_error(no_creds, 2, "--creds")
    async with natsobj.EmbeddedServer(config="authorization { token: t0ken }") as secured:
        good = await natsobj_cli(secured.url, "ls", "--token", "t0ken")
    assert good.code == 0, good.stderr


async def test_server_without_jetstream() -> None:
    async with natsobj.EmbeddedServer(jetstream=False) as plain:
        assert_error(await natsobj_cli(plain.url, "ls"), 4, "JetStream", "natsobj server")


# --------------------------------------------------------------------------- buckets


async def added_bucket(url: str, name: str, *options: str) -> Any:
    """``natsobj bucket add NAME OPTIONS --json``: the new bucket's JSON."""
    added = await natsobj_cli(url, "bucket", "add", name, *options, "--json")
    assert added.code == 0, added.stderr
    return added.json()


async def test_bucket_add_with_every_option_and_lifecycle(
    url: str, manager: natsobj.ObjectStoreManager
) -> None:
    name = unique_bucket()
    status = await added_bucket(
        url, name, "-d", "team files", "--ttl", "7d", "--max-bytes", "1GiB",
        "--storage", "memory", "--replicas", "1", "--compression", "-m", "team=x",
        "-m", "tier=gold",
    )  # fmt: skip
    assert set(status) == BUCKET_KEYS
    assert status["bucket"] == name
    assert status["description"] == "team files"
    assert status["ttl_seconds"] == 7 * 86400
    assert status["max_bytes"] == 1024**3
    assert status["storage"] == "memory"
    assert status["replicas"] == 1
    assert status["compression"] is True
    assert status["sealed"] is False
    assert status["metadata"] == {"team": "x", "tier": "gold"}
    assert status["stream"] == f"OBJ_{name}"
    assert (await (await manager.object_store(name)).status()).compressed

    listing, info, table, human, conflict, bad_name = await concurrently(
        url,
        ["bucket", "ls", "--json"],
        ["bucket", "info", name, "--json"],
        ["ls"],  # no bucket: the buckets
        ["bucket", "info", name],
        ["bucket", "add", name, "-q"],  # the same name, another config
        ["bucket", "add", "no spaces"],
    )
    assert name in [b["bucket"] for b in listing.json()]
    assert info.json() == status
    assert name in table.out
    assert "team files" in table.out
    assert "7d" in table.out
    assert "1.0 GiB" in human.out
    assert "team=x" in human.out
    assert_error(conflict, 5, name)
    assert_error(bad_name, 2, "bucket name")

    sealed = await natsobj_cli(url, "bucket", "seal", name, "--json", "--force")
    assert sealed.code == 0, sealed.stderr
    assert sealed.json()["sealed"] is True
    refused = await natsobj_cli(url, "put", name, "-", "-n", "x", stdin=b"data")
    assert_error(refused, 5, "sealed")

    removed = await natsobj_cli(url, "bucket", "rm", name, "-f")
    assert removed.code == 0
    assert f"deleted bucket {name}" in removed.out
    assert_error(await natsobj_cli(url, "ls", name), 3, name)


async def test_bucket_update_changes_only_what_is_given(
    url: str, manager: natsobj.ObjectStoreManager
) -> None:
    name = unique_bucket()
    status = await added_bucket(
        url, name, "-d", "photos", "--ttl", "7d", "-m", "team=x", "-m", "tier=gold",
        "--max-bytes", "10MB", "--public", "--file-size-limit", "1.5MB",
        "--allowed-mime-types", "image/*,text/plain",
    )  # fmt: skip
    assert status["max_bytes"] == 10_000_000  # MB: powers of 1000
    assert status["file_size_limit"] == 1_500_000
    assert (status["public"], status["allowed_mime_types"]) == (True, ["image/*", "text/plain"])
    try:
        changed = await natsobj_cli(
            url, "bucket", "update", name, "-d", "all photos", "-m", "tier=silver",
            "--remove-metadata", "team", "--max-bytes", "none", "--file-size-limit", "2MiB",
            "--json",
        )  # fmt: skip
        assert changed.code == 0, changed.stderr
        after = changed.json()
        assert set(after) == BUCKET_KEYS
        assert after["description"] == "all photos"
        assert after["metadata"] == {"tier": "silver"}
        assert after["max_bytes"] is None
        assert after["file_size_limit"] == 2 * 1024**2
        # What was not given is as it was.
        for key in ("ttl_seconds", "public", "allowed_mime_types", "replicas", "storage"):
            assert after[key] == status[key], key
        # Library handles opened now enforce the policy the CLI wrote.
        store = await manager.object_store(name)
        with pytest.raises(natsobj.InvalidMimeTypeError):
            await store.put("notes.pdf", b"%PDF")
        with pytest.raises(natsobj.ObjectTooLargeError):
            await store.put("big.png", b"x" * (2 * 1024**2 + 1))

        lifted = await natsobj_cli(
            url, "bucket", "update", name, "--private", "--allowed-mime-types", "any",
            "--file-size-limit", "none", "--ttl", "0", "--compression", "--json",
        )  # fmt: skip
        assert lifted.code == 0, lifted.stderr
        final = lifted.json()
        assert (final["public"], final["allowed_mime_types"]) == (False, None)
        assert (final["file_size_limit"], final["ttl_seconds"]) == (None, None)
        assert final["compression"] is True
        assert final["description"] == "all photos"
        await (await manager.object_store(name)).put("notes.pdf", b"%PDF")

        # A policy another client wrote in a form no reader takes is ignored, and an
        # update leaves it out; it does not stop the update.
        info = await raw_request(url, f"$JS.API.STREAM.INFO.OBJ_{name}", b"")
        config = info["config"]
        config["metadata"] |= {"natsobj.file_size_limit": "lots", "natsobj.public": "maybe"}
        updated = await raw_request(
            url, f"$JS.API.STREAM.UPDATE.OBJ_{name}", json.dumps(config).encode()
        )
        assert "error" not in updated, updated
        described = await natsobj_cli(url, "bucket", "update", name, "-d", "again", "--json")
        assert described.code == 0, described.stderr
        assert (described.json()["file_size_limit"], described.json()["public"]) == (None, False)
        stored = (await raw_request(url, f"$JS.API.STREAM.INFO.OBJ_{name}", b""))["config"]
        assert "natsobj.file_size_limit" not in stored["metadata"]

        nothing, missing, bad_type, bad_size = await concurrently(
            url,
            ["bucket", "update", name],
            ["bucket", "update", unique_bucket(), "--public"],
            ["bucket", "update", name, "--allowed-mime-types", "images"],
            ["bucket", "update", name, "--max-bytes", "lots"],
        )
        assert_error(nothing, 2, "nothing to change")
        assert_error(missing, 3, "not found")
        assert_error(bad_type, 2, "allowed_mime_types")
        assert_error(bad_size, 2, "--max-bytes", "not a size")
    finally:
        await manager.delete_object_store(name)


async def test_rm_and_seal_without_a_terminal_need_force(
    url: str, manager: natsobj.ObjectStoreManager
) -> None:
    name = unique_bucket()
    await manager.create_object_store(name)
    seal, remove = await concurrently(url, ["bucket", "seal", name], ["bucket", "rm", name])
    assert_error(seal, 2, "--force", "not a terminal")
    assert_error(remove, 2, "--force", "not a terminal")
    status = await (await manager.object_store(name)).status()
    assert not status.sealed  # nothing was done unasked
    sealed = await natsobj_cli(url, "bucket", "seal", name, "--force")
    assert sealed.code == 0, sealed.stderr
    removed = await natsobj_cli(url, "bucket", "rm", name, "--force")
    assert removed.out == f"deleted bucket {name}\n"
    assert name not in await manager.object_store_names()


# --------------------------------------------------------------------------- objects


async def test_stdin_stdout_binary_piping_and_ranges(
    url: str, store: natsobj.ObjectStore, tmp_path: Path
) -> None:
    bucket = store.bucket
    data = os.urandom(3 * 1024 * 1024 + 17) + b"\r\n\x00\x1a\n" * 1000
    put = await natsobj_cli(url, "put", bucket, "-", "--name", "blob.bin", "--json", stdin=data)
    assert put.code == 0, put.stderr
    (info,) = put.json()
    assert info["size"] == len(data)
    assert info["digest"] == sha256_digest(data)
    assert await store.get_bytes("blob.bin") == data

    copy = tmp_path / "copy.bin"
    whole, ranged, tail, to_file, no_name, missing = await concurrently(
        url,
        ["cat", bucket, "blob.bin"],
        ["cat", bucket, "blob.bin", "--start", "1MiB", "--end", "2000000"],
        ["get", bucket, "blob.bin", "-o", "-", "--start", "3145000"],
        ["get", bucket, "blob.bin", "-o", str(copy)],
        ["put", bucket, "-"],
        ["cat", bucket, "nope"],
    )
    assert whole.stdout == data
    assert ranged.stdout == data[1024 * 1024 : 2_000_000]
    assert tail.stdout == data[3_145_000:]
    assert copy.read_bytes() == data
    # Not a terminal: no progress bar, only the summary.
    assert to_file.out.startswith(f"got {copy}: 3.0 MiB")
    assert "%" not in to_file.out + to_file.stderr
    assert_error(no_name, 2, "--name")
    assert_error(missing, 3, "nope")


async def test_put_options_info_and_ls(
    url: str, store: natsobj.ObjectStore, tmp_path: Path
) -> None:
    bucket = store.bucket
    data = os.urandom(5000)
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    put, quiet = await concurrently(
        url,
        ["put", bucket, str(path), "-d", "Q3 report", "-H", "Content-Type: application/pdf",
         "-H", "X-Tag:a", "-H", "X-Tag:b", "-m", "owner=me", "-m", "eq=a=b",
         "--chunk-size", "1KiB"],
        ["put", bucket, str(path), "-n", "notes/b.txt", "-q"],
    )  # fmt: skip
    assert put.code == 0, put.stderr
    assert f"put {bucket}/report.pdf" in put.out
    assert "5 chunks" in put.out
    assert quiet.code == 0
    assert quiet.stdout == b""
    assert quiet.stderr == ""
    await store.put("notes/a.txt", b"a" * 2048)

    info, table, prefixed, human = await concurrently(
        url,
        ["info", bucket, "report.pdf", "--json"],
        ["ls", bucket],
        ["ls", bucket, "--prefix", "notes/", "--json"],
        ["info", bucket, "report.pdf"],
    )
    meta = info.json()
    assert set(meta) == OBJECT_KEYS
    assert meta["name"] == "report.pdf"
    assert meta["bucket"] == bucket
    assert meta["description"] == "Q3 report"
    assert meta["headers"] == {"Content-Type": ["application/pdf"], "X-Tag": ["a", "b"]}
    assert meta["metadata"] == {"owner": "me", "eq": "a=b"}
    assert (meta["size"], meta["chunks"], meta["chunk_size"]) == (5000, 5, 1024)
    assert meta["digest"] == sha256_digest(data)
    assert meta["deleted"] is False
    assert meta["link"] is None
    assert meta["mtime"].endswith("Z")
    assert meta["revision"] > 0
    stored = await store.get_info("report.pdf")
    assert stored.headers == meta["headers"]
    assert stored.metadata == meta["metadata"]

    for text in ("Name", "Size", "Modified", "Chunks", "Digest", "4.9 KiB", "3 objects"):
        assert text in table.out, text
    assert sha256_digest(data)[8:20] in table.out  # the short digest
    names = [line.split()[0] for line in table.out.splitlines()[2:5]]
    assert names == ["notes/a.txt", "notes/b.txt", "report.pdf"]  # sorted by name
    assert [o["name"] for o in prefixed.json()] == ["notes/a.txt", "notes/b.txt"]
    assert all(set(o) == OBJECT_KEYS for o in prefixed.json())
    assert "Q3 report" in human.out
    assert "application/pdf" in human.out


async def test_directory_round_trip(url: str, store: natsobj.ObjectStore, tmp_path: Path) -> None:
    bucket = store.bucket
    source = tmp_path / "photos"
    files = {
        "a.jpg": os.urandom(300_000),
        "empty.txt": b"",
        "sub/b.raw": os.urandom(1000),
        "sub/deeper/c été.txt": "ça va".encode(),
    }
    for rel, content in files.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(content)
    (tmp_path / "nothing").mkdir()

    put = await natsobj_cli(
        url, "put", bucket, str(source), str(tmp_path / "nothing"), "--prefix", "p/", "--json"
    )
    assert put.code == 0, put.stderr
    assert "nothing has no files" in put.stderr
    assert sorted(o["name"] for o in put.json()) == sorted(f"p/{rel}" for rel in files)
    for rel, content in files.items():
        assert await store.get_bytes(f"p/{rel}") == content

    out, named, cwd = tmp_path / "out", tmp_path / "named", tmp_path / "cwd"
    cwd.mkdir()
    target = tmp_path / "target.jpg"
    target.write_bytes(b"old")
    got, several, single, missing = await concurrently_in(
        cwd,
        url,
        # --prefix: the prefix's directory part is taken off the local names.
        ["get", bucket, "--prefix", "p/", "-o", str(out)],
        # Several names keep their full names.
        ["get", bucket, "p/a.jpg", "p/sub/b.raw", "-o", str(named)],
        # One name goes to its base name in the current directory.
        ["get", bucket, "p/sub/deeper/c été.txt", "--json"],
        # An existing file is replaced only by a whole, verified object.
        ["get", bucket, "p/missing.jpg", "-o", str(target)],
    )
    assert got.code == 0, got.stderr
    assert "got 4 objects" in got.out
    for rel, content in files.items():
        assert (out / rel).read_bytes() == content, rel
    local = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert local == sorted(files)
    assert several.code == 0, several.stderr
    assert (named / "p" / "a.jpg").read_bytes() == files["a.jpg"]
    assert (named / "p" / "sub" / "b.raw").read_bytes() == files["sub/b.raw"]
    assert single.code == 0, single.stderr
    assert (cwd / "c été.txt").read_bytes() == files["sub/deeper/c été.txt"]
    assert single.json()[0]["name"] == "p/sub/deeper/c été.txt"
    assert_error(missing, 3)
    assert target.read_bytes() == b"old"

    replaced = await natsobj_cli(url, "get", bucket, "p/a.jpg", "-o", str(target))
    assert replaced.code == 0, replaced.stderr
    assert target.read_bytes() == files["a.jpg"]
    assert not list(tmp_path.glob(".target.jpg.*"))  # no temporary file left behind


async def test_put_directory_dotfiles_symlinks_and_special_files(
    url: str, store: natsobj.ObjectStore, tmp_path: Path
) -> None:
    bucket = store.bucket
    (tmp_path / "secret.txt").write_bytes(b"not for the bucket")
    source = tmp_path / "src"
    for rel in ("a.txt", ".env", ".git/config", "sub/b.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(rel.encode())
    (source / "link-secret").symlink_to(tmp_path / "secret.txt")
    (source / "sub" / "loop").symlink_to(source, target_is_directory=True)
    os.mkfifo(source / "fifo")  # reading it would block the put for good

    plain, no_hidden, followed, named = await concurrently(
        url,
        ["put", bucket, str(source), "--prefix", "d/", "-q"],
        ["put", bucket, str(source), "--prefix", "h/", "--skip-hidden", "-q"],
        ["put", bucket, str(source), "--prefix", "f/", "--follow-symlinks", "-q"],
        ["put", bucket, str(source / "link-secret"), "--prefix", "n/", "-q"],
    )
    for result in (plain, no_hidden, followed, named):
        assert result.code == 0, result.stderr
    names = sorted(info.name for info in await store.list())
    assert [n for n in names if n.startswith("d/")] == [
        "d/.env", "d/.git/config", "d/a.txt", "d/sub/b.txt"
    ]  # fmt: skip
    assert [n for n in names if n.startswith("h/")] == ["h/a.txt", "h/sub/b.txt"]
    assert [n for n in names if n.startswith("f/")] == [
        "f/.env", "f/.git/config", "f/a.txt", "f/link-secret", "f/sub/b.txt"
    ]  # fmt: skip
    assert await store.get_bytes("f/link-secret") == b"not for the bucket"
    assert await store.get_bytes("n/link-secret") == b"not for the bucket"  # named: followed
    # Every entry left out is named in a warning.
    assert f"skipping {source / 'link-secret'}: a symbolic link" in plain.stderr
    assert f"skipping {source / 'sub' / 'loop'}: a symbolic link" in plain.stderr
    assert f"skipping {source / 'fifo'}: not a regular file" in plain.stderr
    assert f"skipping {source / 'sub' / 'loop'}: it leads to a directory already put" in (
        followed.stderr
    )
    assert ".env" not in no_hidden.stderr  # left out on request, without a warning


async def test_rm_mv_and_links(
    url: str, store: natsobj.ObjectStore, manager: natsobj.ObjectStoreManager
) -> None:
    bucket = store.bucket
    other = await manager.create_object_store(unique_bucket())
    try:
        for name, data in (("a", b"A" * 10), ("b", b"B"), ("c", b"C"), ("keep", b"K")):
            await store.put(name, data)
        await store.put("taken", b"T")
        await other.put("remote", b"far away")

        removed, moved = await concurrently(
            url, ["rm", bucket, "b", "c"], ["mv", bucket, "keep", "kept", "--json"]
        )
        assert removed.code == 0, removed.stderr
        assert removed.out.split("\n")[:2] == ["deleted b", "deleted c"]
        assert moved.code == 0, moved.stderr
        assert moved.json()["name"] == "kept"
        assert await store.get_bytes("kept") == b"K"

        partly, forced, mv_taken, linked, cross, whole = await concurrently(
            url,
            ["rm", bucket, "never", "a"],
            ["rm", bucket, "never", "-f"],
            ["mv", bucket, "kept", "taken"],
            ["link", bucket, "latest", "kept"],
            ["link", bucket, "far", "remote", "--target-bucket", other.bucket, "--json"],
            ["link", bucket, "all", other.bucket, "--bucket-link", "--json"],
        )
        assert_error(partly, 3, "never")
        assert "deleted a" in partly.out  # the others are still deleted
        assert forced.code == 0, forced.stderr
        assert_error(mv_taken, 5, "taken")
        assert linked.code == 0
        assert f"{bucket}/latest -> {bucket}/kept" in linked.out
        assert cross.json()["link"] == {"bucket": other.bucket, "name": "remote"}
        assert whole.json()["link"] == {"bucket": other.bucket, "name": None}
        assert await store.get_bytes("latest") == b"K"

        via_cross, of_bucket, table = await concurrently(
            url, ["cat", bucket, "far"], ["cat", bucket, "all"], ["ls", bucket, "--deleted"]
        )
        assert via_cross.stdout == b"far away"
        assert_error(of_bucket, 2, "bucket")
        assert f"latest -> {bucket}/kept" in table.out
        assert f"all -> bucket {other.bucket}" in table.out
        for name in ("a", "b", "c"):
            assert f"\n{name} (deleted) " in table.out
        assert "8 objects" in table.out
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await manager.delete_object_store(other.bucket)


async def test_watch_json_lines_history_and_ctrl_c(url: str, store: natsobj.ObjectStore) -> None:
    bucket = store.bucket
    await store.put("before", b"1")
    async with started(url, "watch", bucket, "--json") as (process, lines):
        first = await read_json_line(lines)
        assert (first["event"], first["name"]) == ("put", "before")
        assert set(first) == OBJECT_KEYS | {"event"}
        assert await read_json_line(lines) == {"event": "synced"}
        await store.put("live", b"22")
        live = await read_json_line(lines)
        assert (live["event"], live["name"], live["size"]) == ("put", "live", 2)
        await store.delete("live")
        gone = await read_json_line(lines)
        assert (gone["event"], gone["name"], gone["deleted"]) == ("delete", "live", True)
        code, err = await stop(process)
    assert code == 0, err
    assert "Traceback" not in err

    # --history replays what the stream kept (a delete replaces the put it deletes), in
    # human lines; SIGTERM stops it cleanly too.
    async with started(url, "watch", bucket, "--history") as (process, lines):
        with anyio.fail_after(15):
            seen = [(await lines.receive_until(b"\n", 1 << 16)).decode() for _ in range(2)]
        code, err = await stop(process, signal.SIGTERM)
    assert code == 0, err
    assert "PUT" in seen[0]
    assert "before" in seen[0]
    assert "2 B" not in seen[0]
    assert "DELETE" in seen[1]
    assert "live" in seen[1]
    assert "up to date" in err


async def test_status_of_the_server(
    url: str, bucket: str, manager: natsobj.ObjectStoreManager
) -> None:
    status, human = await concurrently(url, ["status", "--json"], ["status"])
    assert status.code == 0, status.stderr
    data = status.json()
    assert set(data) == {"server", "jetstream", "buckets"}
    assert data["server"]["url"] == url
    assert data["server"]["version"].count(".") >= 2
    assert set(data["jetstream"]) == {"memory", "storage", "streams", "consumers"}
    assert data["buckets"] >= 1
    assert url in human.out
    assert "Buckets" in human.out


# --------------------------------------------------------------------------- untrusted data

EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
# What a hostile writer may name an object: clear the screen, forge a second output line.
HOSTILE = "p/\x1b[2J\x1b]0;owned\x07evil\nDELETE  important\u202etxt.exe"
HOSTILE_SHOWN = "p/\\x1b[2J\\x1b]0;owned\\x07evil\\nDELETE  important\\u202etxt.exe"


async def raw_request(
    url: str, subject: str, payload: bytes, headers: dict[str, str] | None = None
) -> Any:
    """A JetStream request from a raw nats-py client, as any client with write access may
    send it; the JSON answer."""
    nc = await nats.connect(url)
    try:
        reply = await nc.request(subject, payload, timeout=5, headers=headers)
        return json.loads(reply.data)
    finally:
        await nc.close()


async def publish_meta(url: str, bucket: str, name: str, **fields: Any) -> None:
    """A meta message published by a raw client (an empty object unless ``fields`` say)."""
    meta = {"name": name, "bucket": bucket, "nuid": "N" * 22, "size": 0, "chunks": 0}
    meta |= {"digest": EMPTY_DIGEST, **fields}
    subject = f"$O.{bucket}.M.{encode_name(name)}"
    ack = await raw_request(url, subject, json.dumps(meta).encode(), {"Nats-Rollup": "sub"})
    assert "error" not in ack, ack


async def test_rm_prefix_and_names_from_the_wire_shown_escaped(
    url: str, store: natsobj.ObjectStore
) -> None:
    bucket = store.bucket
    for name in ("p/a", "p/b", "q/c"):
        await store.put(name, name.encode())
    await publish_meta(url, bucket, HOSTILE)

    table = await natsobj_cli(url, "ls", bucket)
    assert HOSTILE_SHOWN in table.out
    assert not {"\x1b", "\x07", "\u202e"} & set(table.out)

    removed, again, both, empty = await concurrently(
        url,
        ["rm", bucket, "--prefix", "p/"],
        ["rm", bucket],
        ["rm", bucket, "q/c", "--prefix", "q/"],
        ["rm", bucket, "--prefix", ""],
    )
    assert removed.code == 0, removed.stderr
    # One line per object in name order, the hostile name escaped on its own line.
    assert removed.out.splitlines() == [f"deleted {HOSTILE_SHOWN}", "deleted p/a", "deleted p/b"]
    assert [info.name for info in await store.list()] == ["q/c"]
    assert_error(again, 2, "NAMEs or --prefix")
    assert_error(both, 2, "not both")
    assert_error(empty, 2, "--prefix")
    nothing = await natsobj_cli(url, "rm", bucket, "--prefix", "p/")
    assert nothing.code == 0
    assert "no objects with prefix 'p/'" in nothing.stderr

    # A sealed bucket refuses every delete: said once, not once per name.
    await store.seal()
    sealed = await natsobj_cli(url, "rm", bucket, "q/c", "q/d", "-f")
    assert_error(sealed, 5, "sealed")


async def test_watch_initial_listing_leaves_out_tombstones(
    url: str, store: natsobj.ObjectStore
) -> None:
    bucket = store.bucket
    await store.put("kept", b"1")
    await store.put("gone", b"2")
    await store.delete("gone")
    # A tombstone a raw client wrote for a name that never held data.
    await publish_meta(url, bucket, "never", deleted=True)
    async with started(url, "watch", bucket, "--json") as (process, lines):
        first = await read_json_line(lines)
        assert (first["event"], first["name"]) == ("put", "kept")
        assert await read_json_line(lines) == {"event": "synced"}
        await store.delete("kept")  # a deletion while watching is a change
        gone = await read_json_line(lines)
        assert (gone["event"], gone["name"]) == ("delete", "kept")
        code, err = await stop(process)
    assert code == 0, err

    # The human lines: only the one live object (a hostile name, shown escaped).
    await publish_meta(url, bucket, HOSTILE)
    async with started(url, "watch", bucket) as (process, lines):
        with anyio.fail_after(15):
            line = (await lines.receive_until(b"\n", 1 << 16)).decode()
        code, err = await stop(process)
    assert code == 0, err
    assert line.rstrip("\n").endswith(f"  PUT     {HOSTILE_SHOWN}  0 B"), line
    assert "up to date" in err


async def test_a_server_lost_mid_put_says_so() -> None:
    """Not "cannot connect ... start one": the put had a server, and lost it."""
    block = os.urandom(1024 * 1024)
    async with natsobj.EmbeddedServer() as doomed:
        async with natsobj.connect(doomed.url) as manager:
            await manager.create_object_store("lost")
        args = ["put", "lost", "-", "--name", "big", "--timeout", "1s"]
        process = await anyio.open_process([*NATSOBJ, *args], env=cli_env(doomed.url))
        try:
            assert process.stdin is not None
            with anyio.fail_after(30):
                while True:  # until the put has written chunks: it is under way
                    await process.stdin.send(block)
                    async with natsobj.connect(doomed.url) as manager:
                        if (await (await manager.object_store("lost")).status()).size:
                            break
                await doomed.kill()
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    for _ in range(8):
                        await process.stdin.send(block)
                await process.stdin.aclose()
                code = await process.wait()
            assert process.stderr is not None
            err = b"".join([chunk async for chunk in process.stderr]).decode()
        finally:
            if process.returncode is None:
                process.kill()
            with anyio.CancelScope(shield=True):
                await process.aclose()
    assert code == 4, err
    assert err.startswith("natsobj: error: lost the connection to the NATS server at"), err
    assert err.count("\n") == 1, err
    assert "start" not in err


# --------------------------------------------------------------------------- server


async def test_server_command_starts_serves_and_stops(tmp_path: Path) -> None:
    # A relative --store-dir is the current directory's, not nats-server's temporary one.
    store_dir = tmp_path / "store"
    name = unique_bucket()
    async with started(
        None, "server", "--port", "0", "--store-dir", "store", "--json", cwd=tmp_path
    ) as (process, lines):
        ready = await read_json_line(lines)
        port = int(ready["url"].rsplit(":", 1)[1])
        assert ready["urls"] == [ready["url"]]
        assert ready["store_dir"] == str(store_dir)
        assert port_open(port)
        assert (await natsobj_cli(ready["url"], "bucket", "add", name, "-q")).code == 0
        code, err = await stop(process, signal.SIGINT)
    assert code == 0, err
    assert not port_open(port)
    assert (store_dir / "jetstream").is_dir()

    # The data survives in --store-dir; the human banner says where to connect.
    async with started(None, "server", "--port", "0", "--store-dir", str(store_dir)) as (
        process,
        lines,
    ):
        with anyio.fail_after(15):
            banner = (await lines.receive_until(b"press Ctrl-C", 1 << 16)).decode()
        assert f"store: {store_dir} (kept)" in banner
        url = banner.split("export NATS_URL=", 1)[1].split()[0]
        listed = await natsobj_cli(url, "bucket", "ls", "--json")
        assert [b["bucket"] for b in listed.json()] == [name]
        code, err = await stop(process, signal.SIGTERM)
    assert code == 0, err
    assert "nats-server stopped" in err
    port = int(url.rsplit(":", 1)[1])
    assert not port_open(port)

    # A port in use is one clear error line.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = str(busy.getsockname()[1])
        result = await natsobj_cli(None, "server", "--port", taken)
    assert_error(result, 1, "failed to start", "address already in use")


# --------------------------------------------------------------------------- progress


def run_in_pty(args: Sequence[str], url: str, timeout: float) -> tuple[int, str]:
    """Run ``natsobj ARGS`` with stdout and stderr on a pseudo-terminal; (exit code, output)."""
    master, slave = pty.openpty()
    env = cli_env(url, TERM="xterm-256color", COLUMNS="120", LINES="40")
    process = subprocess.Popen(
        [*NATSOBJ, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    block = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not block:
                    break
                output += block
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return code, output.decode("utf-8", "replace")


async def test_large_put_and_get_show_progress_in_a_terminal(
    url: str, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(64 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    copy = tmp_path / "copy.bin"

    code, shown = await anyio.to_thread.run_sync(
        run_in_pty, ["put", bucket, str(source)], url, 60.0
    )
    assert code == 0, shown
    assert "put big.bin" in shown  # the bar's label
    assert "100%" in shown
    assert "MiB/s" in shown
    assert "64.0/64.0 MiB" in shown
    assert f"put {bucket}/big.bin: 64.0 MiB (512 chunks)" in shown  # the summary after it

    code, shown = await anyio.to_thread.run_sync(
        run_in_pty, ["get", bucket, "big.bin", "-o", str(copy)], url, 60.0
    )
    assert code == 0, shown
    assert "100%" in shown
    assert "MiB/s" in shown
    assert f"got {copy}: 64.0 MiB" in shown
    assert copy.read_bytes() == data

    # --quiet: nothing at all, even on a terminal (not a terminal: see the piping test).
    small = tmp_path / "small.bin"
    small.write_bytes(data[: 2 * 1024 * 1024])
    code, shown = await anyio.to_thread.run_sync(
        run_in_pty, ["put", bucket, str(small), "-q"], url, 60.0
    )
    assert code == 0, shown
    assert shown.strip() == "", shown
