"""The processes of the gateway benchmark: the ASGI servers under test, the Go load
generator (``benchmarks/httpload``), and the CPU time and peak RSS of a process tree."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

HERE = Path(__file__).resolve().parent
HTTPLOAD_DIR = HERE / "httpload"
FACTORY = "benchmarks._gateway_app:app"

#: The servers the benchmark can run, and how each is started with ``{workers}``
#: processes on ``{port}``. ``uvicorn-std`` is uvicorn with uvloop and httptools (what
#: ``natsobj serve`` runs); ``uvicorn`` is uvicorn with the asyncio loop and h11;
#: ``granian`` and ``hypercorn`` run on uvloop.
SERVERS: dict[str, list[str]] = {
    "uvicorn": [
        *("-m", "uvicorn", "--factory", FACTORY, "--loop", "asyncio", "--http", "h11"),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", "{workers}"),
        *("--log-level", "warning", "--no-access-log"),
    ],
    "uvicorn-std": [
        *("-m", "uvicorn", "--factory", FACTORY, "--loop", "uvloop", "--http", "httptools"),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", "{workers}"),
        *("--log-level", "warning", "--no-access-log"),
    ],
    "granian": [
        *("-m", "granian", "--interface", "asgi", "--factory", "--loop", "uvloop"),
        *("--host", "127.0.0.1", "--port", "{port}", "--workers", "{workers}"),
        *("--log-level", "warning", "--no-access-log", FACTORY),
    ],
    "hypercorn": [
        *("-m", "hypercorn", "--worker-class", "uvloop", "--bind", "127.0.0.1:{port}"),
        *("--workers", "{workers}", "--log-level", "warning", f"{FACTORY}()"),
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- /proc


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc; empty when it is gone)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return [pid for pid in tree if Path(f"/proc/{pid}").exists()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peaks(pids: list[int]) -> dict[int, int]:
    """Set each process's peak RSS back to its current RSS; returns those baselines (KiB)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    return {pid: _status_kib(pid, "VmRSS") for pid in pids}


def peak_growth_mib(baselines: dict[int, int]) -> float:
    """The largest peak RSS growth of one process since ``reset_peaks``, in MiB."""
    growth = [_status_kib(pid, "VmHWM") - base for pid, base in baselines.items()]
    return max([0, *growth]) / 1024


# --------------------------------------------------------------------------- servers


@dataclass
class Running:
    """A server under test: its name, worker count, base URL and root process id."""

    name: str
    workers: int
    url: str
    pid: int

    def pids(self) -> list[int]:
        return process_tree(self.pid)


async def _wait_ready(url: str, process: anyio.abc.Process, timeout: float) -> None:
    async with httpx.AsyncClient() as http:
        with anyio.fail_after(timeout):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/ready")).status_code == 200:
                        return
                await anyio.sleep(0.1)


@contextlib.asynccontextmanager
async def serving(
    name: str, workers: int, env: dict[str, str], *, timeout: float = 60
) -> AsyncIterator[Running]:
    """Server ``name`` with ``workers`` processes on a free port, ready (``/ready`` is 200
    with every worker up) until the block ends; then SIGINT, SIGKILL after 10 s."""
    port = free_port()
    args = [a.format(port=port, workers=workers) for a in SERVERS[name]]
    process = await anyio.open_process(
        [sys.executable, *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_ready(url, process, timeout)
        with anyio.fail_after(timeout):  # every worker process has started its app
            while len(process_tree(process.pid)) < workers:  # noqa: ASYNC110
                await anyio.sleep(0.1)
        await anyio.sleep(0.5 * workers)
        yield Running(name, workers, url, process.pid)
    finally:
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            with anyio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                for pid in reversed(process_tree(process.pid)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            await process.aclose()


def server_available(name: str) -> str | None:
    """Why server ``name`` cannot run here, or None."""
    module = SERVERS[name][1]
    needs = [module] + (["uvloop", "httptools"] if name == "uvicorn-std" else [])
    needs += ["uvloop"] if name in ("granian", "hypercorn") else []
    import importlib.util

    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


# --------------------------------------------------------------------------- load generator


class LoadGeneratorMissing(RuntimeError):
    """The load generator cannot be built here (no Go)."""


def build_httpload(work: Path) -> Path:
    """Build the Go load generator into ``work`` (standard library only; cached by Go).

    Raises:
        LoadGeneratorMissing: no ``go`` on PATH.
        RuntimeError: the build failed.
    """
    go = shutil.which("go")
    if go is None:
        raise LoadGeneratorMissing("its load generator needs Go (`go` on PATH)")
    binary = work / "httpload"
    done = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=HTTPLOAD_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"go build of benchmarks/httpload failed:\n{done.stderr[-2000:]}")
    return binary


async def httpload(binary: Path, *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run the load generator; its JSON answer (``rps``, ``p50_ms``, ``cpu_s``, ...).

    Raises:
        RuntimeError: it failed, or a request failed.
    """
    with anyio.fail_after(timeout):
        done = await anyio.run_process([str(binary), *args], check=False)
    if done.returncode != 0:
        raise RuntimeError(f"httpload {args}: {done.stderr.decode(errors='replace')[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    if answer["failures"]:
        raise RuntimeError(f"httpload: {answer['failures']} failed: {answer.get('first_error')}")
    return answer
