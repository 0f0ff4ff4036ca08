"""Durable change feeds end to end: events handled per second (put to acknowledgement) with
1 and 3 replicas, and the latency from a put's acknowledgement to its event reaching a
handler (p50/p99), under load and paced.

    .venv/bin/python -m benchmarks.feeds [--events 3000] [--repeats 3]

Each run: a fresh bucket, ``--events`` puts of 1 KiB (16 at a time) while the replicas
(tasks on one connection each) read one feed and acknowledge every event as soon as they
get it. Paced: one put every 5 ms, one replica. "puts alone" is the writers' rate without a
feed, for scale; "backlog" is one replica draining events stored before it starts (the
consumer's own rate). Prints the median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio

import natsobj

WRITERS = 16
PACED_EVENTS = 400
PACED_GAP = 0.005


async def drain(url: str, manager: natsobj.ObjectStoreManager, run: int, events: int) -> float:
    """Events per second one replica handles from a backlog of ``events`` (no writes)."""
    store = await manager.create_object_store(f"feeds{run}")
    limiter = anyio.CapacityLimiter(WRITERS)

    async def put(index: int) -> None:
        async with limiter:
            await store.put(f"o/{index}", b"x" * 1024)

    async with anyio.create_task_group() as tg:
        for index in range(events):
            tg.start_soon(put, index)
    started = time.monotonic()
    async with store.changes("bench", deliver="all") as feed:
        handled = 0
        async for event in feed:
            await event.ack()
            handled += 1
            if handled == events:
                break
    elapsed = time.monotonic() - started
    await manager.delete_object_store(store.bucket)
    return events / elapsed


async def one_run(
    url: str, manager: natsobj.ObjectStoreManager, run: int, events: int, replicas: int, gap: float
) -> tuple[float, list[float]]:
    """(events per second from the first put to the last acknowledgement, latencies in s)."""
    store = await manager.create_object_store(f"feeds{run}")
    acked: dict[str, float] = {}
    reached: dict[str, float] = {}
    done = anyio.Event()

    async def replica() -> None:
        async with natsobj.connect(url) as own:
            mine = await own.object_store(store.bucket)
            async with mine.changes("bench", deliver="all") as feed:
                async for event in feed:
                    reached.setdefault(event.name, time.monotonic())
                    await event.ack()
                    if len(reached) == events:
                        done.set()

    async def put(index: int, limiter: anyio.CapacityLimiter) -> None:
        async with limiter:
            name = f"o/{index}"
            await store.put(name, b"x" * 1024)
            acked[name] = time.monotonic()

    async with anyio.create_task_group() as tg:
        for _ in range(replicas):
            tg.start_soon(replica)
        if not replicas:
            done.set()
        await anyio.sleep(0.5)  # the replicas are pulling
        started = time.monotonic()
        limiter = anyio.CapacityLimiter(WRITERS if not gap else 1)
        async with anyio.create_task_group() as writers:
            for index in range(events):
                writers.start_soon(put, index, limiter)
                if gap:
                    await anyio.sleep(gap)
        with anyio.fail_after(120):
            await done.wait()
        elapsed = time.monotonic() - started
        tg.cancel_scope.cancel()
    await manager.delete_object_store(store.bucket)
    # An event may reach its handler before the put's acknowledgement reaches the writer:
    # that counts as 0.
    latencies = [max(0.0, reached[name] - acked[name]) for name in reached if name in acked]
    return events / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def main(events: int, repeats: int) -> None:
    async with natsobj.EmbeddedServer() as server, natsobj.connect(server.url) as manager:
        run = 0
        drained = []
        for _ in range(repeats):
            run += 1
            drained.append(await drain(server.url, manager, run, events))
        print(f"1 replica, backlog of {events}: {statistics.median(drained):,.0f} events/s")
        for label, replicas, count, gap in (
            ("puts alone, no feed", 0, events, 0.0),
            ("1 replica", 1, events, 0.0),
            ("3 replicas", 3, events, 0.0),
            ("1 replica, paced (a put every 5 ms)", 1, PACED_EVENTS, PACED_GAP),
        ):
            rates, p50s, p99s = [], [], []
            for _ in range(repeats):
                run += 1
                rate, latencies = await one_run(server.url, manager, run, count, replicas, gap)
                rates.append(rate)
                p50s.append(percentile(latencies, 0.5) * 1000)
                p99s.append(percentile(latencies, 0.99) * 1000)
            if not replicas:
                print(f"{label}: {statistics.median(rates):,.0f} puts/s ({count} puts)")
                continue
            print(
                f"{label}: {statistics.median(rates):,.0f} events/s end to end"
                f" ({count} events); put ack -> handler p50 {statistics.median(p50s):.1f} ms,"
                f" p99 {statistics.median(p99s):.1f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    anyio.run(main, options.events, options.repeats)
