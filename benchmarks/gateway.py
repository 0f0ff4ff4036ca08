"""The HTTP gateway's benchmark: ``natsobj serve``'s app under each ASGI server against the
library, in one run, on one embedded nats-server.

    python -m benchmarks.gateway                  # every server; Markdown on stdout
    python -m benchmarks.gateway --quick          # smoke run: 4 MiB, 200 requests, uvicorn-std
    python -m benchmarks.run --only gateway       # the same, through the suite's entry point

Measured per server (the app is ``create_app`` with its defaults, built in each worker as
``natsobj serve`` builds it, see ``_gateway_app``; Supabase routes, a service_role HS256
JWT on every request):

- large objects through one worker: ``PUT`` of a file (streamed by the load generator) and
  ``GET`` (body dropped), MB/s, against the library's ``put_file``, ``get_file`` and
  streamed ``get`` measured in a worker process right before; the gateway's peak RSS
  growth during each transfer;
- 1 KiB ``PUT``s (upserts of new names) and ``GET``s, 64 clients at a time over keep-alive
  connections, with 1 and 2 workers: requests/s, p50/p99 latency, against the library's
  64-at-a-time ``put``/``get_bytes`` in a worker process right before;
- the floor: the same 1 KiB load, one worker, against ``_gateway_app.BareApp``
  (``get_bytes``/``put_bytes`` behind no framework, no auth, no headers) on the same
  server: what any ASGI app over the library reaches there;
- the CPU seconds of the gateway, nats-server and the load generator during each
  measurement, so a run shows whether the load generator could have been the bottleneck;
- signed-URL generation and verification rates (in this process).

The load generator is ``benchmarks/httpload`` (Go, standard library only), built on the
first run with ``go build``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import jwt

import natsobj

from . import _gateway_procs as procs
from ._common import KiB, MiB, WorkerSpec, format_size, make_data_file, median, parse_sizes
from ._gateway_app import BARE_ENV, SECRET_ENV, SERVER_ENV
from ._gateway_signing import SECRET, signing_rates
from .gateway_report import render_gateway
from .suite import ROOT, SERVER_CONFIG, run_worker

CHUNK = 128 * KiB
SMALL_SIZE = 1 * KiB
CONCURRENCY = 64


@dataclass
class GatewayConfig:
    sizes: list[int]
    servers: list[str]
    repeats: int = 3
    small_count: int = 2000
    workers: list[int] = field(default_factory=lambda: [1, 2])
    signing_seconds: float = 1.0
    quick: bool = False
    output: str | None = None
    append_to: str | None = None
    json_path: str | None = None
    command: str = ""

    def repeats_for(self, size: int) -> int:
        return 1 if size >= 512 * MiB else self.repeats


def parse_args(argv: list[str] | None = None) -> GatewayConfig:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gateway", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smoke run (4 MiB, 200 requests)")
    parser.add_argument("--sizes", help="large object sizes (default 64MiB,1GiB)")
    parser.add_argument(
        "--servers", help=f"comma-separated, of {','.join(procs.SERVERS)} (default: all)"
    )
    parser.add_argument("--repeats", type=int, help="repetitions (default 3; quick 1)")
    parser.add_argument("--small-count", type=int, help="1 KiB requests per run (default 2000)")
    parser.add_argument("--output", help="write the Markdown section here")
    parser.add_argument(
        "--append-to", help="put the section into this report (replacing an older one)"
    )
    parser.add_argument("--json", dest="json_path", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    servers = args.servers.split(",") if args.servers else (["uvicorn-std"] if quick else None)
    if servers is None:
        servers = list(procs.SERVERS)
    unknown = set(servers) - set(procs.SERVERS)
    if unknown:
        parser.error(f"unknown servers: {sorted(unknown)}")
    shown = ["python", "-m", "benchmarks.gateway", *(sys.argv[1:] if argv is None else argv)]
    return GatewayConfig(
        sizes=parse_sizes(args.sizes or ("4MiB" if quick else "64MiB,1GiB")),
        servers=servers,
        repeats=args.repeats or (1 if quick else 3),
        small_count=args.small_count or (200 if quick else 2000),
        workers=[1] if quick else [1, 2],
        signing_seconds=0.2 if quick else 1.0,
        quick=quick,
        output=args.output,
        append_to=args.append_to,
        json_path=args.json_path,
        command=" ".join(shown),
    )


def service_token() -> str:
    now = int(time.time())
    return jwt.encode({"role": "service_role", "iat": now, "exp": now + 86400}, SECRET, "HS256")


@dataclass
class Bench:
    """One run's shared state: the config, the NATS server, the scratch dir, the binary."""

    cfg: GatewayConfig
    server: natsobj.EmbeddedServer
    manager: natsobj.ObjectStoreManager
    work: Path
    httpload: Path
    results: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def log(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=sys.stderr, flush=True)

    def data_file(self, size: int) -> Path:
        path = self.work / f"data-{size}.bin"
        if not path.exists():
            make_data_file(path, size)
        return path

    @property
    def auth(self) -> list[str]:
        return ["-H", f"Authorization: Bearer {service_token()}"]

    def env(self) -> dict[str, str]:
        return {SERVER_ENV: self.server.url, SECRET_ENV: SECRET, "PYTHONPATH": str(ROOT)}

    @contextlib.asynccontextmanager
    async def bucket(self, name: str) -> AsyncIterator[str]:
        with contextlib.suppress(natsobj.BucketNotFoundError):
            await self.manager.delete_object_store(name)
        await self.manager.create_object_store(name)
        try:
            yield name
        finally:
            with anyio.CancelScope(shield=True), contextlib.suppress(natsobj.ObjectStoreError):
                await self.manager.delete_object_store(name)


