"""Analyse a pull request: affected members, labels, reviewers, nox sessions, lock changes.

    uv run python scripts/analyze_pr.py --base=origin/main --head=HEAD --pr-number=12
    uv run python scripts/analyze_pr.py --files="src/a.py,docs/b.md" --format=markdown
    uv run python scripts/analyze_pr.py --files-from=changed.txt --lines-changed=40

``--files`` takes newline-separated paths (commas separate when there is no newline);
``--files-from`` reads a file of NUL- or newline-separated paths (``git diff -z``
output). Pass values as ``--flag=value``: a value that starts with ``-`` is data then.
With ``--pr-number`` the script also prints, on stderr, the labels, review requests and
comment it would write; ``--apply`` writes them through the GitHub API (needs
``GITHUB_TOKEN`` and ``GITHUB_REPOSITORY``; the ``automation`` extra).

Exit 0 on success, 1 when GitHub refused a write, 2 on bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from tta_dev._safeio import read_bytes
from tta_dev.automation._pr import (
    PR_FORMATS,
    analyze_pr,
    analyze_pr_range,
    pr_actions,
    render_pr_analysis,
)
from tta_dev.errors import TtaDevError
from tta_dev.workspace import load_workspace

FILES_FROM_LIMIT = 64 * 1024 * 1024


class _BadInput(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise _BadInput(message)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="analyze_pr.py",
        description="Analyse a pull request's changes in a uv workspace.",
        allow_abbrev=False,
    )
    parser.add_argument("--root", default=".", help="the workspace (default: this folder)")
    parser.add_argument("--base", metavar="REF", help="compare from the merge base with REF")
    parser.add_argument("--head", metavar="REF", help="compare to REF (default: the work tree)")
    parser.add_argument("--files", metavar="PATHS", help="changed files, one per line or commas")
    parser.add_argument("--files-from", metavar="FILE", help="file of NUL/newline-separated paths")
    parser.add_argument("--pr-number", type=_count, metavar="N", help="the pull request number")
    parser.add_argument("--author", metavar="LOGIN", help="the PR author (never a reviewer)")
    parser.add_argument("--lines-changed", type=_count, metavar="N", help="additions+deletions")
    parser.add_argument("--additions", type=_count, metavar="N")
    parser.add_argument("--deletions", type=_count, metavar="N")
    parser.add_argument("--format", choices=PR_FORMATS, default="text")
    parser.add_argument("--apply", action="store_true", help="write to GitHub (default: dry run)")
    parser.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    return parser


def _split_files(text: str) -> list[str]:
    parts = text.split("\n") if "\n" in text else text.split(",")
    return [p.removesuffix("\r").strip() for p in parts if p.strip()]


def _read_files_from(path: str) -> list[str]:
    data = read_bytes(path, what=f"--files-from {path!r}", limit=FILES_FROM_LIMIT)
    separator = b"\0" if b"\0" in data else b"\n"
    return [
        p.decode("utf-8", "surrogateescape").removesuffix("\r")
        for p in data.split(separator)
        if p.strip()
    ]


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    sources = [x for x in ("base", "files", "files_from") if getattr(args, x) is not None]
    if len(sources) != 1:
        raise _BadInput("give exactly one of --base, --files, --files-from")
    if args.head is not None and args.base is None:
        raise _BadInput("--head goes with --base")
    lines = args.lines_changed
    if lines is None and (args.additions is not None or args.deletions is not None):
        lines = (args.additions or 0) + (args.deletions or 0)
    workspace = load_workspace(Path(args.root))
    if args.base is not None:
        analysis = analyze_pr_range(
            workspace,
            args.base,
            args.head,
            number=args.pr_number,
            lines_changed=lines,
            author=args.author,
        )
    else:
        files = _split_files(args.files) if args.files is not None else []
        if args.files_from is not None:
            files = _read_files_from(args.files_from)
        analysis = analyze_pr(
            workspace, files, number=args.pr_number, lines_changed=lines, author=args.author
        )
    print(render_pr_analysis(analysis, args.format))
    actions = pr_actions(analysis)
    if not actions:
        return 0
    from tta_dev.automation._github import GitHubError, apply_actions

    try:
        results = apply_actions(actions, apply=args.apply, repo=args.repo)
    except GitHubError as exc:
        if exc.status is None:
            raise
        print(f"analyze_pr.py: GitHub refused: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(result, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except (_BadInput, TtaDevError, OSError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"analyze_pr.py: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
