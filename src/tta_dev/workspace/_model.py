"""The uv workspace as declared on disk: root, members, their dependencies and sources.

Discovery follows uv: from a folder, the nearest ``pyproject.toml`` with a ``[project]``
or ``[tool.uv.workspace]`` table is the project; if it declares a workspace it is the
root, otherwise the nearest ancestor workspace whose ``members`` include it (and whose
``exclude`` does not) is; failing that the project is its own, single-member workspace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tta_dev._safeio import clip, describe, quote
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._gc import collector_paused
from tta_dev.workspace._globs import (
    check_glob,
    compile_glob,
    glob_match,
    has_magic,
    normalise_pattern,
)
from tta_dev.workspace._rules import AffectedRules, default_rules, rules_from_pyproject
from tta_dev.workspace._toml import Table, read_toml, string, string_list, table

DependencyKind = Literal["runtime", "optional", "group"]
PYPROJECT = "pyproject.toml"
# Leftovers that do not make a folder a would-be member (uv ignores gitignored files).
_IGNORABLE_DIRS = frozenset({"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache"})
#: Most member and exclude patterns one workspace may list (a real one lists a few dozen):
#: each magic pattern walks the tree, so an unbounded list is an unbounded wait.
MAX_PATTERNS = 10_000
#: Most requirements one file's dependency groups may expand to with ``include-group``:
#: 3,000 groups that each include the next expand to 4.5 million.
MAX_GROUP_REQUIREMENTS = 100_000


@dataclass(frozen=True)
class DeclaredDependency:
    """One requirement from a member's ``pyproject.toml``.

    ``via`` names the extra (``optional``) or dependency group (``group``) it comes from.
    """

    name: str
    extras: tuple[str, ...]
    kind: DependencyKind
    via: str | None = None


@dataclass(frozen=True)
class Member:
    """A workspace member: a folder with a ``pyproject.toml`` that has a ``[project]``.

    ``path`` is relative to the workspace root, ``/``-separated, ``"."`` for the root.
    ``workspace_sources`` are the names that ``[tool.uv.sources]`` (the member's, or the
    root's) resolve to a workspace member (``{ workspace = true }``); ``other_sources``
    are the names given any other source (git, path, url, index).
    """

    name: str
    path: str
    version: str | None
    dependencies: tuple[DeclaredDependency, ...] = ()
    workspace_sources: frozenset[str] = frozenset()
    other_sources: frozenset[str] = frozenset()

    @property
    def extras(self) -> tuple[str, ...]:
        """The extras (optional-dependency tables) this member declares."""
        return tuple(sorted({d.via for d in self.dependencies if d.kind == "optional" and d.via}))

    @property
    def groups(self) -> tuple[str, ...]:
        """The dependency groups this member declares."""
        return tuple(sorted({d.via for d in self.dependencies if d.kind == "group" and d.via}))


@dataclass(frozen=True)
class Workspace:
    """A uv workspace: its root folder, members (sorted by name) and affected rules.

    ``virtual`` is true when the root ``pyproject.toml`` has no ``[project]``; the root is
    then not a member.
    """

    root: Path
    members: tuple[Member, ...]
    member_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    virtual: bool = False
    rules: AffectedRules = field(default_factory=default_rules)

    def member(self, name: str) -> Member:
        """The member called ``name`` (any spelling; PEP 503 normalised)."""
        wanted = canonicalize_name(name)
        for member in self.members:
            if member.name == wanted:
                return member
        raise WorkspaceError(f"no workspace member named {quote(name)}")

    @property
    def names(self) -> frozenset[str]:
        """The member names."""
        return frozenset(m.name for m in self.members)

    @cached_property
    def _by_path(self) -> Mapping[str, Member]:
        return {m.path: m for m in self.members}

    @cached_property
    def _deepest_member(self) -> int:
        """The most folders in one member's path (0 when only the root is a member)."""
        return max((m.path.count("/") + 1 for m in self.members if m.path != "."), default=0)

    def owner_of(self, path: str) -> Member | None:
        """The member whose folder is the deepest one containing ``path`` (workspace-relative)."""
        by_path = self._by_path
        # Only the first few folders can name a member: time linear in the path, however
        # deep (60,000 folders took 46 s when every prefix was joined and looked up).
        parts = path.split("/", self._deepest_member)
        for depth in range(len(parts) - 1, 0, -1):
            member = by_path.get("/".join(parts[:depth]))
            if member is not None:
                return member
        if path.startswith("../"):
            return None
        return by_path.get(".")


def find_workspace_root(start: Path) -> Path:
    """The root of the uv workspace that ``start`` (a folder or file) belongs to."""
    here = start.resolve()
    if not here.is_dir():
        if not here.exists():
            raise WorkspaceError(f"{start} does not exist: pass an existing folder")
        here = here.parent
    project: Path | None = None
    for folder in (here, *here.parents):
        pyproject = folder / PYPROJECT
        if not _present(pyproject):
            continue
        data = read_toml(pyproject)  # a FIFO or folder here is an error, not "absent"
        if _workspace_table(data, str(pyproject)) is not None:
            if project is None:
                return folder
            relative = Path(os.path.relpath(project, folder)).as_posix()
            section = cast(Table, _workspace_table(data, str(pyproject)))
            where = f"{pyproject} [tool.uv.workspace]"
            excludes = string_list(section, "exclude", where)
            patterns = string_list(section, "members", where)
            _check_patterns(patterns, excludes, where)
            excluded = any(glob_match(p, relative) for p in excludes)
            included = any(glob_match(p, relative) for p in patterns)
            return folder if included and not excluded else project
        if project is None and "project" in data:
            project = folder
    if project is None:
        raise WorkspaceError(
            f"no pyproject.toml with [project] or [tool.uv.workspace] in {here} or its"
            " parents: run inside a uv project or pass --root"
        )
    return project


def load_workspace(start: Path | str = ".") -> Workspace:
    """Find the workspace that ``start`` belongs to and read its members."""
    with collector_paused():
        return _load_workspace(Path(start))


def _load_workspace(start: Path) -> Workspace:
    root = find_workspace_root(start)
    root_file = root / PYPROJECT
    data = read_toml(root_file)
    where = str(root_file)
    section = _workspace_table(data, where)
    rules = rules_from_pyproject(data, where)
    root_sources = _sources(data, where)
    virtual = "project" not in data
    members: list[Member] = []
    if not virtual:
        members.append(_member(root, ".", data, root_sources))
    patterns: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    if section is not None:
        label = f"{where} [tool.uv.workspace]"
        patterns = string_list(section, "members", label)
        excludes = string_list(section, "exclude", label)
        for relative, pattern in _expand_members(root, patterns, excludes):
            if relative == ".":
                continue
            member_file = root / relative / PYPROJECT
            member_data = read_toml(member_file)
            if "project" not in member_data:
                raise WorkspaceError(
                    f"{relative}/{PYPROJECT} (matched by `{pattern}`) has no [project]"
                    " table: add one or exclude the folder in [tool.uv.workspace]"
                )
            members.append(_member(root / relative, relative, member_data, root_sources))
    elif virtual:
        raise WorkspaceError(f"{where} has no [project] table")
    seen: dict[str, str] = {}
    for member in members:
        if member.name in seen:
            raise WorkspaceError(
                f"two workspace members are named {quote(member.name)}: {seen[member.name]} and"
                f" {member.path}: rename one"
            )
        seen[member.name] = member.path
    return Workspace(
        root=root,
        members=tuple(sorted(members, key=lambda m: m.name)),
        member_patterns=patterns,
        exclude_patterns=excludes,
        virtual=virtual,
        rules=rules,
    )


def _workspace_table(data: Table, where: str) -> Table | None:
    uv = table(table(data, "tool", where), "uv", where)
    if "workspace" not in uv:
        return None
    return table(uv, "workspace", where)


def _expand_members(
    root: Path, patterns: tuple[str, ...], excludes: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """Yield ``(relative folder, pattern)`` for every member folder the globs select."""
    seen: set[str] = set()
    where = f"{root / PYPROJECT} [tool.uv.workspace]"
    _check_patterns(patterns, excludes, where)
    listings: dict[str, list[tuple[str, bool, bool]]] = {}
    empty: dict[str, bool] = {}
    real_root = root.resolve()
    for raw in dict.fromkeys(patterns):
        pattern = normalise_pattern(raw)
        if Path(pattern).is_absolute() or ".." in pattern.split("/"):
            raise WorkspaceError(
                f"member pattern `{clip(raw)}` leaves the workspace root (no absolute paths, no"
                f" `..`): use a path inside {root}"
            )
        if has_magic(pattern):
            found = _glob_folders(str(root), pattern, listings)
        else:
            folder = root / pattern
            if not _is_folder(folder):
                raise WorkspaceError(
                    f"workspace member `{clip(raw)}` is not a folder: create it or remove it from"
                    " [tool.uv.workspace] members"
                )
            found = [(folder.relative_to(root).as_posix() if folder != root else ".", True)]
        # Folder paths stay strings: a Path per folder of a 1,000-folder chain is quadratic.
        for relative, via_link in found:
            folder = os.path.join(root, relative) if relative != "." else str(root)
            # Resolving costs a system call per folder on the path: only where a link may be.
            if via_link and not Path(folder).resolve().is_relative_to(real_root):
                raise WorkspaceError(
                    f"workspace member folder {clip(relative)} (matched by `{clip(raw)}`) is"
                    f" outside the workspace root: it links to {Path(folder).resolve()}"
                )
            if relative in seen or any(glob_match(e, relative) for e in excludes):
                continue
            seen.add(relative)
            if not _present(os.path.join(folder, PYPROJECT)):
                if _holds_no_files(folder, empty):
                    continue  # as uv: an empty folder is not a member
                raise WorkspaceError(
                    f"workspace member folder {relative} (matched by `{clip(raw)}`) has no"
                    f" {PYPROJECT}: add one or list the folder under [tool.uv.workspace] exclude"
                )
            yield relative, raw


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the system, for one
        return False


def _present(path: Path | str) -> bool:
    """Whether anything (a file, a folder, a FIFO, a broken link) is at ``path``."""
    return os.path.lexists(path)


def _check_patterns(patterns: tuple[str, ...], excludes: tuple[str, ...], where: str) -> None:
    if len(patterns) + len(excludes) > MAX_PATTERNS:
        raise WorkspaceError(
            f"{where}: {len(patterns) + len(excludes):,} member and exclude patterns (at most"
            f" {MAX_PATTERNS:,}): use globs such as packages/*"
        )
    for pattern in dict.fromkeys((*patterns, *excludes)):
        check_glob(pattern, where)


def _listing(
    folder: str, cache: dict[str, list[tuple[str, bool, bool]]]
) -> list[tuple[str, bool, bool]]:
    """``(name, is a folder, is a link)`` of each entry of ``folder`` (empty if unreadable)."""
    found = cache.get(folder)
    if found is None:
        found = list[tuple[str, bool, bool]]()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        found.append((entry.name, entry.is_dir(), entry.is_symlink()))
                    except OSError:
                        continue
        except OSError:  # unreadable, vanished, or a path too long for the system
            pass
        cache[folder] = found
    return found


def _glob_folders(
    root: str, pattern: str, cache: dict[str, list[tuple[str, bool, bool]]]
) -> list[tuple[str, bool]]:
    """The folders below ``root`` whose relative path matches the magic glob ``pattern``.

    One iterative walk that feeds each folder name to the compiled glob and prunes a
    branch as soon as no continuation can match: no recursion (a 1,100-folder chain is
    fine), and ``**/**/**/**/**/*`` costs one pass over the tree, not one per ``**``.
    Links to folders are listed, and followed only while the pattern has no ``**`` (its
    depth then bounds the walk; ``pathlib.glob`` does not follow them under ``**`` either).
    Each folder comes as its ``/``-separated path relative to ``root``, with whether a
    link is on its way from ``root``.
    """
    glob = compile_glob(pattern)
    follow_links = "**" not in pattern
    found: list[tuple[str, bool]] = []
    stack: list[tuple[str, str, int, bool]] = [(root, "", glob.start, False)]
    while stack:
        folder, relative, state, via_link = stack.pop()
        for name, is_dir, is_link in _listing(folder, cache):
            if not is_dir:
                continue
            here = glob.feed(state, name)
            if not here:
                continue
            path = f"{relative}{name}"
            if glob.accepts(here):
                found.append((path, via_link or is_link))
            below = glob.feed(here, "/")
            if below and (follow_links or not is_link):
                stack.append((os.path.join(folder, name), f"{path}/", below, via_link or is_link))
    return sorted(found)


def _holds_no_files(folder: str, memo: dict[str, bool]) -> bool:
    """Whether ``folder`` holds no file outside leftover folders.

    Iterative (no recursion) and remembered per folder in ``memo``: under ``**`` every
    folder of a chain is a candidate, and walking each one's subtree anew is quadratic.
    """
    stack: list[tuple[str, list[str] | None]] = [(folder, None)]
    while stack:
        here, subfolders = stack[-1]
        if here in memo:
            stack.pop()
            continue
        if subfolders is None:  # first visit: list it, then see to its subfolders
            subfolders = list[str]()
            has_file = False
            try:
                with os.scandir(here) as entries:
                    for entry in entries:
                        if not entry.is_dir():
                            has_file = True
                            break
                        if entry.name not in _IGNORABLE_DIRS and not entry.is_symlink():
                            subfolders.append(entry.path)
            except OSError:
                pass
            if has_file:
                memo[here] = False
                stack.pop()
                continue
            stack[-1] = (here, subfolders)
            stack += [(sub, None) for sub in subfolders if sub not in memo]
            continue
        stack.pop()  # second visit: every subfolder is known
        memo[here] = all(memo.get(sub, True) for sub in subfolders)
    return memo[folder]


#: PEP 508 names, as packaging and uv accept them: ASCII only (without re.ASCII,
#: IGNORECASE lets [A-Z] match the Kelvin sign, a long s, a dotted and a dotless i).
_VALID_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE | re.ASCII)


def _member(folder: Path, relative: str, data: Table, root_sources: Mapping[str, bool]) -> Member:
    where = str(folder / PYPROJECT)
    project = table(data, "project", where)
    raw_name = string(project, "name", f"{where} [project]")
    if not raw_name:
        raise WorkspaceError(f"{where}: [project] has no `name`")
    if not _VALID_NAME.fullmatch(raw_name):
        # As uv: a member named `gam$(id)ma` fails `uv lock`; here it never reaches a
        # matrix, a job name or a log.
        raise WorkspaceError(
            f"{where}: [project] name {quote(raw_name)} is not a valid package name: names"
            " start and end with a letter or digit and hold only letters, digits, -, _ and ."
        )
    version = string(project, "version", f"{where} [project]")
    dependencies = list(_requirements(project, "dependencies", "runtime", None, where))
    optional = table(project, "optional-dependencies", where)
    for extra in sorted(optional):
        label = f"[project.optional-dependencies] {extra}"
        values = string_list(optional, extra, f"{where} {label}")
        dependencies += _parse_requirements(
            values, "optional", canonicalize_name(extra), f"{where} {label}"
        )
    for group, values in _dependency_groups(data, where).items():
        dependencies += _parse_requirements(values, "group", group, f"{where} [{group}]")
    sources = {**root_sources, **_sources(data, where)}
    return Member(
        name=canonicalize_name(raw_name),
        path=relative,
        version=version,
        dependencies=tuple(dependencies),
        workspace_sources=frozenset(n for n, ws in sources.items() if ws),
        other_sources=frozenset(n for n, ws in sources.items() if not ws),
    )


def _requirements(
    project: Table, key: str, kind: DependencyKind, via: str | None, where: str
) -> list[DeclaredDependency]:
    return _parse_requirements(
        string_list(project, key, f"{where} [project]"), kind, via, f"{where} [project.{key}]"
    )


def _parse_requirements(
    values: tuple[str, ...], kind: DependencyKind, via: str | None, where: str
) -> list[DeclaredDependency]:
    parsed: list[DeclaredDependency] = []
    for value in values:
        try:
            name, extras = _requirement_parts(value)
        except InvalidRequirement as exc:
            first = str(exc).splitlines()[0]
            raise WorkspaceError(
                f"{where}: invalid requirement {quote(value)} ({quote(first)})"
            ) from exc
        parsed.append(DeclaredDependency(name=name, extras=extras, kind=kind, via=via))
    return parsed


# A bare name with optional extras (`core`, `plugin[fast, cli]`): valid PEP 508 as it
# stands, so there is nothing for the full parser to check.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PLAIN_REQUIREMENT = re.compile(
    rf"\s*({_NAME})\s*(?:\[\s*((?:{_NAME})(?:\s*,\s*{_NAME})*)?\s*\])?\s*"
)


