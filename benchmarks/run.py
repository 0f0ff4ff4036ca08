"""Run natsobj's benchmark suite.

    python -m benchmarks.run --output BENCHMARKS.md --json results.json   # full (make bench)
    python -m benchmarks.run --quick                                     # smoke run, ~30 s
    python benchmarks/run.py --sizes 1MiB,64MiB --chunk-sizes 128KiB     # a subset
    python -m benchmarks.run --only gateway [--quick]                   # the HTTP gateway alone

Options: ``--quick``, ``--sizes``, ``--max-size``, ``--chunk-sizes``, ``--file-from``,
``--repeats``, ``--small-count``, ``--concurrency``, ``--peers``, ``--require-node``,
``--no-profile``, ``--output``, ``--json``; ``--help`` says more. Progress goes to stderr,
one line per measurement; the report goes to ``--output`` (or stdout). A full run (not
``--quick``) ends with the HTTP gateway's section (``benchmarks/gateway.py``) in the same
report, unless ``--no-gateway``; ``--only gateway`` runs just that, with its own options.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    if not __package__:  # run as a script: make the repository root importable
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    argv = sys.argv[1:]
    if argv[:2] == ["--only", "gateway"]:
        from benchmarks.gateway import main as gateway_main

        return gateway_main(argv[2:])
    from benchmarks.suite import main as suite_main

    gateway = "--no-gateway" not in argv and "--quick" not in argv
    argv = [arg for arg in argv if arg != "--no-gateway"]
    status = suite_main(argv)
    if gateway:
        from benchmarks.gateway import gateway_section

        status |= gateway_section(argv)
    return status


if __name__ == "__main__":
    sys.exit(main())
