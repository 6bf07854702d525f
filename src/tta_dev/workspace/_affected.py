"""Affected members: which members a change reaches, and why.

A changed file belongs to the deepest member folder that contains it, and affects that
member and every member whose closure contains it; a file of the member's own tests or
docs, outside every package it ships, affects that member alone (``TestMap.own_file``). Files the rules of
``[tool.tta-dev.affected]`` name affect all members or none. A changed ``uv.lock`` is
read at both ends and affects exactly the members whose resolved closure changed; a
member's ``pyproject.toml`` that changed with it only in what the lock records
(dependencies, extras, groups, sources) affects that member, and its dependents only
through their closures.
When a change cannot be attributed (unknown base, shallow clone, a file no rule or
member claims), everything is affected and the result says why.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from tta_dev._safeio import InputError, quote, read_text
from tta_dev.workspace import _git
from tta_dev.workspace._diff import closure_changes, describe_change
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._graph import (
    PackageIds,
    WorkspaceGraph,
    build_graph,
    closure_bits,
    root_groups_closure,
)
from tta_dev.workspace._lock import Lockfile, parse_lock, read_lock_text
from tta_dev.workspace._model import PYPROJECT, Member, Workspace
from tta_dev.workspace._testmap import TestMap, git_lister, is_test_path
from tta_dev.workspace._toml import parse_toml

LOCK_FILE = "uv.lock"
ReasonKind = Literal["file", "member", "lock", "test", "all"]


@dataclass(frozen=True, order=True)
class Reason:
    """Why a member is affected.

    ``file``: ``subject`` changed in its folder (``detail`` ``tests`` or ``docs``: a file
    of its own tests or docs, which its dependents do not reach; ``locked``: its
    ``pyproject.toml``, changed only in what ``uv.lock`` records, so its dependents follow
    their locked closures); ``member``: it depends on member
    ``subject``, which is affected by a file; ``lock``: package ``subject`` changed in its
    resolved closure (``detail`` says how); ``test``: test file ``subject``, which no
    member owns, changed and makes the test files in ``detail`` run, which import the
    member (no dependents follow: see ``tta_dev.workspace._testmap``); ``all``: everything
    is affected (``subject`` says why).
    """

    kind: ReasonKind
    subject: str
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "file":
            if self.detail == "locked":
                return (
                    f"changed file {self.subject} (only what {LOCK_FILE} records:"
                    " dependents by their locked closures)"
                )
            own = f" (its own {self.detail}: dependents unaffected)" if self.detail else ""
            return f"changed file {self.subject}{own}"
        if self.kind == "member":
            return f"depends on member {self.subject}"
        if self.kind == "lock":
            return f"lock change in {self.subject}: {self.detail}"
        if self.kind == "test":
            runs = f" (runs {self.detail})" if self.detail and self.detail != self.subject else ""
            return f"changed test file {self.subject}{runs}"
        return f"everything: {self.subject}"


@dataclass(frozen=True)
class AffectedMember:
    """An affected member and its reasons."""

    name: str
    path: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class AffectedResult:
    """The affected members (sorted by name) of a change.

    ``all`` is true when everything is affected, for the reasons in ``why_all``.
    ``ignored`` lists changed files that affect no member (a ``none`` rule, outside the
    workspace). ``base``/``head`` are the commits compared, when git was asked.
    """

    affected: tuple[AffectedMember, ...]
    all: bool
    why_all: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    base: str | None = None
    head: str | None = None

    @property
    def names(self) -> frozenset[str]:
        """The names of the affected members."""
        return frozenset(m.name for m in self.affected)


@dataclass(frozen=True)
class LockChange:
    """The two ends of a changed ``uv.lock``; ``None`` where one is missing or unusable.

    ``manifests`` holds both ends' texts (``None``: absent or unreadable) of the member
    ``pyproject.toml`` files that changed with it, by workspace-relative path.
    """

    old: Lockfile | None
    new: Lockfile | None
    why_unusable: str | None = None
    manifests: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=dict[str, tuple[str | None, str | None]]
    )


#: What a member's ``pyproject.toml`` says that ``uv.lock`` records, resolved: its
#: requirements. A change to these alone reaches another member only through its locked
#: closure, which the lock change compares. (Not the version: a dependent can read it at
#: run time, whatever its closure.)
LOCKED_KEYS: tuple[tuple[str, ...], ...] = (
    ("project", "dependencies"),
    ("project", "optional-dependencies"),
    ("dependency-groups",),
    ("tool", "uv", "sources"),
)


def locked_only(old: str, new: str) -> bool:
    """Whether two texts of a member's ``pyproject.toml`` differ only in ``LOCKED_KEYS``
    (false when either is not valid TOML)."""
    try:
        before, after = parse_toml(old, PYPROJECT), parse_toml(new, PYPROJECT)
    except WorkspaceError:
        return False
    for key in LOCKED_KEYS:
        before, after = _without(before, key), _without(after, key)
    return before == after


def _without(data: Mapping[str, Any], key: tuple[str, ...]) -> Mapping[str, Any]:
    """``data`` without the value at dotted ``key`` (a copy only where it differs)."""
    head, rest = key[0], key[1:]
    if head not in data:
        return data
    out = dict(data)
    if not rest:
        del out[head]
    elif isinstance(out[head], dict):
        out[head] = _without(cast(Mapping[str, Any], out[head]), rest)
    return out


def manifest_ends(
    workspace: Workspace,
    repo: Path,
    paths: Iterable[str],
    base: str,
    head: str | None,
) -> dict[str, tuple[str | None, str | None]]:
    """Both ends (commit ``base``; ``head``, or the work tree) of each member
    ``pyproject.toml`` among workspace-relative ``paths``; ``None`` where unreadable."""
    prefix = Path(posixpath.relpath(workspace.root, repo)).as_posix()
    out: dict[str, tuple[str | None, str | None]] = {}
    for path in paths:
        owner = workspace.owner_of(path)
        if owner is None or owner.path == "." or path != f"{owner.path}/{PYPROJECT}":
            continue
        at_repo = path if prefix == "." else f"{prefix}/{path}"
        out[path] = (_text_at(repo, base, at_repo), _text_at(repo, head, at_repo))
    return out


def _text_at(repo: Path, commit: str | None, path: str) -> str | None:
    try:
        if commit is None:
            return read_text(repo / path, what=path) if os.path.lexists(repo / path) else None
        return _git.file_at(repo, commit, path)
    except (WorkspaceError, InputError):
        return None


def _locked_member_file(member: Member, path: str, lock_change: LockChange | None) -> str:
    """``locked`` when ``path`` is ``member``'s ``pyproject.toml`` and both ends, with both
    ends of the lock, are known and differ only in what the lock records."""
    if lock_change is None or lock_change.old is None or lock_change.new is None:
        return ""
    if member.path == "." or path != f"{member.path}/{PYPROJECT}":
        return ""
    old, new = lock_change.manifests.get(path, (None, None))
    return "locked" if old is not None and new is not None and locked_only(old, new) else ""


def affected_members(
    graph: WorkspaceGraph,
    changed_paths: Iterable[str],
    *,
    lock_change: LockChange | None = None,
    runtime_only: bool = False,
    test_map: TestMap | None = None,
) -> AffectedResult:
    """The members ``changed_paths`` (``/``-separated, relative to the workspace root) affect.

    ``lock_change`` gives both ends of ``uv.lock`` when it is among the paths; without it
    a changed lock affects everything. ``runtime_only`` follows base dependencies only.
    Test files no member owns are attributed by ``test_map`` (default: the work tree's).
    """
    workspace = graph.workspace
    paths = tuple(sorted({p for p in (_clean(p) for p in changed_paths) if p}))
    direct: dict[str, list[Reason]] = {}
    why_all: list[str] = []
    ignored: list[str] = []
    lock_changed = False
    tests: list[str] = []
    mapper = test_map or TestMap(workspace)
    locked = lock_change if LOCK_FILE in paths else None
    for path in paths:
        if path == LOCK_FILE:
            lock_changed = True
            continue
        rule = workspace.rules.rule_for(path)
        if rule is not None:
            source = "default rule" if rule.default else "[tool.tta-dev.affected]"
            if rule.action == "all":
                why_all.append(f"{path} matches `{rule.pattern}` ({source}: all)")
            else:
                ignored.append(path)
            continue
        owner = workspace.owner_of(path)
        if owner is not None:
            own = mapper.own_file(owner, path) or _locked_member_file(owner, path, locked)
            direct.setdefault(owner.name, []).append(Reason("file", path, own))
        elif path.startswith("../"):
            ignored.append(path)
        elif is_test_path(path):
            tests.append(path)
        else:
            why_all.append(f"{path} belongs to no member and matches no rule")

    reasons: dict[str, set[Reason]] = {m.name: set() for m in workspace.members}
    if tests:
        for path in tests:
            runs, why = mapper.attribute(path)
            if why is not None:
                why_all.append(why)
            elif not runs:
                ignored.append(path)  # deleted, and nothing left imports it
            for member, files in runs.items():
                if member in reasons:
                    reasons[member].add(Reason("test", path, ", ".join(sorted(files))))
    if lock_changed:
        if lock_change is None or lock_change.old is None or lock_change.new is None:
            detail = lock_change.why_unusable if lock_change else None
            why_all.append(f"{LOCK_FILE} changed and {detail or 'its old version is unknown'}")
        else:
            for member, lock_reasons in _lock_reasons(
                workspace, lock_change.old, lock_change.new, runtime_only
            ).items():
                reasons[member].update(lock_reasons)
            if not runtime_only:
                unclaimed = _tests_importing_changes(
                    mapper, lock_change.old, lock_change.new, reasons
                )
                if unclaimed and not any(reasons.values()) and not direct:
                    why_all.extend(unclaimed)
    for name, file_reasons in direct.items():
        reasons[name].update(file_reasons)
        if all(r.detail for r in file_reasons):
            continue  # its own tests or docs, or what the lock compares: not its dependents
        for dependent in graph.dependents_closure(name, runtime_only=runtime_only):
            if dependent != name:
                reasons[dependent].add(Reason("member", name))

    everything = bool(why_all)
    by_name = {m.name: m for m in workspace.members}
    affected = tuple(
        AffectedMember(
            name,
            by_name[name].path,
            tuple(sorted(found))
            if not everything
            else (*(Reason("all", w) for w in why_all), *sorted(found)),
        )
        for name, found in sorted(reasons.items())
        if found or everything
    )
    return AffectedResult(
        affected=affected,
        all=everything,
        why_all=tuple(why_all),
        changed_files=paths,
        ignored=tuple(ignored),
    )


def _tests_importing_changes(
    mapper: TestMap, old: Lockfile, new: Lockfile, reasons: dict[str, set[Reason]]
) -> list[str]:
    """Root tests that import a third-party package the lock changed run, in the jobs of
    the members they import, whether or not those members' closures hold the package: a
    test's own imports are what it runs with (graphrag's config test imports pydantic,
    which neither of its members locks). Returns why, for tests that import no member."""
    from tta_dev.workspace._imports import distribution_modules

    members = old.member_names | new.member_names
    changes = {
        name: describe_change(was, now)
        for name, (was, now) in closure_changes(
            frozenset(p.ref for p in old.packages), frozenset(p.ref for p in new.packages)
        ).items()
        if name not in members
    }
    by_module: dict[str, str] = {}
    for name in changes:
        for module in distribution_modules(name):
            by_module.setdefault(module, name)
    if not by_module:
        return []
    unclaimed: list[str] = []
    for path, (runs, modules) in mapper.importers(frozenset(by_module)).items():
        imported = sorted({by_module[m] for m in modules})
        detail = "; ".join(f"{name} {changes[name]}" for name in imported)
        if runs is None:
            unclaimed.append(f"{path} imports {detail} and no member")
            continue
        for member in runs:
            if member in reasons:
                reasons[member].add(Reason("lock", path, f"the test imports {detail}"))
    return unclaimed


def _clean(path: str) -> str:
    return posixpath.normpath(path) if path else ""


#: Why a change in the root's dependency groups affects every member.
_ROOT_GROUPS = "root dependency groups: every member's tests run with them"


def _lock_reasons(
    workspace: Workspace, old: Lockfile, new: Lockfile, runtime_only: bool
) -> dict[str, list[Reason]]:
    out: dict[str, list[Reason]] = {}
    names = [m.name for m in workspace.members]
    ids = PackageIds()
    old_bits = closure_bits(old, names, ids, runtime_only=runtime_only)
    new_bits = closure_bits(new, names, ids, runtime_only=runtime_only)
    for member in workspace.members:
        before_bits, after_bits = old_bits[member.name], new_bits[member.name]
        if before_bits == after_bits:
            continue
        before = ids.decode(before_bits & ~after_bits)
        after = ids.decode(after_bits & ~before_bits)
        if not after_bits:
            out[member.name] = [Reason("lock", member.name, f"not in the new {LOCK_FILE}")]
            continue
        if not before_bits:
            out[member.name] = [Reason("lock", member.name, f"not in the old {LOCK_FILE}")]
            continue
        out[member.name] = [
            Reason("lock", name, describe_change(was, now))
            for name, (was, now) in closure_changes(before, after).items()
        ]
    if not runtime_only:
        shared = [
            Reason("lock", name, f"{describe_change(was, now)} ({_ROOT_GROUPS})")
            for name, (was, now) in closure_changes(
                root_groups_closure(old), root_groups_closure(new)
            ).items()
        ]
        for member in workspace.members if shared else ():
            out.setdefault(member.name, []).extend(shared)
    return out


def paths_in_workspace(
    workspace: Workspace, paths: Iterable[str], repository: Path | None = None
) -> tuple[str, ...]:
    """Repository-relative (or absolute) paths as workspace-relative ones.

    Files in the repository but outside the workspace come back as ``../...``; a path
    outside the repository is a ``WorkspaceError``. Paths are taken as given (a name may
    hold spaces or newlines); empty ones are skipped.
    """
    repo = (repository or _git.repository_root(workspace.root) or workspace.root).resolve()
    prefix = Path(posixpath.relpath(workspace.root, repo)).as_posix()
    out: list[str] = []
    for text in paths:
        if not text:
            continue
        candidate = Path(text)
        absolute = candidate if candidate.is_absolute() else repo / candidate
        normal = posixpath.normpath(absolute.as_posix())
        relative = _relative_to(normal, repo.as_posix())
        if relative is None:
            raise WorkspaceError(
                f"{quote(text)} is outside the repository {repo}: pass paths relative to it"
            )
        out.append(relative if prefix == "." else posixpath.relpath(relative, prefix))
    return tuple(out)


def _relative_to(path: str, folder: str) -> str | None:
    """``path`` relative to ``folder`` (both normalised, ``/``-separated), else ``None``.

    Strings, not ``PurePath.relative_to``/``is_relative_to``: on Python 3.13 those test
    ``folder in path.parents``, building every parent, which is quadratic in the depth
    (a 60,000-folder path took 42 s there).
    """
    if path == folder:
        return "."
    stem = folder if folder.endswith("/") else folder + "/"
    return path[len(stem) :] if path.startswith(stem) else None


def affected_since(
    workspace: Workspace,
    base: str,
    head: str | None = None,
    *,
    runtime_only: bool = False,
    graph: WorkspaceGraph | None = None,
    test_map: TestMap | None = None,
) -> AffectedResult:
    """Members affected between the merge base of ``base`` and ``head`` and ``head``.

    ``head`` ``None`` means the work tree (uncommitted and untracked files included).
    An unknown ``base`` or a shallow clone without a merge base affects everything.
    """
    repo = _git.repository_root(workspace.root)
    if repo is None:
        raise WorkspaceError(
            f"{workspace.root} is not in a git repository: pass the changed files with --files"
        )
    # The head's lock is read once: the graph and the lock change share it.
    head_lock: tuple[Lockfile, str] | None = None
    lock_known = graph is None
    if graph is None:
        head_lock = _lock_and_text(workspace, repo, head)
        graph = build_graph(workspace, head_lock[0] if head_lock else None)
    base_commit = _git.resolve_commit(repo, base)
    head_commit = _git.resolve_commit(repo, head or "HEAD")
    why: str | None = None
    if base_commit is None:
        why = f"base {quote(base)} is not in this clone" + _shallow_hint(repo)
    elif head_commit is None:
        why = (
            f"head {quote(head)} is not in this clone"
            if head
            else "the repository has no commits yet"
        )
    else:
        start = _git.merge_base(repo, base_commit, head_commit)
        if start is None:
            why = (
                f"{quote(base)} and {quote(head) if head else 'HEAD'} share no history here"
                + _shallow_hint(repo)
            )
        else:
            changed = _git.changed_files(repo, start, head_commit if head else None)
            paths = paths_in_workspace(workspace, changed, repo)
            lock_change = None
            if LOCK_FILE in paths:
                head_ref = head_commit if head else None
                if not lock_known:
                    head_lock = _lock_and_text(workspace, repo, head_ref)
                lock_change = _lock_change(workspace, repo, start, head_lock)
                lock_change = replace(
                    lock_change,
                    manifests=manifest_ends(
                        workspace, repo, paths, start, head_commit if head else None
                    ),
                )
            if test_map is None and head:
                test_map = TestMap(workspace, git_lister(workspace, repo, head_commit))
            result = affected_members(
                graph,
                paths,
                lock_change=lock_change,
                runtime_only=runtime_only,
                test_map=test_map,
            )
            return replace(result, base=start, head=head_commit if head else None)
    return everything(workspace, why)


def current_lock(
    workspace: Workspace, repo: Path | None = None, head: str | None = None
) -> Lockfile | None:
    """The workspace's ``uv.lock`` in the work tree (or at git revision ``head``), if any."""
    found = _lock_and_text(workspace, repo, head)
    return found[0] if found is not None else None


