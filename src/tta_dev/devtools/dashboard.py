"""``tta-dev dashboard``: one self-contained HTML page about this checkout.

The page holds the health table, the uv timing trends as charts, the workspace graph with
the members the current branch affects, and the list of those members with their reasons.
It has no script and no remote URL (a Content-Security-Policy forbids any fetch), so it
opens offline and as a CI artifact.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tta_dev.devtools.health import HealthReport, check_health
from tta_dev.devtools.metrics import (
    DEFAULT_METRICS_FILE,
    MetricsReport,
    metrics_report,
    read_history,
)
from tta_dev.devtools.pictures import PictureError, graph_svg, layered_svg, line_chart_svg, page

__all__ = ["Dashboard", "build_dashboard", "default_base", "render_dashboard", "write_dashboard"]


@dataclass(frozen=True)
class AffectedSummary:
    """What the current branch changes, relative to ``base``."""

    base: str
    names: tuple[str, ...]
    reasons: tuple[tuple[str, str], ...]  # (member, reason) pairs
    everything: bool
    note: str


@dataclass(frozen=True)
class Dashboard:
    """Everything the page shows, computed; ``render_dashboard`` turns it into HTML."""

    title: str
    generated: str
    health: HealthReport | None
    metrics: MetricsReport
    graph_svg: str
    graph_how: str
    affected: AffectedSummary | None
    problems: tuple[str, ...]


def default_base(root: Path) -> str | None:
    """The branch to compare with: ``origin/HEAD``'s target, else ``origin/main``/``main``."""
    for ref in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--abbrev-ref", ref],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip() if ref == "origin/HEAD" else ref
    return None


