"""``scripts/issue_analyzer.py``: route one issue and print (or apply) the result.

    issue_analyzer.py --issue-number=N --issue-title=TEXT (--issue-body=TEXT | --body-file=PATH|-)
                      [--root=DIR] [--format=text|json|markdown] [--apply] [--repo=OWNER/NAME]

The flags keep the original design's names. Every value is data: a title of ``--help``,
``-rf`` or ``$(reboot)`` is routed like any other text, whether it is written
``--issue-title=--help`` or ``--issue-title --help``; nothing is ever run. Dry run by
default: ``--apply`` (with ``GITHUB_TOKEN`` and ``GITHUB_REPOSITORY`` or ``--repo``) adds
the labels, assigns the owners that are users, and creates or updates one comment.

Exit 0 on success, 2 on bad input or an unusable workspace (one line on stderr), 1 when
``--apply`` was refused by GitHub.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, NoReturn

from tta_dev._safeio import InputError, one_line, read_bytes
from tta_dev.automation._issues import (
    MAX_BODY_CHARS,
    IssueRoute,
    build_routing_index,
    issue_route_data,
    render_issue_route,
    route_issue,
    routing_config,
)
from tta_dev.errors import TtaDevError

PROG = "issue_analyzer.py"
FORMATS = ("text", "json", "markdown")
# A body file may be larger than what is read (MAX_BODY_CHARS); past this it is refused.
BODY_FILE_LIMIT = 8 * 1024 * 1024
# Options that take a value: the next argument is their value whatever it looks like.
_VALUE_OPTIONS = (
    "--issue-number",
    "--issue-title",
    "--issue-body",
    "--body-file",
    "--root",
    "--format",
    "--repo",
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Route one GitHub issue: type, workspace member, owners, priority.",
        allow_abbrev=False,
    )
    parser.add_argument("--issue-number", default=None, help="the issue number")
    parser.add_argument("--issue-title", default="", help="the issue title")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--issue-body", default=None, help="the issue body")
    body.add_argument("--body-file", default=None, help="read the body from a file (- for stdin)")
    parser.add_argument("--root", default=".", help="the uv workspace (default: here)")
    parser.add_argument("--format", default="text", help="text, json or markdown")
    parser.add_argument("--apply", action="store_true", help="write to GitHub (default: dry run)")
    parser.add_argument("--repo", default=None, help="owner/name (default: GITHUB_REPOSITORY)")
    return parser


def bind_values(argv: Sequence[str]) -> list[str]:
    """``--opt VALUE`` as ``--opt=VALUE`` so a value starting with ``-`` stays a value."""
    out: list[str] = []
    pending: str | None = None
    for arg in argv:
        if pending is not None:
            out.append(f"{pending}={arg}")
            pending = None
        elif arg in _VALUE_OPTIONS:
            pending = arg
        else:
            out.append(arg)
    if pending is not None:
        out.append(pending)  # argparse reports the missing value
    return out


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[bytes] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run the script; returns the exit code (see the module docstring)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    for stream in (out, err):
        # A terminal that cannot show a character gets an escape, never a traceback.
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            reconfigure(errors="backslashreplace")
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list in (["-h"], ["--help"]):
        out.write(_parser().format_help())
        return 0
    try:
        args = _parser().parse_args(bind_values(args_list))
        fmt = str(args.format)
        if fmt not in FORMATS:
            raise _UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt[:40]!r}")
        number = _number(args.issue_number)
        body = _body(args.issue_body, args.body_file, stdin)
        route = _route(Path(args.root), str(args.issue_title), body, number)
        outcome = _actions(route, apply=bool(args.apply), repo=args.repo, env=env)
    except _UsageError as exc:
        err.write(f"{PROG}: error: {one_line(str(exc))}\n")
        return 2
    except (TtaDevError, ValueError, OSError) as exc:
        err.write(f"{PROG}: error: {one_line(str(exc))}\n")
        return 2
    actions, failure = outcome
    if fmt == "json":
        data = {**issue_route_data(route), "actions": actions}
        out.write(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
    else:
        out.write(render_issue_route(route, "markdown" if fmt == "markdown" else "text"))
        for line in actions:
            out.write(f"{one_line(line)}\n")
    if failure is not None:
        err.write(f"{PROG}: error: GitHub: {one_line(failure)}\n")
        return 1
    return 0


def _number(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    text = raw.strip().lstrip("#")
    if not text.isdigit() or not text.isascii() or len(text) > 12:
        raise _UsageError(f"--issue-number must be a positive whole number, not {raw[:40]!r}")
    return int(text)


def _body(text: str | None, path: str | None, stdin: IO[bytes] | None) -> str:
    if path is None:
        return text or ""
    if path == "-":
        source = stdin if stdin is not None else sys.stdin.buffer
        data = source.read(BODY_FILE_LIMIT + 1)
        if len(data) > BODY_FILE_LIMIT:
            raise InputError(f"standard input is larger than {BODY_FILE_LIMIT:,} bytes")
    else:
        data = read_bytes(path, what=f"--body-file {path[:200]}", limit=BODY_FILE_LIMIT)
    # Undecodable bytes become U+FFFD: the rest of the body is still routed.
    return data.decode("utf-8", "replace")[: MAX_BODY_CHARS * 2]


def _route(root: Path, title: str, body: str, number: int | None) -> IssueRoute:
    from tta_dev.automation._codeowners import load_codeowners
    from tta_dev.workspace import load_workspace

    workspace = load_workspace(root)
    codeowners = load_codeowners(workspace.root)

    def owners_of(path: str) -> tuple[tuple[str, ...], str | None]:
        rule = codeowners.rule_for(path)
        if rule is None:
            return (), None
        where = codeowners.source or "CODEOWNERS"
        return tuple(str(o) for o in rule.owners), f"{where} line {rule.line} ({rule.pattern})"

    return route_issue(
        build_routing_index(workspace),
        title,
        body,
        number=number,
        config=routing_config(workspace),
        owners_of=owners_of,
    )


def _actions(
    route: IssueRoute, *, apply: bool, repo: str | None, env: Mapping[str, str] | None
) -> tuple[list[str], str | None]:
    """What would be (or was) written to GitHub, one line each, and GitHub's refusal.

    A missing token or repository is bad input (raised, exit 2); a refusal by GitHub
    after the client's retries is returned (exit 1).
    """
    if route.number is None:
        if apply:
            raise _UsageError("--apply needs --issue-number")
        return [], None
    from tta_dev.automation._github import (
        ISSUE_MARKER,
        Action,
        AddAssignees,
        AddLabels,
        GitHubError,
        UpsertComment,
        apply_actions,
    )

    # CODEOWNERS may name teams and emails; only users can be assignees.
    users = tuple(o[1:] for o in route.owners if o.startswith("@") and "/" not in o)
    comment = ISSUE_MARKER + "\n" + render_issue_route(route, "markdown")
    actions: list[Action] = [
        AddLabels(route.number, route.labels),
        AddAssignees(route.number, users),
        UpsertComment(route.number, comment, ISSUE_MARKER),
    ]
    try:
        results = apply_actions(actions, apply=apply, repo=repo, env=env)
    except GitHubError as exc:
        if exc.status is None:
            raise
        return [], str(exc)
    return [str(r) for r in results if r.outcome != "skipped"], None
