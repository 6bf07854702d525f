"""Route one GitHub issue: type, workspace member, owners and priority, with evidence.

    uv run python scripts/issue_analyzer.py --issue-number=12 --issue-title="..." \\
        --body-file=body.md --format=json

Values are data, never options or shell (a title of ``--help`` is a title). Dry run unless
``--apply``. Exit 0 ok, 1 GitHub refused ``--apply``, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import sys

from tta_dev.automation._issue_cli import main

if __name__ == "__main__":
    sys.exit(main())
