"""Observability for primitives: OpenTelemetry spans, Prometheus metrics, efficiency checks.

Everything here is opt-in: importing this package sets no global provider, creates no
folder and opens no port.
"""

from tta_dev.observability.efficiency import (
    EfficiencyResult,
    EfficiencyThresholds,
    MetricsSample,
    ThresholdCheck,
    check_efficiency,
    load_thresholds,
    parse_metrics_text,
    query_prometheus,
    render_efficiency,
)

__all__ = [
    "EfficiencyResult",
    "EfficiencyThresholds",
    "MetricsSample",
    "ThresholdCheck",
    "check_efficiency",
    "load_thresholds",
    "parse_metrics_text",
    "query_prometheus",
    "render_efficiency",
]
