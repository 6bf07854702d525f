"""Replay history: what each past commit would have run, ours against two baselines.

For each first-parent commit C (against its first parent P): the members a full run tests
(all the members C has), the members this engine selects (lock-aware, test files attributed by
their imports, a member's own test and doc files kept from its dependents), and the members a paths-only selector selects (a changed file runs its
member and its dependents; ``uv.lock`` or any file no member owns runs everything: what
path-filter CI does). Git only: no test runs.

Each commit is read in its own layout (``_layout``: the members, rules and import names it
had; a member folder renamed in C keeps its old paths); a commit whose workspace cannot be
read keeps today's. Cost is bounded: one ``git ls-tree`` per commit, a model per set of
``pyproject.toml`` files, import names per member per set of its files; each distinct
``uv.lock`` blob is parsed once and one graph built per model and lock; each test file
blob is parsed once across all revisions.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from tta_dev._safeio import quote
from tta_dev.workspace import _git
from tta_dev.workspace._affected import (
    LOCK_FILE,
    LockChange,
    affected_members,
    manifest_ends,
    paths_in_workspace,
)
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._graph import WorkspaceGraph, build_graph
from tta_dev.workspace._layout import Layout, Layouts, layout_of, renamed_owner
from tta_dev.workspace._lock import Lockfile, parse_lock
from tta_dev.workspace._model import Member, Workspace
from tta_dev.workspace._testmap import FileImports, TestMap, git_lister

MAX_COMMITS = 10_000


@dataclass(frozen=True)
class ReplayCommit:
    """One commit: what each selector runs (member names, sorted)."""

    commit: str
    subject: str
    changed: int
    touched: tuple[str, ...]
    ours: tuple[str, ...]
    ours_all: bool
    paths_only: tuple[str, ...]
    paths_all: bool
    why_all: tuple[str, ...]
    members: int = 0
    """The jobs of a full run: the members the workspace has at this commit."""

    @property
    def single_member(self) -> bool:
        """The commit changes files of exactly one member (other files may change too)."""
        return len(self.touched) == 1


@dataclass(frozen=True)
class ReplaySummary:
    """Member jobs selected over a set of commits, as a share of a full run."""

    commits: int
    full_jobs: int
    ours_jobs: int
    paths_jobs: int
    ours_everything: int
    paths_everything: int

    @property
    def ours_share(self) -> float:
        return self.ours_jobs / self.full_jobs if self.full_jobs else 0.0

    @property
    def paths_share(self) -> float:
        return self.paths_jobs / self.full_jobs if self.full_jobs else 0.0


@dataclass(frozen=True)
class ReplayReport:
    """The replayed commits (newest first) of a workspace with ``members`` members.

    ``core`` names the members every other member depends on (at the newest commit's
    lock): a dependency-correct selector runs everything when one of them changes, so the
    share on single-member commits cannot go below the share of commits touching them.
    """

    members: int
    commits: tuple[ReplayCommit, ...]
    core: tuple[str, ...] = ()
    """``members``: at the newest commit; each commit's full run is its own ``members``."""

    def summary(self, *, single_member: bool = False, outside_core: bool = False) -> ReplaySummary:
        """Over all commits, the single-member ones, or (``outside_core``) the single-member
        ones whose member is not a core member."""
        core = set(self.core) if outside_core else set[str]()
        chosen = [
            c
            for c in self.commits
            if (c.single_member or not (single_member or outside_core))
            and not core.intersection(c.touched)
        ]
        return ReplaySummary(
            commits=len(chosen),
            full_jobs=sum(c.members for c in chosen),
            ours_jobs=sum(len(c.ours) for c in chosen),
            paths_jobs=sum(len(c.paths_only) for c in chosen),
            ours_everything=sum(c.ours_all for c in chosen),
            paths_everything=sum(c.paths_all for c in chosen),
        )


class _NoTestAttribution(TestMap):
    """The paths-only baseline: a test file no member owns runs everything, and a
    member's own test or doc file runs its dependents too."""

    def attribute(self, path: str) -> tuple[dict[str, set[str]], str | None]:
        return {}, f"{path} belongs to no member and matches no rule"

    def own_file(self, member: Member, path: str) -> str | None:
        return None


def first_parent_commits(
    repo: Path, *, last: int | None = None, since: str | None = None, head: str = "HEAD"
) -> list[tuple[str, str, str | None]]:
    """``(commit, subject, first parent)`` newest first: the last N, or those after REV."""
    _git.check_ref(head)
    # A tree, a range or a missing ref would walk nothing (or fail in git log): say so.
    if _git.resolve_commit(repo, head) is None:
        raise WorkspaceError(f"--head {quote(head)} is not a commit in this clone")
    spec = head
    if since is not None:
        _git.check_ref(since)
        if _git.resolve_commit(repo, since) is None:
            raise WorkspaceError(f"--since {since!r} is not in this clone: fetch it first")
        spec = f"{since}..{head}"
    count = min(last if last is not None else MAX_COMMITS, MAX_COMMITS)
    out = _git.run(
        repo,
        "log",
        "--first-parent",
        f"--max-count={count}",
        "--format=%H%x00%P%x00%s%x00",
        "--end-of-options",
        spec,
        "--",
    )
    fields = out.decode("utf-8", "replace").split("\0")
    commits: list[tuple[str, str, str | None]] = []
    for index in range(0, len(fields) - 2, 3):
        commit, parents, subject = (f.strip() for f in fields[index : index + 3])
        if not parents and _shallow_boundary(repo, commit):
            raise WorkspaceError(
                f"history stops at {commit[:12]} in this shallow clone: fetch the rest"
                " (git fetch --unshallow) or replay fewer commits"
            )
        commits.append((commit, subject, parents.split()[0] if parents else None))
    return commits


