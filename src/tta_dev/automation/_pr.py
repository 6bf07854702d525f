"""Pull request analysis: affected members, labels, reviewers, nox sessions, lock changes.

One change (a git range or a list of files) in, one :class:`PrAnalysis` out::

    workspace = load_workspace(".")
    analysis = analyze_pr_range(workspace, "origin/main", "HEAD", number=12, author="alice")
    print(render_pr_analysis(analysis, "markdown"))
    actions = pr_actions(analysis)  # labels, reviewers, the one comment

Labels: the path rules of ``[tool.tta-dev.routing.labels]`` (label -> globs), ``size/XS``
to ``size/XL`` by lines changed, ``dependencies`` when ``uv.lock`` or a dependency
declaration changes, ``ci`` when a workflow changes. Sessions: the rules of
``[tool.tta-dev.routing.sessions]`` (nox session -> globs). Reviewers: the CODEOWNERS of
the changed files (the base revision's file, as GitHub reads it), less the author.
"""

from __future__ import annotations

import posixpath
import subprocess
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tta_dev._safeio import load_toml
from tta_dev.automation._codeowners import (
    CODEOWNERS_LOCATIONS,
    Codeowners,
    CodeownersError,
    load_codeowners,
    parse_codeowners,
)
from tta_dev.automation._github import PR_MARKER, Action, AddLabels, RequestReviewers, UpsertComment
from tta_dev.errors import TtaDevError
from tta_dev.workspace import (
    LOCK_FILE,
    AffectedResult,
    LockChange,
    LockDiff,
    Workspace,
    WorkspaceError,
    _git,  # pyright: ignore[reportPrivateUsage]  # the git plumbing the CLI uses too
    affected_data,
    affected_members,
    affected_since,
    build_graph,
    current_lock,
    diff_locks,
    lock_diff_data,
    parse_lock,
    paths_in_workspace,
    render_lock_diff,
)
from tta_dev.workspace._globs import check_glob, glob_match
from tta_dev.workspace._render import markdown_escape, printable

__all__ = [
    "PR_FORMATS",
    "SIZE_LABELS",
    "AnalysisError",
    "Label",
    "PrAnalysis",
    "PrRoutingConfig",
    "Reviewers",
    "SessionPick",
    "analyze_pr",
    "analyze_pr_range",
    "pr_actions",
    "pr_analysis_data",
    "pr_routing_config",
    "render_pr_analysis",
    "size_label",
]

PR_FORMATS = ("text", "json", "markdown")
#: (label, lines changed below which it applies); the last has no bound.
SIZE_LABELS: tuple[tuple[str, int | None], ...] = (
    ("size/XS", 10),
    ("size/S", 30),
    ("size/M", 100),
    ("size/L", 500),
    ("size/XL", None),
)
#: What in a pyproject.toml declares dependencies (a change elsewhere is not one).
_DEPENDENCY_KEYS: tuple[tuple[str, ...], ...] = (
    ("project", "dependencies"),
    ("project", "optional-dependencies"),
    ("dependency-groups",),
    ("build-system", "requires"),
    ("tool", "uv", "sources"),
    ("tool", "uv", "dev-dependencies"),
    ("tool", "uv", "constraint-dependencies"),
    ("tool", "uv", "override-dependencies"),
)
#: GitHub refuses a comment longer than 65536 characters.
COMMENT_LIMIT = 60_000
_SHOWN_REASONS = 5


class AnalysisError(TtaDevError, ValueError):
    """Bad input for a PR analysis (one line)."""


@dataclass(frozen=True)
class PrRoutingConfig:
    """``[tool.tta-dev.routing]``: path labels and session rules, in file order."""

    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sessions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Label:
    """A label to add, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class SessionPick:
    """A nox session worth running, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class Reviewers:
    """Code owners of the changed files, less the author.

    ``users`` are logins, ``teams`` ``org/slug``; ``emails`` cannot be requested through
    the API and are listed only. ``unowned`` are changed files no CODEOWNERS line owns.
    """

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    unowned: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrAnalysis:
    """Everything the analysis found about one change."""

    number: int | None
    changed_files: tuple[str, ...]
    affected: AffectedResult
    labels: tuple[Label, ...]
    reviewers: Reviewers
    sessions: tuple[SessionPick, ...]
    lines_changed: int | None = None
    lock_diff: LockDiff | None = None
    codeowners_source: str | None = None
    codeowners_errors: tuple[CodeownersError, ...] = ()
    author: str | None = None


# -- configuration ---------------------------------------------------------------------


