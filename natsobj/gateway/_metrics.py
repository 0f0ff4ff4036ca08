"""The gateway's Prometheus metrics (``/metrics``), one set per app.

Labels are bounded: ``route`` is the route TEMPLATE (``/storage/v1/object/{bucket}/{path:path}``,
``unmatched`` for a path no route knows), never the raw path; ``method`` is one of the HTTP
methods the gateway serves or ``other``; ``status`` is the three-digit status.

With ``--workers N`` each uvicorn worker is a process. ``natsobj serve`` then gives every
worker the same fresh directory in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
multiprocess mode): each worker writes its values there, and whichever worker answers
``/metrics`` adds up all of them, so a scrape sees the whole server. Without that variable
(one worker, or ``create_app`` embedded) the values are this process's own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import anyio.to_thread
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["METHODS", "GatewayMetrics", "multiprocess_dir"]

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: small-object requests land in the low buckets, 1 GiB transfers in the high ones.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, if this process uses it."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and Path(path).is_dir() else None


class GatewayMetrics:
    """The metrics of one gateway app. Counters and histograms only ever grow; the two
    gauges add up over the live worker processes (``livesum``)."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry(auto_describe=True)
        register = None if self.multiprocess else self.registry
        labels = ("method", "route", "status")
        self.requests = Counter(
            "natsobj_gateway_requests",
            "HTTP requests answered, by route template and status.",
            labels,
            registry=register,
        )
        self.duration = Histogram(
            "natsobj_gateway_request_duration_seconds",
            "From the request's arrival to the last byte of its response.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=register,
        )
        self.bytes_in = Counter(
            "natsobj_gateway_request_body_bytes",
            "Request body bytes received, counted as they arrive.",
            ("method", "route"),
            registry=register,
        )
        self.bytes_out = Counter(
            "natsobj_gateway_response_body_bytes",
            "Response body bytes sent, counted as they leave.",
            ("method", "route"),
            registry=register,
        )
        self.in_flight = Gauge(
            "natsobj_gateway_requests_in_flight",
            "Requests being served now (all workers).",
            registry=register,
            multiprocess_mode="livesum",
        )
        self.nats_connected = Gauge(
            "natsobj_gateway_nats_connected",
            "Worker processes whose NATS connection is up (1 per connected worker).",
            registry=register,
            multiprocess_mode="livesum",
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter, Counter]] = {}

    def observe(
        self, method: str, route: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        """Record one finished request."""
        key = (method if method in METHODS else "other", route, status)
        series = self._series.get(key)
        if series is None:  # labels are bounded, so is this cache
            method, code = key[0], str(status)
            series = self._series[key] = (
                self.requests.labels(method, route, code),
                self.duration.labels(method, route, code),
                self.bytes_in.labels(method, route),
                self.bytes_out.labels(method, route),
            )
        requests, duration, received, sent = series
        requests.inc()
        duration.observe(seconds)
        if bytes_in:
            received.inc(bytes_in)
        if bytes_out:
            sent.inc(bytes_out)

    def render(self) -> bytes:
        """The text exposition: this process's values, or every worker's in multiprocess
        mode (gauges of workers that died without saying so are dropped first)."""
        if self.multiprocess is None:
            return generate_latest(self.registry)
        _forget_dead_workers(self.multiprocess)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=self.multiprocess)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def worker_exiting(self) -> None:
        """This worker stops: its live gauges no longer count (counters stay summed)."""
        self.nats_connected.set(0)
        if self.multiprocess is not None:
            prometheus_multiprocess.mark_process_dead(os.getpid(), self.multiprocess)  # type: ignore[no-untyped-call]

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: Prometheus text format 0.0.4."""
        body = await anyio.to_thread.run_sync(self.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _forget_dead_workers(path: str) -> None:
    for entry in Path(path).iterdir():
        match = _LIVE_GAUGE_FILE.fullmatch(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            prometheus_multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's: not ours to judge
            continue
