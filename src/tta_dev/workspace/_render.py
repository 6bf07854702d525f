"""Rendering workspace results: text, JSON, Markdown, a GitHub Actions matrix, Mermaid, DOT.

Computing lives elsewhere; these functions only turn results into text. Names and paths
can hold anything a file name can (quotes, newlines, markup), so each format escapes them
its own way: text shows control characters as escapes, Markdown escapes markup, Mermaid
and DOT quote their labels.
"""

from __future__ import annotations

import json
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: the CLI reads the format names without loading the rest
    from collections.abc import Collection

    from tta_dev.workspace._affected import AffectedResult, Reason
    from tta_dev.workspace._diff import LockDiff
    from tta_dev.workspace._graph import MemberEdge, WorkspaceGraph
    from tta_dev.workspace._model import Workspace

MEMBER_FORMATS = ("text", "json", "markdown")
GRAPH_FORMATS = ("text", "json", "markdown", "mermaid", "dot")
AFFECTED_FORMATS = ("text", "json", "markdown", "matrix")
LOCK_DIFF_FORMATS = ("text", "json", "markdown")


def _shown(char: str) -> str:
    if char != " " and unicodedata.category(char)[0] in "CZ":
        return char.encode("unicode_escape").decode("ascii")
    return char


def printable(text: str) -> str:
    """``text`` with control characters, separators and spaces other than " " (U+2028,
    no-break spaces, undecodable bytes too) shown as escapes: one line, always."""
    return "".join(_shown(c) for c in text)


def markdown_escape(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    out = printable(text)
    for char in "\\`*_[]|#<>":
        out = out.replace(char, "\\" + char)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=True)  # valid UTF-8 for any file name


# -- members ---------------------------------------------------------------------------


def members_data(workspace: Workspace) -> list[dict[str, str]]:
    """``[{"name", "path"}]`` for each member."""
    return [{"name": m.name, "path": m.path} for m in workspace.members]


def render_members(workspace: Workspace, fmt: str = "text") -> str:
    """The members as ``text``, ``json`` or ``markdown``."""
    if fmt == "json":
        return _json(members_data(workspace))
    if fmt == "markdown":
        rows = [
            f"| {markdown_escape(m.name)} | {markdown_escape(m.path)} |" for m in workspace.members
        ]
        return "\n".join(["| member | path |", "|---|---|", *rows])
    names = [printable(m.name) for m in workspace.members]
    width = max((len(n) for n in names), default=0)
    return "\n".join(
        f"{name:<{width}}  {printable(m.path)}"
        for name, m in zip(names, workspace.members, strict=True)
    )


# -- graph -----------------------------------------------------------------------------


def _edge_label(edge: MemberEdge) -> str:
    label = edge.kind if edge.via is None else f"{edge.kind}: {edge.via}"
    if edge.extras:
        label += f" [{','.join(edge.extras)}]"
    return label


def _merged_edges(graph: WorkspaceGraph) -> list[tuple[str, str, str, str]]:
    """``(source, target, kind, label)``: parallel edges of one kind drawn as one arrow.

    A root that offers 28 extras, each pulling in the same member, is one dotted arrow
    labelled with the first few extras and how many more, not 28 arrows.
    """
    merged: dict[tuple[str, str, str], list[MemberEdge]] = {}
    for edge in graph.edges:
        merged.setdefault((edge.source, edge.target, edge.kind), []).append(edge)
    out: list[tuple[str, str, str, str]] = []
    for (source, target, kind), edges in merged.items():
        vias = sorted({e.via for e in edges if e.via})
        extras = sorted({x for e in edges for x in e.extras})
        label = kind
        if vias:
            shown = ", ".join(vias[:3]) + (f" +{len(vias) - 3} more" if len(vias) > 3 else "")
            label += f": {shown}"
        if extras and kind == "runtime":
            label += f" [{','.join(extras)}]"
        out.append((source, target, kind, label))
    return out


def graph_data(graph: WorkspaceGraph) -> dict[str, Any]:
    """Members and edges as plain data."""
    return {
        "members": members_data(graph.workspace),
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "kind": e.kind,
                "via": e.via,
                "extras": list(e.extras),
            }
            for e in graph.edges
        ],
    }


def graph_to_mermaid(graph: WorkspaceGraph, affected: Collection[str] | None = None) -> str:
    """A Mermaid flowchart (GitHub renders it): groups dotted, extras labelled.

    With ``affected`` (member names), those members are drawn as affected and the others
    greyed out.
    """
    ids = {m.name: f"m{i}" for i, m in enumerate(graph.workspace.members)}
    lines = ["flowchart LR"]
    if affected is not None:
        lines += [
            f"    classDef affected {_AFFECTED_STYLE['mermaid']}",
            f"    classDef unaffected {_UNAFFECTED_STYLE['mermaid']}",
        ]
    for member in graph.workspace.members:
        label = _mermaid_text(f"{member.name} ({member.path})")
        lines.append(f'    {ids[member.name]}["{label}"]')
    for source, target, kind, text in _merged_edges(graph):
        arrow = "-->" if kind == "runtime" else "-.->"
        label = "" if text == "runtime" else f"|{_mermaid_text(text)}|"
        lines.append(f"    {ids[source]} {arrow}{label} {ids[target]}")
    if affected is not None:
        for kind, names in _split(graph, affected).items():
            if names:
                lines.append(f"    class {','.join(ids[n] for n in names)} {kind}")
    return "\n".join(lines)


