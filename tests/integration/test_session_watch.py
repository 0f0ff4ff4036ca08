"""Session.watch against a real server: one scope only, session keys and metadata, the
initial-values model, and expiry (time to live, time to idle) seen as "expire"."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest

import natsobj
from natsobj import ExpirationPolicy, SessionEvent, SessionWatcher, Usecase
from tests.conftest import SERVER_GRACE, wait_until_removed

pytestmark = pytest.mark.anyio


async def next_events(
    watcher: SessionWatcher, count: int, timeout: float = 10
) -> list[SessionEvent | None]:
    """The watcher's next ``count`` events (None is the initial-values marker)."""
    with anyio.fail_after(timeout):
        return [await anext(watcher) for _ in range(count)]


def kinds(events: list[SessionEvent | None]) -> list[tuple[str, str] | None]:
    return [None if e is None else (e.key, e.kind) for e in events]


async def test_only_the_scopes_own_objects_appear(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    project = usecase.for_project(42, 1337).session(manager)
    others = [
        usecase.for_organization(42).session(manager),  # the parent scope
        usecase.for_project(42, 1337).push("team", 7).session(manager),  # a deeper scope
        usecase.scope().push("project", 1337).push("org", 42).session(manager),
        usecase.for_project(42, 1338).session(manager),
        usecase.scope().session(manager),
    ]
    await project.put(b"before", key="old")
    for other in others:
        await other.put(b"other", key="old")
    # A plain object in the bucket, and keys that spell out this scope's path elsewhere.
    store = await manager.object_store(usecase.name)
    await store.put("plain.txt", b"plain")
    await others[0].put(b"other", key="project.1337/objects/k")
    await others[4].put(b"other", key="org.42/project.1337/objects/k")

    async with project.watch() as watcher:
        assert kinds(await next_events(watcher, 2)) == [("old", "put"), None]
        for other in others:
            await other.put(b"other", key="k")
            await other.delete("old")
        await store.put("org.42/project.1337/plain", b"plain")
        await project.put(b"mine", key="k")
        await project.delete("old")
        assert kinds(await next_events(watcher, 2)) == [("k", "put"), ("old", "delete")]
        with anyio.move_on_after(0.3):
            unexpected = await anext(watcher)
            pytest.fail(f"an event of another scope came through: {unexpected}")


async def test_events_carry_keys_metadata_and_order(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    async with session.watch(updates_only=True) as watcher:
        await session.put(
            b"hello",
            key="dir/a.txt",
            compression="zstd",
            content_type="text/plain",
            metadata={"kind": "log"},
            origin="203.0.113.7",
            filename="a.txt",
        )
        await session.put(b"again", key="dir/a.txt", compression="none")
        await session.delete("dir/a.txt")
        first, second, gone = await next_events(watcher, 3)

    assert first is not None
    assert second is not None
    assert gone is not None
    assert (first.key, first.kind, first.deleted) == ("dir/a.txt", "put", False)
    assert first.metadata is not None
    assert first.metadata.key == "dir/a.txt"
    assert first.metadata.compression == "zstd"
    assert first.metadata.content_type == "text/plain"
    assert first.metadata.custom == {"kind": "log"}
    assert (first.metadata.origin, first.metadata.filename) == ("203.0.113.7", "a.txt")
    assert first.metadata.expiration_policy == ExpirationPolicy.manual()
    assert second.metadata is not None
    assert second.metadata.compression == "none"
    assert second.metadata.digest != first.metadata.digest
    assert (gone.kind, gone.deleted, gone.metadata) == ("delete", True, None)
    assert first.revision < second.revision < gone.revision
    assert first.mtime is not None
    assert gone.mtime is not None
    assert first.mtime <= gone.mtime


async def test_initial_values_then_none_then_changes(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    empty = usecase.for_project(1, 3).session(manager)
    await session.put(b"a", key="a")
    await session.put(b"b", key="b")
    await session.put(b"c", key="c")
    await session.delete("c")
    await session.put(b"a2", key="a")

    async with empty.watch() as watcher:
        # Nothing in this scope: the marker first, though the bucket has objects.
        assert await next_events(watcher, 1) == [None]
    async with session.watch() as watcher:
        initial = await next_events(watcher, 4)
        assert kinds(initial) == [("b", "put"), ("c", "delete"), ("a", "put"), None]
        a = initial[2]
        assert a is not None
        assert a.metadata is not None
        assert a.metadata.size == 2  # the current value, not the first put
        await session.put(b"d", key="d")
        assert kinds(await next_events(watcher, 1)) == [("d", "put")]
    async with session.watch(include_history=True) as watcher:
        # Metas are rolled up, so the history of each key is its last change.
        assert kinds(await next_events(watcher, 5)) == [
            ("b", "put"),
            ("c", "delete"),
            ("a", "put"),
            ("d", "put"),
            None,
        ]


async def test_ignore_deletes_updates_only_and_stop(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"x", key="kept")
    await session.put(b"x", key="gone")
    await session.delete("gone")

    async with session.watch(ignore_deletes=True) as watcher:
        assert kinds(await next_events(watcher, 2)) == [("kept", "put"), None]
        await session.delete("kept")
        await session.put(b"y", key="new")
        assert kinds(await next_events(watcher, 1)) == [("new", "put")]

    async with session.watch(updates_only=True) as watcher:
        await session.put(b"z", key="later")
        assert kinds(await next_events(watcher, 1)) == [("later", "put")]
        await watcher.stop()
        assert [event async for event in watcher] == []


async def test_aclose_ends_the_iteration_and_unsubscribes(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    async with session.watch():
        pass  # the connection's own subscriptions (its request inbox) now exist
    subscriptions = len(manager.nc._subs)
    async with session.watch(updates_only=True) as watcher:
        await session.put(b"z", key="later")
        assert kinds(await next_events(watcher, 1)) == [("later", "put")]
        assert len(manager.nc._subs) > subscriptions
        await watcher.aclose()
        assert len(manager.nc._subs) == subscriptions
        assert [event async for event in watcher] == []
    with pytest.raises(natsobj.NotOpenError):
        await anext(session.watch())


async def test_bad_arguments(manager: natsobj.ObjectStoreManager, usecase: Usecase) -> None:
    session = usecase.scope().session(manager)
    with pytest.raises(natsobj.InvalidArgumentError, match="cannot be combined"):
        session.watch(include_history=True, updates_only=True)
    for option in ("include_history", "ignore_deletes", "updates_only"):
        with pytest.raises(natsobj.InvalidArgumentError, match=option):
            session.watch(**{option: "yes"})  # type: ignore[arg-type]
    await session.bucket()  # creates it
    store = await manager.object_store(usecase.name)
    with pytest.raises(natsobj.InvalidArgumentError, match="updates_only must be a bool"):
        store.watch(updates_only=1)  # type: ignore[arg-type]


async def test_a_deleted_bucket_is_recreated_on_the_next_watch(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    async with session.watch() as watcher:  # creates the bucket
        assert await next_events(watcher, 1) == [None]
    await manager.delete_object_store(usecase.name)
    with pytest.raises(natsobj.BucketNotFoundError):
        async with session.watch():
            pass
    async with session.watch() as watcher:
        await session.put(b"x", key="k")
        assert kinds(await next_events(watcher, 2)) == [None, ("k", "put")]


async def test_time_to_live_expiry_is_an_expire_event(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    # 2.01 s: the deadline passes 0.99 s before the server's whole-second TTL (3 s) does.
    policy = ExpirationPolicy.time_to_live(2.01)
    await session.put(b"short lived", key="k", expiration_policy=policy)
    await session.put(b"stays", key="manual")
    async with session.watch() as early:
        initial = await next_events(early, 3)
        assert kinds(initial) == [("k", "put"), ("manual", "put"), None]
        put = initial[0]
        assert put is not None
        assert put.metadata is not None
        deadline = put.metadata.time_expires
        assert deadline is not None

        await anyio.sleep((deadline - datetime.now(UTC)).total_seconds() + 0.05)
        async with session.watch() as late:
            late_initial: list[SessionEvent | None] = []
            while not late_initial or late_initial[-1] is not None:
                late_initial += await next_events(late, 1)
            # Past its deadline, still stored for up to 0.95 s more: not an initial value.
            # (Unless the server was already quicker: then its "expire" is one.)
            if kinds(late_initial) == [("manual", "put"), ("k", "expire"), None]:
                watchers = [early]
            else:
                assert kinds(late_initial) == [("manual", "put"), None]
                watchers = [early, late]
            # The server removes it, and the watchers see it expire.
            for watcher in watchers:
                (gone,) = await next_events(watcher, 1, timeout=SERVER_GRACE)
                assert gone is not None
                assert (gone.key, gone.kind, gone.deleted, gone.metadata) == (
                    "k",
                    "expire",
                    True,
                    None,
                )
                assert gone.mtime is not None
                assert gone.mtime >= deadline


async def test_time_to_idle_renewals_then_expiry(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.for_project(1, 2).session(manager)
    policy = ExpirationPolicy.time_to_idle(2)  # reads move the deadline after 0.5 s
    async with session.watch(updates_only=True) as watcher:
        await session.put(b"cache entry", key="c", expiration_policy=policy)
        (put,) = await next_events(watcher, 1)
        assert put is not None
        assert put.kind == "put"
        assert put.metadata is not None
        first_deadline = deadline = put.metadata.time_expires
        assert first_deadline is not None
        assert deadline is not None

        # Kept alive by reads for longer than the TTI: each renewal is a "renew" event.
        started = anyio.current_time()
        while anyio.current_time() - started < 2.5:
            await anyio.sleep(0.6)
            assert await session.get_bytes("c") == b"cache entry"
            (renewal,) = await next_events(watcher, 1)
            assert renewal is not None
            assert (renewal.key, renewal.kind) == ("c", "renew")
            assert renewal.metadata is not None
            assert renewal.metadata.info.nuid == put.metadata.info.nuid
            assert renewal.metadata.time_expires is not None
            assert renewal.metadata.time_expires > deadline
            deadline = renewal.metadata.time_expires
        assert datetime.now(UTC) > first_deadline  # outlived its first deadline

        # Reads stop: it expires at its last deadline, seen as "expire".
        (gone,) = await next_events(watcher, 1, timeout=2 + SERVER_GRACE)
        assert gone is not None
        assert (gone.key, gone.kind) == ("c", "expire")
        assert datetime.now(UTC) >= deadline


async def test_a_removed_tombstone_is_not_reported_as_an_expiry(
    manager: natsobj.ObjectStoreManager, usecase: Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"data", key="gone")
    store = await manager.object_store(usecase.name)
    async with session.watch(updates_only=True) as watcher:
        # A session delete's tombstone expires after an hour; a short one shows the same.
        await store.delete(session.object_name("gone"), tombstone_ttl=1)
        assert kinds(await next_events(watcher, 1)) == [("gone", "delete")]
        await wait_until_removed(store, session.object_name("gone"))
        await session.put(b"next", key="after")
        assert kinds(await next_events(watcher, 1)) == [("after", "put")]
