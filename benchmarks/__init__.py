"""natsobj's benchmark suite: natsobj against the raw JetStream ceiling and its peers.

Run ``python -m benchmarks.run`` (``make bench``) for the full run that writes
``BENCHMARKS.md``, or ``python -m benchmarks.run --quick`` for a smoke run. See ``run.py``.
"""
