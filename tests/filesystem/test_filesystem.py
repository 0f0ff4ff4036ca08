"""NatsObjFileSystem beyond fsspec's abstract suite: pseudo-directories, ranges, streamed
and aborted writes, progress callbacks, links, digests, errors and the connection."""

from __future__ import annotations

import gc
import hashlib
import pickle
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import fsspec
import pytest
from fsspec.asyn import sync
from fsspec.callbacks import Callback

import natsobj
from natsobj.fsspec import NatsObjFileSystem

T = TypeVar("T")
DATA = random.Random(15).randbytes(700_001)


def run(fs: NatsObjFileSystem, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a coroutine on the filesystem's loop, where its connection lives."""
    result: T = sync(fs.loop, func, *args)
    return result


def store_of(fs: NatsObjFileSystem, bucket: str) -> natsobj.ObjectStore:
    return run(fs, fs._store, bucket)


def stored_bytes(fs: NatsObjFileSystem, bucket: str) -> int:
    """The bytes of the bucket's stream (chunks and metas)."""
    return run(fs, store_of(fs, bucket).status).size


def stored_within(fs: NatsObjFileSystem, bucket: str, size: int, seconds: float = 5) -> bool:
    """Whether the bucket's stream reaches ``size`` bytes within ``seconds``: chunks are
    acknowledged a little after they are handed over."""
    deadline = time.monotonic() + seconds
    while stored_bytes(fs, bucket) < size:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_directories_are_derived_from_names(fs: NatsObjFileSystem, bucket: str) -> None:
    fs.pipe({f"{bucket}/a/x.txt": b"x", f"{bucket}/a/b/y.txt": b"yy", f"{bucket}/top": b"t"})
    assert bucket in fs.ls("", detail=False)
    assert fs.ls(bucket, detail=False) == [f"{bucket}/a", f"{bucket}/top"]
    assert fs.ls(f"natsobj://{bucket}/a/", detail=False) == [f"{bucket}/a/b", f"{bucket}/a/x.txt"]
    assert fs.info(f"{bucket}/a") == {"name": f"{bucket}/a", "size": 0, "type": "directory"}
    assert fs.info(bucket)["type"] == "directory"
    assert fs.isdir(f"{bucket}/a/b")
    assert not fs.isfile(f"{bucket}/a/b")
    with pytest.raises(IsADirectoryError):
        fs.open(f"{bucket}/a/b")
    with pytest.raises(IsADirectoryError):
        fs.cat_file(bucket)
    info = fs.info(f"{bucket}/a/b/y.txt")
    assert (info["type"], info["size"], info["content_type"]) == ("file", 2, "text/plain")
    assert fs.ls(f"{bucket}/a/x.txt", detail=False) == [f"{bucket}/a/x.txt"]
    assert fs.find(bucket, withdirs=True) == [
        bucket,
        *(f"{bucket}/{p}" for p in ("a", "a/b", "a/b/y.txt", "a/x.txt", "top")),
    ]
    assert fs.find(bucket, maxdepth=1) == [f"{bucket}/top"]
    assert fs.glob(f"{bucket}/**/*.txt") == [f"{bucket}/a/b/y.txt", f"{bucket}/a/x.txt"]
    assert fs.du(bucket) == 4
    fs.rm(f"{bucket}/a", recursive=True)
    assert not fs.exists(f"{bucket}/a")  # a directory lives only while something is in it
    for missing in (f"{bucket}/nope", f"{bucket}/a/x.txt", "nobucket/x", "bad.bucket/x"):
        assert not fs.exists(missing)
        with pytest.raises(FileNotFoundError):
            fs.info(missing)
    with pytest.raises(FileNotFoundError):
        fs.ls("nobucket")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{bucket}/nope")


def test_range_reads(fs: NatsObjFileSystem, bucket: str) -> None:
    path = f"{bucket}/data.bin"
    fs.pipe_file(path, DATA, chunk_size=65536)
    assert fs.cat_file(path) == DATA
    assert fs.cat_file(path, start=100_000, end=300_000) == DATA[100_000:300_000]
    assert fs.cat_file(path, start=-8) == DATA[-8:]  # a parquet footer
    assert fs.cat_file(path, start=10, end=-10) == DATA[10:-10]
    assert fs.cat_file(path, start=len(DATA)) == b""
    assert fs.cat_file(path, start=5, end=5) == b""
    assert fs.cat_ranges([path, path], [0, 690_000], [10, None]) == [DATA[:10], DATA[690_000:]]
    with fs.open(path, "rb", block_size=65536) as f:
        f.seek(-100, 2)
        assert f.read() == DATA[-100:]
        f.seek(200_000)
        assert f.read(70_000) == DATA[200_000:270_000]
        assert f.readline()
        assert f.tell() > 270_000


def test_a_file_opened_for_reading_refuses_a_replaced_object(
    fs: NatsObjFileSystem, bucket: str
) -> None:
    path = f"{bucket}/moving"
    fs.pipe_file(path, DATA)
    with fs.open(path, "rb", block_size=1000, cache_type="none") as f:
        assert f.read(10) == DATA[:10]
        fs.pipe_file(path, DATA[::-1])
        with pytest.raises(natsobj.PreconditionFailedError, match="replaced while open"):
            f.read(10)


def test_writes_stream_and_commit_on_close(fs: NatsObjFileSystem, bucket: str) -> None:
    path = f"{bucket}/streamed.bin"
    block = 256 * 1024
    before = stored_bytes(fs, bucket)
    with fs.open(path, "wb", block_size=block, content_type="application/x-test") as f:
        for start in range(0, len(DATA), 100_000):
            f.write(DATA[start : start + 100_000])
            assert f.buffer.tell() < block + 100_000  # no more than a block held here
        # Two blocks went out already, as chunks of a put not yet committed.
        assert stored_within(fs, bucket, before + 2 * block)
        assert not fs.exists(path)
    assert fs.cat_file(path) == DATA
    assert fs.info(path)["content_type"] == "application/x-test"


@pytest.mark.parametrize("how", ["exception", "discard", "collected"])
def test_an_aborted_write_leaves_nothing(fs: NatsObjFileSystem, bucket: str, how: str) -> None:
    path = f"{bucket}/aborted.bin"
    before = stored_bytes(fs, bucket)
    f = fs.open(path, "wb", block_size=128 * 1024)
    f.write(DATA)  # several blocks: the put is under way
    if how == "exception":
        with pytest.raises(RuntimeError), f:
            raise RuntimeError("the writer failed")
    elif how == "discard":
        f.discard()
        f.closed = True
    else:
        del f
        gc.collect()
    assert not fs.exists(path)
    assert stored_bytes(fs, bucket) == before  # its chunks were purged


def failing_transaction(fs: NatsObjFileSystem, path: str) -> None:
    with fs.transaction:
        with fs.open(path, "wb") as f:
            f.write(b"three")
        raise RuntimeError("the transaction failed")


def test_transactions_commit_at_their_end(fs: NatsObjFileSystem, bucket: str) -> None:
    with fs.transaction:
        with fs.open(f"{bucket}/t1", "wb") as f:
            f.write(b"one")
        with fs.open(f"{bucket}/t2", "wb", block_size=5) as f:
            f.write(b"two, in blocks")
        assert not fs.exists(f"{bucket}/t1")
    assert fs.cat(f"{bucket}/t2") == b"two, in blocks"
    with pytest.raises(RuntimeError, match="failed"):
        failing_transaction(fs, f"{bucket}/t3")
    assert fs.find(bucket) == [f"{bucket}/t1", f"{bucket}/t2"]


def write_and_close(fs: NatsObjFileSystem, path: str, data: bytes) -> None:
    f = fs.open(path, "wb", block_size=128 * 1024)
    f.write(data)
    f.close()


def test_a_write_that_fails_midway_leaves_nothing(fs: NatsObjFileSystem, bucket: str) -> None:
    small = f"{bucket}s"
    fs.mkdir(small, max_bytes=300_000)
    try:
        # The bucket fills up while the blocks stream in: the write or the close says so.
        with pytest.raises(natsobj.BucketFullError):
            fs.pipe_file(f"{small}/whole", DATA)
        with pytest.raises(natsobj.BucketFullError):
            write_and_close(fs, f"{small}/streamed", DATA)
        assert fs.find(small) == []
    finally:
        fs.rm(small, recursive=True)
    with pytest.raises(FileNotFoundError), fs.open("nobucket/x", "wb") as f:
        f.write(b"x")


def test_exclusive_writes(fs: NatsObjFileSystem, bucket: str) -> None:
    path = f"{bucket}/once"
    with fs.open(path, "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        fs.open(path, "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file(path, b"second", mode="create")
    late = fs.open(f"{bucket}/raced", "xb", block_size=5)
    fs.pipe_file(f"{bucket}/raced", b"winner")
    late.write(b"loser, streamed")
    with pytest.raises(FileExistsError):
        late.close()  # the commit is conditional too
    assert fs.cat_file(f"{bucket}/raced") == b"winner"
    with pytest.raises(NotImplementedError):
        fs.open(path, "ab")


class Counting(Callback):  # type: ignore[misc]  # fsspec is untyped
    def __init__(self) -> None:
        super().__init__()
        self.updates = 0

    def call(self, *args: Any, **kwargs: Any) -> None:
        self.updates += 1


def test_put_and_get_files_with_progress(
    fs: NatsObjFileSystem, bucket: str, tmp_path: Path
) -> None:
    local = tmp_path / "up.bin"
    local.write_bytes(DATA)
    progress = Counting()
    fs.put_file(str(local), f"{bucket}/up.bin", callback=progress)
    assert (progress.size, progress.value) == (len(DATA), len(DATA))
    progress = Counting()
    fs.get_file(f"{bucket}/up.bin", str(tmp_path / "down.bin"), callback=progress)
    assert (tmp_path / "down.bin").read_bytes() == DATA
    assert (progress.size, progress.value) == (len(DATA), len(DATA))
    assert progress.updates > 1
    fs.put(str(tmp_path) + "/", f"{bucket}/tree/", recursive=True)
    assert fs.find(f"{bucket}/tree", detail=False) == [
        f"{bucket}/tree/down.bin",
        f"{bucket}/tree/up.bin",
    ]


def test_copy_and_move_across_buckets(fs: NatsObjFileSystem, bucket: str) -> None:
    other = f"{bucket}x"
    fs.mkdir(other)
    try:
        fs.pipe({f"{bucket}/d/a": b"a", f"{bucket}/d/e/b": b"b"})
        fs.cp(f"{bucket}/d", f"{other}/copied", recursive=True)
        assert fs.cat(f"{other}/copied/e/b") == b"b"
        nuid = fs.info(f"{bucket}/d/a")["nuid"]
        fs.mv(f"{bucket}/d/a", f"{bucket}/moved")
        assert fs.info(f"{bucket}/moved")["nuid"] == nuid  # within a bucket: no data copied
        fs.mv(f"{bucket}/d", f"{other}/moved", recursive=True)
        assert fs.find(other) == [f"{other}/copied/a", f"{other}/copied/e/b", f"{other}/moved/e/b"]
        assert not fs.exists(f"{bucket}/d")
    finally:
        fs.rm(other, recursive=True)
    assert other not in fs.ls("", detail=False)
    with pytest.raises(FileExistsError):
        fs.mkdir(bucket)
    fs.makedirs(f"{bucket}/deeper/still", exist_ok=True)  # nothing to create below a bucket


def test_digest_is_the_key_and_checksum(fs: NatsObjFileSystem, bucket: str) -> None:
    path = f"{bucket}/digested"
    fs.pipe_file(path, DATA)
    sha = hashlib.sha256(DATA).digest()
    assert fs.checksum(path) == int.from_bytes(sha, "big")
    assert fs.ukey(path) == fs.info(path)["digest"]
    fs.pipe_file(path, DATA + b"!")
    assert fs.checksum(path) != int.from_bytes(sha, "big")
    assert fs.modified(path) >= fs.created(path)


def test_links_read_as_their_target(fs: NatsObjFileSystem, bucket: str) -> None:
    fs.pipe_file(f"{bucket}/target", DATA)
    store = store_of(fs, bucket)
    target = run(fs, store.get_info, "target")
    run(fs, store.add_link, "link", target)
    info = fs.info(f"{bucket}/link")
    assert (info["size"], info["link"]) == (len(DATA), f"{bucket}/target")
    assert fs.cat_file(f"{bucket}/link", start=5, end=20) == DATA[5:20]
    with fs.open(f"{bucket}/link") as f:
        assert f.read() == DATA


def test_the_connection(
    nats_url: str, bucket: str, fs: NatsObjFileSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", nats_url)
    by_protocol = fsspec.filesystem("natsobj", skip_instance_cache=True)
    assert isinstance(by_protocol, NatsObjFileSystem)
    assert by_protocol.servers == [nats_url]
    assert by_protocol.exists(bucket)
    manager = by_protocol.manager
    assert manager is not None
    assert by_protocol.ls(bucket) == []
    assert by_protocol.manager is manager  # one connection, reused
    by_protocol.close()
    assert by_protocol.manager is None
    assert by_protocol.exists(bucket)  # connects again
    by_protocol.close()
    with fsspec.open(f"natsobj://{bucket}/opened.txt", "w", servers=nats_url) as f:
        f.write("text")
    assert fs.cat(f"{bucket}/opened.txt") == b"text"
    with pytest.raises(natsobj.InvalidArgumentError):
        NatsObjFileSystem(servers=[1], skip_instance_cache=True)
    # Pickled as its options (dask sends filesystems to workers): a new connection there.
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.servers == fs.servers
    assert copy.cat(f"{bucket}/opened.txt") == b"text"
    copy.close()


@pytest.mark.anyio
async def test_asynchronous_use(server: natsobj.EmbeddedServer) -> None:
    fs = NatsObjFileSystem(servers=server.url, asynchronous=True, skip_instance_cache=True)
    try:
        await fs._mkdir("asyncfs")
        await fs._pipe_file("asyncfs/a/b", b"async")
        assert await fs._cat_file("asyncfs/a/b", start=1) == b"sync"
        assert await fs._ls("asyncfs/a", detail=False) == ["asyncfs/a/b"]
        await fs._rm("asyncfs", recursive=True)
    finally:
        await fs._close()
