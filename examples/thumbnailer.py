"""A thumbnail service on a durable change feed: two replicas share the uploads under
``images/``, each upload is handled once by one of them, and each writes a derived object
under ``thumbs/``. A replica that restarts resumes where the feed stands.

Run it with `.venv/bin/python examples/thumbnailer.py`: it starts its own nats-server,
uploads a few images, waits for every thumbnail and stops by itself.
"""

from __future__ import annotations

import hashlib
import os

import anyio

import natsobj

IMAGES = 10


async def make_thumbnail(store: natsobj.ObjectStore, name: str) -> str:
    """The "thumbnail" of image ``name`` (a digest here: imagine a resize), stored beside it."""
    data = await store.get_bytes(name)
    thumb = f"thumbnail of {name}: {len(data)} bytes, {hashlib.sha256(data).hexdigest()[:12]}"
    target = f"thumbs/{name.removeprefix('images/')}.txt"
    await store.put(target, thumb, content_type="text/plain")
    return target


async def replica(
    store: natsobj.ObjectStore, label: str, made: set[str], done: anyio.Event
) -> None:
    """One replica of the service: same feed name as the other, so they share the events."""
    changes = store.changes("thumbnailer", deliver="all", prefix="images/", kinds=["put"])
    async with changes as feed:
        async for event in feed:
            try:
                target = await make_thumbnail(store, event.name)
            except natsobj.ObjectNotFoundError:
                await event.ack()  # deleted before we got to it: nothing to do
                continue
            except natsobj.ObjectStoreError:
                await event.nak(delay=1)  # try again later (another replica may)
                continue
            await event.ack()
            made.add(event.name)
            print(f"{label}: {event.name} -> {target} (revision {event.revision})")
            if len(made) == IMAGES:
                done.set()


async def main() -> None:
    async with natsobj.EmbeddedServer() as server, natsobj.connect(server.url) as manager:
        store = await manager.create_object_store("media")
        made: set[str] = set()
        done = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(replica, store, "replica-1", made, done)
            tg.start_soon(replica, store, "replica-2", made, done)
            for i in range(IMAGES):
                await store.put(f"images/photo-{i}.jpg", os.urandom(50_000 + i))
            await store.put("docs/readme.txt", "not an image: the feed filters it out")
            with anyio.fail_after(30):
                await done.wait()
            tg.cancel_scope.cancel()  # stop both replicas: unsettled events go back
        thumbs = [info.name for info in await store.list(prefix="thumbs/")]
        feed = await store.feed_info("thumbnailer")
        print(f"{len(thumbs)} thumbnails; feed: last acknowledged revision {feed.last_acked}")
        await store.delete_feed("thumbnailer")


if __name__ == "__main__":
    anyio.run(main)
