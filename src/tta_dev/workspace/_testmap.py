"""Tests no member owns (a root ``tests/``), attributed to the members they import.

The rule, for a changed ``.py`` file that no member folder holds and no
``[tool.tta-dev.affected]`` rule names, inside a test tree (a folder named ``tests``,
``test`` or ``benchmarks``, or a ``test_*.py``/``*_test.py`` file):

- the files that must run are the file itself and every file of its test tree that
  imports it, directly or through other files of the tree (``from .fake_llm import``,
  ``from tests.utils import``, ``import helpers``);
- a ``conftest.py`` or ``__init__.py`` is loaded for every file at and below its folder:
  all of those must run;
- each file to run is attributed to the members it imports (``ast``, the member's import
  names, longest dotted prefix; ``from livekit.plugins import openai`` counts as
  ``livekit.plugins.openai``; string literals given to ``importlib.import_module``,
  ``__import__`` and ``pytest.importorskip`` count too), through the local files it
  imports and, when it imports no member itself, the ``conftest.py`` files above it;
- when a file to run cannot be read or parsed, imports no member, or the tree is larger
  than the bounds (``MAX_FILES`` files, ``MAX_BYTES`` each), the change stays
  unattributable: everything is affected.

A changed test file affects the members it is attributed to (reason ``test``), not their
dependents: the test must run, the members' code did not change. The same holds inside a
member (``own_file``): a file of its own test tree or docs, outside every package it ships,
affects that member alone, since its dependents reach it only through what it ships. A member's job runs the
test because the test imports the member (``members_for_file``, used by the pytest
plugin's ``--affected-since``).
"""

from __future__ import annotations

import ast
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tta_dev.workspace._model import Member, Workspace

TEST_FOLDERS = frozenset({"tests", "test", "benchmarks"})
DOC_FOLDERS = frozenset({"docs", "doc"})
DOC_SUFFIXES = (".md", ".rst")
MAX_FILES = 5000
MAX_BYTES = 1 << 20
_TREE_WIDE = frozenset({"conftest.py", "__init__.py"})
_IMPORT_CALLS = frozenset({"import_module", "__import__", "importorskip"})


def is_test_path(path: str) -> bool:
    """Whether workspace-relative ``path`` is a Python file of a test tree."""
    if not path.endswith(".py") or path.startswith("../"):
        return False
    parts = path.split("/")
    name = parts[-1]
    return (
        any(p in TEST_FOLDERS for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def own_kind(relative: str) -> str | None:
    """``tests`` or ``docs`` when member-relative ``relative`` is, by its path, a file of the
    member's own test tree or documentation; ``None`` otherwise."""
    parts = relative.split("/")
    folders, name = parts[:-1], parts[-1]
    if any(p in TEST_FOLDERS for p in folders) or (
        name.endswith(".py") and (_is_test_name(name) or name == "conftest.py")
    ):
        return "tests"
    if any(p in DOC_FOLDERS for p in folders) or name.endswith(DOC_SUFFIXES):
        return "docs"
    return None


def tree_root(path: str) -> str:
    """The test tree holding ``path``: its outermost test folder, else its own folder."""
    parts = path.split("/")[:-1]
    for index, part in enumerate(parts):
        if part in TEST_FOLDERS:
            return "/".join(parts[: index + 1])
    return "/".join(parts)


@dataclass(frozen=True)
class FileImports:
    """What one file imports: dotted names (absolute, relative ones resolved)."""

    names: frozenset[str]
    ok: bool = True


def parse_imports(text: str | bytes, path: str) -> FileImports:
    """The dotted names ``path`` (``/``-separated) imports; ``ok`` false when unparsable."""
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError):
        return FileImports(frozenset(), ok=False)
    package = path.split("/")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*up, base] if base else up)
            if base:
                names.add(base)
                names.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
            else:
                names.update(a.name for a in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                called in _IMPORT_CALLS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                names.add(first.value)
    return FileImports(frozenset(names))


@dataclass
class TestTree:
    """The Python files of one test tree and what each imports (bounded)."""

    __test__ = False

    root: str
    files: dict[str, FileImports] = field(default_factory=dict[str, FileImports])
    complete: bool = True


#: ``(path, cache key or None, read)`` for each ``.py`` file of a tree.
Listed = tuple[str, str | None, Callable[[], bytes | None]]
Lister = Callable[[str], "Iterable[Listed] | None"]


def worktree_lister(workspace: Workspace) -> Lister:
    """List a tree's ``.py`` files from the work tree, skipping member folders."""
    members = {m.path for m in workspace.members if m.path != "."}

    def lister(root: str) -> list[Listed] | None:
        base = workspace.root / root if root else workspace.root
        out: list[Listed] = []
        top_only = root == "" or root.split("/")[-1] not in TEST_FOLDERS
        for folder, dirs, files in os.walk(base):
            relative = Path(folder).relative_to(workspace.root).as_posix()
            relative = "" if relative == "." else relative
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in {"node_modules", "__pycache__"}
                and posixpath.join(relative, d) not in members
            )
            for name in sorted(files):
                if name.endswith(".py"):
                    path = Path(folder) / name
                    out.append((posixpath.join(relative, name), None, _reader(path)))
                    if len(out) > MAX_FILES:
                        return None
            if top_only and Path(folder) == base:
                # A test file outside any test folder: its folder's files and test folders.
                dirs[:] = [d for d in dirs if d in TEST_FOLDERS]
        return out

    return lister


