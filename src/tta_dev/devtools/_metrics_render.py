"""Rendering a ``MetricsReport``: text, JSON, Markdown (with Mermaid charts), Prometheus."""

from __future__ import annotations

import json
from typing import Any

from tta_dev.devtools.metrics import MetricsReport, OperationStats

__all__ = ["METRICS_FORMATS", "render_metrics_report"]

METRICS_FORMATS = ("text", "json", "markdown", "prometheus")
_MAX_CHART_POINTS = 50


def _trend_text(stats: OperationStats) -> str:
    if stats.trend_ratio is None:
        return stats.trend
    return f"{stats.trend} ({stats.trend_ratio:.2f}x)"


def _rows(report: MetricsReport) -> list[tuple[str, ...]]:
    return [
        (
            s.operation,
            str(s.count),
            f"{s.p50_s:.3f}",
            f"{s.p95_s:.3f}",
            f"{s.success_rate:.0%}",
            _trend_text(s),
        )
        for s in report.operations
    ]


_HEADER = ("operation", "runs", "p50 s", "p95 s", "success", "trend")


def _footer(report: MetricsReport) -> str:
    note = f"{report.total_records} records; last {report.window} runs per operation"
    if report.skipped_lines:
        note += f"; {report.skipped_lines} unreadable line(s) skipped"
    return note


def _text(report: MetricsReport) -> str:
    if not report.operations and report.skipped_lines:
        # A file of only unreadable lines is not "no metrics yet": say what was skipped.
        return f"no readable metrics: {_footer(report)}"
    if not report.operations:
        return "no metrics recorded yet: run `tta-dev metrics run -- uv <args>`"
    rows = [_HEADER, *_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*(line.rstrip() for line in lines), "", _footer(report)])


def _mermaid_string(text: str) -> str:
    # Mermaid titles are double-quoted: a quote or newline inside would end the chart, and
    # angle brackets could be read as HTML where labels allow it (shown as parentheses).
    return text.replace('"', "'").replace("\n", " ").replace("<", "(").replace(">", ")")


def mermaid_chart(stats: OperationStats) -> str:
    """A Mermaid ``xychart-beta`` line of the operation's durations (GitHub renders it)."""
    points = stats.durations_s[-_MAX_CHART_POINTS:]
    xs = ", ".join(str(i + 1) for i in range(len(points)))
    ys = ", ".join(f"{d:.3f}" for d in points)
    top = max(points) * 1.1 if points and max(points) > 0 else 1.0
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{_mermaid_string(stats.operation)}: seconds per run"',
            f"    x-axis [{xs}]",
            f'    y-axis "seconds" 0 --> {top:.3f}',
            f"    line [{ys}]",
            "```",
        ]
    )


def _markdown(report: MetricsReport) -> str:
    # Operation names are command lines someone typed: Markdown or HTML in them must
    # show as text in a PR comment or job summary, not render.
    from tta_dev.workspace._render import markdown_escape as _md_cell

    if not report.operations:
        return "No metrics recorded yet: run `tta-dev metrics run -- uv <args>`."
    lines = [
        "## uv timings",
        "",
        "| " + " | ".join(_HEADER) + " |",
        "|" + "---|" * len(_HEADER),
        *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _rows(report)),
        "",
        _footer(report),
    ]
    for stats in report.operations:
        lines += ["", f"### {_md_cell(stats.operation)}", "", mermaid_chart(stats)]
    return "\n".join(lines)


def _label(value: str) -> str:
    # Prometheus text format: backslash, double quote and newline are escaped in labels.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prometheus(report: MetricsReport) -> str:
    name = "tta_uv_operation_duration_seconds"
    lines = [
        f"# HELP {name} Duration of recorded operations over the last {report.window} runs.",
        f"# TYPE {name} summary",
    ]
    for s in report.operations:
        op = _label(s.operation)
        lines += [
            f'{name}{{operation="{op}",quantile="0.5"}} {s.p50_s:.6g}',
            f'{name}{{operation="{op}",quantile="0.95"}} {s.p95_s:.6g}',
            f'{name}_sum{{operation="{op}"}} {sum(s.durations_s):.6g}',
            f'{name}_count{{operation="{op}"}} {s.count}',
        ]
    ratio = "tta_uv_operation_success_ratio"
    lines += [f"# HELP {ratio} Share of runs that exited 0.", f"# TYPE {ratio} gauge"]
    lines += [
        f'{ratio}{{operation="{_label(s.operation)}"}} {s.success_rate:.6g}'
        for s in report.operations
    ]
    return "\n".join(lines) + "\n"


def _data(report: MetricsReport) -> dict[str, Any]:
    return {
        "window": report.window,
        "total_records": report.total_records,
        "skipped_lines": report.skipped_lines,
        "operations": [
            {
                "operation": s.operation,
                "count": s.count,
                "p50_s": s.p50_s,
                "p95_s": s.p95_s,
                "success_rate": s.success_rate,
                "trend": s.trend,
                "trend_ratio": s.trend_ratio,
                "durations_s": list(s.durations_s),
            }
            for s in report.operations
        ],
    }


def render_metrics_report(report: MetricsReport, fmt: str) -> str:
    """``report`` as ``text``, ``json``, ``markdown`` or ``prometheus`` text exposition."""
    if fmt == "json":
        return json.dumps(_data(report), indent=2, ensure_ascii=True)
    if fmt == "markdown":
        return _markdown(report)
    if fmt == "prometheus":
        return _prometheus(report)
    return _text(report)
