"""`tta-dev workspace members` as a script: same arguments, same output, same exit codes.

    uv run python scripts/workspace_members.py --help

Exit 0 on success, 2 on bad input (one line saying what to fix).
"""

from __future__ import annotations

import sys

from tta_dev.cli import main as tta_dev


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return tta_dev(["workspace", "members", *args])


if __name__ == "__main__":
    sys.exit(main())
