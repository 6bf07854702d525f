"""Where telemetry goes: span exporters (OTLP, console, in-memory) and a metrics endpoint.

Nothing here runs at import. ``tracer_provider_from_env()`` follows the standard ``OTEL_*``
variables (``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_BSP_*``); the OTLP exporter needs the ``otlp`` extra.
``serve_metrics()`` serves a registry on ``127.0.0.1:9464`` unless told otherwise
(``TTA_METRICS_ADDR``).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import CollectorRegistry

__all__ = [
    "DEFAULT_METRICS_ADDR",
    "MetricsServer",
    "in_memory_tracer_provider",
    "metrics_address",
    "otlp_span_exporter",
    "parse_address",
    "serve_metrics",
    "tracer_provider_from_env",
]

#: The conventional port of OpenTelemetry's Prometheus exporter, on loopback only.
DEFAULT_METRICS_ADDR = "127.0.0.1:9464"
_OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def otlp_span_exporter() -> SpanExporter:
    """An OTLP/HTTP span exporter configured by ``OTEL_EXPORTER_OTLP_*`` (the ``otlp`` extra)."""
    try:
        module = importlib.import_module(_OTLP_MODULE)
    except ImportError as exc:
        raise ValueError(
            "the OTLP exporter is not installed: install tta-dev with the 'otlp' extra "
            "(uv sync --extra otlp) or set OTEL_TRACES_EXPORTER=console or none"
        ) from exc
    return cast("SpanExporter", module.OTLPSpanExporter())


def tracer_provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """An SDK tracer provider whose exporters ``OTEL_TRACES_EXPORTER`` names.

    Comma-separated ``otlp`` (the default, as the specification says), ``console`` or
    ``none``; each exporter gets a ``BatchSpanProcessor`` (tuned by ``OTEL_BSP_*``). The
    resource comes from ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``. The provider
    is returned, never set globally: pass it to ``instrument()``. Raises ValueError for an
    unknown exporter name.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    env = os.environ if environ is None else environ
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    names = [n for n in names if n]
    unknown = sorted(set(names) - {"otlp", "console", "none"})
    if unknown:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER: unknown exporter(s) {', '.join(unknown)}; "
            "use otlp, console or none"
        )
    exporters: list[SpanExporter] = []
    if "otlp" in names:
        exporters.append(otlp_span_exporter())
    if "console" in names:
        exporters.append(ConsoleSpanExporter())
    provider = TracerProvider(resource=Resource.create())
    if "none" not in names:
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def in_memory_tracer_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider that keeps finished spans in memory (``exporter.get_finished_spans()``)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) as ``(host, port)``; ValueError if malformed."""
    host, sep, port_text = address.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"metrics address must be HOST:PORT, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def metrics_address(environ: Mapping[str, str] | None = None) -> str:
    """``TTA_METRICS_ADDR`` if set, else ``127.0.0.1:9464``."""
    env = os.environ if environ is None else environ
    return env.get("TTA_METRICS_ADDR", "").strip() or DEFAULT_METRICS_ADDR


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint (``serve_metrics``); ``close()`` stops it."""

    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def address(self) -> str:
        """``host:port``, as a Prometheus scrape target names it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def serve_metrics(registry: CollectorRegistry, address: str | None = None) -> MetricsServer:
    """Serve ``registry`` in the Prometheus text format on ``address`` (a thread).

    ``address`` defaults to ``metrics_address()`` (``127.0.0.1:9464``); port 0 picks a free
    port (see ``.port``). Raises OSError when the address cannot be bound.
    """
    from prometheus_client import start_http_server

    host, port = parse_address(address if address is not None else metrics_address())
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host, int(server.server_port), server, thread)
