"""Fresh NUIDs (object and batch ids, chunk subjects), unique across threads and forks."""

from __future__ import annotations

import os
import threading

from nats.nuid import NUID

__all__ = ["new_nuid"]


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
