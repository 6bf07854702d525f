"""Rendering a replay: text, JSON, Markdown (tables and a Mermaid chart)."""

from __future__ import annotations

import json
from typing import Any

from tta_dev.workspace._render import markdown_escape, printable
from tta_dev.workspace._replay import ReplayReport, ReplaySummary

REPLAY_FORMATS = ("text", "json", "markdown")


def _summary_data(summary: ReplaySummary) -> dict[str, Any]:
    return {
        "commits": summary.commits,
        "full_jobs": summary.full_jobs,
        "ours_jobs": summary.ours_jobs,
        "paths_only_jobs": summary.paths_jobs,
        "ours_share": round(summary.ours_share, 4),
        "paths_only_share": round(summary.paths_share, 4),
        "saved_share": round(1 - summary.ours_share, 4) if summary.commits else 0.0,
        "ours_everything": summary.ours_everything,
        "paths_only_everything": summary.paths_everything,
    }


def replay_data(report: ReplayReport) -> dict[str, Any]:
    """Every commit and the three summaries (all commits, single-member commits, and those
    of them whose member is not a core member)."""
    return {
        "members": report.members,
        "core_members": list(report.core),
        "commits": [
            {
                "commit": c.commit,
                "subject": c.subject,
                "changed_files": c.changed,
                "touched": list(c.touched),
                "full": c.members,
                "ours": list(c.ours),
                "ours_all": c.ours_all,
                "paths_only": list(c.paths_only),
                "paths_only_all": c.paths_all,
                "why_all": list(c.why_all),
                "saved_share": round(1 - len(c.ours) / c.members, 4) if c.members else 0.0,
            }
            for c in report.commits
        ],
        "summary": _summary_data(report.summary()),
        "single_member": _summary_data(report.summary(single_member=True)),
        "single_member_outside_core": _summary_data(report.summary(outside_core=True)),
    }


def _share(selected: int, members: int) -> str:
    return f"{100 * selected / members:.0f}" if members else "0"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _summary_rows(report: ReplayReport) -> list[tuple[str, ReplaySummary]]:
    core = ", ".join(report.core) or "none"
    return [
        ("all commits", report.summary()),
        ("single-member commits", report.summary(single_member=True)),
        (
            f"single-member commits, no core member (core: {core})",
            report.summary(outside_core=True),
        ),
    ]


def render_replay(report: ReplayReport, fmt: str = "text") -> str:
    """The replay as ``text``, ``json`` or ``markdown``."""
    if fmt == "json":
        return json.dumps(replay_data(report), indent=2)
    if fmt == "markdown":
        return _markdown(report)
    lines = [f"{report.members} members, {len(report.commits)} commits replayed"]
    for c in report.commits:
        ours = "all" if c.ours_all else str(len(c.ours))
        paths = "all" if c.paths_all else str(len(c.paths_only))
        lines.append(
            f"{c.commit[:10]}  ours {ours:>4}  paths-only {paths:>4}  full {c.members:>4}"
            f"  {printable(c.subject)[:60]}"
        )
    for label, s in _summary_rows(report):
        lines.append(
            f"{printable(label)} ({s.commits}): ours {_pct(s.ours_share)} of member jobs"
            f" ({s.ours_everything} ran everything), paths-only {_pct(s.paths_share)}"
            f" ({s.paths_everything} ran everything), all 100%"
        )
    return "\n".join(lines)


def _markdown(report: ReplayReport) -> str:
    out = [
        f"**{report.members} members, {len(report.commits)} first-parent commits.**",
        "",
        "| commits | n | ours | paths only | all | ours ran everything | paths only ran everything |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in _summary_rows(report):
        out.append(
            f"| {markdown_escape(label)} | {s.commits} | {_pct(s.ours_share)} | {_pct(s.paths_share)} | 100%"
            f" | {s.ours_everything} | {s.paths_everything} |"
        )
    chronological = list(reversed(report.commits))
    if chronological:
        ours = ", ".join(_share(len(c.ours), c.members) for c in chronological)
        paths = ", ".join(_share(len(c.paths_only), c.members) for c in chronological)
        out += [
            "",
            "```mermaid",
            "xychart-beta",
            '    title "Member jobs selected per commit (% of a full run; line 1 ours, 2 paths only)"',
            f"    x-axis 1 --> {len(chronological)}",
            '    y-axis "%" 0 --> 100',
            f"    line [{ours}]",
            f"    line [{paths}]",
            "```",
        ]
    out += ["", "| commit | subject | ours | paths only | all |", "|---|---|---:|---:|---:|"]
    for c in report.commits:
        out.append(
            f"| `{c.commit[:10]}` | {markdown_escape(c.subject[:70])}"
            f" | {'all' if c.ours_all else len(c.ours)}"
            f" | {'all' if c.paths_all else len(c.paths_only)} | {c.members} |"
        )
    return "\n".join(out)
