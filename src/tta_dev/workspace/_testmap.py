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
import io
import os
import posixpath
import tokenize
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
    """The dotted names ``path`` (``/``-separated) imports; ``ok`` false when unparsable.

    Syntax newer than the running Python's parser (``def f[T]()``, ``type X = ...``,
    nested f-string quotes: a project testing on 3.12+ while tta-dev runs on 3.11) is
    read from tokens instead, which need no grammar: the import statements and import
    calls come out the same.
    """
    package = path.split("/")[:-1]
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError):
        scanned = _scan_imports(text, package)
        if scanned is None:
            return FileImports(frozenset(), ok=False)
        return FileImports(frozenset(scanned))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            _add_from(names, package, node.level, node.module or "", [a.name for a in node.names])
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


def _add_from(
    names: set[str], package: list[str], level: int, module: str, imported: list[str]
) -> None:
    """``from <level dots><module> import <imported>`` as dotted names (relative resolved)."""
    base = module
    if level:
        up = package[: len(package) - (level - 1)] if level > 1 else package
        base = ".".join([*up, base] if base else up)
    if base:
        names.add(base)
        names.update(f"{base}.{name}" for name in imported if name != "*")
    else:
        names.update(imported)


def _scan_imports(text: str | bytes, package: list[str]) -> set[str] | None:
    """Import statements and import calls read from tokens; ``None``: not even tokens.

    ``import`` is a hard keyword, so every ``import`` name token outside a ``from``
    statement starts one; ``from`` starts one only at a statement's start (not ``yield
    from``, ``raise ... from``). Strings are single tokens: an ``import`` in a docstring
    is no statement.
    """
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    try:
        tokens = [t for t in tokenize.tokenize(io.BytesIO(data).readline) if t.type not in skip]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return None
    names: set[str] = set()
    starts = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        before = tokens[i - 1] if i else None
        at_start = before is None or before.type in starts or before.string in (";", ":")
        if token.type == tokenize.NAME and token.string == "from" and at_start:
            i += 1
            level = 0
            while i < len(tokens) and tokens[i].string in (".", "..."):
                level += len(tokens[i].string)
                i += 1
            module, i = _dotted(tokens, i)
            if i < len(tokens) and tokens[i].string == "import":
                imported, i = _imported(tokens, i + 1)
                _add_from(names, package, level, module, imported)
            continue
        if token.type == tokenize.NAME and token.string == "import":
            i += 1
            while True:
                module, i = _dotted(tokens, i)
                if module:
                    names.add(module)
                i = _skip_alias(tokens, i)
                if i < len(tokens) and tokens[i].string == ",":
                    i += 1
                    continue
                break
            continue
        if (
            token.type == tokenize.NAME
            and token.string in _IMPORT_CALLS
            and i + 2 < len(tokens)
            and tokens[i + 1].string == "("
            and tokens[i + 2].type == tokenize.STRING
        ):
            try:
                value = ast.literal_eval(tokens[i + 2].string)
            except (SyntaxError, ValueError):
                value = None
            if isinstance(value, str):
                names.add(value)
        i += 1
    return names


def _dotted(tokens: list[tokenize.TokenInfo], i: int) -> tuple[str, int]:
    """A dotted name from ``tokens[i]`` on ("" when there is none), and where it ends."""
    parts: list[str] = []
    while i < len(tokens) and tokens[i].type == tokenize.NAME and tokens[i].string != "import":
        parts.append(tokens[i].string)
        if i + 1 < len(tokens) and tokens[i + 1].string == ".":
            i += 2
            continue
        i += 1
        break
    return ".".join(parts), i


def _skip_alias(tokens: list[tokenize.TokenInfo], i: int) -> int:
    if i + 1 < len(tokens) and tokens[i].string == "as" and tokens[i + 1].type == tokenize.NAME:
        return i + 2
    return i


def _imported(tokens: list[tokenize.TokenInfo], i: int) -> tuple[list[str], int]:
    """The names after ``from ... import`` (parenthesised or not, ``as`` skipped)."""
    if i < len(tokens) and tokens[i].string == "*":
        return ["*"], i + 1
    grouped = i < len(tokens) and tokens[i].string == "("
    i += grouped
    names: list[str] = []
    while i < len(tokens) and tokens[i].type == tokenize.NAME:
        names.append(tokens[i].string)
        i = _skip_alias(tokens, i + 1)
        if i < len(tokens) and tokens[i].string == ",":
            i += 1
            continue
        break
    if grouped and i < len(tokens) and tokens[i].string == ")":
        i += 1
    return names, i


@dataclass
class TestTree:
    """The Python files of one test tree and what each imports (bounded)."""

    __test__ = False

    root: str
    files: dict[str, FileImports] = field(default_factory=dict[str, FileImports])
    complete: bool = True
    #: Dotted name → file (``TestMap._local_modules``), built on first use.
    modules: dict[str, str] | None = None


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
        top_only = root == "" or root.split("/")[-1] not in TEST_FOLDERS
        out: list[Listed] = []
        for full, blob in _git.files_at(repo, commit, spec):
            path = full[len(prefix) :]
            if not path.endswith(".py"):
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
        """Dotted name → file, for every way a tree file can be imported (once per tree:
        every file attributed, and every test an upgrade's importers check, asks)."""
        if tree.modules is not None:
            return tree.modules
        out: dict[str, str] = {}
        for path in tree.files:
            stem = path.removesuffix(".py")
            if stem.endswith("/__init__"):
                stem = stem.removesuffix("/__init__")
            parts = stem.split("/")
            # tests.fake_llm, fake_llm, sub.helpers: any suffix of the path.
            for start in range(len(parts)):
                out.setdefault(".".join(parts[start:]), path)
        tree.modules = out
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

    def importers(
        self, modules: frozenset[str]
    ) -> dict[str, tuple[frozenset[str] | None, frozenset[str]]]:
        """Root test files (``test_*.py``, ...) whose imports, through their local helpers
        and the ``conftest.py`` files pytest loads for them, name a top-level module in
        ``modules``: each with the members it runs against (``None``: it imports no
        member, or cannot be read) and the modules it names."""
        tree = self.tree("")
        local = self._local_modules(tree)
        out: dict[str, tuple[frozenset[str] | None, frozenset[str]]] = {}
        for path in tree.files:
            if not _is_test_name(path):
                continue
            loaded = self._closure(tree, path, local)
            for conftest in self._conftests(tree, path):
                loaded |= self._closure(tree, conftest, local)
            tops = {n.split(".", 1)[0] for p in loaded for n in tree.files[p].names}
            hit = frozenset(tops & modules)
            if hit:
                out[path] = (self.members_for_file(path), hit)
        return out

    def _why_unattributed(self, tree: TestTree, path: str) -> str:
        """Why ``members_for_file(path)`` is ``None``: a file it loads is unreadable, or
        it imports no member."""
        local = self._local_modules(tree)
        loads = [path, *self._conftests(tree, path)]
        for start in loads:
            for loaded in sorted(self._closure(tree, start, local)):
                if not tree.files[loaded].ok:
                    return f"loads {loaded}, which cannot be read or parsed"
        return "imports no member"

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
                    return {}, f"{path}: {run} {self._why_unattributed(tree, run)}"
                continue
            for member in members:
                out.setdefault(member, set()).add(run)
        if not out and files:
            return {}, f"{path}: the files it makes run import no member"
        return out, None


def _is_test_name(path: str) -> bool:
    name = posixpath.basename(path)
    return name.startswith(("test_", "bench_")) or name.endswith("_test.py")
