"""Where a gateway worker's CPU goes on 1 KiB requests: one server, one worker, 64 clients.

    python -m benchmarks.gateway_profile                       # granian, CPU per request
    python -m benchmarks.gateway_profile --server uvicorn-std --profile
    python -m benchmarks.gateway_profile --server uvicorn-std --bare    # the floor

Four phases, each ``--count`` requests of new names: Supabase ``PUT`` and ``GET``
(``/storage/v1/object/{bucket}/{path}``, a service_role HS256 JWT) and Objectstore ``PUT``
and ``GET`` (``/v1/objects/{usecase}/{scope}/{key}``, an EdDSA token). For each: requests/s,
p50/p99 and the gateway's CPU milliseconds per request (all its processes and threads).
With ``--profile`` each phase also runs under cProfile in the worker (its Python thread:
slower, so only the shares mean something) and prints where the profiled time went, by
layer. The load generator is ``benchmarks/httpload``, as in ``benchmarks.gateway``. With
``--bare`` the server runs ``_gateway_app.BareApp`` (``get_bytes``/``put_bytes`` behind
no framework) through the Supabase phases: what any ASGI app on that server starts from.
"""

from __future__ import annotations

import argparse
import collections
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import natsobj

from . import _gateway_procs as procs
from ._gateway_app import BARE_ENV, OS_KEY_ENV, PROFILE_ENV, SECRET_ENV, SERVER_ENV
from ._gateway_signing import SECRET
from .suite import ROOT, SERVER_CONFIG

PHASES = ("supabase PUT", "supabase GET", "objectstore PUT", "objectstore GET")
LAYERS = (
    ("ASGI server (Python side)", ("uvicorn/", "granian", "httptools", "h11/")),
    ("Starlette", ("starlette/",)),
    ("middlewares", ("gateway/_observe", "gateway/_metrics", "prometheus_client", "_failures")),
    ("middlewares", ("gateway/_accesslog", "logging/")),
    ("auth", ("gateway/_auth", "gateway/_objectstore_auth", "/jwt/", "cryptography")),
    ("gateway handlers", ("natsobj/gateway/", "contextlib")),
)


def layer(path: str, name: str) -> str:
    """The layer a profiled function belongs to (the library path for everything else:
    natsobj, nats-py, anyio, asyncio, pydantic, json and builtins they call)."""
    where = f"{path}:{name}"
    for label, marks in LAYERS:
        if any(mark in where for mark in marks):
            return label
    return "library path and the rest"


def shares(files: list[Path]) -> tuple[dict[str, float], float]:
    """Each layer's share of the profiled time in ``files``, and that time in seconds."""
    stats = pstats.Stats(*map(str, files))
    by_layer: collections.Counter[str] = collections.Counter()
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (path, _line, name), (_cc, _nc, own, _cum, _callers) in entries.items():
        by_layer[layer(path, name)] += own
    total = sum(by_layer.values()) or 1.0
    return {label: seconds / total for label, seconds in by_layer.items()}, total


def tokens(private: Ed25519PrivateKey) -> tuple[str, str]:
    now = int(time.time())
    supabase = jwt.encode({"role": "service_role", "exp": now + 86400}, SECRET, "HS256")
    claims = {
        "res": {"os:usecase": "bench", "org": "1"},
        "permissions": ["object.read", "object.write", "object.delete"],
        "exp": now + 86400,
    }
    return supabase, jwt.encode(claims, private, "EdDSA", headers={"kid": "k1"})


def signal_workers(running: procs.Running, signum: int) -> None:
    pids = running.pids()
    for pid in pids[1:] or pids[:1]:  # the workers; the server itself when it has none
        os.kill(pid, signum)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="natsobj-gwprof-") as tmp:
        work = Path(tmp)
        binary = procs.build_httpload(work)
        private = Ed25519PrivateKey.generate()
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (work / "k1.pem").write_bytes(pem)
        profiles = work / "profiles"
        profiles.mkdir()
        supabase, objectstore = tokens(private)
        async with (
            natsobj.EmbeddedServer(config=SERVER_CONFIG) as server,
            natsobj.connect(server.url) as manager,
        ):
            await manager.create_object_store("gwprofile")
            env = {SERVER_ENV: server.url, SECRET_ENV: SECRET, "PYTHONPATH": str(ROOT)}
            env[OS_KEY_ENV] = str(work / "k1.pem")
            if args.profile:
                env[PROFILE_ENV] = str(profiles)
            if args.bare:
                env[BARE_ENV] = "1"
            async with procs.serving(args.server, 1, env) as running:
                base = running.url
                urls = {
                    "supabase": (
                        f"{base}/storage/v1/object/gwprofile/k%d",
                        supabase,
                        "Authorization: Bearer ",
                    ),
                    "objectstore": (
                        f"{base}/v1/objects/bench/org=1/k%d",
                        objectstore,
                        "x-os-auth: ",
                    ),
                }
                for phase in PHASES[:2] if args.bare else PHASES:
                    api, method = phase.split()
                    url, token, header = urls[api]
                    body = ["-method", "PUT", "-body-size", "1024"] if method == "PUT" else []
                    before = procs.cpu_seconds(running.pids())
                    if args.profile:
                        signal_workers(running, signal.SIGUSR1)
                    answer = await procs.httpload(
                        binary, "-url", url, "-n", str(args.count), "-c", "64", *body,
                        "-H", header + token,
                    )  # fmt: skip
                    if args.profile:
                        signal_workers(running, signal.SIGUSR2)
                    cpu_ms = (procs.cpu_seconds(running.pids()) - before) / args.count * 1e3
                    print(
                        f"{phase:16s} {answer['rps']:7.0f}/s  p50 {answer['p50_ms']:6.1f} ms"
                        f"  p99 {answer['p99_ms']:6.1f} ms  gateway CPU {cpu_ms:.3f} ms/request",
                        flush=True,
                    )
                    await anyio.sleep(0.5)  # the profile is written
                    if args.profile:
                        found = sorted(profiles.glob("*.prof"))
                        parts, total = shares(found)
                        if args.top:
                            stats = pstats.Stats(*map(str, found))
                            stats.sort_stats("tottime").print_stats(args.top)
                        for path in found:
                            path.unlink()
                        for label, share in sorted(parts.items(), key=lambda kv: -kv[1]):
                            print(f"    {share:5.0%}  {label}")
                        print(f"    (profiled: {total / args.count * 1e3:.3f} ms/request)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gateway_profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--server", default="granian", choices=sorted(procs.SERVERS))
    parser.add_argument("--count", type=int, default=3000, help="requests per phase")
    parser.add_argument("--profile", action="store_true", help="cProfile each phase")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="serve a bare ASGI app over get_bytes/put_bytes instead (Supabase phases only)",
    )
    parser.add_argument(
        "--top", type=int, default=0, help="with --profile: the N functions with most own time"
    )
    args = parser.parse_args(argv)
    anyio.run(run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
