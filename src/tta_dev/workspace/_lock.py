"""A reader for ``uv.lock`` (lock ``version = 1``, any revision), without uv.

Our own reader because it must read a lock at any git revision, quickly, with nothing but
the standard library: names are PEP 503 normalised, versions compared with ``packaging``,
sources normalised so that spelling alone (``https://pypi.org/simple/`` against
``https://pypi.org/simple``, a git ``rev`` next to the same commit) is no change.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from packaging.utils import canonicalize_name as _canonicalize_name

from tta_dev._safeio import InputError, describe, quote, read_text
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._gc import collector_paused
from tta_dev.workspace._toml import (
    Table,
    TOMLDecodeError,
    loads,
    parse_toml,
    string,
    table,
    table_list,
)

# A lock repeats the same few thousand names and sources: normalise each once.
_name = lru_cache(maxsize=16384)(_canonicalize_name)

SUPPORTED_LOCK_VERSION = 1
SOURCE_KINDS = ("registry", "git", "url", "path", "directory", "editable", "virtual")
#: Sources a workspace member (or another local project) is locked with.
LOCAL_PROJECT_KINDS = frozenset({"editable", "virtual", "directory"})


@dataclass(frozen=True, order=True)
class LockSource:
    """Where a locked package comes from: ``kind`` is one of ``SOURCE_KINDS``.

    ``location`` is normalised: registry and URL hosts lower-cased and trailing slashes
    dropped, git URLs reduced to repository, subdirectory and commit, paths ``/``-separated.
    """

    kind: str
    location: str

    def __str__(self) -> str:
        return f"{self.kind} {self.location}"


@dataclass(frozen=True, order=True)
class PackageRef:
    """One resolved package: what a closure is made of and what a lock diff compares."""

    name: str
    version: str | None
    source: LockSource

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


@dataclass(frozen=True)
class LockDependency:
    """An edge in the lock: ``version``/``source`` are set when the name is ambiguous."""

    name: str
    version: str | None = None
    source: LockSource | None = None
    marker: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockedPackage:
    """A ``[[package]]`` entry. ``version`` is ``None`` for dynamic-version members."""

    name: str
    version: str | None
    source: LockSource
    dependencies: tuple[LockDependency, ...] = ()
    optional_dependencies: tuple[tuple[str, tuple[LockDependency, ...]], ...] = ()
    dependency_groups: tuple[tuple[str, tuple[LockDependency, ...]], ...] = ()
    resolution_markers: tuple[str, ...] = ()

    @cached_property
    def ref(self) -> PackageRef:
        """Name, version and source: the package's identity."""
        return PackageRef(self.name, self.version, self.source)

    def extra_dependencies(self, name: str) -> tuple[LockDependency, ...]:
        """The dependencies an extra adds (empty when the package has no such extra)."""
        for extra, deps in self.optional_dependencies:
            if extra == name:
                return deps
        return ()


@dataclass(frozen=True)
class Lockfile:
    """A parsed ``uv.lock``."""

    version: int
    revision: int | None
    requires_python: str | None
    packages: tuple[LockedPackage, ...]
    manifest_members: tuple[str, ...] = ()
    #: A virtual root's ``[dependency-groups]`` (``[manifest.dependency-groups]``): what
    #: ``uv sync`` installs beside the members, so every member's tests run with it.
    manifest_groups: tuple[tuple[str, tuple[LockDependency, ...]], ...] = ()

    @cached_property
    def by_name(self) -> Mapping[str, tuple[LockedPackage, ...]]:
        """Every locked entry of each name (several for resolution forks)."""
        out: dict[str, list[LockedPackage]] = {}
        for package in self.packages:
            out.setdefault(package.name, []).append(package)
        return {name: tuple(entries) for name, entries in out.items()}

    @cached_property
    def member_names(self) -> frozenset[str]:
        """The workspace members the lock records (the root project for a single project)."""
        if self.manifest_members:
            return frozenset(self.manifest_members)
        return frozenset(
            p.name
            for p in self.packages
            if p.source.kind in LOCAL_PROJECT_KINDS and p.source.location == "."
        )

    def resolve(self, dependency: LockDependency) -> tuple[LockedPackage, ...]:
        """The entries a dependency edge points at: one, unless the lock is ambiguous."""
        candidates = self.by_name.get(dependency.name, ())
        if len(candidates) > 1 and dependency.version is not None:
            candidates = tuple(c for c in candidates if c.version == dependency.version)
        if len(candidates) > 1 and dependency.source is not None:
            candidates = tuple(c for c in candidates if c.source == dependency.source)
        if not candidates:
            wanted = dependency.name + (f" {dependency.version}" if dependency.version else "")
            raise WorkspaceError(
                f"uv.lock refers to {wanted}, which it does not lock: run `uv lock`"
            )
        return candidates

    def member_entries(self, name: str) -> tuple[LockedPackage, ...]:
        """The lock entries of workspace member ``name`` (empty when the lock lacks it)."""
        return tuple(p for p in self.by_name.get(name, ()) if p.source.kind in LOCAL_PROJECT_KINDS)


