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
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._gc import collector_paused
from tta_dev.workspace._globs import check_glob, glob_match, has_magic, normalise_pattern
from tta_dev.workspace._rules import AffectedRules, default_rules, rules_from_pyproject
from tta_dev.workspace._toml import Table, read_toml, string, string_list, table

DependencyKind = Literal["runtime", "optional", "group"]
PYPROJECT = "pyproject.toml"
# Leftovers that do not make a folder a would-be member (uv ignores gitignored files).
_IGNORABLE_DIRS = frozenset({"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache"})


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
        raise WorkspaceError(f"no workspace member named {name!r}")

    @property
    def names(self) -> frozenset[str]:
        """The member names."""
        return frozenset(m.name for m in self.members)

    def owner_of(self, path: str) -> Member | None:
        """The member whose folder is the deepest one containing ``path`` (workspace-relative)."""
        by_path = {m.path: m for m in self.members}
        parts = path.split("/")
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
        if not pyproject.is_file():
            continue
        data = read_toml(pyproject)
        if _workspace_table(data, str(pyproject)) is not None:
            if project is None:
                return folder
            relative = Path(os.path.relpath(project, folder)).as_posix()
            section = cast(Table, _workspace_table(data, str(pyproject)))
            where = f"{pyproject} [tool.uv.workspace]"
            excludes = string_list(section, "exclude", where)
            patterns = string_list(section, "members", where)
            for pattern in (*patterns, *excludes):
                check_glob(pattern, where)
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
                f"two workspace members are named {member.name!r}: {seen[member.name]} and"
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
    for pattern in (*patterns, *excludes):
        check_glob(pattern, where)
    real_root = root.resolve()
    for raw in patterns:
        pattern = normalise_pattern(raw)
        if Path(pattern).is_absolute() or ".." in pattern.split("/"):
            raise WorkspaceError(
                f"member pattern `{raw}` leaves the workspace root (no absolute paths, no"
                f" `..`): use a path inside {root}"
            )
        if has_magic(pattern):
            folders = sorted(p for p in root.glob(pattern) if p.is_dir())
        else:
            folders = [root / pattern]
            if not folders[0].is_dir():
                raise WorkspaceError(
                    f"workspace member `{raw}` is not a folder: create it or remove it from"
                    " [tool.uv.workspace] members"
                )
        for folder in folders:
            if not folder.resolve().is_relative_to(real_root):
                raise WorkspaceError(
                    f"workspace member folder {folder.relative_to(root).as_posix()} (matched by"
                    f" `{raw}`) is outside the workspace root: it links to {folder.resolve()}"
                )
            relative = folder.relative_to(root).as_posix() if folder != root else "."
            if relative in seen or any(glob_match(e, relative) for e in excludes):
                continue
            seen.add(relative)
            if not (folder / PYPROJECT).is_file():
                if _holds_no_files(folder):
                    continue  # as uv: an empty folder is not a member
                raise WorkspaceError(
                    f"workspace member folder {relative} (matched by `{raw}`) has no"
                    f" {PYPROJECT}: add one or list the folder under [tool.uv.workspace] exclude"
                )
            yield relative, raw


def _holds_no_files(folder: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in _IGNORABLE_DIRS]
        if filenames:
            return False
    return True


def _member(folder: Path, relative: str, data: Table, root_sources: Mapping[str, bool]) -> Member:
    where = str(folder / PYPROJECT)
    project = table(data, "project", where)
    raw_name = string(project, "name", f"{where} [project]")
    if not raw_name:
        raise WorkspaceError(f"{where}: [project] has no `name`")
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
            raise WorkspaceError(f"{where}: invalid requirement {value!r} ({first})") from exc
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
            raise WorkspaceError(f"{where}: dependency group `{name}` must be a list")
        groups.setdefault(canonicalize_name(name), []).extend(cast(list[Any], value))
    legacy = string_list(table(table(data, "tool", where), "uv", where), "dev-dependencies", where)
    if legacy:
        groups.setdefault("dev", []).extend(legacy)

    def expand(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in trail:
            raise WorkspaceError(
                f"{where}: dependency group `{name}` includes itself ({' -> '.join((*trail, name))})"
            )
        if name not in groups:
            raise WorkspaceError(f"{where}: `include-group = {name!r}` names no dependency group")
        out: list[str] = []
        for item in groups[name]:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, Mapping) and isinstance(
                cast(Table, item).get("include-group"), str
            ):
                included = cast(str, cast(Table, item)["include-group"])
                out += expand(canonicalize_name(included), (*trail, name))
            else:
                raise WorkspaceError(
                    f"{where}: dependency group `{name}` holds {item!r}: use requirement strings"
                    " or { include-group = ... }"
                )
        return out

    return {name: tuple(expand(name, ())) for name in sorted(groups)}


def _sources(data: Table, where: str) -> dict[str, bool]:
    """``[tool.uv.sources]`` as ``{normalised name: is a workspace source}``."""
    sources = table(table(table(data, "tool", where), "uv", where), "sources", where)
    out: dict[str, bool] = {}
    for name, value in sources.items():
        entries: list[Any] = cast(list[Any], value) if isinstance(value, list) else [value]
        out[canonicalize_name(name)] = any(
            isinstance(e, Mapping) and cast(Table, e).get("workspace") is True for e in entries
        )
    return out
