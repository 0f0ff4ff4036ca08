"""The gateway benchmark's report (benchmarks/gateway_report.py) renders every table from a
run's figures, and its section replaces an older one in BENCHMARKS.md. No server runs:
``python -m benchmarks.run --only gateway --quick`` is the end-to-end smoke run."""

from __future__ import annotations

from typing import Any

from benchmarks.gateway import SECTION_END, SECTION_START, place_section
from benchmarks.gateway_report import render_gateway

MiB = 1024 * 1024


def _figure(**values: float) -> dict[str, float]:
    base = {"seconds": 1.0, "gateway_cpu_s": 0.5, "nats_cpu_s": 0.1, "load_cpu_s": 0.05}
    return {**base, **values}


def _results() -> dict[str, Any]:
    large = {
        "put": [_figure(mbps=200, rss_growth_mib=3)],
        "get": [_figure(mbps=300, rss_growth_mib=1)],
    }
    small = {
        "put": [_figure(rps=500, p50_ms=50, p99_ms=90)],
        "get": [_figure(rps=800, p50_ms=40, p99_ms=70)],
    }
    library = {
        "large": {
            str(64 * MiB): {
                "put_file": 250,
                "get_file": 260,
                "get": 400,
                "cpu:put_file": 2.0,
                "cpu:get": 1.8,
            }
        },
        "small": {"put_conc": 1000, "get_conc": 2000, "cpu:put_conc": 0.4, "cpu:get_conc": 0.2},
    }
    server = {
        "large": {str(64 * MiB): large},
        "small": {"1": small, "2": small},
        "library": library,
        "floor": {
            "put": [_figure(rps=700, p50_ms=30, p99_ms=60)],
            "get": [_figure(rps=1600, p50_ms=20, p99_ms=40)],
        },
    }
    return {
        "config": {"command": "python -m benchmarks.run --only gateway"},
        "servers": {"uvicorn": server, "granian": server},
        "skipped": {"hypercorn": "not installed: hypercorn"},
        "signing": {
            "supabase_sign": 20000.0,
            "supabase_verify": 10000.0,
            "supabase_verify_cached": 900000.0,
            "objectstore_sign": 5000.0,
            "objectstore_verify": 3000.0,
        },
        "nats_server": "2.15.1",
        "elapsed_s": 12.0,
    }


def test_every_table_is_rendered_with_its_ratios() -> None:
    text = render_gateway(_results())
    assert "| uvicorn | 64 MiB | put | 200 | 250 | 0.80 | 3 |" in text
    assert "| granian | 64 MiB | get | 300 | 260 / 400 | 1.15 / 0.75 |" in text
    assert "| uvicorn | 2 | get | 800 | 0.20 |" in text  # per worker: 800 / 2 / 2000
    assert "| uvicorn, bare app | 1 | get | 1,600 | 0.80 |" in text  # the floor
    assert "| 1.00 / 0.20 / 0.10 | 0.40 | 0.40 |" in text  # PUT: CPU ms per request; ratio
    assert "Not measured: hypercorn (not installed: hypercorn)." in text
    assert "| 20,000 | 10,000 | 900,000 |" in text


def test_the_section_replaces_an_older_one_before_the_method() -> None:
    report = "# natsobj benchmarks\n\ntables\n\n## Method\n\n- one server\n"
    once = place_section(report, "## HTTP gateway\n\nold\n")
    assert once.index(SECTION_START) < once.index("## Method")
    twice = place_section(once, "## HTTP gateway\n\nnew\n")
    assert twice.count(SECTION_START) == twice.count(SECTION_END) == 1
    assert "new" in twice
    assert "old" not in twice
    assert twice.endswith("## Method\n\n- one server\n")
    assert place_section("", "x\n") == f"\n\n{SECTION_START}\nx\n{SECTION_END}\n"
