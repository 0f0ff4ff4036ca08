"""``EmbeddedCluster``: a JetStream cluster of ``EmbeddedServer`` nodes routed on loopback.

Public as ``natsobj.server.EmbeddedCluster``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

import anyio

from ._checks import check_subject
from ._errors import InvalidArgumentError, ObjectStoreTimeoutError
from ._server_embedded import EmbeddedServer
from ._server_process import (
    EmbeddedServerError,
    absolute,
    find_nats_server,
    free_ports,
)

__all__ = ["EmbeddedCluster"]


class EmbeddedCluster:
    """A JetStream cluster of ``size`` ``nats-server`` processes routed together on loopback.

    Nodes are named ``n1``, ``n2``, ... Each has its own store dir, client port and route
    port; the route ports are fixed when the cluster starts and kept, so a node that is
    killed or stopped and started again rejoins with its data. ``async with`` returns once
    every node answers JetStream API requests (a meta leader is elected); on exit every node
    is stopped, also on error or cancellation.

    Waiting for JetStream uses nats-py, so the cluster needs the asyncio backend.

    Args:
        size: Number of nodes (3 gives R3 streams a quorum that survives one lost node).
        name: The cluster name.
        host: Loopback address for clients and routes.
        store_dir: Parent for the nodes' store dirs (``<store_dir>/n1``, ...), kept on exit.
            ``None``: each node uses a temporary directory, removed on exit.
        binary: The ``nats-server`` to run; see ``find_nats_server``.
        extra_args: More command-line arguments for every node.
        config: More configuration text for every node (limits, accounts, ...).
        server_tags: Tags per node, in node order (``[["az:1"], ["az:2"], ...]``), for
            bucket placement by tags.
        domain: The JetStream domain of every node (``jetstream { domain: ... }``); clients
            elsewhere reach it as ``natsobj.connect(..., domain=...)``.
        leafnodes: Listen for leaf node connections on every node (``leafnode_urls``).
        remotes: Leaf node URLs of a hub (``nats-leaf://...``, e.g. its
            ``leafnode_urls``): every node connects to it as a leaf node.
        gateways: Join a supercluster: listen for gateway connections under this cluster's
            ``name`` (``gateway_urls``) and connect to the clusters named here (cluster
            name to its gateway URLs). Clusters not named connect to this one themselves.
        node_prefix: Nodes are named ``<node_prefix>1``, ``<node_prefix>2``, ... (server
            names must differ across a supercluster).
        startup_timeout: Seconds each node may take to start, and the cluster to elect a
            JetStream meta leader.
        stop_timeout: Seconds a node may take to stop after SIGTERM before SIGKILL.

    Raises:
        ServerBinaryNotFoundError: From the constructor, if there is no binary.
        InvalidArgumentError: From the constructor, ``size`` under 1 or ``server_tags``
            not one list per node.
        EmbeddedServerError: Entering a cluster that is already started.
    """

    def __init__(
        self,
        size: int = 3,
        *,
        name: str = "natsobj",
        host: str = "127.0.0.1",
        store_dir: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        config: str = "",
        server_tags: Sequence[Sequence[str]] | None = None,
        domain: str | None = None,
        leafnodes: bool = False,
        remotes: Sequence[str] = (),
        gateways: Mapping[str, Sequence[str]] | None = None,
        node_prefix: str = "n",
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if size < 1:
            raise InvalidArgumentError(f"a cluster needs at least 1 node, not {size}")
        if server_tags is not None and len(server_tags) != size:
            raise InvalidArgumentError(f"server_tags needs one list of tags per node ({size})")
        if isinstance(remotes, str):
            raise InvalidArgumentError("remotes must be a sequence of URLs, not a string")
        self._domain = None if domain is None else check_subject(domain, "domain", token=True)
        self._leafnodes = leafnodes
        self._remotes = list(remotes)
        self._gateways = (
            None if gateways is None else {name: list(urls) for name, urls in gateways.items()}
        )
        self._node_prefix = node_prefix
        # Per node: route, leaf node and gateway ports, chosen when the cluster starts.
        self._ports: list[dict[str, int]] = []
        self._size = size
        self._name = name
        self._host = host
        self._store_root = absolute(store_dir) if store_dir is not None else None
        self._binary = find_nats_server(binary)
        self._extra_args = list(extra_args)
        self._config = config
        self._server_tags = [list(tags) for tags in server_tags] if server_tags else None
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._servers: list[EmbeddedServer] = []
        self._stack: AsyncExitStack | None = None

    @property
    def size(self) -> int:
        """The number of nodes."""
        return self._size

    @property
    def name(self) -> str:
        """The cluster name."""
        return self._name

    @property
    def servers(self) -> list[EmbeddedServer]:
        """The nodes, in order (``n1`` first); empty before the cluster is started."""
        return list(self._servers)

    @property
    def urls(self) -> list[str]:
        """Every node's client URL, e.g. for ``nats.connect(servers=cluster.urls)``."""
        return [server.url for server in self._servers]

    @property
    def url(self) -> str:
        """Every node's client URL joined by commas (the form nats.go and the CLI accept).

        nats-py's ``connect()`` wants a list instead: pass ``urls``.
        """
        return ",".join(self.urls)

    @property
    def domain(self) -> str | None:
        """The JetStream domain of the nodes, if one was given."""
        return self._domain

    @property
    def leafnode_urls(self) -> list[str]:
        """Every node's leaf node URL (``nats-leaf://HOST:PORT``), with ``leafnodes=True``,
        for another cluster's ``remotes``; empty before the cluster is started."""
        return self._listen_urls("leaf", "nats-leaf")

    @property
    def gateway_urls(self) -> list[str]:
        """Every node's gateway URL (``nats://HOST:PORT``), with ``gateways``, for another
        cluster's ``gateways``; empty before the cluster is started."""
        return self._listen_urls("gateway", "nats")

    def __repr__(self) -> str:
        return f"<EmbeddedCluster {self._name} size={self._size} {self._servers!r}>"

    def _listen_urls(self, kind: str, scheme: str) -> list[str]:
        host = self._url_host()
        return [f"{scheme}://{host}:{ports[kind]}" for ports in self._ports if kind in ports]

    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    def _choose_ports(self) -> None:
        """Route, leaf node and gateway ports for every node, free right now and kept."""
        kinds = ["route"]
        if self._leafnodes:
            kinds.append("leaf")
        if self._gateways is not None:
            kinds.append("gateway")
        free = iter(free_ports(self._host, self._size * len(kinds)))
        self._ports = [{kind: next(free) for kind in kinds} for _ in range(self._size)]

    def _node_config(self, index: int) -> str:
        host = self._url_host()
        ports = self._ports[index]
        parts = ["# written by natsobj.server.EmbeddedCluster"]
        if self._size > 1 or self._gateways is not None:
            # A lone node routes to itself: JetStream in a supercluster wants a route.
            routes = ", ".join(
                f'"nats-route://{host}:{p["route"]}"'
                for i, p in enumerate(self._ports)
                if i != index or self._size == 1
            )
            parts.append(
                f"cluster {{ name: {json.dumps(self._name)}, "
                f'listen: "{host}:{ports["route"]}", routes: [{routes}] }}'
            )
        if self._server_tags:
            parts.append(f"server_tags: {json.dumps(self._server_tags[index])}")
        if self._domain is not None:
            parts.append(f"jetstream {{ domain: {json.dumps(self._domain)} }}")
        leaf = []
        if self._leafnodes:
            leaf.append(f'listen: "{host}:{ports["leaf"]}"')
        if self._remotes:
            leaf.append(f"remotes: [ {{ urls: {json.dumps(self._remotes)} }} ]")
        if leaf:
            parts.append(f"leafnodes {{ {', '.join(leaf)} }}")
        if self._gateways is not None:
            others = ", ".join(
                f"{{ name: {json.dumps(name)}, urls: {json.dumps(urls)} }}"
                for name, urls in self._gateways.items()
            )
            parts.append(
                f"gateway {{ name: {json.dumps(self._name)}, "
                f'listen: "{host}:{ports["gateway"]}", gateways: [{others}] }}'
            )
        return "\n".join([*parts, self._config, ""])

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise EmbeddedServerError(f"{self!r} is already started")
        await self.start_nodes()
        try:
            await self.wait_until_ready()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def start_nodes(self) -> None:
        """Start every node and return once each accepts connections, without waiting for
        JetStream (``wait_until_ready``): how a topology starts several clusters that need
        each other. ``async with`` does both; ``aclose()`` stops what this started.

        Raises:
            EmbeddedServerError: The cluster is already started.
            ServerStartupError: A node did not start (those started are stopped).
        """
        if self._stack is not None:
            raise EmbeddedServerError(f"{self!r} is already started")
        stack = AsyncExitStack()
        try:
            self._choose_ports()
            for index in range(self._size):
                node = f"{self._node_prefix}{index + 1}"
                store = self._store_root / node if self._store_root is not None else None
                server = EmbeddedServer(
                    host=self._host,
                    store_dir=store,
                    binary=self._binary,
                    extra_args=self._extra_args,
                    config=self._node_config(index),
                    name=node,
                    startup_timeout=self._startup_timeout,
                    stop_timeout=self._stop_timeout,
                )
                self._servers.append(server)
                await stack.enter_async_context(server)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            self._servers = []
            self._ports = []
            raise
        self._stack = stack

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every node and remove temporary directories. Shielded from cancellation."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
        self._servers = []
        self._ports = []

    def _node(self, index: int) -> EmbeddedServer:
        if not self._servers:
            raise EmbeddedServerError(f"{self!r} is not started")
        return self._servers[index]

    async def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (0-based), simulating a crash; returns once it is reaped."""
        await self._node(index).kill()

    async def stop(self, index: int) -> None:
        """Stop node ``index`` (0-based) gracefully; returns once it has exited."""
        await self._node(index).stop()

    async def start(self, index: int) -> None:
        """Start node ``index`` again (same ports and store) and wait until it serves JetStream.

        Raises:
            ServerStartupError: The node did not start.
            ObjectStoreTimeoutError: It did not answer JetStream requests within
                ``startup_timeout`` (a ``TimeoutError``).
        """
        await self._node(index).start()
        await self.wait_until_ready([index])

    async def restart(self, index: int) -> None:
        """Restart node ``index`` (same ports and store) and wait until it serves JetStream.

        Raises:
            ServerStartupError: The node did not start.
            ObjectStoreTimeoutError: It did not answer JetStream requests within
                ``startup_timeout`` (a ``TimeoutError``).
        """
        await self._node(index).restart()
        await self.wait_until_ready([index])

    async def wait_until_ready(
        self, indexes: Sequence[int] | None = None, *, timeout: float | None = None
    ) -> None:
        """Wait until each given running node (default: all running) answers ``$JS.API.INFO``.

        A node answers without error only when it is part of the JetStream meta group and a
        meta leader is elected.

        Raises:
            ObjectStoreTimeoutError: Not every node answered within ``timeout`` (default
                ``startup_timeout``); the message names the nodes and their last answer.
        """
        nodes = [self._node(i) for i in (range(self._size) if indexes is None else indexes)]
        limit = self._startup_timeout if timeout is None else timeout
        await wait_answers(f"cluster {self._name!r}", nodes, limit, "JetStream not ready")


async def wait_answers(
    label: str,
    nodes: Sequence[EmbeddedServer],
    limit: float,
    what: str,
    *,
    subject: str = "$JS.API.INFO",
    payload: bytes = b"",
    then: str | None = None,
) -> None:
    """Wait until each running node of ``nodes`` answers the JetStream API request
    ``subject`` without an error (then sends ``then``, see ``wait_jetstream``).

    Raises:
        ObjectStoreTimeoutError: Not every node answered within ``limit`` seconds; the
            message starts with ``label`` and ``what`` and names the nodes and their last
            answer.
    """
    nodes = [node for node in nodes if node.running]
    # nats-py is asyncio-only: natsobj.server imports it only where a cluster needs it.
    from ._jetstream import wait_jetstream

    last: dict[str, str] = {}
    with anyio.move_on_after(limit) as scope:
        for node in nodes:
            await wait_jetstream(node.url, last, subject=subject, payload=payload, then=then)
    if scope.cancelled_caught:
        waiting = {n.name or n.url: last.get(n.url, "no answer") for n in nodes}
        raise ObjectStoreTimeoutError(f"{label}: {what} within {limit:g} s: {waiting}")
