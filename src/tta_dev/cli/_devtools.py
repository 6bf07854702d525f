"""``tta-dev drift``: CI, nox and pre-commit consistency."""

from __future__ import annotations

import argparse
from pathlib import Path

from tta_dev._safeio import seconds
from tta_dev.devtools.consistency import NOX_LIST_TIMEOUT, check_drift, render_drift


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument(
        "--timeout",
        type=seconds(),
        default=NOX_LIST_TIMEOUT,
        help=f"seconds nox may take to list the sessions (default {NOX_LIST_TIMEOUT:g})",
    )
    parser.set_defaults(handler=_drift)


def _drift(args: argparse.Namespace) -> int:
    root: Path = args.root
    noxfile = root / "noxfile.py"
    if not noxfile.exists():
        raise ValueError(f"{noxfile} not found: pass --root with the project folder")
    if not noxfile.is_file():
        raise ValueError(f"{noxfile} is not a regular file")
    # NoxListingError (a TtaDevError) is the CLI's one-line exit 2, like any bad input.
    problems = check_drift(root, timeout=args.timeout)
    print(render_drift(problems, args.format))
    return 1 if problems else 0
