"""Users who may only read, or only write, one bucket: permissions from bucket_permissions.

Starts a server whose users get exactly the subjects natsobj needs for their role, then
shows each doing its job and being refused the rest. Run it with
`.venv/bin/python examples/bucket_permissions.py`.
"""

from __future__ import annotations

import json
from typing import Literal

import anyio

import natsobj

BUCKET = "reports"


def user(name: str, role: Literal["reader", "writer", "admin"]) -> dict[str, object]:
    """A user of the server config; its own inbox prefix keeps others off its replies."""
    permissions = natsobj.bucket_permissions(BUCKET, role, inbox_prefix=f"_INBOX_{name}")
    return {
        "user": name,
        "password": f"{name}-secret",
        "permissions": permissions.server_config(),
    }


async def main() -> None:
    users = [user("admin", "admin"), user("writer", "writer"), user("reader", "reader")]
    # nats-server reads JSON inside its config format.
    config = "authorization " + json.dumps({"users": users})
    print(json.dumps(users[2], indent=2))  # what a reader may do

    async with natsobj.EmbeddedServer(config=config) as server:
        async with natsobj.connect(
            server.url, user="admin", password="admin-secret", inbox_prefix="_INBOX_admin"
        ) as admin:
            await admin.create_object_store(BUCKET, description="quarterly reports")

        async with natsobj.connect(
            server.url, user="writer", password="writer-secret", inbox_prefix="_INBOX_writer"
        ) as writer:
            store = await writer.object_store(BUCKET)
            await store.put("q3.txt", b"revenue up")
            print("writer: put q3.txt")

        # A refused publish gets no answer from the server: a short timeout keeps it quick.
        async with natsobj.connect(
            server.url,
            user="reader",
            password="reader-secret",
            inbox_prefix="_INBOX_reader",
            timeout=1,
        ) as reader:
            store = await reader.object_store(BUCKET)
            print("reader: got", await store.get_bytes("q3.txt"))
            try:
                await store.put("q4.txt", b"forged")
            except natsobj.PermissionDeniedError as exc:
                print("reader: put refused:", exc)
            try:
                await reader.create_object_store("elsewhere")
            except natsobj.PermissionDeniedError as exc:
                print("reader: new bucket refused:", exc)


if __name__ == "__main__":
    anyio.run(main)
