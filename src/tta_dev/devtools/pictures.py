"""Pictures of a workspace and of timings: SVG and self-contained HTML, no remote assets.

- ``graph_svg``: the member graph drawn by Graphviz ``dot`` (``PictureError`` with the
  install command when it is missing).
- ``layered_svg``: the same graph laid out here (layers by longest dependency path), for
  pages that must render everywhere, with or without Graphviz.
- ``line_chart_svg``: a small line chart of durations (the dashboard's uv trends).
- ``graph_html``: one offline HTML page around a graph SVG.

Every text that reaches SVG or HTML is escaped; pages carry no script and no remote URL.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Callable, Collection, Sequence

from tta_dev.errors import TtaDevError
from tta_dev.workspace import WorkspaceGraph, graph_to_dot

__all__ = [
    "PictureError",
    "graph_html",
    "graph_svg",
    "layered_svg",
    "line_chart_svg",
    "page",
]

_DOT_HINT = (
    "Graphviz `dot` is not installed: apt-get install graphviz (brew install graphviz on"
    " macOS), or use --format mermaid, dot or html"
)


class PictureError(TtaDevError, ValueError):
    """A picture that cannot be made here (a missing tool, a failing renderer)."""


def graph_svg(
    graph: WorkspaceGraph,
    affected: Collection[str] | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    timeout: float = 60,
) -> str:
    """The member graph as SVG through Graphviz ``dot`` (affected members highlighted)."""
    dot = which("dot")
    if dot is None:
        raise PictureError(_DOT_HINT)
    result = subprocess.run(
        [dot, "-Tsvg"],
        input=graph_to_dot(graph, affected),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise PictureError(f"dot failed: {last}")
    svg = result.stdout
    start = svg.find("<svg")  # drop the XML prolog and DOCTYPE so the SVG embeds in HTML
    return svg[start:] if start >= 0 else svg


def _layers(graph: WorkspaceGraph) -> list[list[str]]:
    """Members by layer: a member sits one layer right of the deepest member it depends on.

    Cycles (uv allows them through optional dependencies) are cut at the first edge that
    closes one, so every member gets a layer.
    """
    names = [m.name for m in graph.workspace.members]
    deps = {n: sorted({e.target for e in graph.dependencies_of(n) if e.target != n}) for n in names}
    depth: dict[str, int] = {}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in names:
        if start in depth:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            state[node] = 1
            children = deps[node]
            if index < len(children):
                stack.append((node, index + 1))
                child = children[index]
                if state.get(child) is None:
                    stack.append((child, 0))
                continue
            done = [depth[c] for c in children if state.get(c) == 2]
            depth[node] = 1 + max(done) if done else 0
            state[node] = 2
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in names:
        layers[depth[name]].append(name)
    return layers


_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _PAD = 200, 36, 70, 16, 20


def layered_svg(graph: WorkspaceGraph, affected: Collection[str] | None = None) -> str:
    """The member graph as SVG laid out here: dependencies left, dependents right."""
    chosen = None if affected is None else set(affected)
    layers = _layers(graph)
    tallest = max((len(layer) for layer in layers), default=0)
    width = _PAD * 2 + len(layers) * _BOX_W + max(len(layers) - 1, 0) * _GAP_X
    height = _PAD * 2 + tallest * _BOX_H + max(tallest - 1, 0) * _GAP_Y
    where: dict[str, tuple[int, int]] = {}
    for column, layer in enumerate(layers):
        for row, name in enumerate(layer):
            where[name] = (_PAD + column * (_BOX_W + _GAP_X), _PAD + row * (_BOX_H + _GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="workspace dependency graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"'
        ' fill="#868e96"/></marker></defs>',
    ]
    dash = {
        "runtime": "",
        "optional": ' stroke-dasharray="2 3"',
        "group": ' stroke-dasharray="6 4"',
    }
    for edge in graph.edges:
        if edge.source == edge.target or edge.source not in where or edge.target not in where:
            continue
        sx, sy = where[edge.source]
        tx, ty = where[edge.target]
        # Dependent (right) -> dependency (left): from the left side to the right side.
        parts.append(
            f'<line class="edge" x1="{sx}" y1="{sy + _BOX_H // 2}" x2="{tx + _BOX_W}"'
            f' y2="{ty + _BOX_H // 2}" stroke="#868e96" stroke-width="1.2"'
            f'{dash.get(edge.kind, "")} marker-end="url(#arrow)"/>'
        )
    for member in graph.workspace.members:
        x, y = where[member.name]
        kind = "member"
        fill, stroke, text = "#e7f5ff", "#1c7ed6", "#000"
        if chosen is not None:
            kind = "affected" if member.name in chosen else "unaffected"
            fill, stroke, text = (
                ("#ffd8a8", "#d9480f", "#000")
                if kind == "affected"
                else ("#f1f3f5", "#adb5bd", "#868e96")
            )
        label = member.name if len(member.name) <= 26 else member.name[:25] + "…"
        parts.append(
            f'<g class="node {kind}" data-member="{html.escape(member.name)}">'
            f"<title>{html.escape(member.name)} ({html.escape(member.path)})</title>"
            f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="{fill}"'
            f' stroke="{stroke}" stroke-width="{2 if kind == "affected" else 1}"/>'
            f'<text x="{x + _BOX_W // 2}" y="{y + _BOX_H // 2 + 4}" text-anchor="middle"'
            f' font-family="sans-serif" font-size="12" fill="{text}">{html.escape(label)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart_svg(values: Sequence[float], *, title: str, unit: str = "s") -> str:
    """A small line chart of ``values`` (oldest first) with its min, max and last value."""
    width, height, left, bottom, top = 360, 140, 44, 22, 22
    shown = list(values[-50:])
    peak = max(shown, default=0.0) or 1.0
    plot_w, plot_h = width - left - 10, height - top - bottom
    step = plot_w / max(len(shown) - 1, 1)
    points = " ".join(
        f"{left + i * step:.1f},{top + plot_h - (v / peak) * plot_h:.1f}"
        for i, v in enumerate(shown)
    )
    dots = "".join(
        f'<circle cx="{left + i * step:.1f}" cy="{top + plot_h - (v / peak) * plot_h:.1f}" r="2.5"'
        f' fill="#1c7ed6"><title>run {i + 1}: {v:.3f} {unit}</title></circle>'
        for i, v in enumerate(shown)
    )
    last = f"last {shown[-1]:.3f} {unit}" if shown else "no runs"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{html.escape(title)}">'
        f'<text x="{left}" y="14" font-family="sans-serif" font-size="12"'
        f' font-weight="bold">{html.escape(title)}</text>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#adb5bd"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#adb5bd"/>'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-family="sans-serif"'
        f' font-size="10">{peak:.2f}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-family="sans-serif"'
        ' font-size="10">0</text>'
        f'<polyline fill="none" stroke="#1c7ed6" stroke-width="1.5" points="{points}"/>{dots}'
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" font-family="sans-serif"'
        f' font-size="10">{html.escape(last)}</text></svg>'
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #212529; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { border: 1px solid #dee2e6; padding: 4px 8px;
text-align: left; vertical-align: top; } th { background: #f8f9fa; }
.pass { color: #2b8a3e; font-weight: bold; } .fail { color: #c92a2a; font-weight: bold; }
.skip { color: #868e96; } .charts { display: flex; flex-wrap: wrap; gap: 16px; }
.note { color: #495057; } code { background: #f1f3f5; padding: 0 3px; }
.picture { overflow: auto; border: 1px solid #dee2e6; padding: 8px; }
"""


def page(title: str, body: str) -> str:
    """A complete HTML page: inline CSS only; no script, no remote URL."""
    # The CSP makes the "offline" promise checkable: the browser refuses any fetch.
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        " style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def graph_html(
    graph: WorkspaceGraph,
    affected: Collection[str] | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """One offline page with the graph (Graphviz when installed, else the built-in layout)."""
    try:
        svg, how = graph_svg(graph, affected, which=which), "Graphviz dot"
    except PictureError:
        svg, how = layered_svg(graph, affected), "built-in layout (install Graphviz for dot's)"
    legend = ""
    if affected is not None:
        legend = (
            f'<p class="note">{len(set(affected))} of {len(graph.workspace.members)} members'
            " affected (orange); the others are grey.</p>"
        )
    body = (
        f"<h1>Workspace graph</h1>{legend}"
        f'<div class="picture" id="graph">{svg}</div>'
        f'<p class="note">Drawn by {html.escape(how)}. An arrow points from a member to a'
        " member it depends on; dashed: dependency group, dotted: optional extra.</p>"
    )
    return page("Workspace graph", body)
