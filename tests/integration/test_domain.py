"""A JetStream domain: a client on a leaf node reaches the hub's JetStream through the
hub's domain (``$JS.hub.API``), every operation the watch included. The leaf has a
JetStream of its own behind the default ``$JS.API``: a request that ignored the domain
would reach it, and find no bucket there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

import natsobj
from natsobj import EmbeddedServer
from natsobj._server_process import free_ports

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _hub_and_leaf() -> AsyncIterator[str]:
    """A hub (domain ``hub``) and a leaf node (domain ``leaf``) connected to it; yields
    the leaf's URL once the hub's JetStream answers through it."""
    (leaf_port,) = free_ports("127.0.0.1", 1)
    hub = f"jetstream {{ domain: hub }}\nleafnodes {{ host: 127.0.0.1, port: {leaf_port} }}\n"
    leaf = (
        "jetstream { domain: leaf }\n"
        f'leafnodes {{ remotes = [ {{ url: "nats-leaf://127.0.0.1:{leaf_port}" }} ] }}\n'
    )
    async with EmbeddedServer(config=hub), EmbeddedServer(config=leaf) as leaf_server:
        with anyio.fail_after(20):
            while True:  # the leaf connects to the hub in the background
                try:
                    async with natsobj.connect(leaf_server.url, domain="hub", timeout=1):
                        break
                except natsobj.ObjectStoreError:
                    await anyio.sleep(0.2)
        yield leaf_server.url


async def test_put_get_list_watch_through_a_domain() -> None:
    data = os.urandom(300_000)  # several chunks: the get reads runs of Direct Gets
    async with (
        _hub_and_leaf() as url,
        natsobj.connect(url, domain="hub", timeout=3) as manager,
    ):
        assert manager.js.prefix == "$JS.hub.API"
        store = await manager.create_object_store("dom")
        await store.put("first", data, chunk_size=64 * 1024)
        assert await store.get_bytes("first") == data
        async with store.watch() as watcher:
            with anyio.fail_after(10):
                initial = await watcher.__anext__()
                assert initial is not None
                assert initial.name == "first"
                assert await watcher.__anext__() is None  # the end of the initial values
                await store.put("second", b"2")
                update = await watcher.__anext__()
        assert update is not None
        assert update.name == "second"
        assert [info.name for info in await store.list()] == ["first", "second"]
        assert await manager.object_store_names() == ["dom"]

        # The leaf's own JetStream (the default prefix) has no bucket: the domain mattered.
        async with natsobj.connect(url, timeout=3) as local:
            assert await local.object_store_names() == []
            with pytest.raises(natsobj.BucketNotFoundError):
                await local.object_store("dom")


async def test_domain_and_api_prefix_are_checked() -> None:
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.connect("nats://127.0.0.1:1", domain="a.b")
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.connect("nats://127.0.0.1:1", domain="hub", api_prefix="$JS.hub.API")
    with pytest.raises(natsobj.InvalidArgumentError):
        natsobj.connect("nats://127.0.0.1:1", api_prefix="$JS.*.API")
