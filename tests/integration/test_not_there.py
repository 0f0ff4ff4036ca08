"""One rule for each "not there": a missing object, a missing local file or folder, a
time the server has not told yet, a range past the end (``test_ranges``)."""

from __future__ import annotations

import errno
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager

from ..conftest import chunk_counts

pytestmark = pytest.mark.anyio


async def test_store_delete_of_a_missing_object_raises(store: ObjectStore) -> None:
    # As every NATS object store does (nats.go: ErrObjectNotFound).
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.delete("never")
    await store.put("a", b"x")
    first = await store.delete("a")
    again = await store.delete("a")  # a deleted object: a no-op that returns the tombstone
    assert again.deleted
    assert again.revision == first.revision
    results = await store.delete_many(["a", "never"])
    assert results[0].ok
    assert isinstance(results[1].error, natsobj.ObjectNotFoundError)


async def test_session_delete_of_a_missing_key_is_a_no_op(
    manager: ObjectStoreManager, usecase: natsobj.Usecase
) -> None:
    # As Sentry's delete: the key is gone afterwards either way.
    session = usecase.scope().session(manager)
    await session.delete("never")  # no error
    await session.put(b"x", "k")
    await session.delete("k")
    await session.delete("k")
    async with session.many().delete("never").send() as results:
        assert [r.ok async for r in results] == [True]
    with pytest.raises(natsobj.ObjectNotFoundError):
        await session.head("k")


async def test_put_file_of_a_missing_file(store: ObjectStore, tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    with pytest.raises(natsobj.LocalFileNotFoundError) as caught:
        await store.put_file(missing)
    error = caught.value
    assert isinstance(error, FileNotFoundError)
    assert (error.errno, error.filename) == (errno.ENOENT, str(missing))
    assert str(missing) in str(error)
    with pytest.raises(natsobj.LocalFileError) as folder:
        await store.put_file(tmp_path, "folder")  # a folder cannot be read as a file
    assert not isinstance(folder.value, FileNotFoundError)
    assert await store.list() == []
    assert await chunk_counts(store) == {}


async def test_get_file_creates_missing_folders(store: ObjectStore, tmp_path: Path) -> None:
    await store.put("a", b"data")
    target = tmp_path / "new" / "deeper" / "a.bin"
    info = await store.get_file("a", target)
    assert target.read_bytes() == b"data"
    assert info.size == 4
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.bin"]  # no temp file left


async def test_get_file_of_a_missing_object_creates_nothing(
    store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_file("missing", tmp_path / "new" / "a.bin")
    assert list(tmp_path.iterdir()) == []


async def test_get_file_onto_a_folder_is_refused_before_reading(
    store: ObjectStore, tmp_path: Path
) -> None:
    await store.put("a", b"data")
    (tmp_path / "a").mkdir()
    with pytest.raises(natsobj.LocalFileError) as caught:
        await store.get_file("a", tmp_path / "a")
    assert caught.value.errno == errno.EISDIR
    assert str(tmp_path / "a") in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


async def test_writes_return_their_time(store: ObjectStore) -> None:
    # This client's clock when the server answered, as nats.go sets it; get_info has the
    # server's own stamp. Both run on this machine here, so they agree to the round trip.
    before = datetime.now(UTC)
    written = [
        await store.put("a", b"1"),
        await store.update_meta("a", natsobj.ObjectMeta(name="a", description="d")),
        await store.add_link("l", await store.get_info("a")),
        await store.copy("a", "b"),
        await store.move("b", "c"),
        await store.delete("c"),
    ]
    after = datetime.now(UTC)
    for info in written:
        assert info.mtime is not None, info.name
        assert before <= info.mtime <= after
        stored = await store.get_info(info.name, show_deleted=True)
        assert stored.mtime is not None
        assert abs(stored.mtime - info.mtime) < timedelta(seconds=1)
