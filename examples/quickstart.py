"""natsobj in one screen: a server, a bucket, a file in and out, list, watch and a link.

Run it with `make demo` (or `.venv/bin/python examples/quickstart.py`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import anyio

import natsobj


async def main() -> None:
    async with natsobj.EmbeddedServer() as server:
        print(f"nats-server with JetStream running at {server.url}")
        async with natsobj.connect(server.url) as manager:
            store = await manager.create_object_store("files", description="quickstart bucket")

            # Watch the bucket while we work: the None marks the end of the initial values.
            async with store.watch() as watcher:
                assert await watcher.__anext__() is None

                with tempfile.TemporaryDirectory() as tmp:
                    source = Path(tmp) / "report.bin"
                    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
                    info = await store.put_file(source, name="reports/2026/report.bin")
                    print(
                        f"put  {info.name}: {info.size:,} bytes in {info.chunks} chunks, "
                        f"{info.digest}"
                    )

                    event = await watcher.__anext__()
                    assert event is not None
                    print(f"watch saw: {event.name} (revision {event.revision})")

                    copy = Path(tmp) / "copy.bin"
                    await store.get_file(info.name, copy)
                    same = (
                        hashlib.sha256(copy.read_bytes()).digest()
                        == hashlib.sha256(source.read_bytes()).digest()
                    )
                    print(f"get  {info.name} -> {copy.name}: identical={same}")

            tail = await store.get_bytes(info.name, start=info.size - 16)
            print(f"range read of the last 16 bytes: {tail.hex()}")

            await store.put(
                natsobj.ObjectMeta(
                    name="notes/hello.txt",
                    description="a greeting",
                    headers={"Content-Type": ["text/plain"]},
                    metadata={"owner": "quickstart"},
                ),
                "hello, object store",
            )
            latest = await store.get_info(info.name)
            await store.add_link("latest-report", latest)
            linked = await store.get_bytes("latest-report")
            print(f"link latest-report -> {latest.name}: {len(linked):,} bytes")

            print("list:")
            for entry in await store.list():
                kind = "link" if entry.is_link else f"{entry.size:,} bytes"
                print(f"  {entry.name:<28} {kind}")

            status = await store.status()
            print(f"bucket {status.bucket}: {status.size:,} bytes stored, storage={status.storage}")


if __name__ == "__main__":
    anyio.run(main)
