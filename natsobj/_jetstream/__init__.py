"""The JetStream layer: the only package that imports ``nats``.

TEMPORARY (branch rB): engineer A moves ``_jsapi.py`` into this package at the same time;
at the merge this file is replaced by A's real ``__init__``. Until then it re-exports the
agreed names from ``.._jsapi`` and ``.._errors``, and holds the fork-safe NUID source
(A's ``_client.py`` has its own). Everything outside this package imports JetStream-layer
names from here only.
"""

from __future__ import annotations

import os
import threading
from typing import TypeAlias

from nats.aio.client import Client
from nats.nuid import NUID

from .._errors import map_nats_errors
from .._jsapi import (
    MULTI_LAST_SUBJECTS,
    AckWindow,
    ByteBudget,
    FastIngest,
    JetStream,
    OrderedConsumer,
    Payload,
    StoredMsg,
    api_error,
    close_connection,
    unsubscribe,
    wait_for,
)

__all__ = [
    "MULTI_LAST_SUBJECTS",
    "AckWindow",
    "ByteBudget",
    "FastIngest",
    "JetStream",
    "NatsClient",
    "OrderedConsumer",
    "Payload",
    "StoredMsg",
    "api_error",
    "close_connection",
    "map_nats_errors",
    "new_nuid",
    "unsubscribe",
    "wait_for",
]

# For annotations outside this package, which never import nats themselves.
NatsClient: TypeAlias = Client


class _NuidSource:
    """nats-py's NUID generator, made safe for threads and for forks.

    One generator per process: a child forked after the parent made NUIDs (multiprocessing,
    preforking servers, task-queue workers) would otherwise make the same ones as its
    parent and siblings, so their puts would share chunk subjects and their purges take
    each other's chunks. ``next`` is locked: nats-py does not promise its generator is
    thread-safe (its sequence update takes several steps), and threads may each run an
    event loop with natsobj in it.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        # A new lock too: one held by another thread at the fork stays held in the child.
        self._lock = threading.Lock()
        self._nuid = NUID()  # seeded from os.urandom

    def next(self) -> str:
        with self._lock:
            return self._nuid.next().decode("ascii")


_nuids = _NuidSource()


def new_nuid() -> str:
    """A fresh NUID, unique across threads and forked processes."""
    return _nuids.next()
