"""The ``nats`` CLI (natscli 0.5.0, the tool most operators use) on natsobj's buckets, and
natsobj reading what ``nats object put`` wrote.

natscli 0.5.0 prints text, not JSON, for ``object`` commands, and has no ``object status``
(``object info BUCKET`` shows the status); the tests read the rows they need from the text.
Its quirks, shown here: ``object info`` of a link panics (it splits the digest, which a link
has not), ``put`` and ``get`` ask before replacing unless ``--force`` (and fail without a
terminal), ``put FILE`` names the object after the path as given, ``get`` writes to the
object name's base name in the working directory unless ``-O``.
"""

from __future__ import annotations

import hashlib
import random

import anyio
import pytest

import natsobj
from natsobj import ObjectMeta

from .peers import MIB, digest_of
from .peers.nats_cli import CliError, NatsCli, rows

pytestmark = [pytest.mark.anyio, pytest.mark.interop, pytest.mark.timeout(60)]

BIG = random.Random(18).randbytes(5 * MIB + 3)  # 41 chunks of 128 KiB
TEXT = b"hello " * 1000
META = ObjectMeta(name="dir/a.txt", description="d", headers={"X-K": ["v"]}, metadata={"k": "v"})


async def filled(manager: natsobj.ObjectStoreManager, bucket: str) -> natsobj.ObjectStore:
    """A natsobj bucket with every kind of entry: objects, a link, a bucket link, a tombstone."""
    store = await manager.create_object_store(bucket, description="filled by natsobj")
    await store.put(META, TEXT)
    big = await store.put("big.bin", BIG)
    await store.put("empty", b"")
    await store.put("café 日本", b"non-ascii")
    await store.add_link("lnk", big)
    await store.add_bucket_link("blnk", store)
    await store.put("gone", b"g")
    await store.delete("gone")
    return store


