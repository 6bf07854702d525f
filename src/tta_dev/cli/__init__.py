"""The ``tta-dev`` command: one subcommand group per package.

Exit codes: 0 success, 1 a check failed, 2 bad input (one line on stderr, no traceback).

Adding a command group: add one line to ``COMMANDS`` below, ``name: ("module:function",
"one-line help")``, and write that function in ``tta_dev/cli/_<package>.py``::

    def register(parser: argparse.ArgumentParser) -> None:
        parser.description = "..."          # optional; the help line is the default
        parser.add_argument(...)            # or parser.add_subparsers(...) for subcommands
        parser.set_defaults(handler=_run)   # _run(args) -> exit code

The CLI imports a group's module only when that group is the command (its run or its
``--help``); ``tta-dev --help`` lists the groups from this table alone. So a group module
may import its package at the top, but must not make other groups pay for it: keep
heavy imports (asyncio, OpenTelemetry, httpx, ``importlib.metadata``) inside the module of
the group that needs them, or inside the handler. ``tta-dev --version`` reads the version
only when asked. ``tests/unit/cli/test_lazy_imports.py`` holds this.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, NoReturn, cast

from tta_dev.errors import TtaDevError

#: Command group -> ("module:function" filling the group's parser, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "drift": (
        "tta_dev.cli._devtools:register",
        "check that CI, nox sessions and pre-commit hooks agree",
    ),
    "workspace": (
        "tta_dev.cli._workspace:register",
        "uv workspace: members, graph, affected members, lockfile diff",
    ),
    "metrics": (
        "tta_dev.cli._metrics:register_metrics",
        "time uv commands and report their history (p50, p95, trend)",
    ),
    "health": (
        "tta_dev.cli._metrics:register_health",
        "is this checkout ready: uv, lock, environment, hooks, drift",
    ),
    "dashboard": (
        "tta_dev.cli._metrics:register_dashboard",
        "write one offline HTML page: health, uv trends, graph, affected members",
    ),
    "init": (
        "tta_dev.cli._init:register",
        "set up nox, CI, pre-commit and invoke in a uv project or workspace",
    ),
    "profile": (
        "tta_dev.cli._observability:register",
        "run a workflow instrumented (or read its spans) and show time per primitive",
    ),
    "agentic": (
        "tta_dev.cli._agentic:register",
        "agentic workflows (quality-gate fix, bug fix, feature, perf) and command validation",
    ),
}


class UsageError(TtaDevError):
    """Bad input from the user: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one bounded line (exit 2), not a usage block.

    Subcommand parsers are made of the same class (``add_subparsers`` takes the parent's).
    """

    def error(self, message: str) -> NoReturn:
        from tta_dev._safeio import one_line

        self.exit(2, f"{self.prog}: error: {one_line(message, 300)} (see {self.prog} --help)\n")


class _LazyVersion(argparse.Action):
    """``--version`` that reads the installed version (importlib.metadata) only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from tta_dev import __version__

        print(f"{parser.prog} {__version__}")
        parser.exit()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: only the group ``argv`` names is loaded (every group if none)."""
    parser = _Parser(
        prog="tta-dev", description="tta-dev: uv workspace workflows, checks and automation."
    )
    parser.add_argument("--version", action=_LazyVersion)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # The top level has no option taking a value, so the first word is the command.
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (target, help_line) in COMMANDS.items():
        group = sub.add_parser(name, help=help_line, description=help_line)
        if name == chosen:
            _load(target)(group)
    return parser


def _load(target: str) -> Callable[[argparse.ArgumentParser], None]:
    module, _, function = target.partition(":")
    return cast(
        "Callable[[argparse.ArgumentParser], None]", getattr(import_module(module), function)
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    handler = getattr(args, "handler", None)
    if handler is None:
        print(
            f"tta-dev: error: name a command: {', '.join(COMMANDS)} (see tta-dev --help)",
            file=sys.stderr,
        )
        return 2
    try:
        return int(handler(args))
    except (TtaDevError, OSError, ValueError, RecursionError) as exc:
        from tta_dev._safeio import one_line

        # RecursionError: a last guard; every reader bounds nesting before it parses.
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tta-dev: error: {one_line(text)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
