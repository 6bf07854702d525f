"""``tta-dev drift``: CI, nox and pre-commit consistency."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tta_dev.devtools.consistency import check_drift


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(handler=_drift)


def _drift(args: argparse.Namespace) -> int:
    root: Path = args.root
    if not (root / "noxfile.py").is_file():
        raise ValueError(f"{root}/noxfile.py not found: pass --root with the project folder")
    try:
        problems = check_drift(root)
    except RuntimeError as exc:
        raise ValueError(str(exc)) from exc
    if args.format == "json":
        print(json.dumps([{"where": p.where, "message": p.message} for p in problems], indent=2))
    elif problems:
        for problem in problems:
            print(problem)
    else:
        print("no drift: CI, nox sessions and pre-commit hooks agree")
    return 1 if problems else 0
