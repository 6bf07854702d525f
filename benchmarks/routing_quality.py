"""Issue routing quality on real issues of real uv workspaces (no configuration).

    git clone <livekit/agents at the fixture's commit> /tmp/ws/livekit+agents
    git clone <open-telemetry/opentelemetry-python-contrib at its commit> /tmp/ws/otel
    uv run python benchmarks/routing_quality.py --workspace livekit=/tmp/ws/livekit+agents \
        --workspace otel=/tmp/ws/otel

The labelled issues are benchmarks/data/routing_issues.json (title and a short excerpt of
the body, the URL, the type and member a person gave them before the router was tuned,
and a split: ``tune`` issues could be looked at while tuning, ``heldout`` ones were only
measured). Prints per-type precision and recall, type accuracy and component top-1
accuracy, for all issues and for the held-out half, as Markdown tables. A workspace not
given is skipped (its checkout is not part of this repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import markdown_table

from tta_dev.automation import ISSUE_TYPES, build_routing_index, route_issue
from tta_dev.workspace import load_workspace

FIXTURE = Path(__file__).resolve().parent / "data" / "routing_issues.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="KEY=PATH",
        help="a checkout of the fixture's workspace KEY (livekit, otel)",
    )
    parser.add_argument("--verbose", action="store_true", help="list the misses of the tune half")
    parser.add_argument(
        "--show-heldout", action="store_true", help="with --verbose, held-out misses too"
    )
    args = parser.parse_args(argv)
    fixture: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    paths = dict(item.split("=", 1) for item in args.workspace)
    results: list[dict[str, Any]] = []
    for key, spec in fixture["workspaces"].items():
        if key not in paths:
            print(f"skipping {key}: pass --workspace {key}=PATH ({spec['repository']})")
            continue
        started = time.perf_counter()
        index = build_routing_index(load_workspace(paths[key]))
        built = time.perf_counter() - started
        started = time.perf_counter()
        for issue in spec["issues"]:
            route = route_issue(index, issue["title"], issue["body"])
            top = route.component.member if route.component else None
            results.append({**issue, "workspace": key, "got_type": route.type, "got": top})
            shown = issue["split"] == "tune" or args.show_heldout
            if (
                args.verbose
                and shown
                and (top != issue["component"] or route.type != issue["type"])
            ):
                print(
                    f"MISS {key} {issue['split']}: {issue['url']}\n"
                    f"  type {issue['type']} -> {route.type}; component {issue['component']}"
                    f" -> {[(c.member, c.confidence) for c in route.components[:3]]}"
                )
        routed = (time.perf_counter() - started) / max(1, len(spec["issues"]))
        print(f"{key}: index {built * 1000:.0f} ms, {routed * 1000:.1f} ms per issue")
    if not results:
        return 2
    for title, chosen in (
        ("all issues", results),
        ("held-out half", [r for r in results if r["split"] == "heldout"]),
    ):
        print(f"\n### {title}\n")
        print(summary_table(chosen))
        print()
        print(type_table(chosen))
    return 0


def summary_table(results: Sequence[dict[str, Any]]) -> str:
    rows: list[list[str]] = []
    for key in [*sorted({r["workspace"] for r in results}), "all"]:
        chosen = [r for r in results if key in {"all", r["workspace"]}]
        with_member = [r for r in chosen if r["component"] is not None]
        type_hits = sum(r["got_type"] == r["type"] for r in chosen)
        top1 = sum(r["got"] == r["component"] for r in with_member)
        rows.append(
            [
                key,
                str(len(chosen)),
                f"{type_hits / len(chosen):.2f} ({type_hits}/{len(chosen)})",
                f"{top1 / max(1, len(with_member)):.2f} ({top1}/{len(with_member)})",
            ]
        )
    return markdown_table(["workspace", "issues", "type accuracy", "component top-1"], rows)


def type_table(results: Sequence[dict[str, Any]]) -> str:
    rows: list[list[str]] = []
    for kind in ISSUE_TYPES:
        predicted = [r for r in results if r["got_type"] == kind]
        actual = [r for r in results if r["type"] == kind]
        hits = sum(r["type"] == kind for r in predicted)
        precision = f"{hits / len(predicted):.2f}" if predicted else "-"
        recall = f"{hits / len(actual):.2f}" if actual else "-"
        rows.append([kind, str(len(actual)), str(len(predicted)), precision, recall])
    return markdown_table(["type", "labelled", "predicted", "precision", "recall"], rows)


if __name__ == "__main__":
    sys.exit(main())
