"""The orchestrator: one server, a fresh bucket per scenario, a worker process per measurement.

Everything runs against ONE ``natsobj.EmbeddedServer`` (file storage, loopback,
``max_payload`` raised so that 1 MiB chunks plus headers fit). For each chunk size and
object size, each peer gets a fresh bucket, created with natsobj so that every peer writes to
the same stream configuration, and deleted afterwards to bound disk use. Large objects
(``--file-from`` and up) are measured one op per process, so the peak RSS growth is that op's
alone; smaller ones run all of a peer's ops in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

import natsobj

from ._common import (
    PUT_PATHS,
    GiB,
    KiB,
    MiB,
    OpResult,
    WorkerSpec,
    format_size,
    make_data_file,
    parse_size,
    parse_sizes,
    progress,
)
from ._small import SMALL_OPS
from .report import NOTES_END, NOTES_START, Figure, Results, render_markdown

ROOT = Path(__file__).resolve().parent.parent
JS_BENCH = Path(__file__).resolve().parent / "js" / "bench.mjs"
JS_PEER_DIR = ROOT / "tests" / "interop" / "js"
#: The nats.go bench peer (benchmarks/go), built by `make bench` with the interop Go peers.
GO_BENCH = ROOT / ".gocache" / "bin" / "gobench"
GO_BENCH_HINT = "make .gocache/bin/gobench"

SERVER_CONFIG = "# natsobj benchmarks: room for 1 MiB chunks plus headers\nmax_payload: 8MB\n"

RAW_OPS = ["pub_pipelined", "pub_sequential", "read_direct", "read_direct_hdrs", "read_ordered"]


@dataclass
class Config:
    sizes: list[int]
    chunk_sizes: list[int]
    file_from: int
    repeats: int = 3
    huge_from: int = 512 * MiB  # objects this big are timed once
    builtin_memory_max: int = 64 * MiB
    small_count: int = 1000
    small_size: int = 1 * KiB
    small_repeats: int = 3
    concurrency: int = 64
    peers: list[str] = field(default_factory=lambda: ["raw", "natsobj", "builtin", "js", "go"])
    require_node: bool = False
    require_go: bool = False
    profile: bool = True
    profile_size: int = 64 * MiB
    worker_timeout: float = 1800.0
    quick: bool = False
    output: str | None = None
    json_path: str | None = None
    command: str = ""

    def repeats_for(self, size: int) -> int:
        return 1 if size >= self.huge_from else self.repeats


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark natsobj against the raw JetStream ceiling, nats-py's built-in "
        "object store and nats.js @nats-io/obj, on one embedded nats-server.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny sizes, few objects (~30 s)"
    )
    parser.add_argument(
        "--sizes", help="object sizes, comma-separated (default 1MiB,64MiB,1GiB; quick 1MiB,4MiB)"
    )
    parser.add_argument(
        "--max-size", help="drop sizes above this one (e.g. 256MiB to skip the 1 GiB objects)"
    )
    parser.add_argument(
        "--chunk-sizes", default="128KiB,1MiB", help="chunk sizes, comma-separated (%(default)s)"
    )
    parser.add_argument(
        "--file-from",
        help="objects this big and up get put_file/get_file and a process per op for RSS "
        "(default 64MiB; quick: the largest size)",
    )
    parser.add_argument("--repeats", type=int, help="repetitions per op (default 3; quick 1)")
    parser.add_argument(
        "--small-count", type=int, help="1 KiB objects per small-object op (default 1000)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="small objects in flight (%(default)s)"
    )
    parser.add_argument(
        "--peers",
        default="raw,natsobj,builtin,js,go",
        help="which of raw,natsobj,builtin,js,go to run (%(default)s)",
    )
    parser.add_argument(
        "--require-node", action="store_true", help="fail if the nats.js peer cannot run"
    )
    parser.add_argument(
        "--require-go", action="store_true", help="fail if the nats.go peer is not built"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile section")
    parser.add_argument("--output", help="write the Markdown report here (e.g. BENCHMARKS.md)")
    parser.add_argument("--json", dest="json_path", help="write every figure as JSON here")
    args = parser.parse_args(argv)

    quick = bool(args.quick)
    sizes = (
        parse_sizes(args.sizes)
        if args.sizes
        else (
            [MiB, 4 * MiB]
            if quick
            else [
                MiB,
                64 * MiB,
                GiB,
            ]
        )
    )
    if args.max_size:
        limit = parse_size(args.max_size)
        sizes = [s for s in sizes if s <= limit]
    if not sizes:
        parser.error("no object sizes left to measure")
    if args.file_from:
        file_from = parse_size(args.file_from)
    else:
        file_from = sizes[-1] if quick else min(64 * MiB, sizes[-1])
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = set(peers) - {"raw", "natsobj", "builtin", "js", "go"}
    if unknown:
        parser.error(f"unknown peers: {sorted(unknown)}")
    small_count = args.small_count or (100 if quick else 1000)
    if small_count > 1000 and {"builtin", "js"} & set(peers):
        parser.error(
            "--small-count above 1000 needs --peers without builtin and js: their gets leave "
            "a consumer each and nats-server refuses more than 1000 on a stream"
        )
    shown = ["python", "-m", "benchmarks.run", *(sys.argv[1:] if argv is None else argv)]
    return Config(
        sizes=sizes,
        chunk_sizes=parse_sizes(args.chunk_sizes),
        file_from=file_from,
        repeats=args.repeats or (1 if quick else 3),
        small_count=small_count,
        small_repeats=1 if quick else 3,
        concurrency=args.concurrency,
        peers=peers,
        require_node=bool(args.require_node),
        require_go=bool(args.require_go),
        profile=not args.no_profile,
        profile_size=min(64 * MiB, sizes[-1]),
        quick=quick,
        output=args.output,
        json_path=args.json_path,
        command=" ".join(shown),
    )


# --------------------------------------------------------------------------- environment


def js_peer_missing() -> str | None:
    """Why the nats.js peer cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "`node` is not on PATH"
    if not (JS_PEER_DIR / "node_modules" / "@nats-io" / "obj" / "package.json").is_file():
        return (
            f"no @nats-io/obj in {JS_PEER_DIR / 'node_modules'} (npm ci --prefix tests/interop/js)"
        )
    return None