def _rule_table(
    section: Mapping[str, Any], key: str, where: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = section.get(key, {})
    if not isinstance(raw, dict):
        raise AnalysisError(f"{where}: `{key}` must be a table of name = [globs]")
    out: list[tuple[str, tuple[str, ...]]] = []
    for name, globs in cast("dict[str, Any]", raw).items():
        if isinstance(globs, str):
            globs = [globs]
        if not isinstance(globs, list) or not all(
            isinstance(g, str) for g in cast("list[Any]", globs)
        ):
            raise AnalysisError(f"{where}.{key}: `{name}` must be a list of globs")
        patterns = tuple(cast("list[str]", globs))
        for pattern in patterns:
            try:
                check_glob(pattern, f"{where}.{key}.{name}")
            except WorkspaceError as exc:
                raise AnalysisError(str(exc)) from None
        out.append((str(name), patterns))
    return tuple(out)


def pr_routing_config(root: Path) -> PrRoutingConfig:
    """Read ``[tool.tta-dev.routing]`` from ``root/pyproject.toml`` (empty when absent).

    Keys other than ``labels`` and ``sessions`` belong to the issue router and are left
    to it.
    """
    path = root / "pyproject.toml"
    if not path.is_file():
        return PrRoutingConfig()
    section: Any = load_toml(path, "pyproject.toml")
    for key in ("tool", "tta-dev", "routing"):
        section = (
            cast("dict[str, Any]", section).get(key, {}) if isinstance(section, dict) else None
        )
    where = "pyproject.toml [tool.tta-dev.routing]"
    if not isinstance(section, dict):
        raise AnalysisError(f"{where} must be a table")
    table = cast("dict[str, Any]", section)
    return PrRoutingConfig(
        _rule_table(table, "labels", where), _rule_table(table, "sessions", where)
    )


# -- the pieces ------------------------------------------------------------------------


def size_label(lines: int) -> Label:
    """The ``size/*`` label for ``lines`` changed (additions plus deletions)."""
    for name, below in SIZE_LABELS:
        if below is None or lines < below:
            bound = f"under {below}" if below is not None else f"{SIZE_LABELS[-2][1]} or more"
            return Label(name, f"{lines} lines changed ({bound})")
    raise AssertionError("unreachable")  # pragma: no cover


def _is_workflow(path: str) -> bool:
    return path.startswith(".github/workflows/") or path.startswith(".github/actions/")


def _is_dependency_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name in {"uv.lock", "pyproject.toml"} or (
        name.startswith("requirements") and name.endswith((".txt", ".in"))
    )


def _labels(
    workspace_paths: Sequence[str],
    repo_paths: Sequence[str],
    config: PrRoutingConfig,
    lines_changed: int | None,
    dependency_reasons: Sequence[str],
) -> tuple[Label, ...]:
    labels: dict[str, str] = {}
    for name, patterns in config.labels:
        for path in workspace_paths:
            hit = next((p for p in patterns if glob_match(p, path)), None)
            if hit is not None:
                labels.setdefault(name, f"{path} matches `{hit}` [tool.tta-dev.routing.labels]")
                break
    if dependency_reasons:
        labels.setdefault("dependencies", dependency_reasons[0])
    workflow = next((p for p in repo_paths if _is_workflow(p)), None)
    if workflow is not None:
        labels.setdefault("ci", f"{workflow} is a workflow")
    if lines_changed is not None:
        size = size_label(lines_changed)
        labels.setdefault(size.name, size.reason)
    return tuple(Label(n, r) for n, r in labels.items())


def _sessions(paths: Sequence[str], config: PrRoutingConfig) -> tuple[SessionPick, ...]:
    picks: list[SessionPick] = []
    for name, patterns in config.sessions:
        for path in paths:
            hit = next((p for p in patterns if glob_match(p, path)), None)
            if hit is not None:
                picks.append(SessionPick(name, f"{path} matches `{hit}`"))
                break
    return tuple(picks)


def _reviewers(codeowners: Codeowners, repo_paths: Sequence[str], author: str | None) -> Reviewers:
    users: dict[str, None] = {}
    teams: dict[str, None] = {}
    emails: dict[str, None] = {}
    unowned: list[str] = []
    skip = (author or "").lower()
    for path in repo_paths:
        owners = codeowners.owners_of(path)
        if not owners:
            unowned.append(path)
        for owner in owners:
            if owner.kind == "user" and owner.login.lower() != skip:
                users[owner.login] = None
            elif owner.kind == "team":
                teams[owner.login] = None
            elif owner.kind == "email":
                emails[owner.login] = None
    return Reviewers(tuple(users), tuple(teams), tuple(emails), tuple(unowned))


def _to_repo(workspace: Workspace, repo: Path, path: str) -> str:
    prefix = Path(posixpath.relpath(workspace.root.resolve(), repo)).as_posix()
    return path if prefix == "." else posixpath.normpath(f"{prefix}/{path}")


# -- entry points ----------------------------------------------------------------------


def analyze_pr(
    workspace: Workspace,
    changed_files: Iterable[str],
    *,
    number: int | None = None,
    lines_changed: int | None = None,
    author: str | None = None,
    lock_change: LockChange | None = None,
    codeowners: Codeowners | None = None,
    config: PrRoutingConfig | None = None,
    dependency_reasons: Sequence[str] | None = None,
    repository: Path | None = None,
) -> PrAnalysis:
    """Analyse a change given as repository-relative ``changed_files``.

    Without ``lock_change`` a changed ``uv.lock`` affects every member; without
    ``dependency_reasons`` any changed ``pyproject.toml`` or lock counts as a dependency
    change (only a git range can tell a dependency edit from another one).
    """
    if number is not None and number < 1:
        raise AnalysisError(f"--pr-number must be a positive number, not {number}")
    if lines_changed is not None and lines_changed < 0:
        raise AnalysisError(f"lines changed must not be negative, not {lines_changed}")
    repo = (repository or _git.repository_root(workspace.root) or workspace.root).resolve()
    files = tuple(dict.fromkeys(f for f in changed_files if f))
    paths = paths_in_workspace(workspace, files, repo)
    repo_paths = tuple(_to_repo(workspace, repo, p) for p in paths)
    graph = build_graph(workspace, current_lock(workspace, repo))
    affected = affected_members(graph, paths, lock_change=lock_change)
    owners = codeowners if codeowners is not None else load_codeowners(repo)
    rules = config if config is not None else pr_routing_config(workspace.root)
    if dependency_reasons is None:
        dependency_reasons = [f"{p} changed" for p in repo_paths if _is_dependency_file(p)]
    lock_diff = None
    if lock_change is not None and lock_change.old is not None and lock_change.new is not None:
        lock_diff = diff_locks(lock_change.old, lock_change.new)
    return PrAnalysis(
        number=number,
        changed_files=repo_paths,
        affected=affected,
        labels=_labels(paths, repo_paths, rules, lines_changed, dependency_reasons),
        reviewers=_reviewers(owners, repo_paths, author),
        sessions=_sessions(paths, rules),
        lines_changed=lines_changed,
        lock_diff=lock_diff,
        codeowners_source=owners.source,
        codeowners_errors=owners.errors,
        author=author,
    )


def analyze_pr_range(
    workspace: Workspace,
    base: str,
    head: str | None = None,
    *,
    number: int | None = None,
    lines_changed: int | None = None,
    author: str | None = None,
    config: PrRoutingConfig | None = None,
) -> PrAnalysis:
    """Analyse the change from the merge base of ``base`` to ``head`` (the work tree if ``None``).

    Lines changed come from ``git diff --numstat`` unless given; CODEOWNERS is read at
    the merge base (GitHub uses the base branch's file); dependency declarations are
    compared at both ends. An unknown base affects everything (the result says why).
    """
    repo = _git.repository_root(workspace.root)
    if repo is None:
        raise AnalysisError(f"{workspace.root} is not in a git repository: pass --files")
    for ref in (base, head):
        if ref is not None:
            try:
                _git.check_ref(ref)
            except WorkspaceError as exc:
                raise AnalysisError(str(exc)) from None
    affected = affected_since(workspace, base, head)
    start = affected.base
    if start is None:  # no usable history: everything is affected, nothing else is known
        owners = load_codeowners(repo)
        return PrAnalysis(
            number=number,
            changed_files=(),
            affected=affected,
            labels=(),
            reviewers=Reviewers(),
            sessions=(),
            lines_changed=lines_changed,
            codeowners_source=owners.source,
            codeowners_errors=owners.errors,
            author=author,
        )
    end = affected.head  # None: the work tree
    repo_files = _git.changed_files(repo, start, end)
    lock_path = _to_repo(workspace, repo, LOCK_FILE)
    lock_change = _lock_change(workspace, repo, start, end) if lock_path in repo_files else None
    if lines_changed is None:
        lines_changed = _numstat(repo, start, end)
    result = analyze_pr(
        workspace,
        repo_files,
        number=number,
        lines_changed=lines_changed,
        author=author,
        lock_change=lock_change,
        codeowners=_codeowners_at(repo, start),
        config=config,
        dependency_reasons=_dependency_reasons(repo, start, end, repo_files),
        repository=repo,
    )
    return result


def _lock_change(workspace: Workspace, repo: Path, base: str, head: str | None) -> LockChange:
    lock_path = _to_repo(workspace, repo, LOCK_FILE)
    old_text = _git.file_at(repo, base, lock_path)
    new_text = _text_at(repo, head, lock_path)
    if new_text is None:
        return LockChange(None, None, "was deleted")
    try:
        new = parse_lock(new_text, f"{LOCK_FILE} at {head or 'the work tree'}")
    except WorkspaceError as exc:
        return LockChange(None, None, f"is unreadable ({exc})")
    if old_text is None:
        return LockChange(None, new, "did not exist at the base")
    try:
        old = parse_lock(old_text, f"{LOCK_FILE} at {base[:12]}")
    except WorkspaceError as exc:
        return LockChange(None, new, f"its base version is unreadable ({exc})")
    return LockChange(old, new)


def _text_at(repo: Path, commit: str | None, path: str) -> str | None:
    if commit is not None:
        return _git.file_at(repo, commit, path)
    file = repo / path
    return file.read_bytes().decode("utf-8", "replace") if file.is_file() else None


def _codeowners_at(repo: Path, commit: str) -> Codeowners:
    for location in CODEOWNERS_LOCATIONS:
        text = _git.file_at(repo, commit, location)
        if text is not None:
            return parse_codeowners(text, location)
    return Codeowners(None, ())


def _dependency_declarations(text: str | None) -> Any:
    if text is None:
        return None
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "<unreadable>"
    out: list[Any] = []
    for keys in _DEPENDENCY_KEYS:
        value = data
        for key in keys:
            value = cast("dict[str, Any]", value).get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def _dependency_reasons(repo: Path, base: str, head: str | None, files: Sequence[str]) -> list[str]:
    reasons: list[str] = []
    for path in files:
        name = posixpath.basename(path)
        if name == "pyproject.toml":
            old = _dependency_declarations(_git.file_at(repo, base, path))
            new = _dependency_declarations(_text_at(repo, head, path))
            if old != new:
                reasons.append(f"{path} changes its dependency declarations")
        elif _is_dependency_file(path):
            reasons.append(f"{path} changed")
    return reasons


def _numstat(repo: Path, base: str, head: str | None) -> int | None:
    args = ["git", "-C", str(repo), "diff", "--numstat", "-z", "--no-renames", base]
    if head is not None:
        args.append(head)
    try:
        out = subprocess.run(
            [*args, "--"], capture_output=True, check=False, timeout=_git.TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    total = 0
    for record in out.stdout.split(b"\0"):
        fields = record.split(b"\t")
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            total += int(fields[0]) + int(fields[1])  # binary files show "-": no lines
    return total


# -- actions ---------------------------------------------------------------------------


def pr_actions(analysis: PrAnalysis) -> tuple[Action, ...]:
    """The writes the analysis asks for: labels, review requests, the one comment."""
    if analysis.number is None:
        return ()
    number = analysis.number
    return (
        AddLabels(number, tuple(label.name for label in analysis.labels)),
        RequestReviewers(
            number,
            analysis.reviewers.users,
            tuple(t.split("/", 1)[1] for t in analysis.reviewers.teams),
        ),
        UpsertComment(number, render_pr_analysis(analysis, "markdown"), PR_MARKER),
    )


# -- rendering -------------------------------------------------------------------------


def pr_analysis_data(analysis: PrAnalysis) -> dict[str, Any]:
    """The analysis as plain JSON-ready data."""
    return {
        "number": analysis.number,
        "changed_files": list(analysis.changed_files),
        "lines_changed": analysis.lines_changed,
        "affected": affected_data(analysis.affected),
        "labels": [{"name": x.name, "reason": x.reason} for x in analysis.labels],
        "reviewers": {
            "users": list(analysis.reviewers.users),
            "teams": list(analysis.reviewers.teams),
            "emails": list(analysis.reviewers.emails),
            "unowned": list(analysis.reviewers.unowned),
        },
        "sessions": [{"name": s.name, "reason": s.reason} for s in analysis.sessions],
        "lock_diff": lock_diff_data(analysis.lock_diff) if analysis.lock_diff else None,
        "codeowners": {
            "source": analysis.codeowners_source,
            "errors": [
                {"line": e.line, "text": e.text, "message": e.message}
                for e in analysis.codeowners_errors
            ],
        },
    }


def render_pr_analysis(analysis: PrAnalysis, fmt: str = "text") -> str:
    """The analysis as ``text``, ``json`` or ``markdown`` (the PR comment and job summary)."""
    if fmt == "json":
        import json

        return json.dumps(pr_analysis_data(analysis), indent=2, ensure_ascii=True)
    if fmt == "markdown":
        return _markdown(analysis)
    if fmt != "text":
        raise AnalysisError(f"unknown format {fmt!r}: use {', '.join(PR_FORMATS)}")
    return _text(analysis)


def _reasons(reasons: Sequence[object], shown: int = _SHOWN_REASONS) -> list[str]:
    out = [str(r) for r in reasons[:shown]]
    if len(reasons) > shown:
        out.append(f"and {len(reasons) - shown} more")
    return out


def _text(analysis: PrAnalysis) -> str:
    title = f"PR #{analysis.number}" if analysis.number else "Change"
    size = f", {analysis.lines_changed} lines" if analysis.lines_changed is not None else ""
    lines = [f"{title}: {len(analysis.changed_files)} files changed{size}"]
    affected = analysis.affected
    lines.append("affected members:" if affected.affected else "affected members: none")
    for member in affected.affected:
        lines.append(f"  {printable(member.name)}")
        lines += [f"    - {printable(r)}" for r in _reasons(member.reasons)]
    lines.append(
        "labels: "
        + (", ".join(printable(x.name) for x in analysis.labels) if analysis.labels else "none")
    )
    lines += [f"  - {printable(x.name)}: {printable(x.reason)}" for x in analysis.labels]
    reviewers = [*analysis.reviewers.users, *(f"@{t}" for t in analysis.reviewers.teams)]
    lines.append("reviewers: " + (printable(", ".join(reviewers)) or "none"))
    if analysis.reviewers.emails:
        lines.append(
            "owners by email (not requested): " + printable(", ".join(analysis.reviewers.emails))
        )
    lines.append("sessions: " + (", ".join(printable(s.name) for s in analysis.sessions) or "none"))
    lines += [f"  - {printable(s.name)}: {printable(s.reason)}" for s in analysis.sessions]
    if analysis.lock_diff is not None:
        lines += [
            "uv.lock:",
            *("  " + x for x in render_lock_diff(analysis.lock_diff).splitlines()),
        ]
    for error in analysis.codeowners_errors:
        lines.append(f"{analysis.codeowners_source}: {printable(str(error))}")
    return "\n".join(lines)


def _markdown(analysis: PrAnalysis) -> str:
    md = markdown_escape
    title = f"PR #{analysis.number}" if analysis.number else "this change"
    size = f", {analysis.lines_changed} lines" if analysis.lines_changed is not None else ""
    lines = [
        PR_MARKER,
        f"## Analysis of {title}",
        "",
        f"{len(analysis.changed_files)} files changed{size}.",
        "",
        "### Affected members",
        "",
    ]
    affected = analysis.affected
    if affected.affected:
        lines += ["| member | why |", "|---|---|"]
        lines += [
            f"| {md(m.name)} | {'<br>'.join(md(r) for r in _reasons(m.reasons))} |"
            for m in affected.affected
        ]
    else:
        lines.append("None.")
    lines += ["", "### Labels", ""]
    lines += [f"- **{md(x.name)}**: {md(x.reason)}" for x in analysis.labels] or ["None."]
    lines += ["", "### Reviewers (CODEOWNERS)", ""]
    reviewers = [*analysis.reviewers.users, *(t for t in analysis.reviewers.teams)]
    lines.append(", ".join(md(r) for r in reviewers) or "None.")
    if analysis.reviewers.emails:
        lines.append(
            "Owners by email (not requested): "
            + ", ".join(md(e) for e in analysis.reviewers.emails)
        )
    lines += ["", "### Nox sessions worth running", ""]
    lines += [f"- **{md(s.name)}**: {md(s.reason)}" for s in analysis.sessions] or ["None."]
    if analysis.lock_diff is not None:
        lines += ["", render_lock_diff(analysis.lock_diff, "markdown")]
    if analysis.codeowners_errors:
        lines += ["", f"### {md(analysis.codeowners_source or 'CODEOWNERS')} errors", ""]
        lines += [f"- {md(str(e))}" for e in analysis.codeowners_errors]
    text = "\n".join(lines)
    if len(text) > COMMENT_LIMIT:
        text = (
            text[:COMMENT_LIMIT].rsplit("\n", 1)[0]
            + "\n\n(cut: the full analysis is in the job log)"
        )
    return text
