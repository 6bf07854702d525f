"""``tta-dev metrics``, ``tta-dev health`` and ``tta-dev dashboard``: developer tooling."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

_FORMATS = ("text", "json", "markdown")


def register_metrics(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="metrics_command", metavar="SUBCOMMAND")

    run = commands.add_parser(
        "run",
        help="run a command (uv or another tool), time it and record it",
        description="Run `-- COMMAND ...`, pass its output through, append a timing record"
        " to the metrics file and exit with the command's exit code.",
    )
    run.add_argument("--file", type=Path, default=None, help="metrics file (.tta/metrics/uv.jsonl)")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command")
    run.set_defaults(handler=_run)

    report = commands.add_parser("report", help="p50, p95, success rate and trend per operation")
    report.add_argument(
        "--file", type=Path, default=None, help="metrics file (.tta/metrics/uv.jsonl)"
    )
    report.add_argument("--last", type=int, default=50, help="runs per operation (default 50)")
    report.add_argument(
        "--format", choices=("text", "json", "markdown", "prometheus"), default="text"
    )
    report.set_defaults(handler=_report)

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=usage)


def _metrics_file(args: argparse.Namespace) -> Path:
    from tta_dev.devtools.metrics import DEFAULT_METRICS_FILE

    chosen: Path | None = args.file
    return chosen if chosen is not None else DEFAULT_METRICS_FILE


def _run(args: argparse.Namespace) -> int:
    from tta_dev.devtools.metrics import record_command

    argv: list[str] = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    record, _ = record_command(argv, metrics_file=_metrics_file(args))
    print(
        f"tta-dev metrics: {record.operation} took {record.duration_s:.3f} s"
        f" (exit {record.exit_code})",
        file=sys.stderr,
    )
    return record.exit_code


def _report(args: argparse.Namespace) -> int:
    from tta_dev.devtools._metrics_render import render_metrics_report
    from tta_dev.devtools.metrics import metrics_report, read_history

    report = metrics_report(read_history(_metrics_file(args)), last=args.last)
    print(render_metrics_report(report, args.format))
    return 0


def register_health(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--format", choices=_FORMATS, default="text")
    parser.add_argument(
        "--services", action="store_true", help="also check REDIS_URL / PROMETHEUS_URL answer"
    )
    parser.set_defaults(handler=_health)


def _health(args: argparse.Namespace) -> int:
    from tta_dev.devtools.health import check_health, render_health

    root: Path = args.root
    if not (root / "pyproject.toml").is_file():
        raise ValueError(f"{root}/pyproject.toml not found: pass --root with the project folder")
    report = check_health(root, services=args.services, environ=os.environ)
    print(render_health(report, args.format))
    return 0 if report.ok else 1


def register_dashboard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", type=Path, default=Path(".tta/dashboard"), help="folder to write into"
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--base", metavar="REF", help="branch to compare with (default: main)")
    parser.add_argument("--metrics-file", type=Path, default=None, help="uv metrics file")
    parser.add_argument("--last", type=int, default=50, help="runs per operation in the charts")
    parser.add_argument("--no-health", action="store_true", help="leave the health table out")
    parser.set_defaults(handler=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    from tta_dev.devtools.dashboard import build_dashboard, write_dashboard

    output: Path = args.output
    # Checked before the (slow) build: mkdir on a file says only "[Errno 17] File exists".
    if output.exists() and not output.is_dir():
        raise ValueError(f"{output} exists and is not a folder: pass -o with a folder")
    dashboard = build_dashboard(
        args.root,
        base=args.base,
        metrics_file=args.metrics_file,
        last=args.last,
        health=not args.no_health,
    )
    target = write_dashboard(dashboard, output)
    print(target)
    return 0
