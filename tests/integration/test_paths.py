"""Names from users never escape: objects stay in their bucket, and the CLI's gets stay in
the target directory whatever the object names are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager
from tests.integration.test_cli import assert_error, concurrently_in, natsobj_cli

pytestmark = pytest.mark.anyio

HOSTILE = [
    "../escape",
    "a/../../escape",
    "/abs/escape",
    "..",
    "a/..",
    ".",
    "./x/../../escape",
    "a\x00b",
    "nested/../../../escape",
]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


async def test_names_never_leave_their_bucket(manager: ObjectStoreManager) -> None:
    one = await manager.create_object_store("paths_one")
    two = await manager.create_object_store("paths_one_two")
    for name in [*HOSTILE, "$O.paths_one_two.M.x", "*", ">", "a.b.>"]:
        await one.put(name, b"in one")
    assert await two.list() == []
    assert {i.name for i in await one.list()} >= set(HOSTILE)
    for name in HOSTILE:
        with pytest.raises(natsobj.ObjectNotFoundError):
            await two.get_info(name)
    await manager.delete_object_store("paths_one")
    await manager.delete_object_store("paths_one_two")


async def test_cli_get_stays_in_the_target_directory(
    server: natsobj.EmbeddedServer, store: ObjectStore, tmp_path: Path
) -> None:
    for name in [*HOSTILE, "fine/ok.txt"]:
        await store.put(name, b"payload")
    work = tmp_path / "work"
    out = work / "out"
    work.mkdir()
    before = _files(tmp_path)

    everything = await natsobj_cli(server.url, "get", store.bucket, "--prefix", "", "-o", str(out))
    assert_error(everything, 2, "not a safe local path")
    commands: list[list[str]] = []
    for name in (n for n in HOSTILE if "\x00" not in n):  # argv cannot carry a NUL
        commands += [
            ["get", store.bucket, name, "fine/ok.txt", "-o", str(out)],
            ["get", store.bucket, name],
            ["get", store.bucket, name, "-o", f"{out}/"],
        ]
    for first in range(0, len(commands), 4):  # a few at a time: each is a Python process
        for result in await concurrently_in(work, server.url, *commands[first : first + 4]):
            assert result.code in (0, 2), result.stderr  # done, or refused as bad input
    # Whatever was written is inside the directory each command was given.
    written = _files(tmp_path) - before
    assert all(p.parent == work or out in p.parents for p in written), written
    assert not any(".part" in p.name for p in _files(tmp_path))


async def test_get_file_writes_exactly_the_path_given(store: ObjectStore, tmp_path: Path) -> None:
    await store.put("../../x", b"data")
    target = tmp_path / "exact.bin"
    await store.get_file("../../x", target)
    assert target.read_bytes() == b"data"
    assert _files(tmp_path) == {target}
    with pytest.raises(natsobj.InvalidArgumentError):
        await store.get_file("../../x", tmp_path / "a\x00b")
    assert _files(tmp_path) == {target}
    assert os.listdir(tmp_path) == ["exact.bin"]
