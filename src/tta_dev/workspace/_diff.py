"""Lockfile diff: what changed between two ``uv.lock`` files, and which members it reaches.

Packages are compared by resolved name, version and normalised source, never by the text
of their tables: re-serialisation, hashes of the same files, or a registry URL spelled
with a trailing slash are no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from tta_dev.workspace._graph import PackageIds, closure_bits, root_groups_closure
from tta_dev.workspace._lock import Lockfile, PackageRef


@dataclass(frozen=True)
class PackageVersion:
    """A package added to or removed from the lock."""

    name: str
    version: str | None
    reached: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionChange:
    """A package locked at one version before and another after."""

    name: str
    old: str | None
    new: str | None
    reached: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionSetChange:
    """A package locked at several versions (resolution forks) whose set of versions changed."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    reached: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceChange:
    """The same version of a package, from another source (index, git commit, path)."""

    name: str
    version: str | None
    old: str
    new: str
    reached: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockDiff:
    """Every difference between two locks; ``reached`` lists the members each one reaches."""

    added: tuple[PackageVersion, ...] = ()
    removed: tuple[PackageVersion, ...] = ()
    upgraded: tuple[VersionChange, ...] = ()
    downgraded: tuple[VersionChange, ...] = ()
    changed: tuple[VersionSetChange, ...] = ()
    sources: tuple[SourceChange, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the two locks resolve to the same packages."""
        return not (
            self.added
            or self.removed
            or self.upgraded
            or self.downgraded
            or self.changed
            or self.sources
        )


def _parsed(version: str | None) -> Version | None:
    if version is None:
        return None
    try:
        return Version(version)
    except InvalidVersion:
        return None


def version_sort_key(version: str | None) -> tuple[int, Version | None, str]:
    """Order versions by ``packaging`` rules; unparsable ones after, by text."""
    parsed = _parsed(version)
    return (0, parsed, "") if parsed is not None else (1, None, version or "")


def _versions(refs: Iterable[PackageRef]) -> tuple[str, ...]:
    return tuple(sorted({r.version or "" for r in refs}, key=version_sort_key))


def closure_changes(
    old: frozenset[PackageRef], new: frozenset[PackageRef]
) -> dict[str, tuple[frozenset[PackageRef], frozenset[PackageRef]]]:
    """Per package name, the refs of that name only in ``old`` and only in ``new``."""
    changes: dict[str, tuple[set[PackageRef], set[PackageRef]]] = {}
    for ref in old - new:
        changes.setdefault(ref.name, (set(), set()))[0].add(ref)
    for ref in new - old:
        changes.setdefault(ref.name, (set(), set()))[1].add(ref)
    return {n: (frozenset(o), frozenset(w)) for n, (o, w) in sorted(changes.items())}


def describe_change(old: Iterable[PackageRef], new: Iterable[PackageRef]) -> str:
    """``1.0 → 1.1``, ``added 2.0``, ``removed 1.0`` or ``source a → b``, for one name."""
    old_refs, new_refs = sorted(old), sorted(new)
    old_versions, new_versions = _versions(old_refs), _versions(new_refs)
    if not old_refs:
        return "added " + ", ".join(new_versions)
    if not new_refs:
        return "removed " + ", ".join(old_versions)
    if old_versions == new_versions:
        before = ", ".join(str(r.source) for r in old_refs)
        after = ", ".join(str(r.source) for r in new_refs)
        return f"{', '.join(new_versions)}: source {before} → {after}"
    return f"{', '.join(old_versions)} → {', '.join(new_versions)}"


def diff_locks(old: Lockfile, new: Lockfile, *, reach: bool = True) -> LockDiff:
    """Compare two locks; with ``reach``, name the members each change reaches.

    Members are the ones each lock records (``[manifest] members``, or the root project).
    """
    old_refs = _refs_by_name(old)
    new_refs = _refs_by_name(new)
    names = sorted(set(old_refs) | set(new_refs))
    changed_names = {n for n in names if old_refs.get(n, set()) != new_refs.get(n, set())}
    closures = _Closures(old, new) if reach and changed_names else None
    reached: Mapping[str, tuple[str, ...]] = closures.reached(changed_names) if closures else {}

    added: list[PackageVersion] = []
    removed: list[PackageVersion] = []
    upgraded: list[VersionChange] = []
    downgraded: list[VersionChange] = []
    changed: list[VersionSetChange] = []
    sources: list[SourceChange] = []
    for name in names:
        if name not in changed_names:
            continue
        before, after = old_refs.get(name, set()), new_refs.get(name, set())
        members = reached.get(name, ())
        if not before or not after:
            target = added if not before else removed
            for ref in sorted(after or before, key=lambda r: version_sort_key(r.version)):
                exact = closures.containing(ref, new=not before) if closures else ()
                target.append(PackageVersion(name, ref.version, exact))
            continue
        old_versions = {r.version for r in before}
        new_versions = {r.version for r in after}
        if old_versions == new_versions:
            for version in sorted(old_versions, key=version_sort_key):
                was = sorted(str(r.source) for r in before if r.version == version)
                now = sorted(str(r.source) for r in after if r.version == version)
                if was != now:
                    sources.append(
                        SourceChange(name, version, ", ".join(was), ", ".join(now), members)
                    )
            continue
        if len(before) == 1 and len(after) == 1:
            (was_ref,) = before
            (now_ref,) = after
            old_v, new_v = _parsed(was_ref.version), _parsed(now_ref.version)
            if old_v is not None and new_v is not None and old_v != new_v:
                change = VersionChange(name, was_ref.version, now_ref.version, members)
                (upgraded if new_v > old_v else downgraded).append(change)
                continue
        changed.append(VersionSetChange(name, _versions(before), _versions(after), members))
    return LockDiff(
        added=tuple(added),
        removed=tuple(removed),
        upgraded=tuple(upgraded),
        downgraded=tuple(downgraded),
        changed=tuple(changed),
        sources=tuple(sources),
    )


def _refs_by_name(lock: Lockfile) -> dict[str, set[PackageRef]]:
    out: dict[str, set[PackageRef]] = {}
    for package in lock.packages:
        out.setdefault(package.name, set()).add(package.ref)
    return out


class _Closures:
    """Each lock member's closure in both locks, to say which members a change reaches."""

    def __init__(self, old: Lockfile, new: Lockfile) -> None:
        self.members = sorted(old.member_names | new.member_names)
        self.ids = PackageIds()
        self.old = closure_bits(old, self.members, self.ids)
        self.new = closure_bits(new, self.members, self.ids)
        # Every member's tests run with the root's dependency groups (root_groups_closure).
        self.old_root = root_groups_closure(old)
        self.new_root = root_groups_closure(new)

    def reached(self, names: set[str]) -> Mapping[str, tuple[str, ...]]:
        """Per package name, the members whose closure changed in it."""
        found: dict[str, set[str]] = {}
        for member in self.members:
            changed = self.old[member] ^ self.new[member]
            if not changed:
                continue
            for name in {ref.name for ref in self.ids.decode(changed)}:
                if name in names:
                    found.setdefault(name, set()).add(member)
        for ref in self.old_root ^ self.new_root:
            if ref.name in names:
                found[ref.name] = set(self.members)
        return {name: tuple(sorted(members)) for name, members in found.items()}

    def containing(self, ref: PackageRef, *, new: bool) -> tuple[str, ...]:
        """The members whose closure in the new (or old) lock holds exactly ``ref``."""
        if ref in (self.new_root if new else self.old_root):
            return tuple(self.members)
        closures = self.new if new else self.old
        bit = 1 << self.ids.id_of(ref)
        return tuple(m for m in self.members if closures[m] & bit)
