"""The member dependency graph and each member's closure, as uv installs it.

A member's closure is everything installing it for its own development brings in: its
dependencies, all its extras and all its dependency groups; further down only base
dependencies and the extras an edge requests (``beta[cli]``). Another member's
dependency groups are never followed: uv does not install them. Cycles are fine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from tta_dev.workspace._lock import LockDependency, LockedPackage, Lockfile, PackageRef
from tta_dev.workspace._model import DependencyKind, Member, Workspace


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

    def member_closure(self, name: str, *, runtime_only: bool = False) -> frozenset[str]:
        """The members installing ``name`` brings in (itself included).

        ``name``'s own extras and groups count unless ``runtime_only``; further down only
        base dependencies and the extras each edge requests.
        """
        seen: set[tuple[str, str | None]] = set()
        queue: deque[tuple[str, str | None]] = deque()
        for edge in self.dependencies_of(name):
            if edge.kind == "runtime" or not runtime_only:
                _push_member(edge, seen, queue)
        reached = {name}
        while queue:
            member, extra = queue.popleft()
            reached.add(member)
            for edge in self.dependencies_of(member):
                wanted = edge.kind == "runtime" or (edge.kind == "optional" and edge.via == extra)
                if wanted:
                    _push_member(edge, seen, queue)
            if extra is not None and (member, None) not in seen:
                seen.add((member, None))
                queue.append((member, None))
        return frozenset(reached)

    @cached_property
    def _closures(self) -> Mapping[tuple[str, bool], frozenset[str]]:
        return {
            (m.name, runtime_only): self.member_closure(m.name, runtime_only=runtime_only)
            for m in self.workspace.members
            for runtime_only in (False, True)
        }

    def dependents_closure(self, name: str, *, runtime_only: bool = False) -> frozenset[str]:
        """The members whose closure contains ``name`` (itself included)."""
        return frozenset(
            m.name for m in self.workspace.members if name in self._closures[(m.name, runtime_only)]
        )


def _push_member(
    edge: MemberEdge,
    seen: set[tuple[str, str | None]],
    queue: deque[tuple[str, str | None]],
) -> None:
    for state in ((edge.target, None), *((edge.target, e) for e in edge.extras)):
        if state not in seen:
            seen.add(state)
            queue.append(state)


def build_graph(workspace: Workspace) -> WorkspaceGraph:
    """The member edges: a dependency on a member's name that is not given another source."""
    names = workspace.names
    edges: set[MemberEdge] = set()
    for member in workspace.members:
        for dep in member.dependencies:
            if dep.name in names and dep.name not in member.other_sources:
                if dep.name == member.name and not dep.extras:
                    continue  # `a[x]` inside `a` only matters for its extras
                edges.add(MemberEdge(member.name, dep.name, dep.kind, dep.via, dep.extras))
    return WorkspaceGraph(workspace, tuple(sorted(edges, key=_edge_key)))


def _edge_key(edge: MemberEdge) -> tuple[str, str, str, str, tuple[str, ...]]:
    return (edge.source, edge.target, edge.kind, edge.via or "", edge.extras)


def locked_closure(
    lock: Lockfile, member: str, *, runtime_only: bool = False
) -> frozenset[PackageRef]:
    """Every locked package installing ``member`` brings in, the member itself included.

    Empty when the lock does not know the member. A name with several locked versions
    resolves to the entry the edge names (uv writes ``version``/``source`` on such edges).
    """
    seen: set[tuple[int, str | None]] = set()
    queue: deque[tuple[LockedPackage, str | None]] = deque()
    reached: set[PackageRef] = set()

    def push(deps: Iterable[LockDependency]) -> None:
        for dep in deps:
            for target in lock.resolve(dep):
                for state in ((target, None), *((target, e) for e in dep.extras)):
                    key = (id(state[0]), state[1])
                    if key not in seen:
                        seen.add(key)
                        queue.append(state)

    for entry in lock.member_entries(member):
        reached.add(entry.ref)
        seen.add((id(entry), None))
        push(entry.dependencies)
        if not runtime_only:
            for _extra, deps in entry.optional_dependencies:
                push(deps)
            for _group, deps in entry.dependency_groups:
                push(deps)
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


def locked_closures(
    lock: Lockfile, members: Iterable[str | Member], *, runtime_only: bool = False
) -> dict[str, frozenset[PackageRef]]:
    """``locked_closure`` for each member."""
    out: dict[str, frozenset[PackageRef]] = {}
    for member in members:
        name = member if isinstance(member, str) else member.name
        out[name] = locked_closure(lock, name, runtime_only=runtime_only)
    return out
