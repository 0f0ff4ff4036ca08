"""The gateway benchmark's figures as Markdown: targets, the server comparison, signing."""

from __future__ import annotations

from typing import Any

from ._common import format_size, median

LARGE_GOAL = 0.8
SMALL_GOAL = 0.6
RSS_GOAL_MIB = 64


def library_rates(server: dict[str, Any]) -> dict[str, float]:
    """The library's figures measured right before this server's: ``put_file:<size>``,
    ``get_file:<size>``, ``get:<size>`` (MB/s), ``put_conc``, ``get_conc`` (ops/s)."""
    lib = server["library"]
    out: dict[str, float] = {}
    for size, figures in lib["large"].items():
        for op, value in figures.items():
            out[f"{op}:{size}"] = value
    out.update(lib["small"])
    return out


def _spread(results: dict[str, Any], key: str) -> str:
    """The range of a library figure over the run, e.g. ``1,200-1,650``."""
    values = [library_rates(server).get(key, 0.0) for server in results["servers"].values()]
    low, high = min(values, default=0.0), max(values, default=0.0)
    return f"{low:,.0f}" if round(low) == round(high) else f"{low:,.0f}-{high:,.0f}"


def _large(server: dict[str, Any], size: str, op: str) -> tuple[float, float, float]:
    """Median MB/s, the largest RSS growth (MiB), gateway CPU seconds per GB."""
    figures = server["large"][size][op]
    rate = median([f["mbps"] for f in figures])
    growth = max(f["rss_growth_mib"] for f in figures)
    cpu = median([f["gateway_cpu_s"] / (f["mbps"] * f["seconds"] / 1e3) for f in figures])
    return rate, growth, cpu


def _small(server: dict[str, Any], workers: str, op: str) -> dict[str, float]:
    """Medians of the repetitions: requests/s, p50/p99 ms, the cores the gateway kept
    busy, and CPU milliseconds per request of the gateway, nats-server, load generator."""
    figures = server["small"][workers][op]
    out = {
        "rps": median([f["rps"] for f in figures]),
        "p50": median([f["p50_ms"] for f in figures]),
        "p99": median([f["p99_ms"] for f in figures]),
        "cores": median([f["gateway_cpu_s"] / f["seconds"] for f in figures]),
    }
    for who in ("gateway", "nats", "load"):
        per = [f[f"{who}_cpu_s"] / (f["rps"] * f["seconds"]) * 1e3 for f in figures]
        out[f"{who}_ms"] = median(per)
    return out


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: str, align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table; ``header`` and ``align`` are ``|``-separated."""
    return [_row(header.split("|")), _row(align.split("|")), *map(_row, rows)]


def _large_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, server in results["servers"].items():
        lib = library_rates(server)
        for size in server["large"]:
            for op, lib_ops in (("put", ("put_file",)), ("get", ("get_file", "get"))):
                rate, growth, cpu = _large(server, size, op)
                bases = [lib[f"{lib_op}:{size}"] for lib_op in lib_ops]
                lib_cpu = lib.get(f"cpu:{lib_ops[-1]}:{size}", 0.0)
                rows.append(
                    [
                        *(name, format_size(int(size)), op, f"{rate:,.0f}"),
                        " / ".join(f"{base:,.0f}" for base in bases),
                        " / ".join(_ratio(rate, base) for base in bases),
                        *(f"{growth:.0f}", f"{cpu:.2f}", f"{lib_cpu:.2f}"),
                    ]
                )
    return _table(
        "server|object|op|MB/s|library MB/s: put_file; get_file / get|ratio|"
        "peak RSS growth, MiB|gateway CPU s/GB|library CPU s/GB (put_file; get)",
        "---|---|---|---:|---:|---:|---:|---:|---:",
        rows,
    )


def _small_runs(server: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(label suffix, figures, workers) of each 1 KiB measurement: the gateway's, then
    the bare app's floor on the same server when measured."""
    runs = [("", server, workers) for workers in server["small"]]
    if "floor" in server:
        runs.append((", bare app", {"small": {"1": server["floor"]}}, "1"))
    return runs


