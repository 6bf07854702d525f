"""Observability for primitives: OpenTelemetry spans, Prometheus metrics, efficiency checks.

    from tta_dev.observability import instrument, in_memory_tracer_provider, serve_metrics

    provider, spans = in_memory_tracer_provider()
    with instrument(provider) as obs:          # every primitive: a span and metrics
        await workflow.execute(data, WorkflowContext("ingest"))
    server = serve_metrics(obs.registry)       # http://127.0.0.1:9464/metrics

Everything here is opt-in: importing this package sets no global provider, creates no
folder and opens no port. The names that need OpenTelemetry or prometheus_client (the
``observability`` extra) are imported on first use, so ``efficiency`` works without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tta_dev._lazy import lazy_getattr
from tta_dev.observability.efficiency import (
    EfficiencyResult,
    EfficiencyThresholds,
    MetricsSample,
    PrometheusError,
    ThresholdCheck,
    check_efficiency,
    load_thresholds,
    parse_metrics_text,
    prometheus_query,
    query_prometheus,
    read_metrics_snapshot,
    render_efficiency,
)

if TYPE_CHECKING:
    from tta_dev.observability._exporters import (
        DEFAULT_METRICS_ADDR,
        MetricsServer,
        in_memory_tracer_provider,
        metrics_address,
        otlp_span_exporter,
        parse_address,
        serve_metrics,
        tracer_provider_from_env,
    )
    from tta_dev.observability._instrument import (
        Instrumentation,
        current_instrumentation,
        instrument,
        uninstrument,
    )
    from tta_dev.observability._metrics import PrimitiveMetrics
    from tta_dev.observability._profile import (
        Profile,
        ProfileRow,
        SpanRecord,
        profile_spans,
        records_from_json,
        records_from_spans,
        render_profile,
    )

_LAZY = {
    "DEFAULT_METRICS_ADDR": "_exporters",
    "MetricsServer": "_exporters",
    "in_memory_tracer_provider": "_exporters",
    "metrics_address": "_exporters",
    "otlp_span_exporter": "_exporters",
    "parse_address": "_exporters",
    "serve_metrics": "_exporters",
    "tracer_provider_from_env": "_exporters",
    "Instrumentation": "_instrument",
    "current_instrumentation": "_instrument",
    "instrument": "_instrument",
    "uninstrument": "_instrument",
    "PrimitiveMetrics": "_metrics",
    "Profile": "_profile",
    "ProfileRow": "_profile",
    "SpanRecord": "_profile",
    "profile_spans": "_profile",
    "records_from_json": "_profile",
    "records_from_spans": "_profile",
    "render_profile": "_profile",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "DEFAULT_METRICS_ADDR",
    "EfficiencyResult",
    "EfficiencyThresholds",
    "Instrumentation",
    "MetricsSample",
    "MetricsServer",
    "PrimitiveMetrics",
    "Profile",
    "ProfileRow",
    "PrometheusError",
    "SpanRecord",
    "ThresholdCheck",
    "check_efficiency",
    "current_instrumentation",
    "in_memory_tracer_provider",
    "instrument",
    "load_thresholds",
    "metrics_address",
    "otlp_span_exporter",
    "parse_address",
    "parse_metrics_text",
    "profile_spans",
    "prometheus_query",
    "query_prometheus",
    "read_metrics_snapshot",
    "records_from_json",
    "records_from_spans",
    "render_efficiency",
    "render_profile",
    "serve_metrics",
    "tracer_provider_from_env",
    "uninstrument",
]
