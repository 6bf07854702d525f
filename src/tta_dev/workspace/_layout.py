"""The workspace as a past commit has it: its members, rules and what each member ships.

Replay compares each commit with its parent; the members a full run tests, the folders
each member owns and the import names root tests are attributed by are those of that
commit, not of today's work tree (a member added since would count as a job it could not
have had; a member's old folder, after a rename, would belong to no member).

Only two things decide it: the ``pyproject.toml`` files (members, rules, sources) and,
for import names and shipped paths, where ``.py`` files are. A skeleton of exactly those
(``pyproject.toml`` with its content, every ``.py`` file empty) is kept in a temporary
folder and brought to each commit by its differences (a commit and its parent differ in a
few files), then read through the same ``load_workspace``, ``import_names`` and
``shipped_paths`` as the work tree. The model is read once per set of ``pyproject.toml``
files, and a member's import names once per set of files in its folder: rebuilding all of
it for every commit took 154 s where the rest of livekit/agents' replay takes 11.
"""

from __future__ import annotations

import bisect
import dataclasses
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tta_dev._safeio import InputError
from tta_dev._signals import sigterm_held
from tta_dev.workspace import _git
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._model import PYPROJECT, Member, Workspace, load_workspace

#: A skeleton larger than this is not written: the commit keeps today's layout.
MAX_SKELETON_FILES = 100_000


@dataclass(frozen=True)
class Layout:
    """A workspace model rooted at the real workspace folder, with its members' import
    names and shipped paths. ``model`` tells models apart (equal: the same members and
    dependencies, so one graph per lock serves both)."""

    workspace: Workspace
    names: Mapping[str, tuple[str, ...]]
    shipped: Mapping[str, tuple[str, ...] | None]
    model: int = 0


def layout_of(workspace: Workspace) -> Layout:
    """The layout of the work tree's workspace (import names read from its folders)."""
    found = {m.name: _names_and_shipped(workspace, m) for m in workspace.members}
    return Layout(
        workspace,
        {name: names for name, (names, _) in found.items()},
        {name: shipped for name, (_, shipped) in found.items()},
        model=-1,
    )


def _names_and_shipped(
    workspace: Workspace, member: Member
) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """``member``'s import names and shipped paths, from one walk of its folders."""
    from tta_dev.workspace._imports import import_packages, shipped_paths

    packages = import_packages(workspace, member)
    return tuple(p.name for p in packages), shipped_paths(workspace, member, packages)


Skeleton = tuple[tuple[str, str], ...]