def _lock_and_text(
    workspace: Workspace, repo: Path | None, head: str | None
) -> tuple[Lockfile, str] | None:
    """``current_lock`` and the text it was parsed from."""
    if head is not None and repo is not None:
        commit = _git.resolve_commit(repo, head)
        lock_path = Path(posixpath.relpath(workspace.root / LOCK_FILE, repo)).as_posix()
        text = _git.file_at(repo, commit, lock_path) if commit else None
        where = f"{LOCK_FILE} at {quote(head)}"
    else:
        path = workspace.root / LOCK_FILE
        # Only a missing lock is "no lock": a FIFO or folder there is an error.
        text = read_lock_text(path) if os.path.lexists(path) else None
        where = str(path)
    return (parse_lock(text, where), text) if text is not None else None


def _shallow_hint(repo: Path) -> str:
    if _git.is_shallow(repo):
        return " (shallow clone: fetch full history, e.g. actions/checkout with fetch-depth: 0)"
    return " (fetch it first)"


def everything(workspace: Workspace, why: str) -> AffectedResult:
    """Every member affected, for one reason."""
    return AffectedResult(
        affected=tuple(
            AffectedMember(m.name, m.path, (Reason("all", why),)) for m in workspace.members
        ),
        all=True,
        why_all=(why,),
    )


def _lock_change(
    workspace: Workspace, repo: Path, base: str, new: tuple[Lockfile, str] | None
) -> LockChange:
    """The lock at commit ``base`` against ``new``, the head's lock and its text."""
    if new is None:
        return LockChange(None, None, "was deleted")
    new_lock, new_text = new
    lock_path = Path(posixpath.relpath(workspace.root / LOCK_FILE, repo)).as_posix()
    try:
        old_text = _git.file_at(repo, base, lock_path)
    except WorkspaceError as exc:  # too large or not UTF-8: as unreadable as invalid TOML
        old_text, old_error = "", exc
    else:
        old_error = None
    if old_text is None:
        return LockChange(None, new_lock, "did not exist at the base")
    try:
        if old_error is not None:
            raise old_error
        # Package tables the change left alone are taken from the head's lock.
        old = parse_lock(old_text, f"{LOCK_FILE} at {base[:12]}", reuse=(new_text, new_lock))
    except WorkspaceError as exc:
        return LockChange(None, new_lock, f"its base version is unreadable ({exc})")
    return LockChange(old, new_lock)
