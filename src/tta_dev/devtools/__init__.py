"""Developer tooling: services for checks, drift, uv metrics, health, pictures, dashboard.

Names load on first use: the noxfile imports ``tta_dev.devtools.services`` on every nox
run, which must not pay for the health checks, Graphviz or HTML rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tta_dev._lazy import lazy_getattr

if TYPE_CHECKING:
    from tta_dev.devtools.consistency import DriftProblem, check_drift
    from tta_dev.devtools.dashboard import Dashboard, build_dashboard, write_dashboard
    from tta_dev.devtools.health import HealthCheck, HealthReport, check_health
    from tta_dev.devtools.metrics import (
        MetricRecord,
        MetricsReport,
        metrics_report,
        read_history,
        record_command,
    )
    from tta_dev.devtools.pictures import PictureError, graph_html, graph_svg, layered_svg
    from tta_dev.devtools.services import ServiceUnavailableError, provide_services

__all__ = [
    "Dashboard",
    "DriftProblem",
    "HealthCheck",
    "HealthReport",
    "MetricRecord",
    "MetricsReport",
    "PictureError",
    "ServiceUnavailableError",
    "build_dashboard",
    "check_drift",
    "check_health",
    "graph_html",
    "graph_svg",
    "layered_svg",
    "metrics_report",
    "provide_services",
    "read_history",
    "record_command",
    "write_dashboard",
]

_WHERE = {
    "DriftProblem": "consistency",
    "check_drift": "consistency",
    "Dashboard": "dashboard",
    "build_dashboard": "dashboard",
    "write_dashboard": "dashboard",
    "HealthCheck": "health",
    "HealthReport": "health",
    "check_health": "health",
    "MetricRecord": "metrics",
    "MetricsReport": "metrics",
    "metrics_report": "metrics",
    "read_history": "metrics",
    "record_command": "metrics",
    "PictureError": "pictures",
    "graph_html": "pictures",
    "graph_svg": "pictures",
    "layered_svg": "pictures",
    "ServiceUnavailableError": "services",
    "provide_services": "services",
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())