def read_lock(path: Path) -> Lockfile:
    """Read and parse a ``uv.lock`` file."""
    return parse_lock(read_lock_text(path), str(path))


def read_lock_text(path: Path) -> str:
    """The text of a ``uv.lock`` file: a regular file, bounded, bytes as they are
    (``tta_dev._safeio.read_text``: a FIFO is "not a regular file", not a hang)."""
    try:
        return read_text(path)
    except InputError as exc:
        if not os.path.lexists(path):
            raise WorkspaceError(
                f"{path} not found: run `uv lock` to create it (or pass the lock's path)"
            ) from exc
        raise WorkspaceError(str(exc)) from exc


def parse_lock(
    text: str, where: str = "uv.lock", *, reuse: tuple[str, Lockfile] | None = None
) -> Lockfile:
    """Parse the text of a ``uv.lock`` (as read from a file or from ``git show``).

    ``reuse``: another lock's text and what it parsed to (the same lock at another
    revision): package tables whose text is identical there are taken from it, not parsed
    again, so reading the other end of a one-package change costs one package.
    """
    text = text.removeprefix("\ufeff")  # uv reads a lock with a BOM
    with collector_paused():
        if reuse is not None:
            lock = _parse_reusing(text, where, *reuse)
            if lock is not None:
                return lock
        try:
            data = loads(slim_lock_text(text), where)  # bounded: a WorkspaceError if too deep
        except TOMLDecodeError:
            data = parse_toml(text, where)  # the real error, from the whole text
        return lock_from_table(data, where)


_PACKAGE = "\n[[package]]\n"
# Lines that open a table, and the ones allowed among the package tables.
_TABLE_LINE = re.compile(r"\n([ \t]*\[[^\n]*)")  # a literal first: scanned fast, unlike `^`
_PACKAGE_TABLE = re.compile(r"\[\[package\]\]|\[\[?package(?:\.[A-Za-z0-9_-]+)+\]\]?")


def _package_tables(text: str) -> tuple[str, list[str]] | None:
    """The text before the first ``[[package]]`` and each package table's own text.

    ``None`` unless each table can be read on its own. That needs every line to be a whole
    TOML line (no multi-line strings, no carriage returns) and every table header after the
    first ``[[package]]`` to be ``[[package]]`` or one of its sub-tables: then each
    ``[[package]]`` line of a valid lock starts a fresh table, what follows it up to the
    next one defines keys of that table only, and the lock is valid exactly when its head
    and each table are.
    """
    if '"""' in text or "'''" in text or "\r" in text:
        return None
    head, found, rest = text.partition(_PACKAGE)
    if not found:
        return None
    for line in _TABLE_LINE.finditer("\n" + rest):
        if not _PACKAGE_TABLE.fullmatch(line.group(1)):
            return None
    return head, rest.split(_PACKAGE)


def _parse_reusing(text: str, where: str, other_text: str, other: Lockfile) -> Lockfile | None:
    """``text`` parsed with the package tables it shares with ``other_text`` taken from
    ``other``; ``None`` when that cannot be done exactly (then the caller parses it all)."""
    mine, theirs = _package_tables(text), _package_tables(other_text)
    if mine is None or theirs is None or len(theirs[1]) != len(other.packages):
        return None
    head, tables = mine
    known = dict(zip(theirs[1], other.packages, strict=True))
    # The first table always goes in, so a head that clashes with `[[package]]` fails here.
    fresh = [0, *(i for i, table in enumerate(tables) if i and table not in known)]
    part = head + "".join(_PACKAGE + tables[i] for i in fresh)
    try:
        data = loads(slim_lock_text(part), where)
    except TOMLDecodeError:
        return None  # parsed whole, for the error tomllib gives on the whole text
    lock = lock_from_table(data, where)
    if len(lock.packages) != len(fresh):
        return None  # a table holds another `[[package]]` line: read it whole
    parsed = dict(zip(fresh, lock.packages, strict=True))
    packages = tuple(parsed[i] if i in parsed else known[t] for i, t in enumerate(tables))
    return replace(lock, packages=packages)


