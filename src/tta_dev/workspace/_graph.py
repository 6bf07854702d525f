"""The member dependency graph and each member's closure, as uv installs it.

A member's closure is everything installing it for its own development brings in: its
dependencies, all its extras and all its dependency groups; further down only base
dependencies and the extras an edge requests (``beta[cli]``). Another member's
dependency groups are never followed: uv does not install them. Cycles are fine.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from tta_dev.workspace._lock import (
    LOCAL_PROJECT_KINDS,
    LockDependency,
    LockedPackage,
    Lockfile,
    PackageRef,
)
from tta_dev.workspace._model import DependencyKind, Member, Workspace
from tta_dev.workspace._reach import bit_positions, reach_bits


@dataclass(frozen=True, order=True)
class MemberEdge:
    """``source`` depends on workspace member ``target``.

    ``kind`` says how (``runtime``, ``optional`` through extra ``via``, ``group`` through
    dependency group ``via``); ``extras`` are the extras of ``target`` it asks for.
    """

    source: str
    target: str
    kind: DependencyKind
    via: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkspaceGraph:
    """Members and the member-to-member edges their ``pyproject.toml`` files declare."""

    workspace: Workspace
    edges: tuple[MemberEdge, ...]

    @cached_property
    def _outgoing(self) -> Mapping[str, tuple[MemberEdge, ...]]:
        out: dict[str, list[MemberEdge]] = {m.name: [] for m in self.workspace.members}
        for edge in self.edges:
            out[edge.source].append(edge)
        return {name: tuple(edges) for name, edges in out.items()}

    def dependencies_of(self, name: str) -> tuple[MemberEdge, ...]:
        """The edges leaving member ``name``."""
        return self._outgoing.get(name, ())

    def dependents_of(self, name: str) -> tuple[MemberEdge, ...]:
        """The edges arriving at member ``name``."""
        return tuple(e for e in self.edges if e.target == name)

    @cached_property
    def _closure_bits(self) -> Mapping[tuple[str, bool], int]:
        """Every member's closure (full and runtime-only) as a bitset over member order."""
        members = self.workspace.members
        position = {m.name: i for i, m in enumerate(members)}
        successors: list[list[int]] = [[] for _ in members]
        own = [1 << i for i in range(len(members))]
        extra_nodes: dict[tuple[int, str], int] = {}
        pending: list[tuple[int, int, str]] = []

        def targets(edges: Iterable[MemberEdge]) -> list[int]:
            out: list[int] = []
            for edge in edges:
                target = position[edge.target]
                out.append(target)
                for extra in edge.extras:
                    node = extra_nodes.get((target, extra))
                    if node is None:
                        node = extra_nodes[(target, extra)] = len(successors)
                        successors.append([target])
                        own.append(0)
                        pending.append((node, target, extra))
                    out.append(node)
            return out

        for i, member in enumerate(members):
            edges = self.dependencies_of(member.name)
            successors[i] = targets(e for e in edges if e.kind == "runtime")
        tops: dict[str, int] = {}
        for i, member in enumerate(members):
            edges = self.dependencies_of(member.name)
            tops[member.name] = len(successors)
            successors.append([i, *targets(e for e in edges if e.kind != "runtime")])
            own.append(0)
        while pending:
            node, target, extra = pending.pop()
            edges = self.dependencies_of(members[target].name)
            successors[node] += targets(e for e in edges if e.kind == "optional" and e.via == extra)
        reach = reach_bits(successors, own)
        out: dict[tuple[str, bool], int] = {}
        for i, member in enumerate(members):
            out[(member.name, False)] = reach[tops[member.name]]
            out[(member.name, True)] = reach[i]
        return out

    def member_closure(self, name: str, *, runtime_only: bool = False) -> frozenset[str]:
        """The members installing ``name`` brings in (itself included).

        ``name``'s own extras and groups count unless ``runtime_only``; further down only
        base dependencies and the extras each edge requests.
        """
        bits = self._closure_bits.get((name, runtime_only), 0)
        members = self.workspace.members
        return frozenset(members[i].name for i in bit_positions(bits))

    def dependents_closure(self, name: str, *, runtime_only: bool = False) -> frozenset[str]:
        """The members whose closure contains ``name`` (itself included)."""
        members = self.workspace.members
        index = next((i for i, m in enumerate(members) if m.name == name), None)
        if index is None:
            return frozenset()
        closures = self._closure_bits
        return frozenset(m.name for m in members if closures[(m.name, runtime_only)] >> index & 1)