# Affected members stand out (warm fill, bold border); the rest recede (grey).
_AFFECTED_STYLE = {
    "mermaid": "fill:#ffd8a8,stroke:#d9480f,stroke-width:2px,color:#000",
    "dot": 'style=filled, fillcolor="#ffd8a8", color="#d9480f", penwidth=2',
}
_UNAFFECTED_STYLE = {
    "mermaid": "fill:#f1f3f5,stroke:#adb5bd,color:#868e96",
    "dot": 'style=filled, fillcolor="#f1f3f5", color="#adb5bd", fontcolor="#868e96"',
}


def _split(graph: WorkspaceGraph, affected: Collection[str]) -> dict[str, list[str]]:
    chosen = set(affected)
    names = [m.name for m in graph.workspace.members]
    return {
        "affected": [n for n in names if n in chosen],
        "unaffected": [n for n in names if n not in chosen],
    }


def _mermaid_text(text: str) -> str:
    out = printable(text)
    for char, entity in (
        ("&", "#amp;"),
        ('"', "#quot;"),
        ("|", "#124;"),
        ("<", "#lt;"),
        (">", "#gt;"),
    ):
        out = out.replace(char, entity)
    return out


def graph_to_dot(graph: WorkspaceGraph, affected: Collection[str] | None = None) -> str:
    """A Graphviz digraph: groups dashed, extras dotted; ``affected`` members highlighted."""
    lines = ["digraph workspace {", "    rankdir=LR;", "    node [shape=box];"]
    chosen = None if affected is None else set(affected)
    for member in graph.workspace.members:
        label = f"{_dot_text(member.name)}\\n{_dot_text(member.path)}"
        look = ""
        if chosen is not None:
            look = ", " + (
                _AFFECTED_STYLE["dot"] if member.name in chosen else _UNAFFECTED_STYLE["dot"]
            )
        lines.append(f'    "{_dot_text(member.name)}" [label="{label}"{look}];')
    style = {"runtime": "solid", "optional": "dotted", "group": "dashed"}
    lines += [
        f'    "{_dot_text(source)}" -> "{_dot_text(target)}"'
        f' [label="{_dot_text(label)}", style={style[kind]}];'
        for source, target, kind, label in _merged_edges(graph)
    ]
    lines.append("}")
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


def render_graph(graph: WorkspaceGraph, fmt: str = "text") -> str:
    """The graph as ``text``, ``json``, ``markdown`` (Mermaid block), ``mermaid`` or ``dot``."""
    if fmt == "json":
        return _json(graph_data(graph))
    if fmt == "mermaid":
        return graph_to_mermaid(graph)
    if fmt == "markdown":
        return f"```mermaid\n{graph_to_mermaid(graph)}\n```"
    if fmt == "dot":
        return graph_to_dot(graph)
    lines: list[str] = []
    for member in graph.workspace.members:
        edges = graph.dependencies_of(member.name)
        lines.append(f"{printable(member.name)} ({printable(member.path)})")
        lines += [f"  -> {printable(e.target)} ({printable(_edge_label(e))})" for e in edges]
    return "\n".join(lines)


# -- affected --------------------------------------------------------------------------


def _reason_data(reason: Reason) -> dict[str, str]:
    return {
        "kind": reason.kind,
        "subject": reason.subject,
        "detail": reason.detail,
        "text": str(reason),
    }


def affected_data(result: AffectedResult) -> dict[str, Any]:
    """``{"affected": [{"name", "path", "reasons"}], "all", ...}``."""
    return {
        "affected": [
            {"name": m.name, "path": m.path, "reasons": [_reason_data(r) for r in m.reasons]}
            for m in result.affected
        ],
        "all": result.all,
        "why_all": list(result.why_all),
        "changed_files": list(result.changed_files),
        "ignored": list(result.ignored),
        "base": result.base,
        "head": result.head,
    }


#: GitHub's limit on the jobs one matrix may generate.
MAX_MATRIX_JOBS = 256


