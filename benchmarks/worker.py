"""One benchmark worker process: ``python -m benchmarks.worker SPEC_JSON``.

Runs the ops of one peer (``raw``, ``natsobj`` or ``builtin``) and prints one JSON line on
stdout: the peak RSS after imports, connection and test data (``baseline_rss_kib``) and, per
op, every repetition's wall time and the peak RSS after it. The orchestrator runs each
large-object op in a process of its own, so that peak RSS belongs to that op alone.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import anyio

from . import _common
from ._common import OpResult, WorkerSpec, worker_output

Runner = Callable[[WorkerSpec], Awaitable[tuple[int, dict[str, OpResult]]]]


def _runner(peer: str) -> Runner:
    if peer == "raw":
        from . import raw

        return raw.run
    if peer == "natsobj":
        from . import natsobj_bench

        return natsobj_bench.run
    if peer == "builtin":
        from . import builtin_bench

        return builtin_bench.run
    raise SystemExit(f"unknown peer {peer!r} (the nats.js peer is benchmarks/js/bench.mjs)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.worker SPEC_JSON", file=sys.stderr)
        return 2
    spec = WorkerSpec.from_json(args[0])
    _common.SERVER_PID = spec.server_pid
    run = _runner(spec.peer)

    async def go() -> tuple[int, dict[str, OpResult]]:
        return await run(spec)

    baseline, results = anyio.run(go)
    print(worker_output(baseline, results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
