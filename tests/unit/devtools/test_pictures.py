"""Pictures of the workspace: Graphviz SVG, the built-in layout, HTML pages, charts."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.workspace.builders import project_toml, virtual_root_toml, write
from tests.unit.workspace.conftest import make_sample
from tta_dev.devtools.pictures import (
    PictureError,
    graph_html,
    graph_svg,
    layered_svg,
    line_chart_svg,
)
from tta_dev.testing._support import unavailable
from tta_dev.workspace import (
    WorkspaceGraph,
    build_graph,
    graph_to_mermaid,
    load_workspace,
    read_lock,
)


def _graph(root: Path) -> WorkspaceGraph:
    workspace = load_workspace(root)
    return build_graph(workspace, read_lock(root / "uv.lock"))


def test_layered_svg_places_dependencies_left_of_dependents(tmp_path: Path) -> None:
    graph = _graph(make_sample(tmp_path / "ws"))
    svg = layered_svg(graph, affected=["core", "my-app"])
    xs = {
        name: int(x)
        for name, x in re.findall(r'data-member="([^"]+)"><title>[^<]*</title><rect x="(\d+)"', svg)
    }
    assert set(xs) == {m.name for m in graph.workspace.members}
    assert xs["core"] < xs["my-app"]  # my-app depends on core
    assert 'class="node affected" data-member="core"' in svg
    assert 'class="node unaffected" data-member="plugin"' in svg
    assert svg.count('class="edge"') >= 3


def test_layered_svg_escapes_names_and_survives_cycles(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root / "pyproject.toml", virtual_root_toml(["p/*"]))
    write(
        root / "p/a/pyproject.toml",
        project_toml("a", dependencies=["b"], workspace_sources=["b"]),
    )
    write(
        root / "p/b/pyproject.toml",
        project_toml("b", optional={"x": ["a"]}, workspace_sources=["a"]),
    )
    graph = build_graph(load_workspace(root))
    svg = layered_svg(graph)
    assert svg.count("<rect") == 2
    assert "<script" not in svg


def _fake_dot(folder: Path, body: str) -> str:
    dot = folder / "dot"
    dot.write_text(f"#!/bin/sh\n{body}\n")
    dot.chmod(dot.stat().st_mode | stat.S_IEXEC)
    return str(dot)


def test_graph_svg_without_graphviz_says_how_to_get_it(tmp_path: Path) -> None:
    graph = _graph(make_sample(tmp_path / "ws"))
    with pytest.raises(PictureError, match=r"apt-get install graphviz.*--format mermaid"):
        graph_svg(graph, which=lambda _name: None)
    failing = _fake_dot(tmp_path, "echo 'syntax error in line 3' >&2; exit 1")
    with pytest.raises(PictureError, match="dot failed: syntax error in line 3"):
        graph_svg(graph, which=lambda _name: failing)


def test_graph_svg_feeds_dot_the_highlighted_graph(tmp_path: Path) -> None:
    graph = _graph(make_sample(tmp_path / "ws"))
    # A stand-in dot that echoes its input inside an <svg>: what dot would be given.
    echo = _fake_dot(tmp_path, "printf '<?xml version=\"1.0\"?>\\n<svg>'; cat; printf '</svg>'")
    svg = graph_svg(graph, ["core"], which=lambda _name: echo)
    assert svg.startswith("<svg>")
    assert re.search(r'"core" \[label="[^"]*", style=filled, fillcolor="#ffd8a8"', svg)
    assert re.search(r'"helper" \[label="[^"]*", style=filled, fillcolor="#f1f3f5"', svg)


@pytest.mark.integration  # the integration session provides Graphviz (provide_tool)
def test_graph_svg_with_real_graphviz(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        unavailable("needs Graphviz: apt-get install graphviz, or run `uv run nox -s integration`")
    graph = _graph(make_sample(tmp_path / "ws"))
    svg = graph_svg(graph, ["core"])
    assert svg.startswith("<svg")
    assert svg.count('class="node"') == len(graph.workspace.members)


def test_graph_html_is_offline_and_falls_back_to_the_built_in_layout(tmp_path: Path) -> None:
    graph = _graph(make_sample(tmp_path / "ws"))
    page = graph_html(graph, ["core"], which=lambda _name: None)
    assert page.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in page
    assert "<script" not in page
    assert not re.search(r"(src|href)=\"https?:", page)
    assert "built-in layout" in page
    assert "1 of 4 members affected" in page


def test_line_chart_svg() -> None:
    svg = line_chart_svg([0.5, 1.0, 0.25], title="uv <sync>")
    assert svg.count("<circle") == 3
    assert "uv &lt;sync&gt;" in svg
    assert "last 0.250 s" in svg
    assert "no runs" in line_chart_svg([], title="empty")


def test_cli_graph_formats(tmp_path: Path) -> None:
    root = make_sample(tmp_path / "ws")

    def run(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if path is not None:
            env["PATH"] = path
        return subprocess.run(
            [sys.executable, "-m", "tta_dev.cli", "workspace", "graph", "--root", str(root), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )

    html_page = run("--format", "html", path=str(tmp_path))
    assert html_page.returncode == 0
    assert "<!DOCTYPE html>" in html_page.stdout
    no_dot = run("--format", "svg", path=str(tmp_path))
    assert no_dot.returncode == 2
    assert no_dot.stderr.count("\n") == 1
    assert "apt-get install graphviz" in no_dot.stderr
    mermaid = run("--format", "mermaid")
    assert mermaid.returncode == 0
    assert "classDef" not in mermaid.stdout


def test_mermaid_colours_affected_members(tmp_path: Path) -> None:
    graph = _graph(make_sample(tmp_path / "ws"))
    chart = graph_to_mermaid(graph, ["core"])
    ids = {m.name: f"m{i}" for i, m in enumerate(graph.workspace.members)}
    assert f"    class {ids['core']} affected" in chart
    unaffected = next(line for line in chart.splitlines() if line.endswith(" unaffected"))
    assert ids["core"] not in unaffected
    assert ids["helper"] in unaffected


def test_cli_graph_says_why_everything_is_affected(tmp_path: Path) -> None:
    from tests.unit.devtools.test_dashboard import make_branch_workspace

    root = make_branch_workspace(tmp_path / "ws")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tta_dev.cli",
            "workspace",
            "graph",
            "--root",
            str(root),
            "--format",
            "mermaid",
            "--affected-since",
            "no-such-ref",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0
    assert "every member is affected: base 'no-such-ref' is not in this clone" in result.stderr
    assert "class m0,m1,m2,m3 affected" in result.stdout