def affected_matrix(result: AffectedResult, max_jobs: int = MAX_MATRIX_JOBS) -> str:
    """A GitHub Actions ``strategy.matrix`` value (one line, for ``$GITHUB_OUTPUT``).

    ``{"include": []}`` when nothing is affected: guard the job with
    ``if: fromJSON(needs.<job>.outputs.<name>).include[0]``. ``unclaimed`` is true on the
    first entry only: that job also runs the tests that import no member, the others pass
    ``--skip-unclaimed``, so such a test runs once, not once per member. Past
    ``max_jobs`` members (GitHub refuses a larger matrix) an entry holds several,
    comma-separated (``"member": "a,b"``; the pytest plugin's ``--for-member`` takes
    that), in consecutive runs as even as they divide.
    """
    members = list(result.affected)
    jobs = min(len(members), max_jobs)
    groups = [
        members[len(members) * j // jobs : len(members) * (j + 1) // jobs] for j in range(jobs)
    ]
    include = [
        {
            "member": ",".join(m.name for m in group),
            "path": ",".join(m.path for m in group),
            "unclaimed": index == 0,
        }
        for index, group in enumerate(groups)
    ]
    return json.dumps({"include": include}, ensure_ascii=True, separators=(",", ":"))


def render_affected(result: AffectedResult, fmt: str = "text") -> str:
    """The result as ``text``, ``json``, ``markdown`` or ``matrix``."""
    if fmt == "json":
        return _json(affected_data(result))
    if fmt == "matrix":
        return affected_matrix(result)
    if fmt == "markdown":
        return _affected_markdown(result)
    if not result.affected:
        return "no member is affected"
    lines: list[str] = []
    if result.all:
        lines += [f"everything is affected: {printable(w)}" for w in result.why_all]
    for member in result.affected:
        lines.append(f"{printable(member.name)} ({printable(member.path)})")
        lines += [f"  {printable(str(r))}" for r in member.reasons if r.kind != "all"]
    return "\n".join(lines)


def _affected_markdown(result: AffectedResult) -> str:
    lines = [f"### Affected members: {len(result.affected)}"]
    if result.all:
        lines += [
            "",
            *(f"**Everything is affected:** {markdown_escape(w)}" for w in result.why_all),
        ]
    if not result.affected:
        return "\n".join([*lines, "", "No member is affected."])
    lines += ["", "| member | path | why |", "|---|---|---|"]
    for member in result.affected:
        why = "<br>".join(markdown_escape(str(r)) for r in member.reasons if r.kind != "all")
        lines.append(
            f"| {markdown_escape(member.name)} | {markdown_escape(member.path)} | {why or 'everything'} |"
        )
    return "\n".join(lines)


# -- lock diff -------------------------------------------------------------------------


def lock_diff_data(diff: LockDiff) -> dict[str, list[dict[str, Any]]]:
    """``{"added", "removed", "upgraded", "downgraded", "changed", "sources"}`` lists."""
    return {
        "added": [
            {"name": p.name, "version": p.version, "members": list(p.reached)} for p in diff.added
        ],
        "removed": [
            {"name": p.name, "version": p.version, "members": list(p.reached)} for p in diff.removed
        ],
        "upgraded": [
            {"name": c.name, "old": c.old, "new": c.new, "members": list(c.reached)}
            for c in diff.upgraded
        ],
        "downgraded": [
            {"name": c.name, "old": c.old, "new": c.new, "members": list(c.reached)}
            for c in diff.downgraded
        ],
        "changed": [
            {"name": c.name, "old": list(c.old), "new": list(c.new), "members": list(c.reached)}
            for c in diff.changed
        ],
        "sources": [
            {
                "name": c.name,
                "version": c.version,
                "old": c.old,
                "new": c.new,
                "members": list(c.reached),
            }
            for c in diff.sources
        ],
    }


def _lock_diff_rows(diff: LockDiff) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """``(change, package, versions, reached members)`` rows in a stable order."""
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []
    rows += [("added", p.name, p.version or "", p.reached) for p in diff.added]
    rows += [("removed", p.name, p.version or "", p.reached) for p in diff.removed]
    rows += [("upgraded", c.name, f"{c.old} → {c.new}", c.reached) for c in diff.upgraded]
    rows += [("downgraded", c.name, f"{c.old} → {c.new}", c.reached) for c in diff.downgraded]
    rows += [
        ("changed", c.name, f"{', '.join(c.old)} → {', '.join(c.new)}", c.reached)
        for c in diff.changed
    ]
    rows += [("source", c.name, f"{c.version}: {c.old} → {c.new}", c.reached) for c in diff.sources]
    return rows


def render_lock_diff(diff: LockDiff, fmt: str = "text") -> str:
    """The diff as ``text``, ``json`` or ``markdown``."""
    if fmt == "json":
        return _json(lock_diff_data(diff))
    rows = _lock_diff_rows(diff)
    if fmt == "markdown":
        lines = ["### uv.lock changes", ""]
        if not rows:
            return "\n".join([*lines, "No changes: both locks resolve to the same packages."])
        lines += ["| change | package | versions | members |", "|---|---|---|---|"]
        lines += [
            f"| {kind} | {markdown_escape(name)} | {markdown_escape(versions)} |"
            f" {markdown_escape(', '.join(reached)) or '-'} |"
            for kind, name, versions, reached in rows
        ]
        return "\n".join(lines)
    if not rows:
        return "no changes: both locks resolve to the same packages"
    lines: list[str] = []
    for kind, name, versions, reached in rows:
        members = f"  (members: {printable(', '.join(reached))})" if reached else ""
        lines.append(f"{kind:<10} {printable(name)} {printable(versions)}{members}")
    return "\n".join(lines)