def go_bench_missing() -> str | None:
    """Why the nats.go peer cannot run here, or None when it can."""
    return None if GO_BENCH.is_file() else f"no {GO_BENCH} ({GO_BENCH_HINT})"


def _run_text(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    commit = _run_text(["git", "-C", str(ROOT), "log", "-1", "--format=%h"]).strip()
    dirty = [
        line[3:]
        for line in _run_text(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "natsobj"]
        ).splitlines()
        if len(line) > 3
    ]
    node = _run_text(["node", "--version"]).strip() if shutil.which("node") else ""
    js_obj = ""
    with contextlib.suppress(OSError, ValueError, KeyError):
        package = JS_PEER_DIR / "node_modules" / "@nats-io" / "obj" / "package.json"
        js_obj = json.loads(package.read_text())["version"]
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "uncommitted": dirty,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "nats_py": importlib.metadata.version("nats-py"),
        "natsobj": natsobj.__version__,
        "node": node,
        "nats_js_obj": js_obj,
        "nats_go": "1.56.0" if GO_BENCH.is_file() else "",
    }


# --------------------------------------------------------------------------- running


class WorkerError(RuntimeError):
    pass


async def run_worker(spec: WorkerSpec, timeout: float) -> dict[str, Any]:
    """Run one worker process (Python, or Node for peer ``js``); return its JSON output."""
    if spec.peer == "js":
        cmd = ["node", str(JS_BENCH), spec.to_json()]
    elif spec.peer == "go":
        cmd = [str(GO_BENCH), spec.to_json()]
    else:
        cmd = [sys.executable, "-m", "benchmarks.worker", spec.to_json()]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with anyio.fail_after(timeout):
        proc = await anyio.run_process(cmd, cwd=str(ROOT), env=env, check=False)
    out = proc.stdout.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not out:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        tail = "\n".join(err[-15:])
        raise WorkerError(f"{spec.peer} {spec.ops} exited with {proc.returncode}:\n{tail}")
    answer: dict[str, Any] = json.loads(out[-1])
    return answer


def large_ops(cfg: Config, peer: str, size: int) -> list[str]:
    """The ops each peer runs on objects of ``size`` bytes, in order (puts first)."""
    files = size >= cfg.file_from
    if peer == "raw":
        return list(RAW_OPS)
    if peer == "natsobj":
        ops = ["put", "put_file"] if files else ["put"]
        ops += ["get", "get_bytes"] + (["get_file"] if files else [])
        if size == cfg.sizes[-1]:
            ops.append("range")
        return ops
    if peer == "builtin":
        ops = ["put", "put_file"] if files else ["put"]
        if size <= cfg.builtin_memory_max:
            ops.append("get_bytes")
        if files:
            ops.append("get_file")
        return ops
    ops = ["put", "put_file"] if files else ["put"]
    ops.append("get")
    if size <= cfg.builtin_memory_max:
        ops.append("get_bytes")
    if files:
        ops.append("get_file")
    return ops


