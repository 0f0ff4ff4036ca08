"""The app every server under test runs: ``natsobj.gateway.create_app`` with its defaults,
over ``NATSOBJ_BENCH_SERVER`` with ``NATSOBJ_BENCH_JWT_SECRET`` (the benchmark sets both).

``python -m uvicorn --factory benchmarks._gateway_app:app`` (and granian's, hypercorn's
equivalents) build it in each worker process, as ``natsobj serve`` builds its own.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from natsobj.gateway import create_app

SERVER_ENV = "NATSOBJ_BENCH_SERVER"
SECRET_ENV = "NATSOBJ_BENCH_JWT_SECRET"


def app() -> Starlette:
    return create_app(os.environ[SERVER_ENV], jwt_secret=os.environ[SECRET_ENV], timeout=30.0)
