"""What the orchestrator and the worker processes share: sizes, specs, results, RSS, timing."""

from __future__ import annotations

import json
import os
import random
import re
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MB = 1_000_000  # throughput figures are MB/s with MB = 10**6 bytes

#: Unacknowledged bytes the raw pipelined publish keeps in flight (natsobj's default too).
RAW_WINDOW_BYTES = 16 * MiB
#: Bytes per batched Direct Get run in the raw read.
RAW_RUN_BYTES = 8 * MiB
#: The range read: this many bytes from the end of the largest object.
RANGE_BYTES = 1 * MiB
# natsobj's put paths, each in a bucket made for it: op name -> create_object_store options.
PUT_PATHS: dict[str, dict[str, bool]] = {
    "put_pipelined": {},
    "put_batched": {"batched_puts": True},
    "put_atomic": {"atomic_puts": True},
}

PEERS = ("raw", "natsobj", "builtin", "js", "go")
PEER_TITLES = {
    "raw": "raw nats-py",
    "natsobj": "natsobj",
    "builtin": "nats-py built-in",
    "js": "nats.js",
    "go": "nats.go",
}

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": KiB, "M": MiB, "G": GiB}


def parse_size(text: str) -> int:
    """``"128KiB"``, ``"1M"``, ``"1GiB"``, ``"65536"`` -> bytes (binary units throughout)."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (try 128KiB, 64MiB, 1GiB)")
    unit = (match[2] or "").upper()[:1]
    return int(float(match[1]) * _UNITS[unit])


def parse_sizes(text: str) -> list[int]:
    """A comma-separated list of sizes, sorted ascending, without duplicates."""
    return sorted({parse_size(part) for part in text.split(",") if part.strip()})


def format_size(size: int) -> str:
    """1048576 -> ``"1 MiB"``; sizes that are not whole units keep their bytes."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_kib() -> int:
    """The peak resident set size, in KiB, since the last ``reset_peak_rss``.

    Linux: ``VmHWM``, which ``reset_peak_rss`` sets back to the current RSS. Elsewhere: the
    process's lifetime peak (``ru_maxrss``).
    """
    peak = _status_kib("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


def reset_peak_rss() -> int:
    """Start measuring peak RSS from now; returns the baseline to subtract from the peak.

    On Linux, writing ``5`` to ``/proc/self/clear_refs`` resets the peak (``VmHWM``) to the
    current RSS, so a transient peak during imports or loading cannot hide what comes after;
    the baseline is then the current RSS. Where that is not possible the baseline is the
    peak so far (``ru_maxrss``), which can only understate later growth.
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return peak_rss_kib()
    current = _status_kib("VmRSS")
    return current if current is not None else peak_rss_kib()


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def make_data_file(path: Path, size: int) -> None:
    """Write ``size`` random (incompressible) bytes to ``path``, 16 MiB at a time."""
    rng = random.Random(size)
    block = 16 * MiB
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(block, left)
            out.write(rng.randbytes(n))
            left -= n


@dataclass
class WorkerSpec:
    """What one worker process (Python or Node) measures. Sent as JSON on its command line."""

    peer: str
    url: str
    bucket: str
    ops: list[str]
    size: int = 0
    chunk_size: int = 128 * KiB
    repeats: int = 3
    data_file: str = ""
    out_dir: str = ""
    # small objects
    count: int = 0
    concurrency: int = 64
    # range read: the 1 MiB reference object is read this many times (median)
    range_repeats: int = 5
    # the server's process id, to charge its CPU time to each op
    server_pid: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


@dataclass
class OpResult:
    """One measured operation: every repetition's wall time, and the process's peak RSS."""

    seconds: list[float] = field(default_factory=list)
    bytes: int = 0  # bytes moved per repetition (throughput ops)
    count: int = 0  # operations per repetition (ops/s ops)
    peak_rss_kib: int = 0  # peak RSS (VmHWM) after the op's repetitions
    extra: dict[str, float] = field(default_factory=dict)
    profile: str = ""  # cProfile text, for the profile_* ops


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


async def timed(
    result: OpResult,
    repeats: int,
    run: Callable[[int], Awaitable[None]],
    before: Callable[[], Awaitable[None]] | None = None,
) -> OpResult:
    """Run ``run(i)`` for i in range(repeats), appending each wall time to ``result``.

    ``before``, if given, is awaited (untimed) before each repetition.
    """
    for i in range(repeats):
        if before is not None:
            await before()
        cpu, server = own_cpu_s(), server_cpu_s()
        start = time.perf_counter()
        await run(i)
        result.seconds.append(time.perf_counter() - start)
        extra = result.extra
        extra["client_cpu_s"] = extra.get("client_cpu_s", 0.0) + own_cpu_s() - cpu
        extra["server_cpu_s"] = extra.get("server_cpu_s", 0.0) + server_cpu_s() - server
    result.peak_rss_kib = peak_rss_kib()
    return result


#: The nats-server process whose CPU time ``timed`` charges to each op (0: none).
SERVER_PID = 0


def own_cpu_s() -> float:
    """CPU seconds (user + system, every thread) this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) the server process has used, from /proc; 0 if unknown."""
    pid = SERVER_PID if pid is None else pid
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def worker_output(baseline_rss_kib: int, ops: dict[str, OpResult]) -> str:
    """The one JSON line a worker prints on stdout."""
    return json.dumps(
        {
            "baseline_rss_kib": baseline_rss_kib,
            "ops": {name: asdict(op) for name, op in ops.items()},
        }
    )
