"""Run natsobj's benchmark suite.

    python -m benchmarks.run --output BENCHMARKS.md --json results.json   # full (make bench)
    python -m benchmarks.run --quick                                     # smoke run, ~30 s
    python benchmarks/run.py --sizes 1MiB,64MiB --chunk-sizes 128KiB     # a subset

Options: ``--quick``, ``--sizes``, ``--max-size``, ``--chunk-sizes``, ``--file-from``,
``--repeats``, ``--small-count``, ``--concurrency``, ``--peers``, ``--require-node``,
``--no-profile``, ``--output``, ``--json``; ``--help`` says more. Progress goes to stderr,
one line per measurement; the report goes to ``--output`` (or stdout).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    if not __package__:  # run as a script: make the repository root importable
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.suite import main as suite_main

    return suite_main()


if __name__ == "__main__":
    sys.exit(main())
