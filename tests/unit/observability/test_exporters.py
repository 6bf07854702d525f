"""Exporters: OTEL_* configuration, the in-memory one, OTLP over loopback, /metrics."""

from __future__ import annotations

import importlib.util
import io
import os
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
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = tracer_provider_from_env()
    assert provider.resource.attributes["service.name"] == "tta-test-service"
    provider.shutdown()


_OS_ENVIRON = {
    "OTEL_SERVICE_NAME": "from-os-environ",
    "OTEL_RESOURCE_ATTRIBUTES": "leaked=yes,team=os",
    "OTEL_BSP_SCHEDULE_DELAY": "1",
    "OTEL_BSP_MAX_QUEUE_SIZE": "3",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "3",
}


def test_everything_comes_from_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _OS_ENVIRON.items():
        monkeypatch.setenv(name, value)
    provider = tracer_provider_from_env(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_SERVICE_NAME": "from-mapping",
            "OTEL_RESOURCE_ATTRIBUTES": "team=a%20b,deployment.environment=test",
            "OTEL_BSP_SCHEDULE_DELAY": "1234",
            "OTEL_BSP_MAX_QUEUE_SIZE": "1024",
        }
    )
    attributes = dict(provider.resource.attributes)
    assert attributes["service.name"] == "from-mapping"
    assert attributes["team"] == "a b"
    assert attributes["deployment.environment"] == "test"
    assert "leaked" not in attributes
    assert attributes["telemetry.sdk.name"] == "opentelemetry"
    [processor] = processors(provider)
    batch = processor._batch_processor
    assert batch._schedule_delay_millis == 1234
    assert batch._max_queue_size == 1024
    assert batch._max_export_batch_size == 512  # the default, not os.environ's 3
    provider.shutdown()


def test_a_mapping_without_service_name_gets_the_default_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-os-environ")
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "none"})
    assert str(provider.resource.attributes["service.name"]).startswith("unknown_service")
    provider.shutdown()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_BSP_SCHEDULE_DELAY", "0"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "1" + "0" * 400),
        ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096"),  # above the queue size
    ],
)
def test_malformed_batch_settings_are_one_clear_error(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name) as info:
        tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "console", name: value})
    assert len(str(info.value)) < 200


@pytest.mark.skipif(HAS_OTLP, reason="the otlp extra is installed")
def test_otlp_without_the_extra_says_how_to_get_it() -> None:
    with pytest.raises(ValueError, match="'otlp' extra"):
        otlp_span_exporter()


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes, str]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(
            (
                self.path,
                self.headers.get("Content-Type", ""),
                body,
                self.headers.get("x-tenant", ""),
            )
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes, str]]]]:
    received: list[tuple[str, str, bytes, str]] = []
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
    collector: tuple[str, list[tuple[str, str, bytes, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    provider = tracer_provider_from_env({"OTEL_TRACES_EXPORTER": "otlp"} | dict(os.environ))
    with instrument(provider):
        asyncio.run(step(ident, name="exported_step").execute(1))
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()
    assert received, "the collector got nothing"
    path, content_type, body = received[0][:3]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    assert b"exported_step" in body
    assert b"tta.primitive.name" in body


@pytest.mark.skipif(not HAS_OTLP, reason="needs the otlp extra (uv sync --extra otlp)")
def test_otlp_settings_come_from_the_given_mapping(
    collector: tuple[str, list[tuple[str, str, bytes, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    url, received = collector
    # os.environ points elsewhere (a closed port): the mapping must win.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-os-environ")
    provider = tracer_provider_from_env(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": url + "/",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=blue%20team",
            "OTEL_SERVICE_NAME": "svc-from-mapping",
        }
    )
    with instrument(provider):
        asyncio.run(step(ident, name="mapped_step").execute(1))
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()
    assert received, "the collector got nothing"
    path, _content_type, body, tenant = received[0]
    assert path == "/v1/traces"
    assert tenant == "blue team"
    assert b"svc-from-mapping" in body
    assert b"from-os-environ" not in body


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
