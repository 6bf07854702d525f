"""``tta-dev agentic``: run the agentic workflows, show their prompt files, validate commands.

    tta-dev agentic quality-gate-fix [--skip typecheck] [--report report.md]
    tta-dev agentic bug-fix --test tests/test_x.py::test_y
    tta-dev agentic feature --name NAME [--base main]
    tta-dev agentic perf [--benchmark 'benchmarks/primitives.py --quick'] [--save-baseline]
    tta-dev agentic show quality-gate-fix
    tta-dev agentic validate

Exit codes: 0 the workflow passed, 1 something still fails, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tta_dev.agentic import WorkflowReport
    from tta_dev.primitives import LLMProvider

FORMATS = ("text", "markdown", "json")
DEFAULT_MODEL = "gpt-4o-mini"


def register(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="agentic_command", metavar="WORKFLOW")

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=usage)

    gate = commands.add_parser(
        "quality-gate-fix", help="run the gates, apply safe fixes, run them again"
    )
    _common(gate)
    gate.add_argument(
        "--skip", action="append", default=[], metavar="GATE", help="a gate not to run (repeat)"
    )
    gate.set_defaults(handler=_quality_gate_fix)

    bug = commands.add_parser("bug-fix", help="reproduce one test, then its member's tests")
    _common(bug)
    bug.add_argument("--test", required=True, metavar="NODEID", help="pytest node id")
    bug.set_defaults(handler=_bug_fix)

    feature = commands.add_parser(
        "feature", help="sync, create feature/NAME, check changed modules have tests"
    )
    _common(feature)
    feature.add_argument("--name", required=True, help="feature name (branch feature/NAME)")
    feature.add_argument("--base", default="main", help="branch to compare with (default main)")
    feature.set_defaults(handler=_feature)

    perf = commands.add_parser("perf", help="run the benchmark, compare with the baseline")
    _common(perf)
    perf.add_argument(
        "--benchmark",
        default="benchmarks/primitives.py --quick",
        help="benchmark script and arguments; it must accept --json FILE "
        "(default: 'benchmarks/primitives.py --quick')",
    )
    perf.add_argument("--baseline", default=".benchmarks/baseline.json", type=Path)
    perf.add_argument("--output", default=".benchmarks/latest.json", type=Path)
    perf.add_argument(
        "--threshold", default=0.10, type=float, help="allowed slow-down, 0.10 = 10%%"
    )
    perf.add_argument(
        "--save-baseline", action="store_true", help="record this run as the new baseline"
    )
    perf.set_defaults(handler=_perf)

    show = commands.add_parser("show", help="print a workflow's prompt file")
    show.add_argument("workflow", help="quality-gate-fix, bug-fix, feature-implementation, ...")
    show.add_argument("--root", type=Path, default=Path("."))
    show.set_defaults(handler=_show)

    validate = commands.add_parser(
        "validate",
        help="every documented command runs through uv run / uvx / nox and names real sessions",
    )
    validate.add_argument("--root", type=Path, default=Path("."))
    validate.add_argument("--format", choices=FORMATS, default="text")
    validate.set_defaults(handler=_validate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."), help="project folder")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--report", type=Path, help="also write the report (Markdown; JSON if it ends in .json)"
    )
    parser.add_argument(
        "--llm",
        action="store_true",
        help="ask a model for a fix plan (OpenAI-compatible: OPENAI_BASE_URL, OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help=f"model for --llm (default $TTA_AGENTIC_MODEL or {DEFAULT_MODEL})",
    )


def _provider(args: argparse.Namespace) -> tuple[LLMProvider | None, str | None]:
    if not args.llm:
        return None, None
    import importlib.util

    if importlib.util.find_spec("httpx") is None:  # the provider's transport (extra `llm`)
        raise ValueError("--llm needs the llm extra: uv sync --extra llm")
    from tta_dev.primitives import OpenAICompatibleProvider

    model = args.model or os.environ.get("TTA_AGENTIC_MODEL") or DEFAULT_MODEL
    return OpenAICompatibleProvider(), model


def _emit(report: WorkflowReport, args: argparse.Namespace) -> int:
    from tta_dev.agentic import render_report

    if args.report is not None:
        fmt = "json" if args.report.suffix == ".json" else "markdown"
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(render_report(report, fmt), encoding="utf-8")
    print(render_report(report, args.format), end="")
    return report.exit_code


def _execute(workflow: Any) -> WorkflowReport:
    import asyncio

    from tta_dev.primitives import WorkflowContext

    return asyncio.run(workflow.execute(None, WorkflowContext(f"agentic.{workflow.name}")))


def _quality_gate_fix(args: argparse.Namespace) -> int:
    from tta_dev.agentic import QualityGateFix

    provider, model = _provider(args)
    workflow = QualityGateFix(args.root, skip=args.skip, provider=provider, model=model)
    return _emit(_execute(workflow), args)


def _bug_fix(args: argparse.Namespace) -> int:
    from tta_dev.agentic import BugFix

    provider, model = _provider(args)
    return _emit(_execute(BugFix(args.root, test=args.test, provider=provider, model=model)), args)


def _feature(args: argparse.Namespace) -> int:
    from tta_dev.agentic import FeatureImplementation

    provider, model = _provider(args)
    workflow = FeatureImplementation(
        args.root, name=args.name, base=args.base, provider=provider, model=model
    )
    return _emit(_execute(workflow), args)


def _perf(args: argparse.Namespace) -> int:
    from tta_dev.agentic import PerformanceCheck

    provider, model = _provider(args)
    try:
        benchmark = shlex.split(args.benchmark)
    except ValueError as exc:
        raise ValueError(f"--benchmark: {exc}") from None
    workflow = PerformanceCheck(
        args.root,
        benchmark=benchmark,
        baseline=args.baseline,
        output=args.output,
        threshold=args.threshold,
        save_baseline=args.save_baseline,
        provider=provider,
        model=model,
    )
    return _emit(_execute(workflow), args)


def _show(args: argparse.Namespace) -> int:
    from tta_dev.agentic import load_prompt

    print(load_prompt(args.workflow, args.root.resolve()).text, end="")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from tta_dev.devtools.commands import check_commands, render_command_problems

    root: Path = args.root
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder: pass --root with the project")
    problems = check_commands(root)
    print(render_command_problems(problems, args.format), end="")
    return 1 if problems else 0
