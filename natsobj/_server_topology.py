"""The shapes NATS is deployed in, on loopback: a hub with a leaf node in its own JetStream
domain (``EmbeddedLeafTopology``) and clusters joined by gateways
(``EmbeddedSupercluster``). Each is a set of ``EmbeddedCluster`` s started together.

Public as ``natsobj.server.EmbeddedLeafTopology`` and ``natsobj.server.EmbeddedSupercluster``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

import anyio

from ._errors import InvalidArgumentError
from ._server_cluster import EmbeddedCluster, wait_answers
from ._server_process import EmbeddedServerError

__all__ = ["EmbeddedLeafTopology", "EmbeddedSupercluster"]

_MAX_REPLICAS = 5  # JetStream's limit on a stream's replicas


class _Topology:
    """What the shapes share: the options every cluster of them takes, and starting and
    stopping them together (every process stopped on exit, error or cancellation)."""

    def __init__(
        self,
        *,
        host: str,
        binary: str | os.PathLike[str] | None,
        config: str,
        startup_timeout: float,
        stop_timeout: float,
    ) -> None:
        self._options: dict[str, Any] = {
            "host": host,
            "binary": binary,
            "config": config,
            "startup_timeout": startup_timeout,
            "stop_timeout": stop_timeout,
        }
        self._startup_timeout = startup_timeout
        self._stack: AsyncExitStack | None = None

    async def _start(self, stack: AsyncExitStack) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise EmbeddedServerError(f"{self!r} is already started")
        stack = AsyncExitStack()
        try:
            await self._start(stack)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every node of every cluster. Shielded from cancellation."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with anyio.CancelScope(shield=True):
                await stack.aclose()

    async def _started(self, stack: AsyncExitStack, cluster: EmbeddedCluster) -> None:
        """Start ``cluster``'s nodes (not waiting for JetStream); stopped with the stack."""
        await cluster.start_nodes()
        stack.push_async_callback(cluster.aclose)


