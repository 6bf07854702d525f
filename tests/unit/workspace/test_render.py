from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.workspace.builders import project_toml, virtual_root_toml, write
from tta_dev.workspace import (
    AffectedMember,
    AffectedResult,
    LockDiff,
    PackageVersion,
    Reason,
    SourceChange,
    VersionChange,
    VersionSetChange,
    affected_matrix,
    build_graph,
    graph_to_dot,
    graph_to_mermaid,
    load_workspace,
    render_affected,
    render_graph,
    render_lock_diff,
    render_members,
)
from tta_dev.workspace._render import printable

HOSTILE = 'pkgs/a"b|c<d>`e` $(rm -rf ~)\nnext'


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["pkgs/*"]))
    write(
        tmp_path / HOSTILE / "pyproject.toml",
        project_toml("odd", dependencies=["plain[x]"], workspace_sources=["plain"]),
    )
    write(
        tmp_path / "pkgs/plain/pyproject.toml",
        project_toml("plain", groups={"dev": ["odd"]}, workspace_sources=["odd"]),
    )
    return tmp_path


def test_members_formats(sample: Path) -> None:
    workspace = load_workspace(sample)
    assert json.loads(render_members(workspace, "json"))[0] == {
        "name": "core",
        "path": "packages/core",
    }
    assert render_members(workspace).splitlines()[2] == "my-app  packages/app"
    assert render_members(workspace, "markdown").splitlines()[:3] == [
        "| member | path |",
        "|---|---|",
        "| core | packages/core |",
    ]


def test_hostile_paths_stay_on_one_line_and_escaped(hostile: Path) -> None:
    workspace = load_workspace(hostile)
    text = render_members(workspace)
    assert len(text.splitlines()) == 2
    assert "\\n" in text
    markdown = render_members(workspace, "markdown")
    assert len(markdown.splitlines()) == 4
    assert "\\|c\\<d\\>\\`e\\`" in markdown
    mermaid = graph_to_mermaid(build_graph(workspace))
    assert '"' not in mermaid.split("[", 1)[1].split("]")[0].strip('"')
    assert "#quot;" in mermaid
    assert "#124;" in mermaid
    assert "#lt;" in mermaid
    dot = graph_to_dot(build_graph(workspace))
    assert '\\"b|c<d>' in dot
    assert "\\n" in dot
    assert all(line.count('"') % 2 == 0 for line in dot.replace('\\"', "").splitlines())


def test_parallel_edges_merge_into_one_arrow(tmp_path: Path) -> None:
    extras = {f"x{i}": ["lib"] for i in range(5)}
    write(
        tmp_path / "pyproject.toml",
        project_toml(
            "root", optional=extras, workspace_sources=["lib"], workspace={"members": ["lib"]}
        ),
    )
    write(tmp_path / "lib/pyproject.toml", project_toml("lib"))
    graph = build_graph(load_workspace(tmp_path))
    assert len(graph.edges) == 5
    mermaid = graph_to_mermaid(graph)
    assert mermaid.splitlines()[-1] == "    m1 -.->|optional: x0, x1, x2 +2 more| m0"
    assert graph_to_dot(graph).count("->") == 1


def test_graph_formats(hostile: Path) -> None:
    graph = build_graph(load_workspace(hostile))
    data = json.loads(render_graph(graph, "json"))
    assert data["edges"] == [
        {"source": "odd", "target": "plain", "kind": "runtime", "via": None, "extras": ["x"]},
        {"source": "plain", "target": "odd", "kind": "group", "via": "dev", "extras": []},
    ]
    mermaid = render_graph(graph, "mermaid")
    assert mermaid.startswith("flowchart LR")
    assert "m0 -->|runtime [x]| m1" in mermaid
    assert "m1 -.->|group: dev| m0" in mermaid
    assert render_graph(graph, "markdown") == f"```mermaid\n{mermaid}\n```"
    assert "style=dashed" in render_graph(graph, "dot")
    assert "  -> plain (runtime [x])" in render_graph(graph)


RESULT = AffectedResult(
    affected=(
        AffectedMember(
            "a", "pkgs/a", (Reason("file", "pkgs/a/x|y.py"), Reason("lock", "six", "1.0 → 1.1"))
        ),
        AffectedMember("b", "pkgs/b", (Reason("member", "a"),)),
    ),
    all=False,
    changed_files=("pkgs/a/x|y.py", "uv.lock"),
)


def test_affected_formats() -> None:
    data = json.loads(render_affected(RESULT, "json"))
    assert data["all"] is False
    assert data["affected"][0]["name"] == "a"
    assert data["affected"][0]["reasons"][1] == {
        "kind": "lock", "subject": "six", "detail": "1.0 → 1.1", "text": "lock change in six: 1.0 → 1.1"
    }  # fmt: skip
    assert render_affected(RESULT).splitlines() == [
        "a (pkgs/a)",
        "  changed file pkgs/a/x|y.py",
        "  lock change in six: 1.0 → 1.1",
        "b (pkgs/b)",
        "  depends on member a",
    ]
    markdown = render_affected(RESULT, "markdown")
    assert (
        "| a | pkgs/a | changed file pkgs/a/x\\|y.py<br>lock change in six: 1.0 → 1.1 |" in markdown
    )
    assert json.loads(affected_matrix(RESULT)) == {
        "include": [
            {"member": "a", "path": "pkgs/a", "unclaimed": True},
            {"member": "b", "path": "pkgs/b", "unclaimed": False},
        ]
    }
    assert "\n" not in render_affected(RESULT, "matrix")