@lru_cache(maxsize=16384)
def _requirement_parts(value: str) -> tuple[str, tuple[str, ...]]:
    """Normalised name and extras of a PEP 508 requirement (members repeat the same ones)."""
    plain = _PLAIN_REQUIREMENT.fullmatch(value)
    if plain is not None:
        extras = [e.strip() for e in (plain.group(2) or "").split(",") if e.strip()]
        return canonicalize_name(plain.group(1)), tuple(
            sorted({canonicalize_name(e) for e in extras})
        )
    requirement = Requirement(value)
    extras = tuple(sorted(canonicalize_name(e) for e in requirement.extras))
    return canonicalize_name(requirement.name), extras


def _dependency_groups(data: Table, where: str) -> dict[str, tuple[str, ...]]:
    """PEP 735 groups with ``include-group`` expanded, plus uv's legacy ``dev-dependencies``."""
    raw = table(data, "dependency-groups", where)
    groups: dict[str, list[Any]] = {}
    for name, value in raw.items():
        if not isinstance(value, list):
            raise WorkspaceError(f"{where}: dependency group `{clip(name)}` must be a list")
        groups.setdefault(canonicalize_name(name), []).extend(cast(list[Any], value))
    legacy = string_list(table(table(data, "tool", where), "uv", where), "dev-dependencies", where)
    if legacy:
        groups.setdefault("dev", []).extend(legacy)

    # Iterative, with each group expanded once: 3,000 groups each including the next
    # recurse 3,000 deep, and a group included twice at each level doubles per level.
    expanded: dict[str, tuple[str, ...]] = {}
    total = 0
    for top in sorted(groups):
        trail: list[str] = []
        on_trail: set[str] = set()

        def enter(name: str, trail: list[str] = trail, on_trail: set[str] = on_trail) -> None:
            if name in on_trail:
                cycle = " -> ".join(quote(n, 40) for n in (*trail[trail.index(name) :], name))
                raise WorkspaceError(
                    f"{where}: dependency group `{clip(name)}` includes itself ({cycle})"
                )
            if name not in groups:
                raise WorkspaceError(
                    f"{where}: `include-group = {quote(name)}` names no dependency group"
                )
            trail.append(name)
            on_trail.add(name)

        enter(top)
        stack: list[tuple[str, int, dict[str, None]]] = [(top, 0, {})]
        while stack:
            name, index, out = stack[-1]
            items = groups[name]
            if index == len(items):
                stack.pop()
                trail.pop()
                on_trail.discard(name)
                expanded[name] = tuple(out)
                total += len(out)
                if total > MAX_GROUP_REQUIREMENTS:
                    raise WorkspaceError(
                        f"{where}: the dependency groups expand to more than"
                        f" {MAX_GROUP_REQUIREMENTS:,} requirements (long include-group chains):"
                        " include fewer groups in each other"
                    )
                if stack:
                    stack[-1][2].update(out)
                continue
            stack[-1] = (name, index + 1, out)
            item = items[index]
            if isinstance(item, str):
                out[item] = None
            elif isinstance(item, Mapping) and isinstance(
                cast(Table, item).get("include-group"), str
            ):
                included = canonicalize_name(cast(str, cast(Table, item)["include-group"]))
                done = expanded.get(included)
                if done is not None and included not in on_trail:
                    out.update(dict.fromkeys(done))
                    continue
                enter(included)
                stack.append((included, 0, {}))
            else:
                raise WorkspaceError(
                    f"{where}: dependency group `{clip(name)}` holds {describe(cast(object, item))}: use"
                    " requirement strings or { include-group = ... }"
                )
    return {name: expanded[name] for name in sorted(groups)}


def _sources(data: Table, where: str) -> dict[str, bool]:
    """``[tool.uv.sources]`` as ``{normalised name: is a workspace source}``."""
    sources = table(table(table(data, "tool", where), "uv", where), "sources", where)
    out: dict[str, bool] = {}
    for name, value in sources.items():
        entries: list[Any] = cast(list[Any], value) if isinstance(value, list) else [value]
        if not all(isinstance(e, Mapping) for e in entries):
            raise WorkspaceError(
                f"{where}: [tool.uv.sources] {quote(name)} must be a table such as"
                " { workspace = true } or a list of them (uv rejects anything else)"
            )
        out[canonicalize_name(name)] = any(
            isinstance(e, Mapping) and cast(Table, e).get("workspace") is True for e in entries
        )
    return out
