"""Test selection you can trust: replay real history and audit a generated workspace.

    uv run python benchmarks/selection.py --repo /tmp/agents --last 100 --generated 8

Replay (git only): for each first-parent commit, the share of member jobs ours selects,
beside a paths-only selector and a full run, for all commits, single-member commits, and
single-member commits whose member is not a core member (one every other member depends on:
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
from tta_dev.workspace import load_workspace
from tta_dev.workspace._replay import replay
from tta_dev.workspace._replay_render import render_replay


def replay_table(repo: Path, last: int) -> str:
    """The replay's own Markdown (all, single-member, single-member outside core members)."""
    started = time.perf_counter()
    report = replay(load_workspace(repo), last=last)
    seconds = time.perf_counter() - started
    return f"{last} commits replayed in {seconds:.1f} s\n\n{render_replay(report, 'markdown')}"


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
