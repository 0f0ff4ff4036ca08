"""natsobj.sync: the async tests' scenarios run through the blocking facade.

Each test names the async test(s) whose scenario it repeats. Plain (not anyio) tests: the
facade runs its own event loop thread, against one ``natsobj.sync.EmbeddedServer``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import natsobj
import natsobj.sync as ns


@pytest.fixture(scope="module")
def sync_server() -> Iterator[ns.EmbeddedServer]:
    with ns.EmbeddedServer() as server:
        yield server


@pytest.fixture
def sync_manager(sync_server: ns.EmbeddedServer) -> Iterator[ns.ObjectStoreManager]:
    with ns.connect(sync_server.url) as manager:
        yield manager


@pytest.fixture
def sync_store(sync_manager: ns.ObjectStoreManager) -> ns.ObjectStore:
    return sync_manager.create_object_store(f"s{uuid.uuid4().hex[:12]}")


def _names(events: list[natsobj.ObjectInfo | None]) -> list[str | None]:
    return [e.name if e else None for e in events]


def _take(watcher: ns.ObjectWatcher, count: int) -> list[natsobj.ObjectInfo | None]:
    out: list[natsobj.ObjectInfo | None] = []
    for event in watcher:
        out.append(event)
        if len(out) == count:
            break
    return out


def test_round_trips_of_every_input_kind(sync_store: ns.ObjectStore, tmp_path: Path) -> None:
    """test_put_get: test_round_trip_chunk_sizes, test_every_input_kind,
    test_put_file_and_get_file."""
    data = bytes(range(256)) * 1200  # 307,200 bytes
    for chunk_size in (1000, 128 * 1024):
        info = sync_store.put("bin", data, chunk_size=chunk_size)
        assert info.size == len(data)
        assert sync_store.get_bytes("bin") == data
    assert sync_store.put("text", "héllo").size == len("héllo".encode())
    assert sync_store.get_string("text") == "héllo"
    assert sync_store.put("file", io.BytesIO(data)).size == len(data)
    blocks = (data[i : i + 5000] for i in range(0, len(data), 5000))
    assert sync_store.put("gen", blocks, chunk_size=4096).size == len(data)
    assert sync_store.get_bytes("gen") == data
    source = tmp_path / "local.bin"
    source.write_bytes(data)
    assert sync_store.put_file(source, "from-file").size == len(data)
    sync_store.get_file("from-file", tmp_path / "out" / "copy.bin")
    assert (tmp_path / "out" / "copy.bin").read_bytes() == data
    with pytest.raises(natsobj.InvalidArgumentError):
        sync_store.put("bad", iter(["not bytes"]))  # type: ignore[arg-type]


def test_streaming_reads_ranges_and_file_like_reads(sync_store: ns.ObjectStore) -> None:
    """test_put_get: test_streaming_result, test_leaving_a_read_early_releases_it;
    test_ranges."""
    data = bytes(range(256)) * 4000
    sync_store.put("obj", data, chunk_size=64 * 1024)
    with sync_store.get("obj") as result:
        assert result.info.size == len(data)
        assert b"".join(result) == data
    with sync_store.get("obj", start=70_000, end=200_001) as result:
        assert result.read() == data[70_000:200_001]
    with sync_store.get("obj") as result:
        assert result.read(10) == data[:10]
        out = io.BytesIO()
        shutil.copyfileobj(result, out)
        assert out.getvalue() == data[10:]
        assert result.read(10) == b""
    with sync_store.get("obj") as result:
        next(iter(result))  # left early: the read is released on leaving
    assert sync_store.get("obj", start=5, end=9).read() == data[5:9]
    with pytest.raises(natsobj.RangeNotSatisfiableError), sync_store.get("obj", start=len(data)):
        pass
    with pytest.raises(natsobj.NotOpenError):
        next(iter(sync_store.get("obj")))


def test_info_update_meta_delete_and_errors(sync_store: ns.ObjectStore) -> None:
    """test_meta_links: test_get_info_missing_and_deleted, test_update_meta_in_place,
    test_rename, test_rename_onto_live_object_refused; test_errors."""
    sync_store.put(natsobj.ObjectMeta(name="a", description="first"), b"aaa")
    assert sync_store.get_info("a").description == "first"
    sync_store.update_meta("a", natsobj.ObjectMeta(name="a", description="second"))
    assert sync_store.get_info("a").description == "second"
    sync_store.update_meta("a", natsobj.ObjectMeta(name="b"))
    assert sync_store.get_bytes("b") == b"aaa"
    sync_store.put("c", b"c")
    with pytest.raises(natsobj.ObjectExistsError):
        sync_store.update_meta("b", natsobj.ObjectMeta(name="c"))
    sync_store.delete("b")
    assert sync_store.get_info("b", show_deleted=True).deleted
    with pytest.raises(natsobj.ObjectNotFoundError) as caught:
        sync_store.get_info("b")
    # The caller's frame is in the traceback, under natsobj's own class.
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[0] == "test_info_update_meta_delete_and_errors"
    with pytest.raises(natsobj.InvalidObjectNameError):
        sync_store.get_info("")
    with pytest.raises(FileNotFoundError):
        sync_store.get_bytes("missing")


def test_links_seal_status_list_copy_move(sync_manager: ns.ObjectStoreManager) -> None:
    """test_meta_links: test_object_link, test_cross_bucket_link; test_watch_list:
    test_list_empty_and_filled; test_copy_move; test_manager (seal, status, names)."""
    first = sync_manager.create_object_store(f"s{uuid.uuid4().hex[:12]}")
    second = sync_manager.create_object_store(f"s{uuid.uuid4().hex[:12]}")
    target = first.put("t", b"target")
    second.add_link("to-t", target)
    assert second.get_bytes("to-t") == b"target"
    second.add_bucket_link("to-first", first)
    assert second.get_info("to-first").is_link
    assert [i.name for i in first.list()] == ["t"]
    first.copy("t", "t2", to_store=second)
    first.move("t", "t3")
    assert second.get_bytes("t2") == b"target"
    assert [i.name for i in first.list(prefix="t")] == ["t3"]
    page = first.list_page(sort_by="name")
    assert [i.name for i in page.objects] == ["t3"]
    assert first.bucket in sync_manager.object_store_names()
    status = first.seal()
    assert status.sealed
    with pytest.raises(natsobj.BucketSealedError):
        first.put("x", b"x")
    assert sync_manager.object_store(first.bucket).status().sealed
    sync_manager.delete_object_store(second.bucket)
    with pytest.raises(natsobj.BucketNotFoundError):
        sync_manager.object_store(second.bucket)


def test_watch_initial_values_then_updates(sync_store: ns.ObjectStore) -> None:
    """test_watch_list: test_watch_initial_values_then_updates, test_watch_updates_only."""
    sync_store.put("one", b"1")
    sync_store.put("two", b"2")
    sync_store.put("one", b"1b")
    with sync_store.watch() as watcher:
        assert _names(_take(watcher, 3)) == ["two", "one", None]
        sync_store.put("three", b"3")
        sync_store.delete("two")
        events = _take(watcher, 2)
    assert _names(events) == ["three", "two"]
    assert events[1] is not None
    assert events[1].deleted
    with sync_store.watch(updates_only=True) as watcher:
        sync_store.put("four", b"4")
        assert _names(_take(watcher, 1)) == ["four"]
        watcher.stop()
        assert list(watcher) == []
    with pytest.raises(natsobj.InvalidArgumentError):
        sync_store.watch(include_history=True, updates_only=True)


def test_change_feeds(sync_store: ns.ObjectStore, sync_manager: ns.ObjectStoreManager) -> None:
    sync_store.put("a", b"1")
    sync_store.put("b", b"2")
    with sync_store.changes("svc", deliver="all") as feed:
        first = next(feed)
        first.ack()
        second = next(feed)
        second.nak()
        again = next(feed)
        again.ack()
    assert [(e.name, e.kind, e.delivered) for e in (first, second, again)] == [
        ("a", "put", 1),
        ("b", "put", 1),
        ("b", "put", 2),
    ]
    assert first.settled
    assert [f.name for f in sync_store.feeds()] == ["svc"]
    assert sync_store.feed_info("svc").last_acked == again.revision
    assert sync_store.reset_feed("svc", 1).pending == 2
    sync_store.delete_feed("svc")
    with pytest.raises(ns.FeedNotFoundError):
        sync_store.feed_info("svc")
    session = ns.Usecase(f"u{sync_store.bucket}", compression="none").scope().session(sync_manager)
    with session.changes("idx", deliver="all") as changes:
        session.put(b"x", key="k")
        change = next(changes)
        change.ack()
    assert (change.key, change.kind, change.event.settled) == ("k", "put", True)


def test_sessions_scopes_many_and_watch(sync_manager: ns.ObjectStoreManager) -> None:
    """test_usecase: test_scopes_are_isolated, test_put_get_head_carry_every_field;
    test_usecase_many; test_session_watch."""
    usecase = ns.Usecase(f"u{uuid.uuid4().hex[:12]}", compression="zstd")
    project = usecase.for_project(42, 1337).session(sync_manager)
    org = usecase.for_organization(42).session(sync_manager)
    assert str(project.scope) == "org=42;project=1337"
    key = project.put(b"project data" * 100, "k", metadata={"m": "v"}, content_type="text/plain")
    assert project.get_bytes(key) == b"project data" * 100
    head = project.head(key)
    assert (head.custom, head.content_type, head.compression) == ({"m": "v"}, "text/plain", "zstd")
    with project.get(key, decompress=False) as response:
        assert response.encoding == "zstd"
        assert response.metadata.key == "k"
        assert response.read() != b"project data" * 100
    with pytest.raises(natsobj.ObjectNotFoundError):
        org.get_bytes("k")
    assert [m.key for m in project.list()] == ["k"]
    with project.watch() as watcher:
        assert [e.key if e else None for e in (next(watcher), next(watcher))] == ["k", None]
        project.delete("k")
        event = next(watcher)
        assert event is not None
        assert event.deleted
    project.put(b"h", "h")
    batch = project.many().put(b"1", "a").put(iter([b"2", b"2"]), "b").head("h").get("zz")
    assert len(batch) == 4
    with batch.send() as results:
        outcomes = {(r.operation, r.key): r.ok for r in results}
    assert outcomes == {("put", "a"): True, ("put", "b"): True, ("head", "h"): True,
                        ("get", "zz"): False}  # fmt: skip
    assert project.get_bytes("b") == b"22"
    with pytest.raises(natsobj.ManyOperationsError):
        project.many().get("zz").error_for_failures()
    assert project.bucket().store.bucket == usecase.name
    sync_manager.delete_object_store(usecase.name)


def test_leaving_the_manager_closes_what_is_open(sync_server: ns.EmbeddedServer) -> None:
    """Abandoned reads and watchers are closed with the manager; the thread stops."""
    before = {t.ident for t in threading.enumerate()}
    with ns.connect(sync_server.url) as manager:
        store = manager.create_object_store(f"s{uuid.uuid4().hex[:12]}")
        store.put("x", b"x" * 300_000, chunk_size=1024)
        result = store.get("x").__enter__()
        next(result)
        watcher = store.watch().__enter__()
        assert next(watcher) is not None
        manager.delete_object_store(store.bucket)
    assert result._entered is None
    assert watcher._entered is None
    with pytest.raises(natsobj.NotOpenError):
        store.get_info("x")
    for thread in threading.enumerate():
        if thread.ident not in before:
            thread.join(5)
            assert not thread.is_alive(), thread.name
    with pytest.raises(natsobj.ServerUnavailableError):
        ns.connect("nats://127.0.0.1:1", timeout=0.5, max_reconnect_attempts=0)


def _next_after_starting(timer: threading.Timer, watcher: ns.ObjectWatcher) -> None:
    """Start ``timer``, then wait for an event that never comes (the SIGINT lands here,
    inside ``pytest.raises``, whenever it fires)."""
    timer.start()
    next(watcher)


def test_ctrl_c_while_waiting_cancels_and_does_not_hang(
    sync_manager: ns.ObjectStoreManager,
) -> None:
    """A KeyboardInterrupt in the caller (as Ctrl-C) stops a blocked watch at once and
    leaves the manager usable and closable."""
    store = sync_manager.create_object_store(f"s{uuid.uuid4().hex[:12]}")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    with store.watch(updates_only=True) as watcher, pytest.raises(KeyboardInterrupt):
        _next_after_starting(timer, watcher)
    assert time.monotonic() - started < 5
    timer.join()
    store.put("after", b"ok")
    assert store.get_bytes("after") == b"ok"
    sync_manager.delete_object_store(store.bucket)


def test_the_docs_example_runs_as_written(tmp_path: Path) -> None:
    """docs/sync.md's example prints what the page says it prints."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    printed = re.search(r"prints\n\n```text\n(.*?)```", page, re.DOTALL)
    assert code is not None
    assert printed is not None
    ran = subprocess.run(
        [sys.executable, "-c", code[1]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == printed[1]


def test_the_rest_of_the_surface(sync_manager: ns.ObjectStoreManager, tmp_path: Path) -> None:
    """test_forms, test_bulk, test_conditional, test_policies, test_sweep, test_manager:
    one call of each remaining method, through the facade."""
    bucket = f"s{uuid.uuid4().hex[:12]}"
    store = sync_manager.create_object_store(bucket, description="d")
    assert store.put_bytes("b", b"bytes").size == 5
    assert store.put_string("s", "text").size == 4
    first = store.upload("u", b"1", content_type="text/plain")
    with pytest.raises(natsobj.ObjectExistsError):
        store.upload("u", b"2")
    store.update("u", b"3")
    with pytest.raises(natsobj.ObjectNotFoundError):
        store.update("nobody", b"3")
    with pytest.raises(natsobj.PreconditionFailedError):
        store.put("u", b"4", if_revision=first.revision)
    store.delete("u", if_revision=store.get_info("u").revision)
    assert [r.ok for r in store.delete_many(["b", "nope"])] == [True, False]
    store.put("dir/1", b"1")
    assert [r.name for r in store.delete_prefix("dir/")] == ["dir/1"]
    assert store.sweep_orphans(dry_run=True).orphans == []
    assert store.empty() > 0
    assert store.list() == []
    assert store.policy.public is False
    status = sync_manager.update_bucket(bucket, public=True)
    assert status.policy.public
    assert sync_manager.get_bucket(bucket).policy.public
    assert store.status().description == "d"
    assert bucket in [s.bucket for s in sync_manager.object_store_statuses()]
    store.put("x", b"x")
    with pytest.raises(natsobj.BucketNotEmptyError):
        sync_manager.delete_bucket(bucket)
    assert sync_manager.empty_bucket(bucket) > 0
    sync_manager.delete_bucket(bucket)
    usecase = ns.Usecase(f"u{uuid.uuid4().hex[:12]}", compression="none")
    session = usecase.scope().push("team", "x").session(sync_manager)
    session.put(b"1", "a")
    assert set(session.prefetch(["a", "b"])) == {"a"}
    assert session.object_name("a").endswith("a")
    sync_manager.delete_object_store(usecase.name)


def test_server_lifecycle(tmp_path: Path) -> None:
    """test_server: stop, start, restart and kill keep the port and store."""
    with ns.EmbeddedServer(store_dir=tmp_path / "js") as server:
        port = server.port
        with ns.connect(server.url) as manager:
            manager.create_object_store("kept").put("a", b"1")
        server.restart()
        server.kill()
        assert not server.running
        server.start()
        assert server.port == port
        assert server.pid is not None
        with ns.connect(server.url) as manager:
            assert manager.object_store("kept").get_bytes("a") == b"1"
    assert not server.running
    with pytest.raises(natsobj.NotOpenError):
        server.start()