# A basic string without escapes (TOML forbids control characters other than tab in it).
_STR = r'"[^"\\\x00-\x08\x0a-\x1f\x7f]*"'
# A file entry as uv writes it: bare keys in uv's order (so none twice), plain values.
_FILE = (
    r"\{ (?:url|path|filename) = " + _STR + r"(?:, hash = " + _STR + r")?"
    r"(?:, size = (?:0|[1-9][0-9]*))?(?:, upload-time = " + _STR + r")? \}"
)
_SDIST = re.compile(r"sdist = " + _FILE)
_WHEEL = re.compile(r"    " + _FILE + r",")


def slim_lock_text(text: str) -> str:
    """``text`` with uv's sdist and wheel entries emptied: ``tomllib`` reads it faster.

    Most of a real lock is wheel URLs and hashes, which this reader never looks at, and
    ``tomllib`` is pure Python. In each ``[[package]]`` table, an ``sdist = { ... }``
    line and a ``wheels = [`` ... ``]`` block in uv's exact layout become ``sdist = {}``
    and ``wheels = []``: the keys stay where they were with values of the same kind, so
    the text is valid TOML exactly when the original is, and the two differ only in those
    two values of package tables. Why that holds, line by line:

    - Without multi-line strings (the text is returned unchanged when it has ``\"\"\"``
      or ``'''``), every ``\\n``-separated line is a whole TOML line: strings, inline
      tables and comments end on it. ``\\r\\n`` is a line end then, and nothing else.
    - A replaced line matches a pattern that admits only valid TOML values, so it is
      valid wherever its placeholder is, and conflicts with later keys and headers
      exactly as the placeholder does (both values are immutable).
    - Replacing needs the last line that starts with ``[`` (after blanks) to be exactly
      ``[[package]]``: the line is then a key of that package table, or the text is
      invalid anyway (a ``[[package]]`` line or a bare key inside an array).

    Package metadata is left to ``tomllib``: it is small and its layout varies.
    """
    if '"""' in text or "'''" in text:
        return text
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return text  # a lone carriage return: invalid, and tomllib says where
        text = text.replace("\r\n", "\n")  # no multi-line strings: only line ends
    lines = text.split("\n")
    out: list[str] = []
    in_package = False  # the last line opening with `[` is exactly `[[package]]`
    i, count = 0, len(lines)
    while i < count:
        line = lines[i]
        i += 1
        if line.startswith("["):
            in_package = line == "[[package]]"
        elif line.startswith((" ", "\t")) and line.lstrip(" \t").startswith("["):
            in_package = False
        elif in_package:
            if line.startswith("sdist = ") and _SDIST.fullmatch(line):
                out.append("sdist = {}")
                continue
            if line == "wheels = [":
                end = i
                while end < count and _WHEEL.fullmatch(lines[end]):
                    end += 1
                if end < count and lines[end] == "]":
                    out.append("wheels = []")
                    i = end + 1
                    continue
        out.append(line)
    return "\n".join(out)


def lock_from_table(data: Table, where: str) -> Lockfile:
    """Build a ``Lockfile`` from already parsed TOML."""
    version = data.get("version")
    if version is None:
        raise WorkspaceError(f"{where}: no `version`: is this a uv.lock? run `uv lock`")
    if type(version) is not int or version != SUPPORTED_LOCK_VERSION:  # not True, not 1.0
        raise WorkspaceError(
            f"{where}: lock version {describe(version)} is not supported (this reader knows version"
            f" {SUPPORTED_LOCK_VERSION}): lock with a uv that writes version"
            f" {SUPPORTED_LOCK_VERSION} or upgrade tta-dev"
        )
    revision = data.get("revision")
    if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool)):
        raise WorkspaceError(f"{where}: `revision` must be an integer")
    manifest = table(data, "manifest", where)
    members = tuple(sorted(_name(m) for m in _strings(manifest.get("members", []), where)))
    packages = tuple(_package(entry, where) for entry in table_list(data, "package", where))
    return Lockfile(
        version=SUPPORTED_LOCK_VERSION,
        revision=revision,
        requires_python=string(data, "requires-python", where),
        packages=packages,
        manifest_members=members,
        manifest_groups=_manifest_groups(manifest, f"{where} [manifest]"),
    )


def _manifest_groups(
    manifest: Table, where: str
) -> tuple[tuple[str, tuple[LockDependency, ...]], ...]:
    """``[manifest.dependency-groups]``: requirements as uv records them (``name``,
    ``extras``, ``marker``; the ``specifier`` is uv's business), as edges into the lock."""
    return _dependency_tables(manifest, "dependency-groups", where, extras_key="extras")


