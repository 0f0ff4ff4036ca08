"""``natsobj serve`` as a real subprocess: flags and ``NATSOBJ_*`` env reach every worker."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import Process

import natsobj
from natsobj.gateway import create_app

from .conftest import SECRET, serving, token

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_ready(url: str, verify: ssl.SSLContext | bool = True) -> httpx.Response:
    async with httpx.AsyncClient(verify=verify) as http:
        with anyio.fail_after(20):
            while True:
                try:
                    response = await http.get(f"{url}/ready")
                    if response.status_code == 200:
                        return response
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.1)


async def stop(process: Process) -> bytes:
    """Ctrl-C ``process`` (killed if it lingers past 10 s); what it wrote on stdout if
    that is a pipe."""
    process.send_signal(signal.SIGINT)
    with anyio.move_on_after(10):
        await process.wait()
    if process.returncode is None:
        process.kill()
    chunks = []
    with anyio.CancelScope(shield=True):
        if process.stdout is not None:
            chunks = [chunk async for chunk in process.stdout]
        await process.aclose()
    return b"".join(chunks)


async def open_serve(args: list[str], env: dict[str, str]) -> Process:
    """``natsobj ARGS`` (a ``serve``) started with ``env``, its output discarded."""
    return await anyio.open_process(
        [sys.executable, "-m", "natsobj.cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_answers_health_ready_and_storage(
    server: natsobj.EmbeddedServer, workers: int
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
    env["NATSOBJ_JWT_SECRET"] = SECRET  # from the environment; the rest as flags
    args = ["serve", "--server", server.url, "--port", str(port), "--workers", str(workers)]
    process = await open_serve(args, env)
    try:
        url = f"http://127.0.0.1:{port}"
        assert (await wait_ready(url)).json() == {"status": "ok"}
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/health")).json() == {"status": "ok"}
            headers = {"Authorization": f"Bearer {token('service_role')}"}
            for _ in range(2 * workers):  # connections may land on any worker
                buckets = await http.get("/storage/v1/bucket", headers=headers)
                assert buckets.status_code == 200
                assert isinstance(buckets.json(), list)
        if workers == 1 and sys.platform == "linux":  # the server runs in this process
            maps = Path(f"/proc/{process.pid}/maps").read_text()
            assert "/uvloop/" in maps  # the measured choice
            assert "/httptools/" in maps
    finally:
        await stop(process)
    assert process.returncode is not None


def test_serve_picks_uvloop_and_httptools_where_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from natsobj.cli._serve import server_choice

    assert server_choice() == ("uvloop", "httptools")  # the dev install
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name in ("uvloop", "httptools") else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert server_choice() == ("asyncio", "h11")


def test_serve_without_the_gateway_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from natsobj.cli import invoke

    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "uvicorn" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert invoke(["serve", "--port", str(free_port())]) == 2
    assert "pip install 'natsobj[gateway]'" in capsys.readouterr().err


async def test_ready_follows_nats_and_health_does_not() -> None:
    async with natsobj.EmbeddedServer() as nats_server:
        app = create_app(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
        async with serving(app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            assert (await http.get("/ready")).status_code == 200
            await nats_server.stop()
            with anyio.fail_after(5):  # the client notices the closed socket
                while (down := await http.get("/ready")).status_code == 200:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
            assert (await http.get("/health")).status_code == 200