async def test_cli_reads_a_natsobj_bucket(
    nats_cli: NatsCli, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await filled(manager, bucket)
    assert bucket in (await nats_cli.run("object", "ls", "--names")).split()
    names = (await nats_cli.run("object", "ls", bucket, "--names")).splitlines()
    assert sorted(names) == sorted(["dir/a.txt", "big.bin", "empty", "café 日本", "lnk", "blnk"])

    status = rows(await nats_cli.run("object", "info", bucket))
    assert (status["Bucket Name"], status["Description"]) == (bucket, "filled by natsobj")
    assert (status["Sealed"], status["Storage"]) == ("false", "File")

    info = rows(await nats_cli.run("object", "info", bucket, "dir/a.txt"))
    assert (info["Description"], info["Chunks"], info["Headers"]) == ("d", "1", "X-K: v")
    assert info["Digest"] == f"SHA-256 {hashlib.sha256(TEXT).hexdigest()}"
    assert info["k"] == "v"  # the Metadata section
    big = rows(await nats_cli.run("object", "info", bucket, "big.bin"))
    assert (big["Size"], big["Chunks"]) == ("5.0 MiB", "41")

    # natscli 0.5.0 bug: its object info splits the digest, which a link has not
    with pytest.raises(CliError, match="index out of range"):
        await nats_cli.run("object", "info", bucket, "lnk")


@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
async def test_cli_gets_natsobj_objects(
    nats_cli: NatsCli, manager: natsobj.ObjectStoreManager, bucket: str, progress: str
) -> None:
    await filled(manager, bucket)
    out = nats_cli.workdir / f"{bucket}.out"
    for name, data in [
        ("big.bin", BIG),
        ("lnk", BIG),
        ("dir/a.txt", TEXT),
        ("empty", b""),
        ("café 日本", b"non-ascii"),
    ]:
        await nats_cli.run("object", "get", bucket, name, "-O", str(out), "--force", progress)
        assert out.read_bytes() == data, name
    # without -O, the base name of the object, in the working directory
    await nats_cli.run("object", "get", bucket, "dir/a.txt", "--force", progress)
    assert (nats_cli.workdir / "a.txt").read_bytes() == TEXT
    with pytest.raises(CliError, match="link to a bucket"):
        await nats_cli.run("object", "get", bucket, "blnk", "-O", str(out), "--force")
    with pytest.raises(CliError, match="not found"):
        await nats_cli.run("object", "get", bucket, "gone", "-O", str(out), "--force")


async def test_cli_changes_a_natsobj_bucket(
    nats_cli: NatsCli, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    store = await filled(manager, bucket)
    async with nats_cli.watch(bucket) as watch:
        # the whole history (IncludeHistory): what is left of each put, and the tombstone
        history = await watch.take(7)
        assert ("DEL", "gone", None) in history
        assert ("PUT", "big.bin", 41) in history
        await nats_cli.run("object", "rm", bucket, "big.bin", "--force")
        await store.put("new", b"n")
        assert await watch.take(2) == [("DEL", "big.bin", None), ("PUT", "new", 1)]

    assert (await store.get_info("big.bin", show_deleted=True)).deleted
    report = await store.sweep_orphans(grace=0, dry_run=True)
    assert (report.orphans, report.recent) == ([], 0)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_bytes("lnk")  # its target is gone

    await nats_cli.run("object", "seal", bucket, "--force")
    assert (await store.status()).sealed
    with pytest.raises(natsobj.BucketSealedError):
        await store.put("more", b"x")
    assert rows(await nats_cli.run("object", "info", bucket))["Sealed"] == "true"


async def test_cli_bucket_for_natsobj(
    nats_cli: NatsCli, manager: natsobj.ObjectStoreManager, bucket: str
) -> None:
    await nats_cli.run("object", "add", bucket, "--description", "made by the CLI")
    store = await manager.object_store(bucket)
    assert (await store.status()).description == "made by the CLI"
    await store.put("x", b"from natsobj")
    await nats_cli.run("object", "get", bucket, "x", "-O", "x.out", "--force")
    assert (nats_cli.workdir / "x.out").read_bytes() == b"from natsobj"


@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
async def test_natsobj_reads_cli_puts(
    nats_cli: NatsCli, manager: natsobj.ObjectStoreManager, bucket: str, progress: str
) -> None:
    store = await manager.create_object_store(bucket)
    path = nats_cli.workdir / f"{bucket}.bin"
    await anyio.Path(path).write_bytes(BIG)
    put = ["object", "put", bucket, str(path), progress]
    await nats_cli.run(*put, "--name", "plain")
    await nats_cli.run(
        *put,
        "--name",
        "dir/full é",
        "--description",
        "from the CLI",
        "-H",
        "Content-Type:application/x-test",
        "-H",
        "X-Multi: 1",
        "--chunk-size",
        "100000",
    )
    await nats_cli.run("object", "put", bucket, "--name", "stdin.txt", stdin=b"piped")
    # over an existing object: --force, or it asks (and fails without a terminal)
    with pytest.raises(CliError, match="confirmation"):
        await nats_cli.run(*put, "--name", "plain")
    await nats_cli.run(*put, "--name", "plain", "--force")

    plain = await store.get_info("plain")
    assert (plain.size, plain.chunks, plain.digest) == (len(BIG), 41, digest_of(BIG))
    assert plain.options is not None
    assert plain.options.max_chunk_size == 128 * 1024
    full = await store.get_info("dir/full é")
    assert (full.description, full.chunks) == ("from the CLI", 53)
    assert full.headers == {"Content-Type": ["application/x-test"], "X-Multi": ["1"]}
    assert await store.get_bytes("plain") == BIG
    assert await store.get_bytes("dir/full é") == BIG
    assert await store.get_bytes("stdin.txt") == b"piped"
    assert sorted(i.name for i in await store.list()) == ["dir/full é", "plain", "stdin.txt"]
    report = await store.sweep_orphans(grace=0, dry_run=True)
    assert (report.orphans, report.recent) == ([], 0)
