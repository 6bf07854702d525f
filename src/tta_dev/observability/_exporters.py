"""Where telemetry goes: span exporters (OTLP, console, in-memory) and a metrics endpoint.

Nothing here runs at import. ``tracer_provider_from_env()`` follows the standard ``OTEL_*``
variables (``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_BSP_*``); the OTLP exporter needs the ``otlp`` extra.
``serve_metrics()`` serves a registry on ``127.0.0.1:9464`` unless told otherwise
(``TTA_METRICS_ADDR``).
"""

from __future__ import annotations

import importlib
import math
import os
import sys
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


def otlp_span_exporter(environ: Mapping[str, str] | None = None) -> SpanExporter:
    """An OTLP/HTTP span exporter configured by ``OTEL_EXPORTER_OTLP_*`` (the ``otlp`` extra).

    Without ``environ`` the exporter reads ``os.environ`` itself. With it, the endpoint,
    headers, timeout, compression and TLS files come from ``environ`` (the per-signal
    ``..._TRACES_...`` variable first, as the specification says); the SDK still adds
    headers, certificates and a credential provider from ``os.environ`` that ``environ``
    leaves unset, since it offers no way to turn those off.
    """
    try:
        module = importlib.import_module(_OTLP_MODULE)
    except ImportError as exc:
        raise ValueError(
            "the OTLP exporter is not installed: install tta-dev with the 'otlp' extra "
            "(uv sync --extra otlp) or set OTEL_TRACES_EXPORTER=console or none"
        ) from exc
    if environ is None:
        return cast("SpanExporter", module.OTLPSpanExporter())
    return cast("SpanExporter", module.OTLPSpanExporter(**_otlp_settings(environ)))


def _otlp_value(env: Mapping[str, str], name: str) -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``, else ""."""
    return (
        env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}", "").strip()
        or env.get(f"OTEL_EXPORTER_OTLP_{name}", "").strip()
    )


def _otlp_settings(env: Mapping[str, str]) -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.util.re import parse_env_headers

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not endpoint:
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318"
        endpoint = f"{base.rstrip('/')}/v1/traces"
    settings: dict[str, Any] = {
        "endpoint": endpoint,
        "headers": parse_env_headers(_otlp_value(env, "HEADERS"), liberal=True),
        "timeout": _positive_number(
            env, "OTEL_EXPORTER_OTLP_TIMEOUT", _otlp_value(env, "TIMEOUT"), 10.0
        ),
    }
    compression = _otlp_value(env, "COMPRESSION").lower() or "none"
    try:
        settings["compression"] = Compression(compression)
    except ValueError:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_COMPRESSION: unknown compression {compression[:40]!r}; "
            "use gzip, deflate or none"
        ) from None
    for key, name in [
        ("certificate_file", "CERTIFICATE"),
        ("client_key_file", "CLIENT_KEY"),
        ("client_certificate_file", "CLIENT_CERTIFICATE"),
    ]:
        if value := _otlp_value(env, name):
            settings[key] = value
    return settings


def _positive_number(env: Mapping[str, str], name: str, raw: str, default: float) -> float:
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw[:40]!r}")
    return value


# The specification's defaults (and the SDK's); the SDK would read os.environ for them.
_BSP_DEFAULTS = {
    "OTEL_BSP_MAX_QUEUE_SIZE": 2048,
    "OTEL_BSP_SCHEDULE_DELAY": 5000,
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 512,
    "OTEL_BSP_EXPORT_TIMEOUT": 30000,
}
_BSP_MAX = 2**31 - 1  # a bound on queue sizes and milliseconds (10**400 is no setting)


def _bsp_settings(env: Mapping[str, str]) -> dict[str, int]:
    """``OTEL_BSP_*`` from ``env``: positive integers up to 2**31-1, batch <= queue."""
    values: dict[str, int] = {}
    for name, default in _BSP_DEFAULTS.items():
        raw = env.get(name, "").strip()
        if not raw:
            values[name] = default
            continue
        # ASCII digits, and no more than 10 of them, before int() sees them.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= _BSP_MAX):
            raise ValueError(f"{name} must be an integer from 1 to {_BSP_MAX}, got {raw[:40]!r}")
        values[name] = int(raw)
    if values["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] > values["OTEL_BSP_MAX_QUEUE_SIZE"]:
        raise ValueError("OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE")
    return {
        "max_queue_size": values["OTEL_BSP_MAX_QUEUE_SIZE"],
        "schedule_delay_millis": values["OTEL_BSP_SCHEDULE_DELAY"],
        "max_export_batch_size": values["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"],
        "export_timeout_millis": values["OTEL_BSP_EXPORT_TIMEOUT"],
    }


def _resource_attributes(env: Mapping[str, str]) -> dict[str, str]:
    """The resource the SDK's ``Resource.create()`` builds, read from ``env`` alone.

    SDK identity, ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v`` pairs, values URL-decoded), then
    ``OTEL_SERVICE_NAME`` over ``service.name``; ``unknown_service:<python>`` otherwise.
    """
    import urllib.parse
    import uuid

    from opentelemetry.sdk.version import __version__ as sdk_version

    attributes = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "service.instance.id": str(uuid.uuid4()),
    }
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[key.strip()] = urllib.parse.unquote(value.strip())
    service = env.get("OTEL_SERVICE_NAME", "").strip()
    if service:
        attributes["service.name"] = service
    elif not attributes.get("service.name"):
        python = os.path.basename(sys.executable)
        attributes["service.name"] = f"unknown_service:{python}" if python else "unknown_service"
    return attributes


def tracer_provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """An SDK tracer provider whose exporters ``OTEL_TRACES_EXPORTER`` names.

    Comma-separated ``otlp`` (the default, as the specification says), ``console`` or
    ``none``; each exporter gets a ``BatchSpanProcessor`` (tuned by ``OTEL_BSP_*``). The
    resource comes from ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, the OTLP
    exporter from ``OTEL_EXPORTER_OTLP_*``. Every one of them is read from ``environ``
    (``os.environ`` when not given), so a mapping describes the whole provider. The
    provider is returned, never set globally: pass it to ``instrument()``. Raises
    ValueError for an unknown exporter name or a malformed setting.
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
    batching = _bsp_settings(env)
    resource = Resource(_resource_attributes(env))
    exporters: list[SpanExporter] = []
    if "otlp" in names and "none" not in names:
        exporters.append(otlp_span_exporter(env))
    if "console" in names and "none" not in names:
        exporters.append(ConsoleSpanExporter())
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=batching["max_queue_size"],
                schedule_delay_millis=batching["schedule_delay_millis"],
                max_export_batch_size=batching["max_export_batch_size"],
                export_timeout_millis=batching["export_timeout_millis"],
            )
        )
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
