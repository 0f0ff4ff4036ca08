"""raise_heap_trim_threshold: nats-py's publish copies no longer fault the heap back in
at every flush (glibc only: the thresholds it moves are glibc's)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# nats-py's pattern for 17 messages of 128 KiB: a PUB command each, one joined write, all
# freed; 50 such flushes, counting the page faults they cost.
FLUSHES = """
import resource, sys
from natsobj._jetstream._tuning import raise_heap_trim_threshold
if sys.argv[1] == "raise":
    raise_heap_trim_threshold()
payload = memoryview(bytes(128 * 1024))
def flush():
    b"".join([b"PUB s r 131072\\r\\n" + payload + b"\\r\\n" for _ in range(17)])
flush()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    flush()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's thresholds"
)


def faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", FLUSHES, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_flushes_reuse_the_heap_once_the_threshold_is_raised() -> None:
    pages = 50 * 17 * 2 * (128 * 1024) // 4096  # what the flushes write, in 4 KiB pages
    # Without it, every flush gives its ~4 MiB back to the OS and faults it in again.
    assert faults("plain") > pages // 2
    assert faults("raise") < pages // 20
