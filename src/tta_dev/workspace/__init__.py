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

Names load on first use (PEP 562): ``from tta_dev.workspace import render_affected``
imports what rendering needs and nothing else, so ``tta-dev workspace affected --help``
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tta_dev._lazy import lazy_getattr

if TYPE_CHECKING:
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
    from tta_dev.workspace._errors import (
        WorkspaceError,
    )
    from tta_dev.workspace._graph import (
        MemberEdge,
        WorkspaceGraph,
        build_graph,
        conflict_group_gate,
        locked_closure,
        locked_closures,
        root_group_requirements,
        root_groups_closure,
    )
    from tta_dev.workspace._imports import (
        ImportPackage,
        import_names,
        import_packages,
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
    from tta_dev.workspace._rules import (
        AffectedRule,
        AffectedRules,
    )
    from tta_dev.workspace._selection import (
        member_for_test,
        members_for_test,
    )
    from tta_dev.workspace._testmap import (
        TestMap,
    )

# Where each public name lives: imported from there on first use.
_LAZY = {
    "LOCK_FILE": "_affected",
    "AffectedMember": "_affected",
    "AffectedResult": "_affected",
    "LockChange": "_affected",
    "Reason": "_affected",
    "affected_members": "_affected",
    "affected_since": "_affected",
    "current_lock": "_affected",
    "everything": "_affected",
    "paths_in_workspace": "_affected",
    "LockDiff": "_diff",
    "PackageVersion": "_diff",
    "SourceChange": "_diff",
    "VersionChange": "_diff",
    "VersionSetChange": "_diff",
    "diff_locks": "_diff",
    "WorkspaceError": "_errors",
    "MemberEdge": "_graph",
    "WorkspaceGraph": "_graph",
    "build_graph": "_graph",
    "conflict_group_gate": "_graph",
    "locked_closure": "_graph",
    "locked_closures": "_graph",
    "root_group_requirements": "_graph",
    "root_groups_closure": "_graph",
    "ImportPackage": "_imports",
    "import_names": "_imports",
    "import_packages": "_imports",
    "LockDependency": "_lock",
    "LockedPackage": "_lock",
    "Lockfile": "_lock",
    "LockSource": "_lock",
    "PackageRef": "_lock",
    "parse_lock": "_lock",
    "read_lock": "_lock",
    "DeclaredDependency": "_model",
    "Member": "_model",
    "Workspace": "_model",
    "find_workspace_root": "_model",
    "load_workspace": "_model",
    "AFFECTED_FORMATS": "_render",
    "GRAPH_FORMATS": "_render",
    "LOCK_DIFF_FORMATS": "_render",
    "MEMBER_FORMATS": "_render",
    "affected_data": "_render",
    "affected_matrix": "_render",
    "graph_data": "_render",
    "graph_to_dot": "_render",
    "graph_to_mermaid": "_render",
    "lock_diff_data": "_render",
    "members_data": "_render",
    "render_affected": "_render",
    "render_graph": "_render",
    "render_lock_diff": "_render",
    "render_members": "_render",
    "AffectedRule": "_rules",
    "AffectedRules": "_rules",
    "member_for_test": "_selection",
    "members_for_test": "_selection",
    "TestMap": "_testmap",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "ImportPackage",
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
    "TestMap",
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
    "import_names",
    "import_packages",
    "load_workspace",
    "lock_diff_data",
    "locked_closure",
    "locked_closures",
    "member_for_test",
    "members_data",
    "members_for_test",
    "parse_lock",
    "paths_in_workspace",
    "read_lock",
    "render_affected",
    "render_graph",
    "render_lock_diff",
    "render_members",
    "root_group_requirements",
    "root_groups_closure",
]
