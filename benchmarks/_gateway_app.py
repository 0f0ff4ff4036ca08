"""The app every server under test runs: ``natsobj.gateway.create_app`` with its defaults,
over ``NATSOBJ_BENCH_SERVER`` with ``NATSOBJ_BENCH_JWT_SECRET`` (the benchmark sets both).

``python -m uvicorn --factory benchmarks._gateway_app:app`` (and granian's, hypercorn's
equivalents) build it in each worker process, as ``natsobj serve`` builds its own.

Two more variables, set by ``benchmarks.gateway_profile`` only: ``NATSOBJ_BENCH_OS_KEY``,
an Ed25519 public key PEM file for the Objectstore routes (kid ``k1``), and
``NATSOBJ_BENCH_PROFILE_DIR``: SIGUSR1 starts a cProfile of the worker's Python thread,
SIGUSR2 stops it and writes ``<pid>-<n>.prof`` there.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import signal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from natsobj.gateway import create_app

SERVER_ENV = "NATSOBJ_BENCH_SERVER"
SECRET_ENV = "NATSOBJ_BENCH_JWT_SECRET"
OS_KEY_ENV = "NATSOBJ_BENCH_OS_KEY"
PROFILE_ENV = "NATSOBJ_BENCH_PROFILE_DIR"


def _profile_on_signals(directory: Path) -> None:
    profiles = itertools.count()
    running: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        if not running:
            running.append(cProfile.Profile())
            running[0].enable()

    def stop(*_: Any) -> None:
        if running:
            profile = running.pop()
            profile.disable()
            profile.dump_stats(directory / f"{os.getpid()}-{next(profiles)}.prof")

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def app() -> Starlette:
    key = os.environ.get(OS_KEY_ENV)
    keys = {"k1": Path(key).read_bytes()} if key else None
    if directory := os.environ.get(PROFILE_ENV):
        _profile_on_signals(Path(directory))
    return create_app(
        os.environ[SERVER_ENV],
        jwt_secret=os.environ[SECRET_ENV],
        objectstore_keys=keys,
        timeout=30.0,
    )
