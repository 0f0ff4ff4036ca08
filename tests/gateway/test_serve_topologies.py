"""``natsobj serve`` through a nats CLI context whose JetStream is in another domain: the
workers get the domain with the rest of the connection settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

import natsobj

from .conftest import SECRET, token
from .test_serve_cli import free_port, open_serve, stop, wait_ready

pytestmark = pytest.mark.anyio


async def test_serve_uses_the_context_and_its_domain(tmp_path: Path) -> None:
    async with (
        natsobj.EmbeddedLeafTopology(1) as topology,
        natsobj.connect(topology.hub.url) as hub,
    ):
        await hub.create_object_store("at-the-hub")
        contexts = tmp_path / "nats" / "context"
        contexts.mkdir(parents=True)
        edge = {"url": topology.leaf.url, "jetstream_domain": "hub"}
        (contexts / "edge.json").write_text(json.dumps(edge))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
        env |= {"XDG_CONFIG_HOME": str(tmp_path), "NATSOBJ_JWT_SECRET": SECRET}
        port = free_port()
        process = await open_serve(["serve", "--context", "edge", "--port", str(port)], env)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url)
            async with httpx.AsyncClient(base_url=url) as http:
                headers = {"Authorization": f"Bearer {token('service_role')}"}
                listed = await http.get("/storage/v1/bucket", headers=headers)
            assert listed.status_code == 200, listed.text
            assert [b["name"] for b in listed.json()] == ["at-the-hub"]
        finally:
            await stop(process)