class EmbeddedLeafTopology(_Topology):
    """A hub cluster in one JetStream domain and a leaf cluster, connected to it as a leaf
    node, in a domain of its own: the edge deployment.

    ::

        clients ── leaf (domain "leaf") ══ leaf node connection ══▶ hub n1..n3 (domain "hub")

    A client of the leaf reaches the leaf's JetStream by default (or with
    ``domain=leaf_domain``), and the hub's with ``natsobj.connect(leaf_url,
    domain=hub_domain)``; the other way round for clients of the hub. ``async with``
    returns once the hub's JetStream answers through every leaf node and the leaf's own
    JetStream answers; on exit every node is stopped.

    Args:
        hub_size, leaf_size: Nodes of each cluster (a leaf of one node is a plain server).
        hub_domain, leaf_domain: The two JetStream domains (different subject tokens).
        host, binary, config, startup_timeout, stop_timeout: As for ``EmbeddedCluster``,
            for every node of both.

    Raises:
        InvalidArgumentError: From the constructor: the same domain twice, or a bad one.
    """

    def __init__(
        self,
        hub_size: int = 3,
        leaf_size: int = 1,
        *,
        hub_domain: str = "hub",
        leaf_domain: str = "leaf",
        host: str = "127.0.0.1",
        binary: str | os.PathLike[str] | None = None,
        config: str = "",
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if hub_domain == leaf_domain:
            raise InvalidArgumentError(f"the hub and the leaf need two domains, not {hub_domain!r}")
        super().__init__(
            host=host,
            binary=binary,
            config=config,
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )
        self._hub = EmbeddedCluster(
            hub_size, name="hub", domain=hub_domain, leafnodes=True, **self._options
        )
        self._leaf_size = leaf_size
        self._leaf_domain = leaf_domain
        # Checked now; replaced on start by one that knows the hub's leaf node ports.
        self._leaf = self._make_leaf([])

    def _make_leaf(self, remotes: Sequence[str]) -> EmbeddedCluster:
        return EmbeddedCluster(
            self._leaf_size,
            name="leaf",
            domain=self._leaf_domain,
            remotes=remotes,
            node_prefix="leaf",
            **self._options,
        )

    @property
    def hub(self) -> EmbeddedCluster:
        """The hub cluster (nodes ``n1``...)."""
        return self._hub

    @property
    def leaf(self) -> EmbeddedCluster:
        """The leaf cluster (nodes ``leaf1``...)."""
        return self._leaf

    def __repr__(self) -> str:
        return f"<EmbeddedLeafTopology hub={self._hub!r} leaf={self._leaf!r}>"

    async def _start(self, stack: AsyncExitStack) -> None:
        await self._started(stack, self._hub)
        self._leaf = self._make_leaf(self._hub.leafnode_urls)
        await self._started(stack, self._leaf)
        await self._hub.wait_until_ready()
        await self._leaf.wait_until_ready()
        await wait_answers(
            "leaf topology",
            self._leaf.servers,
            self._startup_timeout,
            f"the hub's JetStream (domain {self._hub.domain!r}) not reachable from the leaf",
            subject=f"$JS.{self._hub.domain}.API.INFO",
        )


class EmbeddedSupercluster(_Topology):
    """Clusters joined by gateways into one supercluster, one JetStream across them:
    buckets are placed in a cluster by name (``Placement(cluster=...)``) or by tags.

    ::

        east: east-n1..n3 ◀══ gateways ══▶ west: west-n1..n3

    Nodes are named ``<cluster>-n1``, ... ``async with`` returns once every node answers
    JetStream requests and a stream can be placed on the nodes of every cluster (up to
    five); on exit every node is stopped.

    Right after a bucket is created in another cluster than the client's, the gateways may
    take a moment to carry its subjects: a first write can fail with
    ``ServerUnavailableError`` (nothing stored) and succeed when tried again.

    Args:
        names: The cluster names (at least two, distinct).
        size: Nodes per cluster.
        server_tags: Per cluster name, the tags of its nodes in order, as for
            ``EmbeddedCluster``.
        host, binary, config, startup_timeout, stop_timeout: As for ``EmbeddedCluster``,
            for every node.

    Raises:
        InvalidArgumentError: From the constructor: fewer than two names, a name twice, or
            tags for a cluster not named.
    """

    def __init__(
        self,
        names: Sequence[str] = ("east", "west"),
        size: int = 3,
        *,
        server_tags: Mapping[str, Sequence[Sequence[str]]] | None = None,
        host: str = "127.0.0.1",
        binary: str | os.PathLike[str] | None = None,
        config: str = "",
        startup_timeout: float = 60.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if isinstance(names, str) or len(names) < 2 or len(set(names)) != len(names):
            raise InvalidArgumentError(f"a supercluster needs two or more names, got {names!r}")
        names = list(names)
        tags = dict(server_tags or {})
        if unknown := set(tags) - set(names):
            raise InvalidArgumentError(f"server_tags for clusters not named: {sorted(unknown)}")
        super().__init__(
            host=host,
            binary=binary,
            config=config,
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
        )
        self._names = names
        self._size = size
        self._tags = tags
        self._clusters: dict[str, EmbeddedCluster] = {}
        for name in names:  # checked now; made again on start with the gateways to join
            self._clusters[name] = self._make(name, {})

    def _make(self, name: str, gateways: Mapping[str, Sequence[str]]) -> EmbeddedCluster:
        return EmbeddedCluster(
            self._size,
            name=name,
            server_tags=self._tags.get(name),
            gateways=gateways,
            node_prefix=f"{name}-n",
            **self._options,
        )

    @property
    def clusters(self) -> dict[str, EmbeddedCluster]:
        """The clusters by name, in the order given."""
        return dict(self._clusters)

    def __getitem__(self, name: str) -> EmbeddedCluster:
        return self._clusters[name]

    @property
    def urls(self) -> list[str]:
        """Every node's client URL, cluster by cluster."""
        return [url for cluster in self._clusters.values() for url in cluster.urls]

    def __repr__(self) -> str:
        return f"<EmbeddedSupercluster {list(self._clusters.values())!r}>"

    async def _start(self, stack: AsyncExitStack) -> None:
        # Each cluster dials those started before it; they learn of it from its gateways.
        joined: dict[str, list[str]] = {}
        for name in self._names:
            cluster = self._clusters[name] = self._make(name, joined)
            await self._started(stack, cluster)
            joined = {**joined, name: cluster.gateway_urls}
        for cluster in self._clusters.values():
            await cluster.wait_until_ready()
        # Ready means every node of every cluster can take a stream: the meta leader
        # knows each node (and its tags). A probe stream on all of a cluster's nodes.
        for name, cluster in self._clusters.items():
            probe = f"natsobj_probe_{name}"
            config = {
                "name": probe,
                "storage": "memory",
                "num_replicas": min(self._size, _MAX_REPLICAS),
                "placement": {"cluster": name},
            }
            await wait_answers(
                "supercluster",
                cluster.servers[:1],
                self._startup_timeout,
                f"no stream can be placed in cluster {name!r}",
                subject=f"$JS.API.STREAM.CREATE.{probe}",
                payload=json.dumps(config).encode(),
                then=f"$JS.API.STREAM.DELETE.{probe}",
            )
