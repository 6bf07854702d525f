"""Which member a test belongs to, for running only the tests of affected members.

The convention (first match wins), for a test file relative to the workspace root:

1. inside a member's folder (not the root's): that member (``packages/a/tests/...`` → ``a``);
2. under ``tests/``, a folder named like a member, at most two levels down
   (``tests/a/...``, ``tests/unit/a/...``; the member's name or its folder's name);
3. anywhere else in the workspace: the root member, when the root is a project, and the
   members the file imports (rule 4): the root need not depend on them;
4. otherwise the members the file imports (``members_for_test``: static import analysis,
   ``tta_dev.workspace._testmap``), so a root ``tests/test_openai.py`` runs when the
   member shipping ``livekit.plugins.openai`` is affected;
5. a file that imports no member or cannot be parsed: nobody; it runs whenever any member
   is affected (``--affected-since``; CI's first member job) or everything is.
"""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from tta_dev.workspace._model import Member, Workspace
from tta_dev.workspace._testmap import TestMap


def member_for_test(workspace: Workspace, path: Path) -> Member | None:
    """The member whose tests ``path`` holds, or ``None`` when no member claims it."""
    try:
        relative = path.resolve().relative_to(workspace.root).as_posix()
    except ValueError:
        return None
    owner = workspace.owner_of(relative)
    if owner is not None and owner.path != ".":
        return owner
    folders = relative.split("/")[:-1]
    if folders and folders[0] == "tests":
        by_folder = {m.path.rsplit("/", 1)[-1]: m for m in workspace.members if m.path != "."}
        by_name = {m.name: m for m in workspace.members}
        for folder in folders[1:3]:
            found = by_name.get(canonicalize_name(folder)) or by_folder.get(folder)
            if found is not None:
                return found
    return owner


def members_for_test(
    workspace: Workspace, path: Path, test_map: TestMap | None = None
) -> frozenset[str] | None:
    """The members whose tests ``path`` holds (rules 1-4), or ``None``: nobody's (rule 5).

    A file the root project claims (rule 3) also belongs to the members it imports: the
    root need not depend on them (sync installs every member), so a change to such a
    member leaves the root unaffected, and the member's job must run the test.
    """
    member = member_for_test(workspace, path)
    if member is not None and member.path != ".":
        return frozenset({member.name})
    try:
        relative = path.resolve().relative_to(workspace.root).as_posix()
    except ValueError:
        return None if member is None else frozenset({member.name})
    imported = (test_map or TestMap(workspace)).members_for_file(relative)
    if member is None:
        return imported
    return frozenset({member.name}) | (imported or frozenset())