class Layouts:
    """Layouts by commit; ``None`` where a commit has no readable uv workspace.

    ``close()`` removes the temporary folder (also a context manager).
    """

    def __init__(self, repo: Path, workspace_root: Path) -> None:
        self._repo = repo
        self._root = workspace_root
        prefix = Path(posixpath.relpath(workspace_root, repo)).as_posix()
        self._prefix = "" if prefix == "." else f"{prefix}/"
        self._by_commit: dict[str, Layout | None] = {}
        self._models: dict[Skeleton, tuple[int, Workspace] | None] = {}
        self._names: dict[
            tuple[str, Skeleton, tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...] | None]
        ] = {}
        self._blobs: dict[str, bytes] = {}
        self._folder: Path | None = None
        self._on_disk: dict[str, str] = {}

    def __enter__(self) -> Layouts:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def at(self, commit: str) -> Layout | None:
        """The layout at ``commit``; ``None`` when it has no readable uv workspace there."""
        if commit not in self._by_commit:
            self._by_commit[commit] = self._layout(commit)
        return self._by_commit[commit]

    def _layout(self, commit: str) -> Layout | None:
        skeleton = self._skeleton(commit)
        if skeleton is None:
            return None
        try:
            folder = self._sync(skeleton)
            projects = tuple(e for e in skeleton if e[1])
            if projects not in self._models:
                self._models[projects] = self._model(folder, len(self._models))
            found = self._models[projects]
            if found is None:
                return None
            model, workspace = found
            names: dict[str, tuple[str, ...]] = {}
            shipped: dict[str, tuple[str, ...] | None] = {}
            for member in workspace.members:
                # What import_packages reads: the member's files (its pyproject.toml among
                # them) and the member folders nested in it. A version bump elsewhere, a
                # new model, changes none of it.
                nested = tuple(
                    m.path for m in workspace.members if m.path.startswith(f"{member.path}/")
                )
                key = (member.path, _under(skeleton, member.path), nested)
                if key not in self._names:
                    self._names[key] = _names_and_shipped(workspace, member)
                names[member.name], shipped[member.name] = self._names[key]
        except (WorkspaceError, InputError, OSError):
            return None  # a commit's broken pyproject.toml: it keeps today's layout
        return Layout(dataclasses.replace(workspace, root=self._root), names, shipped, model)

    def _model(self, folder: Path, index: int) -> tuple[int, Workspace] | None:
        try:
            workspace = load_workspace(folder)
        except (WorkspaceError, InputError):
            return None
        # Found above the skeleton (its root is no uv project): not this commit's.
        return (index, workspace) if workspace.root == folder else None

    def _skeleton(self, commit: str) -> Skeleton | None:
        """``(workspace-relative path, blob)`` of each ``pyproject.toml``, ``(path, "")`` of
        each ``.py`` file, sorted; ``None`` when there are too many."""
        out: list[tuple[str, str]] = []
        for full, blob in _git.files_at(self._repo, commit, self._prefix or "."):
            path = full[len(self._prefix) :]
            name = posixpath.basename(path)
            if name == PYPROJECT:
                out.append((path, blob))
            elif name.endswith(".py"):
                out.append((path, ""))
            if len(out) > MAX_SKELETON_FILES:
                return None
        return tuple(sorted(out))

    def _sync(self, skeleton: Skeleton) -> Path:
        """The skeleton folder, holding exactly ``skeleton`` (by its differences)."""
        if self._folder is None:
            with sigterm_held():  # made and recorded (for close) as one step
                self._folder = Path(tempfile.mkdtemp(prefix="tta-replay-"))
        folder = self._folder
        wanted = dict(skeleton)
        for path in [p for p in self._on_disk if p not in wanted]:
            (folder / path).unlink()
            del self._on_disk[path]
            _prune(folder, posixpath.dirname(path))
        for path, blob in skeleton:
            if self._on_disk.get(path) != blob:
                target = folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self._blob(blob) if blob else b"")
                self._on_disk[path] = blob
        return folder

    def _blob(self, blob: str) -> bytes:
        if blob not in self._blobs:
            self._blobs[blob] = _git.run(self._repo, "cat-file", "blob", blob)
        return self._blobs[blob]


def _under(skeleton: Skeleton, folder: str) -> Skeleton:
    """The entries inside ``folder`` (all of them for the root, ``.``)."""
    if folder == ".":
        return skeleton
    prefix = f"{folder}/"
    start = bisect.bisect_left(skeleton, (prefix, ""))
    end = start
    while end < len(skeleton) and skeleton[end][0].startswith(prefix):
        end += 1
    return skeleton[start:end]


def _prune(root: Path, folder: str) -> None:
    """Remove ``folder`` and its parents while they are empty: a folder a commit no longer
    has must not look like one (an empty member folder is no member)."""
    while folder:
        try:
            (root / folder).rmdir()
        except OSError:
            return  # not empty
        folder = posixpath.dirname(folder)


def renamed_owner(path: str, now: Workspace, before: Workspace) -> str | None:
    """``path`` moved into the folder its member has in ``now``, when ``now`` gives it no
    member of its own but ``before`` (the parent commit) did and that member is still there
    under another folder (a member folder renamed); else ``None``."""
    owner = now.owner_of(path)
    if owner is not None and owner.path != ".":
        return None
    old = before.owner_of(path)
    if old is None or old.path == "." or old.name not in now.names:
        return None
    new = now.member(old.name)
    if new.path == old.path or new.path == ".":
        return None
    return new.path + path[len(old.path) :]
