"""Test selection you can trust: replay real history and audit a generated workspace.

    uv run python benchmarks/selection.py --repo /tmp/agents --last 100 --generated 8

Replay (git only): for each first-parent commit, the share of member jobs ours selects,
beside a paths-only selector and a full run, for all commits, single-member commits, and
single-member commits whose member is not a hub (a member every other member depends on:
its change rightly runs everything). Audit: mutations planted in each member of a
generated workspace, escapes counted. Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from tta_dev.devtools.audit import audit, generate_workspace, render_audit
from tta_dev.workspace import build_graph, current_lock, load_workspace
from tta_dev.workspace._replay import ReplayCommit, ReplayReport, replay


def _row(label: str, commits: list[ReplayCommit], members: int) -> str:
    if not commits:
        return f"| {label} | 0 | - | - | 100% | - | - |"
    full = members * len(commits)
    ours = sum(len(c.ours) for c in commits) / full
    paths = sum(len(c.paths_only) for c in commits) / full
    ours_all = sum(c.ours_all for c in commits)
    paths_all = sum(c.paths_all for c in commits)
    return (
        f"| {label} | {len(commits)} | {100 * ours:.1f}% | {100 * paths:.1f}% | 100%"
        f" | {ours_all} | {paths_all} |"
    )


def replay_table(repo: Path, last: int) -> str:
    workspace = load_workspace(repo)
    graph = build_graph(workspace, current_lock(workspace))
    hubs = {
        m.name
        for m in workspace.members
        if len(graph.dependents_closure(m.name)) >= 0.9 * len(workspace.members)
    }
    started = time.perf_counter()
    report: ReplayReport = replay(workspace, last=last)
    seconds = time.perf_counter() - started
    commits = list(report.commits)
    single = [c for c in commits if c.single_member]
    leaf = [c for c in single if c.touched[0] not in hubs]
    lines = [
        f"{report.members} members; {len(commits)} first-parent commits replayed in"
        f" {seconds:.1f} s; hubs (>= 90% of members depend on them): {', '.join(sorted(hubs))}",
        "",
        "| commits | n | ours | paths only | all | ours ran everything"
        " | paths only ran everything |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _row("all", commits, report.members),
        _row("single-member", single, report.members),
        _row("single-member, not a hub", leaf, report.members),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Replay real history and audit a generated workspace."
    )
    parser.add_argument("--repo", type=Path, help="a uv workspace git checkout to replay")
    parser.add_argument("--last", type=int, default=100)
    parser.add_argument("--generated", type=int, default=8, help="members of the audit workspace")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {sys.version.split()[0]}\n")
    if args.repo is not None:
        print(replay_table(args.repo, args.last), "\n")
    with tempfile.TemporaryDirectory() as tmp:
        root = generate_workspace(Path(tmp) / "gen", args.generated)
        started = time.perf_counter()
        report = audit(root, plugins=False)
        seconds = time.perf_counter() - started
    print(f"Audit of a generated {args.generated}-member workspace ({seconds:.0f} s):\n")
    print(render_audit(report, "markdown"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
