"""Parsing meta messages: ``ObjectInfo.from_message`` alone, no server.

    .venv/bin/python -m benchmarks.meta_parse              # 100,000 metas, ~10 s
    .venv/bin/python -m benchmarks.meta_parse --metas 20000 --repeats 5

Builds N meta messages as the clients write them (subject, server timestamp, sequence and
payload bytes): natsobj's (nats.go's canonical bytes, half of them with the
``Natsobj-Created`` header an overwrite keeps), nats.go's, nats.js's and nats-py's (with a
Content-Type header and the other keys they write), plus a few links and tombstones. Then:

- time: the best of ``--repeats`` passes over all N (microseconds per meta, wall and CPU
  time, the garbage collector on as in a listing: its full collections over the growing
  list are part of the cost; ``--no-gc`` pauses it);
- memory: the Python allocations (tracemalloc) held by the N ObjectInfo kept in a list,
  per object (the list's own 8 bytes a slot included), and the peak during that pass.

Prints one line per figure; ``--json`` prints them as one JSON object instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from typing import Any

from natsobj import ObjectInfo
from natsobj._wire import encode_digest, go_json, meta_subject

BUCKET = "bench"
ZERO_TIME = "0001-01-01T00:00:00Z"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

Message = tuple[bytes, str, str, int]  # payload, subject, timestamp, sequence


def _nuid(index: int) -> str:
    digits = []
    for _ in range(22):
        index, rest = divmod(index * 7919 + 104729, 62)
        digits.append(_ALPHABET[rest])
    return "".join(digits)


def _stamp(index: int) -> str:
    return f"2026-11-23T19:{index // 60 % 60:02d}:{index % 60:02d}.{index * 7919 % 10**9:09d}Z"


def _payload(index: int, name: str) -> bytes:
    """One meta as one of the clients writes it (canonical nats.go bytes for natsobj)."""
    nuid = _nuid(index)
    digest = encode_digest(index.to_bytes(32, "big"))
    size = index % 100 + 1
    kind = index % 10
    if kind == 7:  # nats.js: its own key order, its mtime, deleted: false
        return json.dumps(
            {
                "bucket": BUCKET,
                "nuid": nuid,
                "size": size,
                "chunks": 1,
                "name": name,
                "description": "",
                "options": {"max_chunk_size": 131072},
                "headers": {"Content-Type": ["text/plain"]},
                "mtime": "2026-11-23T19:49:37.166Z",
                "digest": digest,
                "deleted": False,
            },
            separators=(",", ":"),
        ).encode()
    if kind == 8:  # nats-py: spaces, an offset mtime
        return json.dumps(
            {
                "name": name,
                "bucket": BUCKET,
                "nuid": nuid,
                "size": size,
                "mtime": "2026-11-23T19:49:37.699826+00:00",
                "chunks": 1,
                "digest": digest,
                "deleted": False,
                "description": None,
                "headers": None,
                "options": {"max_chunk_size": 131072},
            }
        ).encode()
    out: dict[str, Any] = {"name": name}
    if kind < 4:  # natsobj, after an overwrite
        out["headers"] = {"Natsobj-Created": [_stamp(index)[:26] + "Z"]}
    if index % 1000 == 999:  # a link (1 in 1,000)
        out["options"] = {"link": {"bucket": BUCKET, "name": f"target-{index}"}}
        out.update(bucket=BUCKET, nuid="", size=0, mtime=ZERO_TIME, chunks=0)
        return go_json(out)
    out["options"] = {"max_chunk_size": 131072}
    out.update(bucket=BUCKET, nuid=nuid, size=size, mtime=ZERO_TIME, chunks=1)
    if index % 1000 == 500:  # a tombstone (1 in 1,000)
        out.update(size=0, chunks=0, deleted=True)
    else:
        out["digest"] = digest
    return go_json(out)


def messages(count: int) -> list[Message]:
    """``count`` meta messages, names like ``folder-042/object-0001234.txt`` (29 chars)."""
    out = []
    for index in range(count):
        name = f"folder-{index % 100:03d}/object-{index:07d}.txt"
        out.append((_payload(index, name), meta_subject(BUCKET, name), _stamp(index), index + 1))
    return out


def parse_all(msgs: list[Message]) -> list[ObjectInfo]:
    parse = ObjectInfo.from_message
    return [parse(data, subject=s, timestamp=t, sequence=q) for data, s, t, q in msgs]


def time_per_meta(msgs: list[Message], repeats: int) -> tuple[float, float]:
    """Best (wall, CPU) microseconds per meta over ``repeats`` passes (CPU time says more
    on a busy machine)."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        parse_all(msgs)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    return best / len(msgs) * 1e6, best_cpu / len(msgs) * 1e6


def memory_per_info(msgs: list[Message]) -> tuple[float, float]:
    """(bytes held per ObjectInfo, peak MiB of allocations while parsing them all)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    infos = parse_all(msgs)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(infos) == len(msgs)
    return (held - before) / len(msgs), (peak - before) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metas", type=int, default=100_000, help="metas to parse")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-gc", action="store_true", help="time with the garbage collector paused"
    )
    args = parser.parse_args(argv)
    msgs = messages(args.metas)
    parse_all(msgs[:1000])  # warm up
    if args.no_gc:
        gc.disable()
    us, cpu_us = time_per_meta(msgs, args.repeats)
    gc.enable()
    held, peak = memory_per_info(msgs)
    result = {
        "metas": args.metas,
        "gc": not args.no_gc,
        "us_per_meta": round(us, 2),
        "cpu_us_per_meta": round(cpu_us, 2),
        "bytes_per_info": round(held),
        "peak_mib": round(peak, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"from_message: {us:.2f} us per meta, {cpu_us:.2f} us of CPU "
            f"(best of {args.repeats}, {args.metas} metas)"
        )
        print(f"held: {held:.0f} bytes per ObjectInfo, peak {peak:.1f} MiB while parsing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
