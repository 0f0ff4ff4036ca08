"""The forms a call can take without ``async with``: ``await natsobj.connect(url)`` and
``await store.get(name).read()`` work; iterating or awaiting a read or a watcher that was
never opened raises NotOpenError naming the right form, instead of yielding nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import natsobj
from natsobj import ObjectStore, ObjectStoreManager
from tests.conftest import unique_bucket

pytestmark = pytest.mark.anyio


def _held(manager: ObjectStoreManager) -> tuple[int, int]:
    """What open reads and watches hold: subscriptions, and routes on the shared inbox."""
    return len(manager.nc._subs), len(manager.js.mux._routes)


async def test_await_connect_gives_a_manager_to_close(server: natsobj.EmbeddedServer) -> None:
    manager = await natsobj.connect(server.url)
    store = await manager.create_object_store(unique_bucket())
    await store.put("a", b"1")
    assert await store.get_bytes("a") == b"1"
    await manager.delete_object_store(store.bucket)
    await manager.close()
    assert manager.nc.is_closed
    await manager.close()  # again: nothing to do
    with pytest.raises(natsobj.ServerUnavailableError):
        await manager.object_store_names()


async def test_connect_in_every_form_closes_its_connection(server: natsobj.EmbeddedServer) -> None:
    async with await natsobj.connect(server.url) as awaited:
        assert isinstance(await awaited.object_store_names(), list)
    assert awaited.nc.is_closed
    async with natsobj.connect(server.url) as entered:
        await entered.close()  # early, inside the block: the exit then has nothing to do
        assert entered.nc.is_closed
    with pytest.raises(natsobj.ServerUnavailableError):
        await natsobj.connect("nats://127.0.0.1:1", timeout=1)


async def test_a_manager_over_a_callers_connection_leaves_it_open(
    manager: ObjectStoreManager,
) -> None:
    async with ObjectStoreManager(manager.nc) as wrapper:
        await wrapper.object_store_names()
    assert manager.nc.is_connected


async def test_read_outside_async_with_opens_and_closes(
    manager: ObjectStoreManager, store: ObjectStore
) -> None:
    data = bytes(range(256)) * 40
    await store.put("a", data, chunk_size=1000)
    before = _held(manager)
    assert await store.get("a").read() == data
    assert await store.get("a", start=10, end=20).read() == data[10:20]
    assert _held(manager) == before
    # An open read does hold something, which the check above would see.
    result = store.get("a")
    await result.__aenter__()
    await result.__anext__()
    assert _held(manager) != before
    await result.aclose()
    assert _held(manager) == before
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get("missing").read()


async def _iterate(result: Any) -> list[Any]:
    return [item async for item in result]


async def _await(result: Any) -> Any:
    return await result


# (what, how to make it, the form its error must name)
UNOPENED: list[tuple[str, Callable[[ObjectStore, natsobj.Session], Any], str]] = [
    ("get", lambda s, session: s.get("a"), "async with store.get(name)"),
    ("watch", lambda s, session: s.watch(), "async with store.watch()"),
    ("session get", lambda s, session: session.get("k"), "async with session.get(key)"),
    ("session watch", lambda s, session: session.watch(), "async with session.watch()"),
    ("many send", lambda s, session: session.many().get("k").send(), "async with many.send()"),
]


@pytest.mark.parametrize(("what", "make", "form"), UNOPENED, ids=[u[0] for u in UNOPENED])
@pytest.mark.parametrize("use", [_iterate, _await], ids=["async for", "await"])
async def test_unopened_results_and_watchers_say_how_to_use_them(
    manager: ObjectStoreManager,
    store: ObjectStore,
    usecase: natsobj.Usecase,
    what: str,
    make: Callable[[ObjectStore, natsobj.Session], Any],
    form: str,
    use: Callable[[Any], Awaitable[Any]],
) -> None:
    await store.put("a", b"data")
    session = usecase.scope().session(manager)
    await session.put(b"data", "k")
    before = _held(manager)
    with pytest.raises(natsobj.NotOpenError, match=form.replace("(", r"\(").replace(")", r"\)")):
        await use(make(store, session))
    assert _held(manager) == before  # nothing was opened


async def test_results_after_their_block(manager: ObjectStoreManager, store: ObjectStore) -> None:
    await store.put("a", b"data")
    result = store.get("a")
    with pytest.raises(natsobj.NotOpenError):
        _ = result.info
    async with result:
        assert result.info.size == 4
    # Closed: no silent b"", and it cannot be opened again.
    with pytest.raises(natsobj.NotOpenError):
        await result.read()
    with pytest.raises(natsobj.NotOpenError):
        async with result:
            pass
    watcher = store.watch(updates_only=True)
    async with watcher:
        pass
    assert [info async for info in watcher] == []  # a stopped watcher ends, as documented


async def test_session_reads_outside_async_with(
    manager: ObjectStoreManager, usecase: natsobj.Usecase
) -> None:
    session = usecase.scope().session(manager)
    await session.put(b"session data", "k")
    assert await session.get("k").read() == b"session data"
    response = session.get("k")
    with pytest.raises(natsobj.NotOpenError):
        _ = response.metadata
    results = session.many().get("k").send()
    async with results:
        pass
    with pytest.raises(natsobj.NotOpenError):  # not anyio's ClosedResourceError
        _ = [result async for result in results]