def _small_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for name, server in results["servers"].items():
        lib = library_rates(server)
        for suffix, figures, workers in _small_runs(server):
            for op, lib_op in (("put", "put_conc"), ("get", "get_conc")):
                f = _small(figures, workers, op)
                lib_ms = lib.get(f"cpu:{lib_op}", 0.0)
                rows.append(
                    [
                        *(name + suffix, workers, op, f"{f['rps']:,.0f}"),
                        _ratio(f["rps"] / int(workers), lib[lib_op]),
                        *(f"{f['p50']:.1f}", f"{f['p99']:.1f}", f"{f['cores']:.2f}"),
                        f"{f['gateway_ms']:.2f} / {f['nats_ms']:.2f} / {f['load_ms']:.2f}",
                        f"{lib_ms:.2f}",
                        _ratio(lib_ms, f["gateway_ms"]),
                    ]
                )
    return _table(
        "server|workers|op|requests/s|per worker vs library|p50 ms|p99 ms|gateway cores busy|"
        "CPU ms per request: gateway / nats-server / load generator|library CPU ms per op|"
        "library CPU / gateway CPU",
        "---|---:|---|---:|---:|---:|---:|---:|---|---:|---:",
        rows,
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "?"


def _rates(signing: dict[str, float], kind: str) -> list[str]:
    return [f"{signing[f'{kind}_sign']:,.0f}", f"{signing[f'{kind}_verify']:,.0f}"]


def _library_line(results: dict[str, Any]) -> str:
    servers: list[dict[str, Any]] = list(results["servers"].values())
    sizes = servers[0]["large"] if servers else {}
    large = [
        f"{format_size(int(size))}: put_file {_spread(results, f'put_file:{size}')}, get_file "
        f"{_spread(results, f'get_file:{size}')}, get {_spread(results, f'get:{size}')} MB/s"
        for size in sizes
    ]
    small = (
        f"1 KiB, 64 at a time: puts {_spread(results, 'put_conc')}/s, "
        f"gets {_spread(results, 'get_conc')}/s"
    )
    return "The library's own figures over this run (lowest-highest): " + "; ".join([*large, small])


def render_gateway(results: dict[str, Any]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    cfg = results["config"]
    lines = [
        "## HTTP gateway (issue 14)",
        "",
        f"Reproduce: `{cfg['command']}` (needs Go for the load generator). "
        f"nats-server {results.get('nats_server', '?')}, one embedded server; the run took "
        f"{results.get('elapsed_s', 0):.0f} s. A ratio is the gateway's figure over the "
        "library's, measured in a worker process right before that server's runs.",
        "",
        _library_line(results) + ".",
        "",
        "### Large objects through one worker",
        "",
        *_large_table(results),
        "",
        f"### 1 KiB objects, {64} clients at a time",
        "",
        "A *bare app* row is the floor: the same load on the same server against "
        "`benchmarks/_gateway_app.py`'s `BareApp` (`get_bytes`/`put_bytes` behind no "
        "framework: no auth, checks, headers or metrics).",
        "",
        *_small_table(results),
        "",
    ]
    if results.get("skipped"):
        skipped = ", ".join(f"{k} ({v})" for k, v in results["skipped"].items())
        lines += [f"Not measured: {skipped}.", ""]
    if "signing" in results:
        s = results["signing"]
        lines += [
            "### Signed URLs (one core, in process)",
            "",
            *_table(
                "|sign / s|verify / s|verify again (cached) / s",
                "---|---:|---:|---:",
                [
                    [
                        "Supabase signed URL or bearer token (HS256 JWT, gateway)",
                        *_rates(s, "supabase"),
                        f"{s.get('supabase_verify_cached', 0):,.0f}",
                    ],
                    [
                        "Objectstore pre-signed URL (Ed25519, client / gateway)",
                        *_rates(s, "objectstore"),
                        "(not cached)",
                    ],
                ],
            ),
            "",
        ]
    return "\n".join(lines)
