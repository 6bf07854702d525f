"""Exporters: OTEL_* configuration, the in-memory one, OTLP over loopback, /metrics."""

from __future__ import annotations

import importlib.util
import io
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from tta_dev.observability import (
    DEFAULT_METRICS_ADDR,
    in_memory_tracer_provider,
    instrument,
    metrics_address,
    otlp_span_exporter,
    parse_address,
    records_from_json,
    serve_metrics,
    tracer_provider_from_env,
)
from tta_dev.primitives import step


def _has_otlp() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is not None
    except ModuleNotFoundError:  # not even the parent package
        return False


HAS_OTLP = _has_otlp()


def ident(x: Any) -> Any:
    return x


def processors(provider: Any) -> list[Any]:
    return list(provider._active_span_processor._span_processors)


def test_console_and_none_exporters_from_env() -> None:
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "console"})
    [processor] = processors(provider)
    assert isinstance(processor, BatchSpanProcessor)
    provider.shutdown()
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "none"})
    assert processors(provider) == []
    provider.shutdown()


def test_unknown_exporter_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown exporter.*zipkin.*use otlp, console or none"):
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "console,zipkin"})


def test_service_name_comes_from_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tta-test-service")
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "none"})
    assert provider.resource.attributes["service.name"] == "tta-test-service"
    provider.shutdown()


@pytest.mark.skipif(HAS_OTLP, reason="the otlp extra is installed")
def test_otlp_without_the_extra_says_how_to_get_it() -> None:
    with pytest.raises(ValueError, match="'otlp' extra"):
        otlp_span_exporter()


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not HAS_OTLP, reason="needs the otlp extra (uv sync --extra otlp)")
def test_otlp_spans_leave_the_process_and_arrive(
    collector: tuple[str, list[tuple[str, str, bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp"})
    with instrument(provider):
        asyncio.run(step(ident, name="exported_step").execute(1))
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()
    assert received, "the collector got nothing"
    path, content_type, body = received[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    assert b"exported_step" in body
    assert b"tta.primitive.name" in body


def test_console_exporter_output_reads_back_as_spans() -> None:
    import asyncio

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    out = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    with instrument(provider):
        asyncio.run((step(ident, name="a") >> step(ident, name="b")).execute(1))
    provider.shutdown()
    records = records_from_json(out.getvalue())
    assert sorted(r.name for r in records) == ["Sequential", "a", "b"]
    root = next(r for r in records if r.name == "Sequential")
    assert {r.parent_id for r in records if r.name != "Sequential"} == {root.span_id}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:9464", ("::1", 9464)),
        (" localhost:80 ", ("localhost", 80)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["9464", ":9464", "host:", "host:port", "host:70000", ""])
def test_parse_address_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(text)


def test_metrics_address_defaults_to_loopback() -> None:
    assert metrics_address({}) == DEFAULT_METRICS_ADDR == "127.0.0.1:9464"
    assert metrics_address({"TTA_METRICS_ADDR": "0.0.0.0:9999"}) == "0.0.0.0:9999"


def test_metrics_endpoint_serves_the_registry_on_loopback() -> None:
    import asyncio

    provider, _ = in_memory_tracer_provider()
    with instrument(provider) as obs:
        asyncio.run(step(ident, name="served").execute(1))
    with serve_metrics(obs.registry, "127.0.0.1:0") as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(server.url, timeout=10) as resp:  # noqa: S310 - http on loopback
            text = resp.read().decode()
        assert (
            'tta_primitive_executions_total{name="served",primitive="Step",status="ok"} 1.0' in text
        )
        port = server.port
    # closed: nothing listens there any more
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    server.close()  # idempotent
    provider.shutdown()


def test_ipv6_address_renders_in_brackets() -> None:
    from tta_dev.observability import MetricsServer

    server = MetricsServer("::1", 9464, object(), threading.Thread())
    assert server.address == "[::1]:9464"