def normalise_source(raw: Mapping[str, Any], where: str) -> LockSource:
    """A lock ``source = { kind = "..." }`` table as a normalised ``LockSource``."""
    kinds = [k for k in SOURCE_KINDS if k in raw]
    if len(kinds) != 1 or not isinstance(raw[kinds[0]], str):
        raise WorkspaceError(
            f"{where}: source {describe(dict(raw))} is not one of {', '.join(SOURCE_KINDS)}"
        )
    return _source(kinds[0], cast(str, raw[kinds[0]]))


@lru_cache(maxsize=16384)
def _source(kind: str, location: str) -> LockSource:
    if kind in {"registry", "url"}:
        location = _normalise_url(location) if "://" in location else _normalise_path(location)
    elif kind == "git":
        location = _normalise_git(location)
    else:
        location = _normalise_path(location)
    return LockSource(kind, location)


def _normalise_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def _normalise_git(url: str) -> str:
    """Repository, subdirectory and commit: ``rev``/``tag``/``branch`` are how it was asked."""
    base, _, commit = url.partition("#")
    parts = urlsplit(base)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k == "subdirectory"]
    path = parts.path.rstrip("/")
    path = path.removesuffix(".git")
    repository = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(kept), ""))
    return f"{repository}#{commit}" if commit else repository


def _normalise_path(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/"))
    return normal.rstrip("/") or "/"


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in cast(list[Any], value)):
        raise WorkspaceError(f"{where}: [manifest] `members` must be a list of strings")
    return cast(list[str], value)


def _package(entry: Table, where: str) -> LockedPackage:
    raw_name = string(entry, "name", f"{where} [[package]]")
    if not raw_name:
        raise WorkspaceError(f"{where}: a [[package]] has no `name`")
    name = _name(raw_name)
    label = f"{where} package {quote(name)}"
    raw_source = entry.get("source")
    if not isinstance(raw_source, dict):
        raise WorkspaceError(f"{label}: no `source` table")
    return LockedPackage(
        name=name,
        version=string(entry, "version", label),
        source=normalise_source(cast(Table, raw_source), label),
        dependencies=_dependencies(entry, "dependencies", label),
        optional_dependencies=_dependency_tables(entry, "optional-dependencies", label),
        dependency_groups=_dependency_tables(entry, "dev-dependencies", label),
        resolution_markers=_marker_list(entry, label),
    )


def _marker_list(entry: Table, where: str) -> tuple[str, ...]:
    value = entry.get("resolution-markers")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in cast(list[Any], value)):
        raise WorkspaceError(f"{where}: `resolution-markers` must be a list of strings")
    return tuple(cast(list[str], value))


def _dependency_tables(
    entry: Table, key: str, where: str, *, extras_key: str = "extra"
) -> tuple[tuple[str, tuple[LockDependency, ...]], ...]:
    if key not in entry:
        return ()
    tables = table(entry, key, where)
    return tuple(
        (_name(name), _dependencies(tables, name, f"{where} {key} {quote(name)}", extras_key))
        for name in sorted(tables)
    )


def _dependencies(
    entry: Table, key: str, where: str, extras_key: str = "extra"
) -> tuple[LockDependency, ...]:
    """Lock edges (``extras_key``: ``extra`` on package edges, ``extras`` in the manifest)."""
    raw = entry.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise WorkspaceError(f"{where}: `{key}` must be a list of tables")
    out: list[LockDependency] = []
    for dep in cast(list[Any], raw):
        if not isinstance(dep, dict):
            raise WorkspaceError(f"{where}: `{key}` must be a list of tables")
        fields = cast(dict[str, Any], dep)
        raw_name = fields.get("name")
        if not isinstance(raw_name, str) or not raw_name:
            raise WorkspaceError(f"{where}: a dependency in `{key}` has no `name`")
        if len(fields) == 1:
            out.append(_plain_dependency(raw_name))  # most edges: one name, nothing else
        else:
            out.append(_dependency(fields, raw_name, where, extras_key))
    return tuple(out)


@lru_cache(maxsize=16384)
def _plain_dependency(raw_name: str) -> LockDependency:
    return LockDependency(_name(raw_name))


def _dependency(
    fields: dict[str, Any], raw_name: str, where: str, extras_key: str = "extra"
) -> LockDependency:
    raw_source = fields.get("source")
    extras = fields.get(extras_key, [])
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in cast(list[Any], extras)):
        raise WorkspaceError(
            f"{where}: `{extras_key}` of {quote(raw_name)} must be a list of strings"
        )
    return LockDependency(
        name=_name(raw_name),
        version=string(fields, "version", where),
        source=(
            normalise_source(cast(Table, raw_source), where)
            if isinstance(raw_source, dict)
            else None
        ),
        marker=string(fields, "marker", where),
        extras=tuple(_name(e) for e in cast(list[str], extras)),
    )