# --------------------------------------------------------------------------- the library


async def library_large(bench: Bench, size: int) -> dict[str, float]:
    """The library's put_file, get_file and streamed get of ``size`` bytes: MB/s, and its
    CPU seconds per GB as ``cpu:<op>`` (worker processes)."""
    out: dict[str, float] = {}
    data = bench.data_file(size)
    async with bench.bucket("gwlib") as bucket:
        for op in ("put_file", "get_file", "get"):
            if op == "get_file":
                store = await bench.manager.object_store(bucket)
                await store.put_file(data, "obj-0", chunk_size=CHUNK)
            spec = WorkerSpec(
                peer="natsobj",
                url=bench.server.url,
                bucket=bucket,
                ops=[op],
                size=size,
                chunk_size=CHUNK,
                repeats=bench.cfg.repeats_for(size),
                data_file=str(data),
                out_dir=str(bench.work),
            )
            answer = await run_worker(spec, 1800)
            seconds = answer["ops"][op]["seconds"]
            out[op] = size / median(seconds) / 1e6
            cpu = answer["ops"][op]["extra"].get("client_cpu_s", 0.0)
            out[f"cpu:{op}"] = cpu / (size * len(seconds) / 1e9)
    bench.log(f"library {format_size(size)}: {out}")
    return out


async def library_small(bench: Bench) -> dict[str, float]:
    """The library's 1 KiB puts and gets, 64 at a time: ops/s, and its CPU milliseconds
    per op as ``cpu:<op>`` (a worker process)."""
    async with bench.bucket("gwlibsmall") as bucket:
        spec = WorkerSpec(
            peer="natsobj",
            url=bench.server.url,
            bucket=bucket,
            ops=["put_conc", "get_conc"],
            size=SMALL_SIZE,
            repeats=bench.cfg.repeats,
            count=bench.cfg.small_count,
            concurrency=CONCURRENCY,
        )
        answer = await run_worker(spec, 1800)
    out: dict[str, float] = {}
    for op in ("put_conc", "get_conc"):
        figure = answer["ops"][op]
        out[op] = bench.cfg.small_count / median(figure["seconds"])
        done = bench.cfg.small_count * len(figure["seconds"])
        out[f"cpu:{op}"] = figure["extra"].get("client_cpu_s", 0.0) / done * 1e3
    bench.log(f"library 1 KiB x {CONCURRENCY}: {out}")
    return out


