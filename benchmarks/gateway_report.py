"""The gateway benchmark's figures as Markdown: targets, the server comparison, signing."""

from __future__ import annotations

from typing import Any

from ._common import format_size, median

LARGE_GOAL = 0.8
SMALL_GOAL = 0.6
RSS_GOAL_MIB = 64


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def library_rates(results: dict[str, Any]) -> dict[str, float]:
    """The library's figures, averaged over its measurements at the start and the end:
    ``put_file:<size>``, ``get_file:<size>`` (MB/s), ``put_conc``, ``get_conc`` (ops/s)."""
    lib = results["library"]
    out: dict[str, float] = {}
    for size, runs in lib["large"].items():
        for op in ("put_file", "get_file", "get"):
            out[f"{op}:{size}"] = _mean([run.get(op, 0.0) for run in runs])
    for op in ("put_conc", "get_conc"):
        out[op] = _mean([run[op] for run in lib["small"]])
    return out


def _large(server: dict[str, Any], size: str, op: str) -> tuple[float, float, float]:
    """Median MB/s, the largest RSS growth (MiB), gateway CPU seconds per GB."""
    figures = server["large"][size][op]
    rate = median([f["mbps"] for f in figures])
    growth = max(f["rss_growth_mib"] for f in figures)
    cpu = median([f["gateway_cpu_s"] / (f["mbps"] * f["seconds"] / 1e3) for f in figures])
    return rate, growth, cpu


def _small(server: dict[str, Any], workers: str, op: str) -> dict[str, float]:
    figures = server["small"][workers][op]
    seconds = [f["seconds"] for f in figures]
    return {
        "rps": median([f["rps"] for f in figures]),
        "p50": median([f["p50_ms"] for f in figures]),
        "p99": median([f["p99_ms"] for f in figures]),
        "gateway_cores": median(
            [f["gateway_cpu_s"] / s for f, s in zip(figures, seconds, strict=True)]
        ),
        "nats_cores": median([f["nats_cpu_s"] / s for f, s in zip(figures, seconds, strict=True)]),
        "load_cores": median([f["load_cpu_s"] / s for f, s in zip(figures, seconds, strict=True)]),
    }


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: str, align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table; ``header`` and ``align`` are ``|``-separated."""
    return [_row(header.split("|")), _row(align.split("|")), *map(_row, rows)]


def _large_table(results: dict[str, Any], lib: dict[str, float]) -> list[str]:
    rows = []
    for name, server in results["servers"].items():
        for size in server["large"]:
            for op, lib_ops in (("put", ("put_file",)), ("get", ("get_file", "get"))):
                rate, growth, cpu = _large(server, size, op)
                bases = [lib[f"{lib_op}:{size}"] for lib_op in lib_ops]
                ratios = " / ".join(_ratio(rate, base) for base in bases)
                where = format_size(int(size))
                lib_s = " / ".join(f"{base:,.0f}" for base in bases)
                rows.append([name, where, op, f"{rate:,.0f}", lib_s, ratios, f"{growth:.0f}"])
                rows[-1].append(f"{cpu:.2f}")
    return _table(
        "server|object|op|MB/s|library MB/s: put_file; get_file / get|ratio|"
        "peak RSS growth, MiB|gateway CPU s/GB",
        "---|---|---|---:|---:|---:|---:|---:",
        rows,
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "?"


def _small_table(results: dict[str, Any], lib: dict[str, float]) -> list[str]:
    rows = []
    for name, server in results["servers"].items():
        for workers in server["small"]:
            for op, lib_op in (("put", "put_conc"), ("get", "get_conc")):
                f = _small(server, workers, op)
                ratio = f"{f['rps'] / int(workers) / lib[lib_op]:.2f}"
                cores = f"{f['gateway_cores']:.2f} / {f['nats_cores']:.2f} / {f['load_cores']:.2f}"
                latency = [f"{f['p50']:.1f}", f"{f['p99']:.1f}"]
                rows.append([name, workers, op, f"{f['rps']:,.0f}", ratio, *latency, cores])
    return _table(
        "server|workers|op|requests/s|per worker vs library|p50 ms|p99 ms|"
        "CPU cores: gateway / nats-server / load generator",
        "---|---:|---|---:|---:|---:|---:|---",
        rows,
    )


def _rates(signing: dict[str, float], kind: str) -> list[str]:
    return [f"{signing[f'{kind}_sign']:,.0f}", f"{signing[f'{kind}_verify']:,.0f}"]


def render_gateway(results: dict[str, Any]) -> str:
    """The Markdown section for BENCHMARKS.md."""
    lib = library_rates(results)
    cfg = results["config"]
    lines = [
        "## HTTP gateway (issue 14)",
        "",
        f"Reproduce: `{cfg['command']}` (needs Go for the load generator). "
        f"nats-server {results.get('nats_server', '?')}, one embedded server; the run took "
        f"{results.get('elapsed_s', 0):.0f} s. Ratios are the gateway's figure over the "
        "library's in the same run (the library measured at the start and the end, averaged).",
        "",
        "Library, same run: put_file/get_file MB/s by size "
        + ", ".join(
            f"{format_size(int(s))} {lib[f'put_file:{s}']:,.0f}/{lib[f'get_file:{s}']:,.0f}"
            for s in results["library"]["large"]
        )
        + f"; 1 KiB x 64 at a time: puts {lib['put_conc']:,.0f}/s, gets {lib['get_conc']:,.0f}/s.",
        "",
        "### Large objects through one worker",
        "",
        *_large_table(results, lib),
        "",
        f"### 1 KiB objects, {64} clients at a time",
        "",
        *_small_table(results, lib),
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
                "|sign / s|verify / s",
                "---|---:|---:",
                [
                    ["Supabase signed URL (HS256 JWT, gateway)", *_rates(s, "supabase")],
                    [
                        "Objectstore pre-signed URL (Ed25519, client / gateway)",
                        *_rates(s, "objectstore"),
                    ],
                ],
            ),
            "",
        ]
    return "\n".join(lines)
