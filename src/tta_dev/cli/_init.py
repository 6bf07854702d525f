"""``tta-dev init``: set up nox, CI, pre-commit and invoke in a uv project or workspace."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write a noxfile (on tta_dev.nox), tasks.py, .github/workflows/ci.yml and"
        " .pre-commit-config.yaml for this uv project or workspace, and add the dependency"
        " groups they need with `uv add --group`. Existing files are kept unless --force."
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: .)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written")
    parser.add_argument("--force", action="store_true", help="replace files that differ")
    parser.add_argument(
        "--tta-dev",
        metavar="REQUIREMENT",
        default="tta-dev",
        help="how the project requires tta-dev (default: tta-dev; a path for a local checkout)",
    )
    parser.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from tta_dev.devtools.init import apply_plan, plan_init, render_plan

    requirement: str = args.tta_dev
    if Path(requirement).is_dir():
        requirement = str(Path(requirement).resolve())
    plan = plan_init(args.root, force=args.force, tta_dev=requirement)
    if not args.dry_run:
        apply_plan(plan)
    print(render_plan(plan, dry_run=args.dry_run))
    return 0