# --------------------------------------------------------------------------- through HTTP


@contextlib.contextmanager
def watching(bench: Bench, running: procs.Running, into: dict[str, Any]) -> Any:
    """Record the gateway's peak RSS growth and CPU time, and nats-server's CPU time,
    during the block into ``into``."""
    pids = running.pids()
    baselines = procs.reset_peaks(pids)
    gateway_cpu = procs.cpu_seconds(pids)
    nats_pid = [bench.server.pid or 0]
    nats_cpu = procs.cpu_seconds(nats_pid)
    yield
    into["rss_growth_mib"] = procs.peak_growth_mib(baselines)
    into["gateway_cpu_s"] = procs.cpu_seconds(pids) - gateway_cpu
    into["nats_cpu_s"] = procs.cpu_seconds(nats_pid) - nats_cpu


async def http_large(bench: Bench, running: procs.Running, size: int) -> dict[str, Any]:
    """Upload then download ``size`` bytes through the gateway, ``repeats`` times."""
    out: dict[str, Any] = {"put": [], "get": []}
    data = bench.data_file(size)
    async with bench.bucket("gwlarge") as bucket:
        for rep in range(bench.cfg.repeats_for(size)):
            url = f"{running.url}/storage/v1/object/{bucket}/big-{rep}.bin"
            for op, args in (("put", ["-method", "PUT", "-file", str(data)]), ("get", [])):
                figure: dict[str, Any] = {}
                with watching(bench, running, figure):
                    answer = await procs.httpload(bench.httpload, "-url", url, *args, *bench.auth)
                if answer["bytes"] != size:
                    raise RuntimeError(f"{op} moved {answer['bytes']} bytes of {size}")
                figure.update(mbps=size / answer["seconds"] / 1e6, load_cpu_s=answer["cpu_s"])
                figure["seconds"] = answer["seconds"]
                out[op].append(figure)
    for op in ("put", "get"):
        rates = [f["mbps"] for f in out[op]]
        growth = max(f["rss_growth_mib"] for f in out[op])
        bench.log(
            f"{running.name} {op} {format_size(size)}: {median(rates):.0f} MB/s, "
            f"peak RSS +{growth:.1f} MiB"
        )
    return out


async def http_small(bench: Bench, running: procs.Running) -> dict[str, Any]:
    """1 KiB PUTs then GETs of new names, 64 at a time, ``repeats`` times."""
    out: dict[str, Any] = {"put": [], "get": []}
    count = str(bench.cfg.small_count)
    async with bench.bucket("gwsmall") as bucket:
        for rep in range(bench.cfg.repeats):
            url = f"{running.url}/storage/v1/object/{bucket}/r{rep}/k%d"
            for op, args in (
                ("put", ["-method", "PUT", "-body-size", str(SMALL_SIZE)]),
                ("get", []),
            ):
                figure: dict[str, Any] = {}
                with watching(bench, running, figure):
                    answer = await procs.httpload(
                        bench.httpload,
                        "-url",
                        url,
                        "-n",
                        count,
                        "-c",
                        str(CONCURRENCY),
                        *args,
                        *bench.auth,
                    )
                figure.update(
                    rps=answer["rps"],
                    p50_ms=answer["p50_ms"],
                    p99_ms=answer["p99_ms"],
                    load_cpu_s=answer["cpu_s"],
                    seconds=answer["seconds"],
                )
                out[op].append(figure)
    for op in ("put", "get"):
        rps = median([f["rps"] for f in out[op]])
        p99 = median([f["p99_ms"] for f in out[op]])
        bench.log(f"{running.name} x{running.workers} {op} 1 KiB: {rps:.0f}/s, p99 {p99:.1f} ms")
    return out