def _describe(fig: Figure) -> str:
    what = f"{fig.value:,.0f} {fig.unit}"
    reps = len(fig.seconds)
    extra = f" (median of {reps})" if reps > 1 else ""
    rss = f", peak RSS +{fig.rss_growth_mib:.0f} MiB" if fig.rss_growth_mib is not None else ""
    return f"{what}{extra}{rss}"


class Suite:
    def __init__(self, cfg: Config, server: natsobj.EmbeddedServer, work: Path):
        self.cfg = cfg
        self.server = server
        self.work = work
        self.results = Results(config=_config_json(cfg))
        self.buckets = 0
        self.started = time.monotonic()
        self.js_skip: str | None = None
        self.go_skip: str | None = None

    def data_file(self, size: int) -> Path:
        path = self.work / f"data-{size}.bin"
        if not path.exists():
            make_data_file(path, size)
        return path

    @contextlib.asynccontextmanager
    async def bucket(
        self, manager: natsobj.ObjectStoreManager, **options: Any
    ) -> AsyncIterator[str]:
        self.buckets += 1
        name = f"bench{self.buckets}"
        await manager.create_object_store(name, description="natsobj benchmark", **options)
        try:
            yield name
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(natsobj.ObjectStoreError):
                await manager.delete_object_store(name)

    def _log(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        progress(f"[{elapsed:6.1f}s] {text}")

    def _record(
        self, spec: WorkerSpec, answer: dict[str, Any], isolated: bool, small: bool
    ) -> None:
        baseline = int(answer.get("baseline_rss_kib", 0))
        for op, raw in answer["ops"].items():
            res = OpResult(**raw)
            fig = Figure(
                peer=spec.peer,
                op=op,
                chunk_size=spec.chunk_size,
                size=spec.size,
                seconds=res.seconds,
                bytes=res.bytes,
                count=res.count,
                unit="ops/s" if small else "MB/s",
                rss_growth_mib=(
                    max(res.peak_rss_kib - baseline, 0) / 1024
                    if isolated and not small and op != "range_whole_1mib"
                    else None
                ),
                profile=str(raw.get("profile", "")),
                client_cpu_s=float(res.extra.get("client_cpu_s", 0.0)),
                server_cpu_s=float(res.extra.get("server_cpu_s", 0.0)),
            )
            self.results.figures.append(fig)
            label = f"{spec.peer} {op}"
            where = (
                f"{spec.count} x {format_size(spec.size)}"
                if small
                else f"{format_size(spec.size)}, chunk {format_size(spec.chunk_size)}"
            )
            self._log(f"{label} [{where}]: {_describe(fig)}")

    async def measure(
        self, spec: WorkerSpec, *, isolated: bool, small: bool = False
    ) -> dict[str, Any] | None:
        try:
            answer = await run_worker(spec, self.cfg.worker_timeout)
        except (WorkerError, TimeoutError, ValueError) as exc:
            message = f"{spec.peer} {','.join(spec.ops)} size {spec.size} chunk {spec.chunk_size}"
            self.results.errors.append(f"{message}: {exc}")
            self._log(f"FAILED {message}: {exc}")
            return None
        self._record(spec, answer, isolated, small)
        return answer

    def peers(self) -> Iterator[str]:
        for peer in self.cfg.peers:
            if peer == "js" and self.js_skip is not None:
                continue
            if peer == "go" and self.go_skip is not None:
                continue
            yield peer

    async def run(self, manager: natsobj.ObjectStoreManager) -> None:
        cfg = self.cfg
        for size in cfg.sizes:
            data = self.data_file(size)
            for chunk in cfg.chunk_sizes:
                for peer in self.peers():
                    ops = large_ops(cfg, peer, size)
                    isolate = size >= cfg.file_from and peer != "raw"
                    async with self.bucket(manager) as bucket:
                        base = WorkerSpec(
                            peer=peer,
                            url=self.server.url,
                            server_pid=self.server.pid or 0,
                            bucket=bucket,
                            ops=ops,
                            size=size,
                            chunk_size=chunk,
                            repeats=cfg.repeats_for(size),
                            data_file=str(data),
                            out_dir=str(self.work),
                            range_repeats=1 if cfg.quick else 5,
                        )
                        groups = [[op] for op in ops] if isolate else [ops]
                        for group in groups:
                            spec = WorkerSpec(**{**asdict(base), "ops": group})
                            await self.measure(spec, isolated=isolate)
            data.unlink()  # keep the disk tidy: each size's data is needed only here
        if "natsobj" in cfg.peers:
            await self.run_put_paths(manager)
        await self.run_small(manager)
        if cfg.profile and "natsobj" in cfg.peers:
            await self.run_profile(manager)

    async def run_put_paths(self, manager: natsobj.ObjectStoreManager) -> None:
        """natsobj's put of one object size through each put path, in turn per repetition."""
        size = max((s for s in self.cfg.sizes if s <= self.cfg.profile_size), default=0)
        if not size:
            return
        data = self.data_file(size)
        for chunk in self.cfg.chunk_sizes:
            for op, options in PUT_PATHS.items():
                async with self.bucket(manager, **options) as bucket:
                    spec = WorkerSpec(
                        peer="natsobj",
                        url=self.server.url,
                        server_pid=self.server.pid or 0,
                        bucket=bucket,
                        ops=[op],
                        size=size,
                        chunk_size=chunk,
                        repeats=self.cfg.repeats_for(size),
                        data_file=str(data),
                        out_dir=str(self.work),
                    )
                    await self.measure(spec, isolated=False)
        data.unlink()

    async def run_small(self, manager: natsobj.ObjectStoreManager) -> None:
        cfg = self.cfg
        for peer in self.peers():
            if peer == "raw":
                continue
            async with self.bucket(manager) as bucket:
                spec = WorkerSpec(
                    peer=peer,
                    url=self.server.url,
                    server_pid=self.server.pid or 0,
                    bucket=bucket,
                    ops=list(SMALL_OPS),
                    size=cfg.small_size,
                    chunk_size=128 * KiB,
                    repeats=cfg.small_repeats,
                    count=cfg.small_count,
                    concurrency=cfg.concurrency,
                )
                await self.measure(spec, isolated=False, small=True)

    async def run_profile(self, manager: natsobj.ObjectStoreManager) -> None:
        size = self.cfg.profile_size
        chunk = self.cfg.chunk_sizes[0]
        async with self.bucket(manager) as bucket:
            spec = WorkerSpec(
                peer="natsobj",
                url=self.server.url,
                server_pid=self.server.pid or 0,
                bucket=bucket,
                ops=["profile_put", "profile_get"],
                size=size,
                chunk_size=chunk,
                repeats=1,
                data_file=str(self.data_file(size)),
                out_dir=str(self.work),
            )
            await self.measure(spec, isolated=False)


def _config_json(cfg: Config) -> dict[str, Any]:
    data = asdict(cfg)
    data.pop("output", None)
    data.pop("json_path", None)
    return data


def _skip(title: str, reason: str | None, required: bool, suite: Suite) -> str | None:
    """``reason`` (None: the peer can run); a missing peer that is required ends the run."""
    if reason is not None:
        if required:
            raise SystemExit(f"{title} peer unavailable: {reason}")
        progress(f"skipping {title}: {reason}")
        suite.results.notes.append(f"{title} was not measured: {reason}")
    return reason


async def run_suite(cfg: Config) -> Results:
    work = Path(tempfile.mkdtemp(prefix="natsobj-bench-"))
    try:
        async with natsobj.EmbeddedServer(config=SERVER_CONFIG) as server:
            suite = Suite(cfg, server, work)
            if "js" in cfg.peers:
                suite.js_skip = _skip("nats.js", js_peer_missing(), cfg.require_node, suite)
            if "go" in cfg.peers:
                suite.go_skip = _skip("nats.go", go_bench_missing(), cfg.require_go, suite)
            suite.results.machine = machine_info()
            suite.results.machine["server"] = server.version or "?"
            suite.results.machine["load_start"] = _loadavg()
            progress(
                f"natsobj benchmarks: nats-server {server.version} at {server.url}, "
                f"sizes {[format_size(s) for s in cfg.sizes]}, "
                f"chunks {[format_size(c) for c in cfg.chunk_sizes]}, peers {cfg.peers}"
            )
            async with natsobj.connect(server.url, timeout=30.0) as manager:
                await suite.run(manager)
            suite.results.elapsed_s = time.monotonic() - suite.started
            suite.results.machine["load_end"] = _loadavg()
            return suite.results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    results = anyio.run(run_suite, cfg)
    if cfg.json_path:
        Path(cfg.json_path).write_text(json.dumps(results.to_json(), indent=1) + "\n")
    markdown = render_markdown(results)
    if cfg.output:
        path = Path(cfg.output)
        Path(cfg.output).write_text(_keep_notes(path, markdown))
        progress(f"wrote {cfg.output}")
    else:
        print(markdown)
    progress(f"done in {results.elapsed_s:.0f} s, {len(results.errors)} error(s)")
    return 1 if results.errors else 0


def _keep_notes(path: Path, markdown: str) -> str:
    """Carry the hand-written block between the notes markers over from the old report."""
    try:
        old = path.read_text()
    except OSError:
        return markdown
    start, end = old.find(NOTES_START), old.find(NOTES_END)
    new_start, new_end = markdown.find(NOTES_START), markdown.find(NOTES_END)
    if min(start, end, new_start, new_end) < 0:
        return markdown
    return markdown[:new_start] + old[start:end] + markdown[new_end:]
