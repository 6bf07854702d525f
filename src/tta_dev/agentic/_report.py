"""What a workflow run found, as data (frozen dataclasses), and its renderings.

Computing and rendering are apart: workflows return a ``WorkflowReport``; ``render_report``
turns it into text, Markdown (PR comments, ``$GITHUB_STEP_SUMMARY``, an agent's context) or
JSON (``report_data``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tta_dev.agentic._command import CommandResult

__all__ = [
    "REPORT_FORMATS",
    "BenchmarkChange",
    "Failure",
    "ModuleTests",
    "WorkflowReport",
    "render_report",
    "report_data",
]

REPORT_FORMATS = ("text", "markdown", "json")
_OUTPUT_LINES = 60


@dataclass(frozen=True)
class Failure:
    """Something that still fails: which step, one line saying what, the output that shows it."""

    step: str
    summary: str
    output: str = ""


@dataclass(frozen=True)
class ModuleTests:
    """A changed module and the test files that exercise it (none: it needs tests)."""

    path: str
    module: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class BenchmarkChange:
    """One benchmark case against its baseline (lower is better); ``None``: absent there."""

    name: str
    baseline: float | None
    current: float | None
    unit: str
    regressed: bool

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.current is None or self.baseline == 0:
            return None
        return self.current / self.baseline


@dataclass(frozen=True)
class WorkflowReport:
    """One workflow run: what ran (in order), what still fails, what changed, what to do next.

    ``fix_plan`` is the model's answer when an ``LLMProvider`` was configured;
    ``agent_prompt`` is the rendered prompt and context to hand to an agent otherwise.
    """

    workflow: str
    title: str
    root: str
    prompt_source: str
    ok: bool
    duration: float
    runs: tuple[CommandResult, ...] = ()
    failures: tuple[Failure, ...] = ()
    fixed: tuple[str, ...] = ()
    files_touched: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    modules: tuple[ModuleTests, ...] = ()
    benchmarks: tuple[BenchmarkChange, ...] = ()
    fix_plan: str | None = None
    agent_prompt: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def report_data(report: WorkflowReport) -> dict[str, Any]:
    """A JSON-ready dict of the report (each command's output cut to its useful tail)."""
    return {
        "workflow": report.workflow,
        "title": report.title,
        "root": report.root,
        "prompt_source": report.prompt_source,
        "ok": report.ok,
        "duration_s": round(report.duration, 3),
        "runs": [
            {
                "step": r.name,
                "phase": r.phase,
                "command": list(r.argv),
                "exit_code": r.exit_code,
                "timed_out": r.timed_out,
                "ok": r.ok,
                "duration_s": round(r.duration, 3),
                "output_tail": r.tail(_OUTPUT_LINES),
                "output_bytes": r.output_bytes,
            }
            for r in report.runs
        ],
        "failures": [
            {"step": f.step, "summary": f.summary, "output": f.output} for f in report.failures
        ],
        "fixed": list(report.fixed),
        "files_touched": list(report.files_touched),
        "next_steps": list(report.next_steps),
        "notes": list(report.notes),
        "modules": [
            {"path": m.path, "module": m.module, "tests": list(m.tests)} for m in report.modules
        ],
        "benchmarks": [
            {
                "name": b.name,
                "baseline": b.baseline,
                "current": b.current,
                "unit": b.unit,
                "ratio": None if b.ratio is None else round(b.ratio, 4),
                "regressed": b.regressed,
            }
            for b in report.benchmarks
        ],
        "fix_plan": report.fix_plan,
        "agent_prompt": report.agent_prompt,
    }


def render_report(report: WorkflowReport, fmt: str = "text") -> str:
    """The report as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(report_data(report), indent=2, ensure_ascii=True)
    if fmt == "markdown":
        return _markdown(report)
    if fmt == "text":
        return _text(report)
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(REPORT_FORMATS)}")


def _status(report: WorkflowReport) -> str:
    if report.ok:
        return "ok"
    return f"FAILED ({len(report.failures)} failure{'s' if len(report.failures) != 1 else ''})"


def _result(r: CommandResult) -> str:
    if r.timed_out:
        return "timed out"
    return "ok" if r.ok else f"exit {r.exit_code}"


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(report: WorkflowReport) -> str:
    out = [
        f"# {report.title}: {_status(report)}",
        "",
        f"Project `{report.root}`, prompt file `{report.prompt_source}`, {report.duration:.1f} s.",
        "",
        "## What ran",
        "",
    ]
    if report.runs:
        out += ["| phase | step | command | result | seconds |", "|---|---|---|---|---|"]
        out += [
            f"| {r.phase} | {r.name} | `{_cell(r.display)}` | {_result(r)} | {r.duration:.1f} |"
            for r in report.runs
        ]
    else:
        out.append("Nothing.")
    if report.failures:
        out += ["", "## Failures"]
        for f in report.failures:
            out += ["", f"### {f.step}: {f.summary}"]
            if f.output:
                fence = _fence(f.output)
                out += ["", f"{fence}text", f.output, fence]
    if report.fixed:
        out += ["", "## Fixed automatically", ""] + [f"- {g}" for g in report.fixed]
    if report.modules:
        out += ["", "## Changed modules and their tests", ""]
        out += [
            f"- `{m.module}` ({m.path}): " + (", ".join(m.tests) if m.tests else "**no tests**")
            for m in report.modules
        ]
    if report.benchmarks:
        out += ["", "## Benchmarks against the baseline", ""]
        out += ["| case | baseline | now | ratio | regressed |", "|---|---|---|---|---|"]
        out += [
            f"| {_cell(b.name)} | {_num(b.baseline)} | {_num(b.current)} | "
            f"{'' if b.ratio is None else f'{b.ratio:.2f}x'} | {'**yes**' if b.regressed else ''} |"
            for b in report.benchmarks
        ]
    if report.files_touched:
        out += ["", "## Files touched", ""] + [f"- `{p}`" for p in report.files_touched]
    if report.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    if report.next_steps:
        out += ["", "## Next steps", ""] + [f"{i}. {s}" for i, s in enumerate(report.next_steps, 1)]
    if report.fix_plan:
        out += ["", "## Fix plan (from the model)", "", report.fix_plan]
    if report.agent_prompt:
        # Folded: the prompt repeats the workflow and this report, for pasting into an agent.
        fence = _fence(report.agent_prompt)
        out += [
            "",
            "## Prompt for an agent",
            "",
            "<details><summary>The workflow's instructions and this run's findings</summary>",
            "",
            f"{fence}markdown",
            report.agent_prompt,
            fence,
            "",
            "</details>",
        ]
    return "\n".join(out) + "\n"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _text(report: WorkflowReport) -> str:
    out = [f"{report.title}: {_status(report)} ({report.duration:.1f} s, {report.root})"]
    out += [
        f"  {r.phase:<8} {r.name:<12} {_result(r):<10} {r.duration:6.1f} s  {r.display}"
        for r in report.runs
    ]
    for f in report.failures:
        out += ["", f"FAILED {f.step}: {f.summary}"]
        if f.output:
            out += ["    " + line for line in f.output.splitlines()]
    if report.fixed:
        out += ["", "fixed automatically: " + ", ".join(report.fixed)]
    for m in report.modules:
        out.append(f"  {m.module}: " + (", ".join(m.tests) if m.tests else "NO TESTS"))
    for b in report.benchmarks:
        ratio = "" if b.ratio is None else f"{b.ratio:.2f}x"
        flag = "  REGRESSED" if b.regressed else ""
        out.append(f"  {b.name}: {_num(b.baseline)} -> {_num(b.current)} {b.unit} {ratio}{flag}")
    if report.files_touched:
        out += ["", "files touched: " + ", ".join(report.files_touched)]
    out += [f"note: {n}" for n in report.notes]
    if report.next_steps:
        out += ["", "next steps:"] + [f"  {i}. {s}" for i, s in enumerate(report.next_steps, 1)]
    if report.fix_plan:
        out += ["", "fix plan (from the model):", report.fix_plan]
    if report.agent_prompt:
        out += ["", "prompt for an agent: see --format markdown or json"]
    return "\n".join(out) + "\n"