async def measure_server(bench: Bench, name: str) -> dict[str, Any]:
    """Every HTTP measurement through server ``name``, each kind right after the same
    measurement of the library (the ratios pair them: this machine's load drifts)."""
    library: dict[str, Any] = {"large": {}, "small": {}}
    result: dict[str, Any] = {"large": {}, "small": {}, "library": library}
    for workers in bench.cfg.workers:
        if workers == 1:
            for size in bench.cfg.sizes:
                library["large"][str(size)] = await library_large(bench, size)
            library["small"] = await library_small(bench)
        async with procs.serving(name, workers, bench.env()) as running:
            if workers == 1:
                for size in bench.cfg.sizes:
                    result["large"][str(size)] = await http_large(bench, running, size)
            result["small"][str(workers)] = await http_small(bench, running)
        if workers == 1:  # the floor: the same load on the same server, no gateway
            async with procs.serving(name, 1, {**bench.env(), BARE_ENV: "1"}) as bare:
                result["floor"] = await http_small(bench, bare)
    return result


async def run_gateway_bench(cfg: GatewayConfig) -> dict[str, Any]:
    results: dict[str, Any] = {"config": asdict(cfg), "servers": {}, "skipped": {}}
    with tempfile.TemporaryDirectory(prefix="natsobj-gwbench-") as tmp:
        work = Path(tmp)
        binary = procs.build_httpload(work)
        async with (
            natsobj.EmbeddedServer(config=SERVER_CONFIG) as server,
            natsobj.connect(server.url, timeout=30.0) as manager,
        ):
            bench = Bench(cfg, server, manager, work, binary, results)
            bench.log(f"gateway benchmark: nats-server {server.version}, servers {cfg.servers}")
            results["nats_server"] = server.version
            for name in cfg.servers:
                why = procs.server_available(name)
                if why is not None:
                    results["skipped"][name] = why
                    bench.log(f"skipping {name}: {why}")
                    continue
                results["servers"][name] = await measure_server(bench, name)
        results["signing"] = signing_rates(cfg.signing_seconds)
        results["elapsed_s"] = time.monotonic() - bench.started
    return results


SECTION_START = "<!-- gateway:start -->"
SECTION_END = "<!-- gateway:end -->"


def place_section(report: str, section: str) -> str:
    """``report`` with ``section`` between the gateway markers: in place of an older one,
    else before ``## Method``, else at the end."""
    block = f"{SECTION_START}\n{section.rstrip()}\n{SECTION_END}\n"
    start, end = report.find(SECTION_START), report.find(SECTION_END)
    if 0 <= start < end:
        return report[:start] + block + report[end + len(SECTION_END) :].lstrip("\n")
    method = report.find("\n## Method")
    if method >= 0:
        return report[: method + 1] + block + "\n" + report[method + 1 :]
    return report.rstrip("\n") + "\n\n" + block


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        results = anyio.run(run_gateway_bench, cfg)
    except procs.LoadGeneratorMissing as exc:
        print(f"gateway benchmark not run: {exc}", file=sys.stderr)
        markdown = f"## HTTP gateway (issue 14)\n\nNot measured in this run: {exc}.\n"
    else:
        if cfg.json_path:
            Path(cfg.json_path).write_text(json.dumps(results, indent=1) + "\n")
        markdown = render_gateway(results)
    if cfg.append_to:
        path = Path(cfg.append_to)
        old = path.read_text() if path.exists() else ""
        path.write_text(place_section(old, markdown))
    if cfg.output:
        Path(cfg.output).write_text(markdown)
    if not cfg.output and not cfg.append_to:
        print(markdown)
    return 0


def gateway_section(suite_argv: list[str]) -> int:
    """The gateway section of a full ``benchmarks.run``: into its ``--output`` report, its
    figures beside its ``--json`` (``NAME-gateway.json``)."""
    args: list[str] = []
    for flag, value in itertools.pairwise(suite_argv):
        if flag == "--output":
            args += ["--append-to", value]
        elif flag == "--json":
            path = Path(value)
            args += ["--json", str(path.with_name(f"{path.stem}-gateway.json"))]
    return main(args)


if __name__ == "__main__":
    sys.exit(main())
