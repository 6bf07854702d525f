"""uv workspace intelligence: members, ``uv.lock``, dependency graph, affected members.

Read a workspace the way uv does, parse its lock without uv (at any git revision), build
the member graph and each member's resolved closure, and say which members a change
affects, and why::

    from tta_dev.workspace import affected_since, build_graph, load_workspace

    workspace = load_workspace(".")
    result = affected_since(workspace, "origin/main")
    for member in result.affected:
        print(member.name, [str(r) for r in member.reasons])

Bad input raises ``WorkspaceError`` (a ``ValueError``) with a one-line message.
"""

from tta_dev.workspace._affected import (
    LOCK_FILE,
    AffectedMember,
    AffectedResult,
    LockChange,
    Reason,
    affected_members,
    affected_since,
    current_lock,
    everything,
    paths_in_workspace,
)
from tta_dev.workspace._diff import (
    LockDiff,
    PackageVersion,
    SourceChange,
    VersionChange,
    VersionSetChange,
    diff_locks,
)
from tta_dev.workspace._errors import WorkspaceError
from tta_dev.workspace._graph import (
    MemberEdge,
    WorkspaceGraph,
    build_graph,
    conflict_group_gate,
    locked_closure,
    locked_closures,
)
from tta_dev.workspace._lock import (
    LockDependency,
    LockedPackage,
    Lockfile,
    LockSource,
    PackageRef,
    parse_lock,
    read_lock,
)
from tta_dev.workspace._model import (
    DeclaredDependency,
    Member,
    Workspace,
    find_workspace_root,
    load_workspace,
)
from tta_dev.workspace._render import (
    AFFECTED_FORMATS,
    GRAPH_FORMATS,
    LOCK_DIFF_FORMATS,
    MEMBER_FORMATS,
    affected_data,
    affected_matrix,
    graph_data,
    graph_to_dot,
    graph_to_mermaid,
    lock_diff_data,
    members_data,
    render_affected,
    render_graph,
    render_lock_diff,
    render_members,
)
from tta_dev.workspace._rules import AffectedRule, AffectedRules
from tta_dev.workspace._selection import member_for_test

__all__ = [
    "AFFECTED_FORMATS",
    "GRAPH_FORMATS",
    "LOCK_DIFF_FORMATS",
    "LOCK_FILE",
    "MEMBER_FORMATS",
    "AffectedMember",
    "AffectedResult",
    "AffectedRule",
    "AffectedRules",
    "DeclaredDependency",
    "LockChange",
    "LockDependency",
    "LockDiff",
    "LockSource",
    "LockedPackage",
    "Lockfile",
    "Member",
    "MemberEdge",
    "PackageRef",
    "PackageVersion",
    "Reason",
    "SourceChange",
    "VersionChange",
    "VersionSetChange",
    "Workspace",
    "WorkspaceError",
    "WorkspaceGraph",
    "affected_data",
    "affected_matrix",
    "affected_members",
    "affected_since",
    "build_graph",
    "conflict_group_gate",
    "current_lock",
    "diff_locks",
    "everything",
    "find_workspace_root",
    "graph_data",
    "graph_to_dot",
    "graph_to_mermaid",
    "load_workspace",
    "lock_diff_data",
    "locked_closure",
    "locked_closures",
    "member_for_test",
    "members_data",
    "parse_lock",
    "paths_in_workspace",
    "read_lock",
    "render_affected",
    "render_graph",
    "render_lock_diff",
    "render_members",
]