def build_graph(workspace: Workspace, lock: Lockfile | None = None) -> WorkspaceGraph:
    """The member edges: a dependency on a member's name that is not given another source.

    With ``lock``, the edges the lock records between members are added: a member whose
    dependencies are ``dynamic`` (computed by its build backend) declares none in its
    ``pyproject.toml``, but uv has resolved and locked them.
    """
    names = workspace.names
    edges: set[MemberEdge] = set()
    for member in workspace.members:
        for dep in member.dependencies:
            if dep.name in names and dep.name not in member.other_sources:
                if dep.name == member.name and not dep.extras:
                    continue  # `a[x]` inside `a` only matters for its extras
                edges.add(MemberEdge(member.name, dep.name, dep.kind, dep.via, dep.extras))
    if lock is not None:
        edges |= _locked_member_edges(workspace, lock)
    return WorkspaceGraph(workspace, tuple(sorted(edges, key=_edge_key)))


def _locked_member_edges(workspace: Workspace, lock: Lockfile) -> set[MemberEdge]:
    names = workspace.names
    edges: set[MemberEdge] = set()
    for member in workspace.members:
        for entry in lock.member_entries(member.name):
            tables: list[tuple[DependencyKind, str | None, tuple[LockDependency, ...]]] = [
                ("runtime", None, entry.dependencies)
            ]
            for extra, deps in entry.optional_dependencies:
                tables.append(("optional", extra, deps))
            for group, deps in entry.dependency_groups:
                tables.append(("group", group, deps))
            for kind, via, deps in tables:
                for dep in deps:
                    if dep.name not in names or not lock.member_entries(dep.name):
                        continue
                    if dep.name == member.name and not dep.extras:
                        continue
                    extras = tuple(sorted(dep.extras))
                    edges.add(MemberEdge(member.name, dep.name, kind, via, extras))
    return edges


def _edge_key(edge: MemberEdge) -> tuple[str, str, str, str, tuple[str, ...]]:
    return (edge.source, edge.target, edge.kind, edge.via or "", edge.extras)


def locked_closure(
    lock: Lockfile, member: str, *, runtime_only: bool = False
) -> frozenset[PackageRef]:
    """Every locked package installing ``member`` brings in, the member itself included.

    Empty when the lock does not know the member. A name with several locked versions
    resolves to the entry the edge names (uv writes ``version``/``source`` on such edges).
    An edge gated by a conflicting dependency group counts only when the group is
    ``member``'s own (``conflict_group_gate``).
    """
    entries = lock.member_entries(member)
    starts: list[LockDependency] = []
    for entry in entries:
        starts += entry.dependencies
        if not runtime_only:
            for _extra, deps in entry.optional_dependencies:
                starts += deps
            for _group, deps in entry.dependency_groups:
                starts += deps
    return _reach(
        lock,
        starts,
        entries,
        lambda gate: not runtime_only and gate == member,  # see closure_bits
    )


def root_groups_closure(lock: Lockfile) -> frozenset[PackageRef]:
    """Every locked package the workspace root's dependency groups bring in.

    ``uv sync`` installs them beside the members (a virtual root's from
    ``[manifest.dependency-groups]``, a root project's from its own entry), so every
    member's tests run with them: a change here is a change for every member. Edges
    gated by a conflicting group all count: which group is active is not known here.
    """
    return _reach(lock, root_group_requirements(lock), (), lambda _gate: True)


def root_group_requirements(lock: Lockfile) -> tuple[LockDependency, ...]:
    """The root's dependency groups' own requirements (``root_groups_closure`` starts here).

    A virtual root's are its requirements as written, and uv locks nothing for one whose
    marker ``requires-python`` rules out (``tomli; python_version < '3.11'``): such a
    requirement installs nothing, so it is left out rather than read as a broken lock.
    """
    starts = [
        dep for _group, deps in lock.manifest_groups for dep in deps if dep.name in lock.by_name
    ]
    for entry in lock.packages:
        if entry.source.kind in LOCAL_PROJECT_KINDS and entry.source.location == ".":
            starts += [dep for _group, deps in entry.dependency_groups for dep in deps]
    return tuple(starts)


def _reach(
    lock: Lockfile,
    starts: Iterable[LockDependency],
    roots: Iterable[LockedPackage],
    follow_gate: Callable[[str], bool],
) -> frozenset[PackageRef]:
    """``roots`` and every package the edges ``starts`` lead to, extras followed."""
    seen: set[tuple[int, str | None]] = set()
    queue: deque[tuple[LockedPackage, str | None]] = deque()
    reached: set[PackageRef] = set()

    def push(deps: Iterable[LockDependency]) -> None:
        for dep in deps:
            gate = conflict_group_gate(dep.marker)
            if gate is not None and not follow_gate(gate):
                continue
            for target in lock.resolve(dep):
                for state in ((target, None), *((target, e) for e in dep.extras)):
                    key = (id(state[0]), state[1])
                    if key not in seen:
                        seen.add(key)
                        queue.append(state)

    for entry in roots:
        reached.add(entry.ref)
        seen.add((id(entry), None))
    push(starts)
    while queue:
        package, extra = queue.popleft()
        reached.add(package.ref)
        if extra is None:
            push(package.dependencies)
        else:
            push(package.extra_dependencies(extra))
            if (id(package), None) not in seen:
                seen.add((id(package), None))
                queue.append((package, None))
    return frozenset(reached)


