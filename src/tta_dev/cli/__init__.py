"""The ``tta-dev`` command: one subcommand group per package.

Exit codes: 0 success, 1 a check failed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tta_dev import __version__
from tta_dev.cli import _devtools, _observability, _workspace
from tta_dev.errors import TtaDevError


class UsageError(TtaDevError):
    """Bad input from the user: reported as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tta-dev", description="tta-dev: uv workspace workflows, checks and automation."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _devtools.register(sub)
    _workspace.register(sub)
    _observability.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except (TtaDevError, OSError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tta-dev: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