def test_affected_everything_and_nothing() -> None:
    everything = AffectedResult(
        affected=(AffectedMember("a", ".", (Reason("all", "noxfile.py matches `noxfile.py`"),)),),
        all=True,
        why_all=("noxfile.py matches `noxfile.py`",),
    )
    assert render_affected(everything).splitlines() == [
        "everything is affected: noxfile.py matches `noxfile.py`",
        "a (.)",
    ]
    assert "**Everything is affected:** noxfile.py matches \\`noxfile.py\\`" in render_affected(
        everything, "markdown"
    )
    assert "| a | . | everything |" in render_affected(everything, "markdown")
    nothing = AffectedResult(affected=(), all=False)
    assert render_affected(nothing) == "no member is affected"
    assert render_affected(nothing, "markdown").endswith("No member is affected.")
    assert affected_matrix(nothing) == '{"include":[]}'


def test_a_matrix_never_exceeds_githubs_256_jobs() -> None:
    many = AffectedResult(
        affected=tuple(
            AffectedMember(f"m{i:03}", f"pkgs/m{i:03}", (Reason("file", "x"),)) for i in range(300)
        ),
        all=True,
    )
    include = json.loads(affected_matrix(many))["include"]
    assert len(include) == 256
    members = [name for entry in include for name in entry["member"].split(",")]
    assert members == [f"m{i:03}" for i in range(300)]  # each once, in order
    assert {len(entry["member"].split(",")) for entry in include} == {1, 2}
    assert [entry["unclaimed"] for entry in include] == [True] + [False] * 255
    assert include[0]["path"].split(",")[0] == "pkgs/m000"
    exactly = AffectedResult(affected=many.affected[:256], all=True)
    assert all("," not in e["member"] for e in json.loads(affected_matrix(exactly))["include"])


DIFF = LockDiff(
    added=(PackageVersion("new", "1.0", ("a",)),),
    removed=(PackageVersion("old", "0.1"),),
    upgraded=(VersionChange("up", "1.0", "2.0", ("a", "b")),),
    downgraded=(VersionChange("down", "2.0", "1.0"),),
    changed=(VersionSetChange("fork", ("1.0", "2.0"), ("1.0", "3.0"), ("b",)),),
    sources=(SourceChange("six", "1.0", "registry x", "registry y"),),
)


def test_lock_diff_formats() -> None:
    data = json.loads(render_lock_diff(DIFF, "json"))
    assert data["added"] == [{"name": "new", "version": "1.0", "members": ["a"]}]
    assert data["upgraded"] == [{"name": "up", "old": "1.0", "new": "2.0", "members": ["a", "b"]}]
    assert data["changed"] == [
        {"name": "fork", "old": ["1.0", "2.0"], "new": ["1.0", "3.0"], "members": ["b"]}
    ]
    assert data["sources"][0]["old"] == "registry x"
    assert set(data) == {"added", "removed", "upgraded", "downgraded", "changed", "sources"}
    text = render_lock_diff(DIFF).splitlines()
    assert text[0] == "added      new 1.0  (members: a)"
    assert text[2] == "upgraded   up 1.0 → 2.0  (members: a, b)"
    assert text[5] == "source     six 1.0: registry x → registry y"
    markdown = render_lock_diff(DIFF, "markdown")
    assert "| downgraded | down | 2.0 → 1.0 | - |" in markdown
    assert render_lock_diff(LockDiff()) == "no changes: both locks resolve to the same packages"
    assert render_lock_diff(LockDiff(), "markdown").endswith("same packages.")
    assert json.loads(render_lock_diff(LockDiff(), "json"))["added"] == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a b", "a b"),
        ("dé€", "dé€"),
        ("a\tb\nc", "a\\tb\\nc"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
        ("a\x85b", "a\\x85b"),
        ("a\u00a0b\u3000c", "a\\xa0b\\u3000c"),
        ("a\u200bb", "a\\u200bb"),
        ("a\udcffb", "a\\udcffb"),
    ],
)
def test_printable_escapes_separators_and_controls(raw: str, shown: str) -> None:
    assert printable(raw) == shown


ODD = "pkgs/\udcff\u2028é"  # an undecodable byte (surrogateescape) and a line separator


def test_undecodable_and_separator_names_give_valid_one_line_output(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["pkgs/*"]))
    write(tmp_path / ODD / "pyproject.toml", project_toml("odd"))
    workspace = load_workspace(tmp_path)
    graph = build_graph(workspace)
    result = AffectedResult(
        affected=(AffectedMember("odd", ODD, (Reason("file", ODD + "/x.py"),)),),
        all=False,
        changed_files=(ODD + "/x.py",),
    )
    structured = [
        render_members(workspace, "json"),
        render_graph(graph, "json"),
        render_affected(result, "json"),
        render_affected(result, "matrix"),
        render_lock_diff(LockDiff(added=(PackageVersion(ODD, "1.0", ("odd",)),)), "json"),
    ]
    for out in structured:
        assert out.isascii()
    assert json.loads(structured[0]) == [{"name": "odd", "path": ODD}]
    assert json.loads(structured[3]) == {
        "include": [{"member": "odd", "path": ODD, "unclaimed": True}]
    }
    shown = [
        render_members(workspace),
        render_members(workspace, "markdown"),
        render_graph(graph),
        render_graph(graph, "mermaid"),
        render_graph(graph, "dot"),
        render_affected(result),
        render_affected(result, "markdown"),
        render_lock_diff(LockDiff(added=(PackageVersion(ODD, "1.0", ("odd",)),))),
    ]
    for out in shown:
        out.encode("utf-8")  # no lone surrogate left
        assert "\u2028" not in out
    assert len(render_members(workspace).split("\n")) == 1