def _shallow_boundary(repo: Path, commit: str) -> bool:
    """Whether ``commit`` has parents this (shallow) clone does not hold: git log shows
    none for it, but the commit object still names them."""
    text = _git.run(repo, "cat-file", "commit", commit).decode("utf-8", "replace")
    header = text.split("\n\n", 1)[0]
    return any(line.startswith("parent ") for line in header.splitlines())


def replay(
    workspace: Workspace,
    *,
    last: int | None = None,
    since: str | None = None,
    head: str = "HEAD",
) -> ReplayReport:
    """Replay the first-parent history of ``head`` (``last`` commits, or after ``since``)."""
    if (last is None) == (since is None):
        raise WorkspaceError("pass --last N or --since REV")
    if last is not None and last < 1:
        raise WorkspaceError(f"--last must be at least 1, not {last}")
    repo = _git.repository_root(workspace.root)
    if repo is None:
        raise WorkspaceError(f"{workspace.root} is not in a git repository")
    with Layouts(repo, workspace.root) as layouts:
        rows = _replay_rows(
            workspace, repo, layouts, first_parent_commits(repo, last=last, since=since, head=head)
        )
    if not rows:
        # An empty window would print "ours 0.0% of member jobs" beside "all 100%": a
        # saving measured on nothing.
        window = f"after {quote(since)}" if since is not None else f"in the last {last}"
        raise WorkspaceError(
            f"no commit with a parent {window} on the first-parent history of {quote(head)}:"
            " nothing to replay (widen --last or pass an older --since)"
        )
    newest, core = rows[0]
    return ReplayReport(newest.members, tuple(row for row, _ in rows), core)


def _replay_rows(
    today: Workspace,
    repo: Path,
    layouts: Layouts,
    commits: list[tuple[str, str, str | None]],
) -> list[tuple[ReplayCommit, tuple[str, ...]]]:
    """Each commit against its first parent, in the layout it has (today's when its own
    cannot be read), with the core members of that layout's graph."""
    current = layout_of(today)
    parses: dict[str, FileImports] = {}
    locks: dict[str, Lockfile | None] = {}
    graphs: dict[tuple[int, str | None], WorkspaceGraph] = {}
    lock_path = Path(posixpath.relpath(today.root / LOCK_FILE, repo)).as_posix()

    def lock_at(commit: str) -> tuple[str | None, Lockfile | None]:
        found = _git.run_optional(repo, "rev-parse", "--verify", "--quiet", f"{commit}:{lock_path}")
        blob = found.strip() or None
        if blob is None:
            return None, None
        if blob not in locks:
            try:
                text = _git.run(repo, "cat-file", "blob", blob).decode("utf-8", "replace")
                locks[blob] = parse_lock(text, f"{LOCK_FILE} at {commit[:12]}")
            except WorkspaceError:
                locks[blob] = None
        return blob, locks[blob]

    def graph_for(layout: Layout, blob: str | None, lock: Lockfile | None) -> WorkspaceGraph:
        # Commits with the same pyproject.toml files share a model, and so a graph per lock.
        key = (layout.model, blob)
        if key not in graphs:
            graphs[key] = build_graph(layout.workspace, lock)
        return graphs[key]

    rows: list[tuple[ReplayCommit, tuple[str, ...]]] = []
    for commit, subject, parent in commits:
        if parent is None:
            continue  # the root commit: nothing to compare with
        layout = layouts.at(commit) or current
        workspace = layout.workspace
        before = (layouts.at(parent) or current).workspace
        changed = _git.changed_files(repo, parent, commit)
        paths = tuple(
            renamed_owner(p, workspace, before) or p
            for p in paths_in_workspace(workspace, changed, repo)
        )
        new_blob, new_lock = lock_at(commit)
        graph = graph_for(layout, new_blob, new_lock)
        lock_change = None
        if LOCK_FILE in paths:
            _, old_lock = lock_at(parent)
            lock_change = LockChange(
                old_lock,
                new_lock,
                "is missing or unreadable at one end",
                manifest_ends(workspace, repo, paths, parent, commit),
            )
        tests = TestMap(
            workspace, git_lister(workspace, repo, commit), layout.names, parses, layout.shipped
        )
        ours = affected_members(graph, paths, lock_change=lock_change, test_map=tests)
        baseline = affected_members(
            graph, paths, test_map=_NoTestAttribution(workspace, import_names=layout.names)
        )
        touched = sorted(
            {o.name for p in paths if (o := workspace.owner_of(p)) is not None and o.path != "."}
        )
        row = ReplayCommit(
            commit=commit,
            subject=subject,
            changed=len(paths),
            touched=tuple(touched),
            ours=tuple(sorted(ours.names)),
            ours_all=ours.all,
            paths_only=tuple(sorted(baseline.names)),
            paths_all=baseline.all,
            why_all=ours.why_all,
            members=len(workspace.members),
        )
        rows.append((row, core_members(graph) if not rows else ()))
    return rows


def core_members(graph: WorkspaceGraph) -> tuple[str, ...]:
    """The members every other member depends on (sorted); none in a one-member workspace."""
    names = {m.name for m in graph.workspace.members}
    if len(names) < 2:
        return ()
    return tuple(sorted(n for n in names if graph.dependents_closure(n) >= names))
