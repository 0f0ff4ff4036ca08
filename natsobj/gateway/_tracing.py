"""OpenTelemetry tracing (extra ``[tracing]``): one SERVER span per request.

Imported only when tracing is on, so the gateway runs without the OpenTelemetry packages.
A span is named ``METHOD route-template`` and carries ``http.request.method``,
``http.route``, ``url.path`` (never the query: signed URLs carry tokens there),
``http.response.status_code``, ``client.address`` and ``natsobj.request_id``; a 5xx answer
or an unhandled failure sets its status to ERROR, and a failure is recorded as an exception
event. An incoming ``traceparent`` header makes the span a child of the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, MutableMapping
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

__all__ = ["RequestSpan", "configure_provider", "exporter_name", "tracer_from"]

TRACER_NAME = "natsobj.gateway"


def tracer_from(provider: TracerProvider | None) -> Tracer:
    """The gateway's tracer from ``provider`` (the global one when ``None``)."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


def exporter_name() -> str:
    """``OTEL_TRACES_EXPORTER``: ``otlp`` (the default), ``console`` or ``none``.

    Raises:
        ValueError: any other name.
    """
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name not in ("otlp", "console", "none"):
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: want otlp, console or none")
    return name


def configure_provider() -> TracerProvider:
    """An SDK provider exporting as ``OTEL_TRACES_EXPORTER`` says: ``otlp`` (the default;
    OTLP over HTTP, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables),
    ``console`` or ``none``. The service is ``OTEL_SERVICE_NAME``, else
    ``natsobj-gateway``. Spans are batched and flushed when the process exits.

    Raises:
        ValueError: an exporter name other than those three.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "natsobj-gateway"}
    provider = SdkTracerProvider(resource=Resource.create(attributes))
    exporter = exporter_name()
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    return provider


class RequestSpan:
    """The span of one request: started before the app runs, finished after it."""

    def __init__(self, tracer: Tracer, scope: MutableMapping[str, Any], request_id: str) -> None:
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in _headers(scope)
            if key in (b"traceparent", b"tracestate")
        }
        method = self.method = str(scope.get("method", "GET"))
        self.span: Span = tracer.start_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope.get("path", ""),
                "natsobj.request_id": request_id,
            },
        )
        client = scope.get("client")
        if client:
            self.span.set_attribute("client.address", str(client[0]))
        self._token = context.attach(trace.set_span_in_context(self.span))

    def finish(self, route: str, status: int, error: BaseException | None) -> None:
        """Name the span by its route, record the outcome, end it."""
        self.span.update_name(f"{self.method} {route}")
        self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.response.status_code", status)
        if error is not None:
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        elif status >= 500:
            self.span.set_status(Status(StatusCode.ERROR))
        context.detach(self._token)
        self.span.end()


def _headers(scope: MutableMapping[str, Any]) -> Iterable[tuple[bytes, bytes]]:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    return headers