def git_lister(workspace: Workspace, repo: Path, commit: str) -> Lister:
    """List a tree's ``.py`` files at ``commit`` (blob ids are the cache keys)."""
    from tta_dev.workspace import _git

    members = tuple(f"{m.path}/" for m in workspace.members if m.path != ".")
    prefix = Path(posixpath.relpath(workspace.root, repo)).as_posix()
    prefix = "" if prefix == "." else f"{prefix}/"

    def lister(root: str) -> list[Listed] | None:
        spec = f"{prefix}{root}" if root else (prefix or ".")
        result = _git.run(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", spec)
        top_only = root == "" or root.split("/")[-1] not in TEST_FOLDERS
        out: list[Listed] = []
        for entry in result.split(b"\0"):
            if not entry:
                continue
            meta, _, raw = entry.partition(b"\t")
            mode, kind, blob = meta.decode().split(" ")
            full = raw.decode("utf-8", "surrogateescape")
            path = full[len(prefix) :]
            if kind != "blob" or mode == "120000" or not path.endswith(".py"):
                continue
            if path.startswith(members):
                continue
            if top_only:
                rest = path[len(root) + 1 :] if root else path
                folders = rest.split("/")[:-1]
                if folders and folders[0] not in TEST_FOLDERS:
                    continue
            out.append((path, blob, _blob_reader(repo, blob)))
            if len(out) > MAX_FILES:
                return None
        return out

    return lister


def _blob_reader(repo: Path, blob: str) -> Callable[[], bytes | None]:
    from tta_dev.workspace import _git

    def read() -> bytes | None:
        data = _git.run(repo, "cat-file", "blob", blob)
        return data if len(data) <= MAX_BYTES else None

    return read


def _reader(path: Path) -> Callable[[], bytes | None]:
    def read() -> bytes | None:
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
                return None
            return path.read_bytes()
        except OSError:
            return None

    return read


class TestMap:
    """Attribute test-tree files to members; built once per workspace and file source.

    ``lister(root)`` gives ``(path, read)`` pairs for a tree's ``.py`` files (``None``
    when there are too many); ``cache`` maps a content key to parsed imports, so a
    caller walking history can share parses across revisions.
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        workspace: Workspace,
        lister: Lister | None = None,
        import_names: Mapping[str, tuple[str, ...]] | None = None,
        cache: dict[str, FileImports] | None = None,
        shipped: Mapping[str, tuple[str, ...] | None] | None = None,
    ) -> None:
        self.workspace = workspace
        self._cache = cache if cache is not None else {}
        self._lister = lister or worktree_lister(workspace)
        self._import_names = import_names
        self._by_import_cache: dict[str, set[str]] | None = None
        self._trees: dict[str, TestTree] = {}
        self._shipped: dict[str, tuple[str, ...] | None] = dict(shipped or {})

    def own_file(self, member: Member, path: str) -> str | None:
        """``tests`` or ``docs`` when workspace-relative ``path``, which ``member`` owns, is
        its own test or documentation file outside every package it ships (``own_kind``),
        so a change to it cannot reach its dependents; ``None`` otherwise, and always when
        what the member ships is unknown (``shipped_paths``) or no package was found (a
        layout we do not read could ship anything)."""
        relative = path if member.path == "." else path.removeprefix(f"{member.path}/")
        kind = own_kind(relative)
        if kind is None:
            return None
        if member.name not in self._shipped:
            from tta_dev.workspace._imports import shipped_paths

            self._shipped[member.name] = shipped_paths(self.workspace, member)
        shipped = self._shipped[member.name]
        if not shipped or any(path == p or path.startswith(f"{p}/") for p in shipped):
            return None
        return kind

    @property
    def _by_import(self) -> dict[str, set[str]]:
        # Member import names are read from the member folders on first use only.
        if self._by_import_cache is None:
            names = self._import_names
            if names is None:
                from tta_dev.workspace._imports import import_names as names_of

                names = {m.name: names_of(self.workspace, m) for m in self.workspace.members}
            by_import: dict[str, set[str]] = {}
            for member, dotted in names.items():
                for name in dotted:
                    by_import.setdefault(name, set()).add(member)
            self._by_import_cache = by_import
        return self._by_import_cache

    def member_imports(self, imports: Iterable[str]) -> frozenset[str]:
        """The members a set of dotted import names reaches (longest dotted prefix)."""
        found: set[str] = set()
        for name in imports:
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                members = self._by_import.get(".".join(parts[:end]))
                if members:
                    found.update(members)
                    break
        return frozenset(found)

    def tree(self, root: str) -> TestTree:
        """The parsed test tree at ``root`` (built on first use)."""
        cached = self._trees.get(root)
        if cached is not None:
            return cached
        tree = TestTree(root)
        listed = self._lister(root)
        if listed is None:
            tree.complete = False
        else:
            for path, key, read in listed:
                parsed = self._cache.get(key) if key is not None else None
                if parsed is None:
                    data = read()
                    parsed = (
                        parse_imports(data, path)
                        if data is not None
                        else FileImports(frozenset(), ok=False)
                    )
                    if key is not None:
                        self._cache[key] = parsed
                tree.files[path] = parsed
        self._trees[root] = tree
        return tree

    def _local_modules(self, tree: TestTree) -> dict[str, str]:
        """Dotted name → file, for every way a tree file can be imported."""
        out: dict[str, str] = {}
        for path in tree.files:
            stem = path.removesuffix(".py")
            if stem.endswith("/__init__"):
                stem = stem.removesuffix("/__init__")
            parts = stem.split("/")
            # tests.fake_llm, fake_llm, sub.helpers: any suffix of the path.
            for start in range(len(parts)):
                out.setdefault(".".join(parts[start:]), path)
        return out

    def _closure(self, tree: TestTree, path: str, local: Mapping[str, str]) -> set[str]:
        """``path`` and the tree files it imports, transitively."""
        seen = {path}
        todo = [path]
        while todo:
            current = todo.pop()
            for name in tree.files[current].names:
                parts = name.split(".")
                for end in range(len(parts), 0, -1):
                    target = local.get(".".join(parts[:end]))
                    if target is not None:
                        if target not in seen:
                            seen.add(target)
                            todo.append(target)
                        break
        return seen

    def _conftests(self, tree: TestTree, path: str) -> list[str]:
        folder = posixpath.dirname(path)
        found: list[str] = []
        while True:
            candidate = posixpath.join(folder, "conftest.py")
            if candidate in tree.files and candidate != path:
                found.append(candidate)
            if not folder or folder == tree.root:
                break
            folder = posixpath.dirname(folder)
        return found

    def members_for_file(self, path: str) -> frozenset[str] | None:
        """The members the test-tree file ``path`` runs against; ``None``: unattributable."""
        tree = self.tree(tree_root(path))
        if not tree.complete or path not in tree.files:
            return None
        local = self._local_modules(tree)
        own = self._closure(tree, path, local)
        if not all(tree.files[p].ok for p in own):
            return None
        members = self.member_imports(n for p in own for n in tree.files[p].names)
        if not members:
            for conftest in self._conftests(tree, path):
                closure = self._closure(tree, conftest, local)
                if not all(tree.files[p].ok for p in closure):
                    return None
                members |= self.member_imports(n for p in closure for n in tree.files[p].names)
        return members or None

    def files_to_run(self, path: str) -> tuple[str, ...] | None:
        """The tree files a change to ``path`` makes run; ``None``: the tree is unreadable."""
        tree = self.tree(tree_root(path))
        if not tree.complete:
            return None
        name = posixpath.basename(path)
        if name in _TREE_WIDE:
            folder = posixpath.dirname(path)
            prefix = f"{folder}/" if folder else ""
            return tuple(
                p for p in tree.files if p.startswith(prefix) and posixpath.basename(p) != name
            )
        local = self._local_modules(tree)
        out = [p for p in tree.files if p == path or path in self._closure(tree, p, local)]
        if path not in tree.files:
            # Deleted: whatever still imports it must run (and will fail if it should).
            return tuple(out)
        return tuple(out)

    def attribute(self, path: str) -> tuple[dict[str, set[str]], str | None]:
        """``member → {files to run}`` for a changed test-tree file, or why it is everything.

        Helper files that import no member run through the test files importing them; a
        test file (``test_*.py``, ``*_test.py``, ``bench_*.py``) that imports no member, or
        any file to run that cannot be parsed, makes the change unattributable.
        """
        files = self.files_to_run(path)
        if files is None:
            return {}, f"{path}: its test tree has more than {MAX_FILES} files"
        out: dict[str, set[str]] = {}
        tree = self.tree(tree_root(path))
        for run in files:
            if not tree.files[run].ok:
                return {}, f"{path}: {run} cannot be parsed"
            if posixpath.basename(run) in _TREE_WIDE:
                continue
            members = self.members_for_file(run)
            if members is None:
                if _is_test_name(run):
                    return {}, f"{path}: {run} imports no member (or cannot be read)"
                continue
            for member in members:
                out.setdefault(member, set()).add(run)
        if not out and files:
            return {}, f"{path}: the files it makes run import no member"
        return out, None


def _is_test_name(path: str) -> bool:
    name = posixpath.basename(path)
    return name.startswith(("test_", "bench_")) or name.endswith("_test.py")
