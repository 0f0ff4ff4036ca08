"""A usecase end to end: scopes, compression, metadata, expiration and a batch.

Run it with `.venv/bin/python examples/usecase.py` (it starts its own nats-server).
"""

from __future__ import annotations

import anyio

import natsobj
from natsobj import ExpirationPolicy, Usecase

# Keep the usecase (and the connection) for the life of the program.
ATTACHMENTS = Usecase(
    "attachments", compression="zstd", expiration_policy=ExpirationPolicy.time_to_idle(60)
)


async def main() -> None:
    async with natsobj.EmbeddedServer() as server, natsobj.connect(server.url) as manager:
        session = ATTACHMENTS.for_project(42, 1337).session(manager)

        # A put: zstd-compressed, expiring 60 s after its last read (the usecase defaults).
        log = b"2026-11-23 12:00:00 INFO request served\n" * 10_000
        key = await session.put(
            log, content_type="text/plain", origin="203.0.113.7", metadata={"kind": "log"}
        )
        head = await session.head(key)
        print(f"put {key}: {len(log):,} bytes stored as {head.size:,} ({head.compression})")
        print(f"  origin={head.origin} custom={head.custom} expires={head.time_expires:%X}")

        # A streaming get decompresses; accept_encoding passes the stored zstd bytes on.
        async with session.get(key) as response:
            total = sum([len(chunk) async for chunk in response])
        raw = await session.get_bytes(key, accept_encoding="zstd")
        print(f"get: {total:,} bytes decompressed; {len(raw):,} zstd bytes passed through")

        # Scopes isolate: the same key in another project is another object.
        other = ATTACHMENTS.for_project(42, 1338).session(manager)
        try:
            await other.head(key)
        except natsobj.ObjectNotFoundError:
            print("another project's session cannot see it")

        # A per-put override: a short time to live; expired objects are never returned,
        # and a watcher of the scope sees the server remove it.
        async with session.watch(updates_only=True) as watcher:
            await session.put(
                b"one-off", key="token", expiration_policy=ExpirationPolicy.time_to_live(1)
            )
            async for event in watcher:
                assert event is not None  # updates_only: no initial values, no None
                print(f"watch: {event.kind} {event.key}")
                if event.kind == "expire":
                    break
        try:
            await session.get_bytes("token")
        except natsobj.ObjectNotFoundError:
            print("the 1 s TTL object has expired")

        # The Many API: queued operations, bounded concurrency, results as they complete.
        many = session.many(max_concurrency=4)
        for i in range(8):
            many.put(f"chunk {i}".encode(), key=f"part-{i}", compression="none")
        many.get(key).head("no-such-key").delete("part-0")
        async with many.send() as results:
            async for result in results:
                status = "ok" if result.ok else type(result.error).__name__
                print(f"  {result.operation:6} {result.key[:12]:12} {status}")
        try:
            await session.many().get("part-1").get("missing").error_for_failures()
        except natsobj.ManyOperationsError as exc:
            print(f"error_for_failures: {[(f.operation, f.key) for f in exc.failures]}")


if __name__ == "__main__":
    anyio.run(main)