def build_dashboard(
    root: Path,
    *,
    base: str | None = None,
    metrics_file: Path | None = None,
    last: int = 50,
    health: bool = True,
    which: Callable[[str], str | None] = shutil.which,
) -> Dashboard:
    """Compute the dashboard of the project at ``root`` (nothing is written)."""
    from tta_dev.workspace import WorkspaceError, affected_since, build_graph, load_workspace

    problems: list[str] = []
    workspace = load_workspace(root)
    lock_path = workspace.root / "uv.lock"
    lock = None
    if lock_path.is_file():
        from tta_dev.workspace import read_lock

        try:
            lock = read_lock(lock_path)
        except WorkspaceError as exc:
            problems.append(f"uv.lock: {exc}")
    graph = build_graph(workspace, lock) if lock is not None else build_graph(workspace)
    summary: AffectedSummary | None = None
    chosen_base = base or default_base(workspace.root)
    if chosen_base is None:
        problems.append("no base branch found (origin/HEAD, main, master): pass --base")
    else:
        try:
            result = affected_since(workspace, chosen_base)
        except WorkspaceError as exc:
            problems.append(f"affected members since {chosen_base}: {exc}")
        else:
            names = tuple(m.name for m in result.affected)
            reasons = tuple((m.name, str(r)) for m in result.affected for r in m.reasons[:3])
            note = "; ".join(result.why_all) if result.all else ""
            summary = AffectedSummary(chosen_base, names, reasons, result.all, note)
    affected_names = None if summary is None else summary.names
    try:
        svg, how = graph_svg(graph, affected_names, which=which), "Graphviz dot"
    except PictureError:
        svg, how = layered_svg(graph, affected_names), "the built-in layout"
    history = read_history(workspace.root / (metrics_file or DEFAULT_METRICS_FILE))
    return Dashboard(
        title=f"tta-dev dashboard: {workspace.root.name}",
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        health=check_health(workspace.root) if health else None,
        metrics=metrics_report(history, last=last),
        graph_svg=svg,
        graph_how=how,
        affected=summary,
        problems=tuple(problems),
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _health_section(report: HealthReport | None) -> str:
    if report is None:
        return '<h2>Health</h2><p class="note">Not run (--no-health).</p>'
    rows = "".join(
        f'<tr data-check="{_e(c.name)}"><td>{_e(c.name)}</td>'
        f'<td class="{c.status}">{c.status.upper()}</td><td>{_e(c.detail)}</td>'
        f"<td>{f'<code>{_e(c.fix)}</code>' if c.status == 'fail' and c.fix else ''}</td></tr>"
        for c in report.checks
    )
    verdict = "healthy" if report.ok else "unhealthy"
    return (
        f'<h2>Health: <span class="{"pass" if report.ok else "fail"}">{verdict}</span></h2>'
        '<table id="health"><thead><tr><th>check</th><th>status</th><th>detail</th>'
        f"<th>fix</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _metrics_section(report: MetricsReport) -> str:
    if not report.operations:
        return (
            '<h2>uv timings</h2><p class="note" id="no-metrics">No timings recorded yet: run'
            " <code>tta-dev metrics run -- uv sync</code> (or any uv command).</p>"
        )
    rows = "".join(
        f'<tr data-operation="{_e(s.operation)}"><td>{_e(s.operation)}</td><td>{s.count}</td>'
        f"<td>{s.p50_s:.3f}</td><td>{s.p95_s:.3f}</td><td>{s.success_rate:.0%}</td>"
        f"<td>{_e(s.trend)}"
        f"{f' ({s.trend_ratio:.2f}x)' if s.trend_ratio is not None else ''}</td></tr>"
        for s in report.operations
    )
    charts = "".join(
        line_chart_svg(s.durations_s, title=f"{s.operation} (s)") for s in report.operations
    )
    skipped = (
        f'<p class="note">{report.skipped_lines} unreadable line(s) skipped.</p>'
        if report.skipped_lines
        else ""
    )
    return (
        f"<h2>uv timings (last {report.window} runs per operation)</h2>"
        '<table id="metrics"><thead><tr><th>operation</th><th>runs</th><th>p50 s</th>'
        f"<th>p95 s</th><th>success</th><th>trend</th></tr></thead><tbody>{rows}</tbody>"
        f'</table>{skipped}<div class="charts" id="charts">{charts}</div>'
    )


def _affected_section(summary: AffectedSummary | None) -> str:
    if summary is None:
        return '<h2>Affected members</h2><p class="note">Unknown (see the notes below).</p>'
    head = f"<h2>Affected members since <code>{_e(summary.base)}</code></h2>"
    if summary.everything:
        head += f'<p class="note">Everything is affected: {_e(summary.note)}</p>'
    if not summary.names:
        return head + '<p class="note" id="affected-none">No member is affected.</p>'
    items = "".join(
        f'<li data-member="{_e(name)}"><strong>{_e(name)}</strong>'
        + "".join(f"<br><small>{_e(r)}</small>" for m, r in summary.reasons if m == name)
        + "</li>"
        for name in summary.names
    )
    return head + f'<ul id="affected">{items}</ul>'


def render_dashboard(dashboard: Dashboard) -> str:
    """The dashboard as one HTML page (no script, no remote URL)."""
    notes = "".join(f"<li>{_e(p)}</li>" for p in dashboard.problems)
    body = (
        f"<h1>{_e(dashboard.title)}</h1>"
        f'<p class="note">Generated {_e(dashboard.generated)}.</p>'
        + _health_section(dashboard.health)
        + _metrics_section(dashboard.metrics)
        + "<h2>Dependency graph</h2>"
        + '<p class="note">Orange: affected by this branch; grey: not affected. Drawn by'
        + f" {_e(dashboard.graph_how)}.</p>"
        + f'<div class="picture" id="graph">{dashboard.graph_svg}</div>'
        + _affected_section(dashboard.affected)
        + (f'<h2>Notes</h2><ul id="problems">{notes}</ul>' if notes else "")
    )
    return page(dashboard.title, body)


def write_dashboard(dashboard: Dashboard, out_dir: Path) -> Path:
    """Write ``index.html`` into ``out_dir`` (created if needed) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    target.write_text(render_dashboard(dashboard), encoding="utf-8")
    return target
