"""``tta-dev workspace``: members, dependency graph, affected members, lockfile diff."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tta_dev._safeio import quote
from tta_dev.cli import UsageError

# The format names only: the library loads when a command runs, so --help stays cheap.
from tta_dev.workspace._render import (
    AFFECTED_FORMATS,
    GRAPH_FORMATS,
    LOCK_DIFF_FORMATS,
    MEMBER_FORMATS,
)

if TYPE_CHECKING:
    from tta_dev.devtools.audit import AuditReport
    from tta_dev.workspace import Lockfile


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Read the uv workspace the way uv does and answer questions about it."
    commands = parser.add_subparsers(dest="workspace_command", metavar="SUBCOMMAND")

    def usage(_args: argparse.Namespace) -> int:
        raise UsageError(
            "workspace needs a subcommand: members, graph, affected or lock-diff"
            " (tta-dev workspace --help)"
        )

    parser.set_defaults(handler=usage)

    members = commands.add_parser("members", help="list the workspace members")
    _root_and_format(members, MEMBER_FORMATS)
    members.set_defaults(handler=_members)

    graph = commands.add_parser("graph", help="the member dependency graph")
    _root_and_format(graph, (*GRAPH_FORMATS, "svg", "html"))
    graph.add_argument(
        "--affected-since",
        metavar="REF",
        help="colour the members affected since the merge base with REF (work tree included)",
    )
    graph.set_defaults(handler=_graph)

    affected = commands.add_parser(
        "affected",
        help="members a change affects, and why",
        description=(
            "Members affected by the changes since --base (git; the work tree unless --head)"
            " or by the files given with --files (relative to the repository root);"
            " --all: every member (a full run, e.g. on the default branch)."
        ),
    )
    _root_and_format(affected, AFFECTED_FORMATS)
    source = affected.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF", help="compare from the merge base with REF")
    source.add_argument(
        "--files",
        nargs="+",
        metavar="PATH",
        help="changed files (newline-separated values accepted)",
    )
    # A full run must not hang on which rules claim some file: [tool.tta-dev.affected]
    # can drop the defaults, and a root project owns its own pyproject.toml.
    source.add_argument(
        "--all", action="store_true", help="every member, whatever changed (a full run)"
    )
    affected.add_argument("--head", metavar="REF", help="compare to REF (default: work tree)")
    affected.add_argument(
        "--old-lock",
        type=Path,
        metavar="FILE",
        help="with --files: the uv.lock before the change, to narrow a lock change",
    )
    affected.add_argument(
        "--runtime-only",
        action="store_true",
        help="follow base dependencies only (not the members' own extras and groups)",
    )
    affected.set_defaults(handler=_affected)

    replay = commands.add_parser(
        "replay",
        help="what each past commit would have run: ours, paths only, all",
        description=(
            "Walk first-parent history (git only, no test runs) and compare the members this"
            " engine selects per commit with a paths-only selector and a full run."
        ),
    )
    _root_and_format(replay, ("text", "json", "markdown"))
    window = replay.add_mutually_exclusive_group(required=True)
    window.add_argument("--last", type=int, metavar="N", help="the last N commits")
    window.add_argument("--since", metavar="REV", help="the commits after REV")
    replay.add_argument("--head", default="HEAD", metavar="REF", help="walk from REF (HEAD)")
    replay.set_defaults(handler=_replay)

    audit = commands.add_parser(
        "audit",
        help="mutation-based safety audit: failures our test selection would let through",
        description=(
            "In a temporary copy, break each member (a public function raises / returns a wrong"
            " value; a third-party dependency gets a breaking upgrade in uv.lock), run the"
            " tests ours selects and the full suite, and report escapes (the full suite"
            " fails, the selection passes). Exit 1 when something escaped."
        ),
    )
    _root_and_format(audit, ("text", "json", "markdown"))
    audit.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help="audit a generated workspace of N members (tests under tests/ and benchmarks/)",
    )
    audit.add_argument("--sample", type=int, metavar="K", help="audit K members at random")
    audit.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    audit.add_argument(
        "--kinds",
        default="raise,wrong,dependency",
        metavar="K1,K2",
        help="mutations to plant: raise, wrong, dependency (default: all three)",
    )
    audit.add_argument(
        "--tests",
        action="append",
        default=[],
        metavar="PATH",
        help=(
            "a test file or folder (relative to the workspace root) that makes up the suite;"
            " repeatable (default: every test_*.py and bench_*.py file)"
        ),
    )
    audit.add_argument(
        "--pytest-args",
        default="",
        metavar="ARGS",
        help="extra pytest arguments for every run, one shell-quoted string:"
        " --pytest-args='-m \"not slow\"'",
    )
    audit.set_defaults(handler=_audit)

    lock_diff = commands.add_parser(
        "lock-diff",
        help="what changed between two uv.lock files",
        description="OLD and NEW are uv.lock files or git revisions (of the workspace's lock).",
    )
    lock_diff.add_argument("old", metavar="OLD", help="a uv.lock file or a git revision")
    lock_diff.add_argument("new", metavar="NEW", help="a uv.lock file or a git revision")
    lock_diff.add_argument(
        "--no-members",
        action="store_true",
        help="do not work out which members each change reaches",
    )
    _root_and_format(lock_diff, LOCK_DIFF_FORMATS)
    lock_diff.set_defaults(handler=_lock_diff)


def _root_and_format(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument(
        "--root", type=Path, default=Path("."), help="a folder inside the workspace (default: .)"
    )
    parser.add_argument("--format", choices=formats, default="text")


def _members(args: argparse.Namespace) -> int:
    from tta_dev.workspace import load_workspace, render_members

    print(render_members(load_workspace(args.root), args.format))
    return 0


def _graph(args: argparse.Namespace) -> int:
    from tta_dev.workspace import (
        affected_since,
        build_graph,
        current_lock,
        load_workspace,
        render_graph,
    )

    workspace = load_workspace(args.root)
    graph = build_graph(workspace, current_lock(workspace))
    affected = None
    if args.affected_since:
        result = affected_since(workspace, args.affected_since)
        affected = [m.name for m in result.affected]
        if result.all:
            # Everything coloured as affected needs its reason (an unknown ref, a shallow
            # clone, a root file): on stderr, so the picture on stdout stays clean.
            why = "; ".join(result.why_all) or "the change cannot be attributed"
            print(f"tta-dev: note: every member is affected: {why}", file=sys.stderr)
    if args.format in ("svg", "html"):
        # Pictures live in devtools (Graphviz, HTML); imported only for these formats.
        from tta_dev.devtools.pictures import graph_html, graph_svg

        print(graph_svg(graph, affected) if args.format == "svg" else graph_html(graph, affected))
    elif affected is not None and args.format in ("mermaid", "markdown", "dot"):
        from tta_dev.workspace import graph_to_dot, graph_to_mermaid

        if args.format == "dot":
            print(graph_to_dot(graph, affected))
        else:
            chart = graph_to_mermaid(graph, affected)
            print(chart if args.format == "mermaid" else f"```mermaid\n{chart}\n```")
    else:
        print(render_graph(graph, args.format))
    return 0


def _affected(args: argparse.Namespace) -> int:
    from tta_dev.workspace import (
        LOCK_FILE,
        LockChange,
        WorkspaceError,
        affected_members,
        affected_since,
        build_graph,
        current_lock,
        everything,
        load_workspace,
        paths_in_workspace,
        read_lock,
        render_affected,
    )
    from tta_dev.workspace._render import printable

    workspace = load_workspace(args.root)
    if args.all:
        if args.head is not None or args.old_lock is not None:
            raise WorkspaceError("--head goes with --base and --old-lock with --files, not --all")
        result = everything(workspace, "--all: every member")
    elif args.base is not None:
        if args.old_lock is not None:
            raise WorkspaceError("--old-lock goes with --files; --base reads the lock from git")
        result = affected_since(workspace, args.base, args.head, runtime_only=args.runtime_only)
    else:
        if args.head is not None:
            raise WorkspaceError("--head goes with --base, not with --files")
        # Workflows pass a whole list as one newline-separated value. Only "\n" separates:
        # U+2028, NEL and form feed can be part of a file name.
        lines = (line.removesuffix("\r") for value in args.files for line in value.split("\n"))
        paths = paths_in_workspace(workspace, [line for line in lines if line])
        new = current_lock(workspace)
        graph = build_graph(workspace, new)
        lock_change = None
        if LOCK_FILE in paths:
            old = read_lock(args.old_lock) if args.old_lock is not None else None
            lock_change = LockChange(
                old, new, "its old version is unknown (pass --old-lock FILE or use --base)"
            )
        result = affected_members(
            graph, paths, lock_change=lock_change, runtime_only=args.runtime_only
        )
    if args.format == "matrix" and result.all and not args.all:
        # A matrix carries no reasons, and it is all a CI log shows: say why on stderr.
        why = "; ".join(printable(w) for w in result.why_all) or "the change cannot be attributed"
        print(f"tta-dev: note: every member is affected: {why}", file=sys.stderr)
    print(render_affected(result, args.format))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from tta_dev._signals import sigterm_as_exit
    from tta_dev.workspace import load_workspace
    from tta_dev.workspace._replay import replay
    from tta_dev.workspace._replay_render import render_replay

    # A killed replay still removes the skeleton folder it reads old layouts from.
    with sigterm_as_exit():
        report = replay(load_workspace(args.root), last=args.last, since=args.since, head=args.head)
    print(render_replay(report, args.format))
    return 0


def _audit(args: argparse.Namespace) -> int:
    import dataclasses
    import shlex

    # Runs tests: it lives in devtools, imported only for this command.
    from tta_dev.devtools.audit import (
        MAX_GENERATED,
        MUTATIONS,
        audit,
        generate_workspace,
        render_audit,
    )

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in MUTATIONS]
    if unknown or not kinds:
        raise UsageError(
            f"--kinds: unknown mutation kind {quote(unknown[0]) if unknown else '(none)'}:"
            f" choose from {', '.join(MUTATIONS)}"
        )
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample must be at least 1, not {args.sample}")
    try:
        pytest_args = shlex.split(args.pytest_args)
    except ValueError as exc:
        raise UsageError(f"--pytest-args: {exc} in {quote(args.pytest_args)}") from exc

    def run(root: Path, plugins: bool) -> AuditReport:
        return audit(
            root,
            sample=args.sample,
            seed=args.seed,
            kinds=kinds,
            plugins=plugins,
            tests=args.tests,
            pytest_args=pytest_args,
        )

    from tta_dev._signals import sigterm_as_exit, temporary_directory

    if args.generated is not None and not 2 <= args.generated <= MAX_GENERATED:
        raise UsageError(f"--generated takes 2 to {MAX_GENERATED} members, not {args.generated}")
    # A killed audit still removes its temporary copies (the generated one included).
    with sigterm_as_exit():
        if args.generated is not None:
            with temporary_directory("tta-audit-gen-") as tmp:
                # The generated tests need no plugin: none load (seconds saved per run).
                report = run(generate_workspace(tmp / "generated", args.generated), False)
            # Its folder is gone once the audit returns: name what it was, not where.
            report = dataclasses.replace(
                report, root=f"(a generated workspace of {args.generated} members)"
            )
        else:
            report = run(args.root, True)
    print(render_audit(report, args.format))
    return 1 if report.escaped else 0


def _lock_diff(args: argparse.Namespace) -> int:
    from tta_dev.workspace import diff_locks, render_lock_diff

    old = _lock_from(args.old, args.root, "OLD")
    new = _lock_from(args.new, args.root, "NEW")
    print(render_lock_diff(diff_locks(old, new, reach=not args.no_members), args.format))
    return 0


def _lock_from(spec: str, root: Path, label: str) -> Lockfile:
    """A lock from a file, or from the workspace's ``uv.lock`` at a git revision."""
    from tta_dev.workspace import (
        LOCK_FILE,
        WorkspaceError,
        _git,
        find_workspace_root,
        parse_lock,
        read_lock,
    )

    path = Path(spec)
    if path.is_dir():
        return read_lock(path / LOCK_FILE)
    if os.path.lexists(spec):  # a FIFO or device says so, rather than "not a revision"
        return read_lock(path)
    repo = _git.repository_root(root)
    if repo is not None and not spec.startswith("-"):
        commit = _git.resolve_commit(repo, spec)
        if commit is not None:
            lock_path = (find_workspace_root(root) / LOCK_FILE).relative_to(repo).as_posix()
            text = _git.file_at(repo, commit, lock_path)
            if text is None:
                raise WorkspaceError(f"{label}: {lock_path} does not exist at {quote(spec)}")
            return parse_lock(text, f"{lock_path} at {quote(spec)}")
    raise WorkspaceError(
        f"{label}: {quote(spec)} is neither a uv.lock file nor a git revision: pass a lock's path"
    )
