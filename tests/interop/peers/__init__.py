"""The conformance peers: natsobj, nats.go, nats.js and nats-py's built-in object store.

Each is a real implementation of the NATS object store, never a mock, behind the
:class:`Peer` protocol (``_core``). A new peer is one more implementation: a program speaking
``process_peer``'s line protocol, started like :func:`js_peer` and :func:`go_peer`.
"""

from ._core import (
    DEFAULT_CHUNK,
    KIB,
    MIB,
    Cap,
    ErrorKind,
    Info,
    Link,
    Meta,
    Peer,
    PeerError,
    Status,
    Watcher,
    chunks_for,
    digest_of,
    missing,
    same_view,
    wait_gone,
)
from .builtin_peer import BuiltinPeer
from .natsobj_peer import NatsobjPeer
from .process_peer import (
    GO_INSTALL_HINT,
    JS_INSTALL_HINT,
    ProcessPeer,
    go_peer,
    go_peer_missing,
    js_peer,
    js_peer_missing,
)

__all__ = [
    "DEFAULT_CHUNK",
    "GO_INSTALL_HINT",
    "JS_INSTALL_HINT",
    "KIB",
    "MIB",
    "BuiltinPeer",
    "Cap",
    "ErrorKind",
    "Info",
    "Link",
    "Meta",
    "NatsobjPeer",
    "Peer",
    "PeerError",
    "ProcessPeer",
    "Status",
    "Watcher",
    "chunks_for",
    "digest_of",
    "go_peer",
    "go_peer_missing",
    "js_peer",
    "js_peer_missing",
    "missing",
    "same_view",
    "wait_gone",
]