class PackageIds:
    """Shared small integers for ``PackageRef``s, so closures of two locks compare as ints."""

    def __init__(self) -> None:
        self.refs: list[PackageRef] = []
        self._ids: dict[PackageRef, int] = {}

    def id_of(self, ref: PackageRef) -> int:
        """The id of ``ref`` (new refs get the next one)."""
        found = self._ids.get(ref)
        if found is None:
            found = self._ids[ref] = len(self.refs)
            self.refs.append(ref)
        return found

    def decode(self, bits: int) -> frozenset[PackageRef]:
        """The refs whose ids are set in ``bits``."""
        return frozenset(self.refs[i] for i in bit_positions(bits))


_GROUP_GATE = re.compile(r"extra == 'group-([0-9]+)-(.+)'")


def conflict_group_gate(marker: str | None) -> str | None:
    """The package whose dependency group must be installed for this edge to count.

    With ``[tool.uv] conflicts``, uv writes ``extra == 'group-<len>-<package>-<group>'``
    on edges that exist only when ``package``'s group is installed; uv installs a
    member's own groups only, so such an edge counts only in that member's closure.
    Other conflict markers are kept (counted), which can only over-approximate.
    """
    match = _GROUP_GATE.fullmatch(marker or "")
    if match is None:
        return None
    length, rest = int(match.group(1)), match.group(2)
    if len(rest) <= length + 1 or rest[length] != "-":
        return None
    return rest[:length]


def closure_bits(
    lock: Lockfile, members: Iterable[str], ids: PackageIds, *, runtime_only: bool = False
) -> dict[str, int]:
    """Each member's ``locked_closure`` as a bitset over ``ids``, all in one pass.

    A member the lock does not know gets ``0`` (an empty closure). Edges gated by a
    member's conflicting dependency group (see ``conflict_group_gate``) are left out of
    the shared pass and followed, by a search of its own, for that member only.
    """
    names = list(members)
    packages = lock.packages
    position = {id(p): k for k, p in enumerate(packages)}
    successors: list[list[int]] = [[] for _ in packages]
    gated: dict[int, list[tuple[str, list[int]]]] = {}
    own = [1 << ids.id_of(p.ref) for p in packages]
    extra_nodes: dict[tuple[int, str], int] = {}
    pending: list[tuple[int, int, str]] = []

    def link(node: int, deps: Iterable[LockDependency]) -> None:
        for dep in deps:
            out: list[int] = []
            for target in lock.resolve(dep):
                k = position[id(target)]
                out.append(k)
                for extra in dep.extras:
                    extra_node = extra_nodes.get((k, extra))
                    if extra_node is None:
                        extra_node = extra_nodes[(k, extra)] = len(successors)
                        successors.append([k])
                        own.append(0)
                        pending.append((extra_node, k, extra))
                    out.append(extra_node)
            gate = conflict_group_gate(dep.marker)
            if gate is None:
                successors[node] += out
            else:
                gated.setdefault(node, []).append((gate, out))

    for k, package in enumerate(packages):
        link(k, package.dependencies)
    tops: dict[str, int] = {}
    for name in names:
        entries = lock.member_entries(name)
        if not entries:
            continue
        top = tops[name] = len(successors)
        successors.append([])
        own.append(0)
        for entry in entries:
            successors[top].append(position[id(entry)])
            if not runtime_only:
                for _extra, deps in entry.optional_dependencies:
                    link(top, deps)
                for _group, deps in entry.dependency_groups:
                    link(top, deps)
    while pending:
        node, k, extra = pending.pop()
        link(node, packages[k].extra_dependencies(extra))
    reach = reach_bits(successors, own)
    out = {name: reach[tops[name]] if name in tops else 0 for name in names}
    gates = {gate for edges in gated.values() for gate, _targets in edges}
    if not runtime_only:
        for name in gates & set(tops):
            out[name] = _search(tops[name], successors, gated, own, name)
    return out


def _search(
    start: int,
    successors: list[list[int]],
    gated: dict[int, list[tuple[str, list[int]]]],
    own: list[int],
    member: str,
) -> int:
    """Reachability from one node, following the edges gated by ``member``'s groups too."""
    seen = {start}
    stack = [start]
    bits = 0
    while stack:
        node = stack.pop()
        bits |= own[node]
        targets = list(successors[node])
        for gate, more in gated.get(node, ()):
            if gate == member:
                targets += more
        for target in targets:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return bits


def locked_closures(
    lock: Lockfile, members: Iterable[str | Member], *, runtime_only: bool = False
) -> dict[str, frozenset[PackageRef]]:
    """``locked_closure`` for each member, computed together (shared work, cycles once)."""
    names = [m if isinstance(m, str) else m.name for m in members]
    ids = PackageIds()
    bits = closure_bits(lock, names, ids, runtime_only=runtime_only)
    return {name: ids.decode(bits[name]) for name in names}
