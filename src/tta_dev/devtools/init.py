"""``tta-dev init``: give an existing uv project or workspace this project's way of working.

It reads the project (workspace or single package, tests, type checker config, services
its dependencies point at, the Pythons its classifiers promise) and plans:

- ``noxfile.py`` built on ``tta_dev.nox`` (sessions chosen from what the project has);
- ``tasks.py`` (invoke wrappers), ``.github/workflows/ci.yml`` (matrix from nox; in a
  workspace, pull requests test the affected members only), ``.pre-commit-config.yaml``
  (``repo: local`` hooks through ``uv run --frozen``), ``.tta/`` in ``.gitignore``;
- the dependency groups the sessions install, added with ``uv add --group`` (uv edits
  ``pyproject.toml`` and ``uv.lock``; we never write the lock).

A file that exists with other content is left alone unless ``force``; a file with the
same content is "unchanged", so a second run changes nothing. ``dry_run`` plans only.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

from packaging.utils import canonicalize_name

from tta_dev._safeio import table_at
from tta_dev.devtools._templates import (
    ProjectFacts,
    affected_workflow,
    ci_workflow,
    noxfile,
    precommit_config,
    tasks_file,
)
from tta_dev.errors import TtaDevError

__all__ = ["InitError", "InitPlan", "PlannedFile", "apply_plan", "detect_project", "plan_init"]

Action = Literal["create", "update", "unchanged", "skip"]
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
# Dependencies that mean "the tests talk to this service".
_SERVICE_HINTS = {
    "redis": ("redis", "redis-py", "aioredis", "valkey", "coredis"),
}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class InitError(TtaDevError, ValueError):
    """The project cannot be initialised as it is; the message says what to fix."""


@dataclass(frozen=True)
class PlannedFile:
    """One file ``init`` writes (or would), and what happens to it."""

    path: str
    action: Action
    content: str
    diff: str = ""


@dataclass(frozen=True)
class InitPlan:
    """Everything ``init`` does in one project, in order."""

    root: Path
    facts: ProjectFacts
    files: tuple[PlannedFile, ...]
    commands: tuple[tuple[str, ...], ...]

    @property
    def changes(self) -> bool:
        return bool(self.commands) or any(f.action in ("create", "update") for f in self.files)


def _requirement_names(values: Iterable[object]) -> set[str]:
    names: set[str] = set()
    for value in values:
        if isinstance(value, str):
            match = _NAME.match(value)
            if match:
                names.add(canonicalize_name(match.group(1)))
    return names


def _list(value: object) -> list[object]:
    return cast("list[object]", value) if isinstance(value, list) else []


def _has_tests(root: Path, member_paths: Sequence[Path]) -> tuple[bool, tuple[str, ...]]:
    found: list[str] = []
    for folder in (root, *member_paths):
        tests = folder / "tests"
        if tests.is_dir():
            found.append(tests.relative_to(root).as_posix())
    if found:
        return True, tuple(sorted(set(found)))
    skip = {".venv", ".nox", ".git", "node_modules", "build", "dist"}
    for _folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith(".")]
        if any(f.startswith("test_") and f.endswith(".py") for f in files):
            return True, ()
    return False, ()


def _type_checker(root: Path, pyproject: Mapping[str, Any]) -> str | None:
    tool = table_at(pyproject, "tool")
    if "pyright" in tool or (root / "pyrightconfig.json").is_file():
        return "pyright"
    if "mypy" in tool or (root / "mypy.ini").is_file() or (root / ".mypy.ini").is_file():
        return "mypy"
    return None


# The names projects give the groups our sessions install; the first present is used.
_GROUP_NAMES = {
    "test": ("test", "tests", "testing"),
    "lint": ("lint", "linting", "linters"),
    "typecheck": ("typecheck", "typing", "types", "mypy"),
}
#: The oldest Python tta-dev runs on; the dev and test groups carry it.
_TTA_DEV_PYTHON = (3, 11)


def _group_name(existing: set[str], names: tuple[str, ...], role: str) -> str:
    return next((n for n in names if n in existing), role)


def _check_python_range(
    pyproject: Mapping[str, Any],
    groups: Mapping[str, str],
    pyprojects: Sequence[Mapping[str, Any]],
) -> None:
    """A project that admits Pythons older than tta-dev's must scope tta-dev's groups.

    uv resolves every group for the whole ``requires-python`` range, so ``uv add --group
    dev tta-dev`` fails in a project that still supports 3.10. uv's answer is a
    ``requires-python`` per group in ``[tool.uv.dependency-groups]``; we say exactly that
    instead of editing ``pyproject.toml`` behind the user's back.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    # uv resolves a workspace for the intersection of its members' ranges: one member that
    # admits 3.10 (a virtual root has no range of its own) makes the workspace admit it.
    older: list[str] = []
    raw = ""
    for table in pyprojects:
        candidate = table_at(table, "project").get("requires-python")
        if not isinstance(candidate, str):
            continue
        try:
            spec = SpecifierSet(candidate)
        except InvalidSpecifier:
            continue
        old = [f"3.{m}" for m in range(7, _TTA_DEV_PYTHON[1]) if spec.contains(f"3.{m}.99")]
        if len(old) > len(older):
            older, raw = old, candidate
    if not older:
        return
    scoped = table_at(pyproject, "tool", "uv", "dependency-groups")
    needed = ("dev", groups["test"])
    if all(isinstance(scoped.get(g), dict) and scoped[g].get("requires-python") for g in needed):
        return
    wanted = ", ".join(f'{g} = {{ requires-python = ">=3.11" }}' for g in needed)
    raise InitError(
        f"requires-python {raw!r} admits Python {older[-1]}, but tta-dev needs >= 3.11: add"
        f" [tool.uv.dependency-groups] {wanted} to pyproject.toml (each group must exist in"
        " [dependency-groups], e.g. `dev = []`), or raise requires-python, then run init again"
    )


def _typecheck_paths(root: Path, pyproject: Mapping[str, Any]) -> tuple[str, ...]:
    """mypy's targets: none when its config names ``files``, else ``src`` or ``.``.

    Checking ``.`` would hold the project's tasks and noxfile to its library's strictness.
    """
    if table_at(pyproject, "tool", "mypy").get("files"):
        return ()
    return ("src",) if (root / "src").is_dir() else (".",)


def detect_project(root: Path) -> ProjectFacts:
    """What ``init`` needs to know about the uv project or workspace at ``root``."""
    from tta_dev._safeio import load_toml
    from tta_dev.workspace import WorkspaceError, load_workspace

    pyproject_path = root / "pyproject.toml"
    if not pyproject_path.is_file():
        raise InitError(f"{root}/pyproject.toml not found: run inside a uv project or pass --root")
    pyproject = load_toml(pyproject_path, "pyproject.toml")
    try:
        workspace = load_workspace(root)
    except WorkspaceError as exc:
        raise InitError(str(exc)) from exc
    if workspace.root.resolve() != root.resolve():
        raise InitError(
            f"{root} is a member of the workspace at {workspace.root}: run init in the workspace root"
        )
    is_workspace = bool(table_at(pyproject, "tool", "uv", "workspace"))
    members = tuple(m.name for m in workspace.members)
    member_paths = [root / m.path for m in workspace.members if m.path not in ("", ".")]
    has_tests, test_paths = _has_tests(root, member_paths)
    declared: set[str] = set()
    for member in workspace.members:
        for dependency in member.dependencies:
            declared.add(canonicalize_name(dependency.name))
    services = tuple(service for service, hints in _SERVICE_HINTS.items() if declared & set(hints))
    classifiers = _list(table_at(pyproject, "project").get("classifiers"))
    versions = sorted(
        {
            c.rsplit("::", 1)[1].strip()
            for c in classifiers
            if isinstance(c, str)
            and re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c.strip())
        },
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    name = str(table_at(pyproject, "project").get("name") or root.resolve().name)
    existing = set(table_at(pyproject, "dependency-groups"))
    groups = {role: _group_name(existing, names, role) for role, names in _GROUP_NAMES.items()}
    member_tables: list[Mapping[str, Any]] = [pyproject]
    for folder in member_paths:
        try:
            member_tables.append(load_toml(folder / "pyproject.toml", f"{folder}/pyproject.toml"))
        except ValueError:
            continue  # the workspace model read it already; a range we cannot read is none
    _check_python_range(pyproject, groups, member_tables)
    return ProjectFacts(
        name=name if _SAFE.match(name) else "this project",
        workspace=is_workspace,
        members=members,
        has_tests=has_tests,
        test_paths=test_paths,
        type_checker=_type_checker(root, pyproject),
        services=services,
        other_pythons=tuple(v for v in versions if v != running),
        test_group=groups["test"],
        lint_group=groups["lint"],
        typecheck_group=groups["typecheck"],
        typecheck_paths=_typecheck_paths(root, pyproject),
        default_branch=_default_branch(root),
    )


#: A branch name a workflow's `branches:` can hold as it is (git allows far more).
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


def _default_branch(root: Path) -> str:
    """``origin``'s default branch (``origin/HEAD``), else ``main`` or ``master`` where
    only that one exists, else ``main``: pushes there run every member."""
    from tta_dev.workspace import WorkspaceError
    from tta_dev.workspace._git import run_optional

    def ask(*args: str) -> str:
        try:
            return run_optional(root, *args).strip()
        except WorkspaceError:  # no git, or it hung: not a repository to read
            return ""

    head = ask("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    branch = head.removeprefix("origin/") if head.startswith("origin/") else ""
    if not branch:
        local = set(ask("branch", "--format=%(refname:short)").splitlines())
        branch = "master" if "master" in local and "main" not in local else "main"
    return branch if _BRANCH.fullmatch(branch) else "main"


def _groups_needed(facts: ProjectFacts, tta_dev: str) -> dict[str, list[str]]:
    """Dependency group -> requirements the generated sessions and hooks run."""
    groups: dict[str, list[str]] = {
        # tta-dev[devtools]: the drift and health checks read workflows (YAML, shell).
        "dev": ["nox>=2026.8", "invoke>=2.2", "pre-commit>=4.3", _with_extra(tta_dev)],
        facts.lint_group: ["ruff>=0.14", "zizmor>=1.20"],
        facts.test_group: ["pytest>=8.4", "coverage>=7.10", "pytest-asyncio>=1.2", tta_dev],
    }
    if facts.type_checker == "pyright":
        groups[facts.typecheck_group] = ["pyright>=1.1.400"]
    elif facts.type_checker == "mypy":
        groups[facts.typecheck_group] = ["mypy>=1.15"]
    return groups


def _with_extra(requirement: str, extra: str = "devtools") -> str:
    """``tta-dev[devtools]``, also for a path (``tta-dev[devtools] @ file:///...``)."""
    if os.sep in requirement or requirement.startswith("."):
        return f"tta-dev[{extra}] @ {Path(requirement).resolve().as_uri()}"
    match = _NAME.match(requirement)
    if match is None:
        return requirement
    name = match.group(1)
    return f"{name}[{extra}]{requirement[match.end() :]}"


def _check_requirement(requirement: str) -> None:
    """A path or a PEP 508 requirement; anything else would fail late inside `uv add`."""
    if os.sep in requirement or requirement.startswith("."):
        return
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(requirement)
    except InvalidRequirement:
        raise InitError(
            f"--tta-dev {requirement[:80]!r} is not a requirement or a path:"
            " pass e.g. tta-dev, 'tta-dev>=0.1' or a path to a checkout"
        ) from None


def _present(pyproject: Mapping[str, Any], group: str) -> set[str]:
    entries = _list(table_at(pyproject, "dependency-groups").get(group))
    return _requirement_names(entries)


def _requirement_name(requirement: str) -> str:
    if " @ " in requirement:
        requirement = requirement.split(" @ ", 1)[0]
    if os.sep in requirement or requirement.startswith("."):
        return "tta-dev"  # a path to tta-dev's source
    match = _NAME.match(requirement)
    return canonicalize_name(match.group(1)) if match else requirement


def _uv_add_commands(root: Path, facts: ProjectFacts, tta_dev: str) -> tuple[tuple[str, ...], ...]:
    from tta_dev._safeio import load_toml

    pyproject = load_toml(root / "pyproject.toml", "pyproject.toml")
    commands: list[tuple[str, ...]] = []
    for group, requirements in _groups_needed(facts, tta_dev).items():
        present = _present(pyproject, group)
        missing = [r for r in requirements if _requirement_name(r) not in present]
        if missing:
            commands.append(("uv", "add", "--group", group, *missing))
    return tuple(commands)


def _gitignore(root: Path) -> str:
    path = root / ".gitignore"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = current.splitlines()
    wanted = [entry for entry in (".nox/", ".tta/", ".coverage.*") if entry not in lines]
    if not wanted:
        return current
    prefix = current if not current or current.endswith("\n") else current + "\n"
    return (
        prefix
        + "# tta-dev init: nox venvs, local metrics, coverage data\n"
        + "\n".join(wanted)
        + "\n"
    )


def _workflow_files(root: Path) -> list[str]:
    folder = root / ".github" / "workflows"
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in folder.iterdir()
        if p.suffix in (".yml", ".yaml") and p.is_file()
    )


def plan_init(root: Path, *, force: bool = False, tta_dev: str = "tta-dev") -> InitPlan:
    """What ``init`` would write in ``root``, and the ``uv add`` commands it would run."""
    _check_requirement(tta_dev)
    facts = detect_project(root)
    workflows = {".github/workflows/ci.yml": ci_workflow(facts)}
    if facts.workspace:
        workflows[".github/workflows/affected.yml"] = affected_workflow(
            facts.default_branch, integration=bool(facts.services)
        )
    planned = [_planned(root, relative, text, force) for relative, text in workflows.items()]
    # Workflows init writes (or leaves as it wrote them) are its own; the rest the project's.
    ours = [f.path for f in planned if f.action != "skip"]
    theirs = [w for w in _workflow_files(root) if w not in ours]
    facts = replace(facts, project_workflows=tuple(theirs), init_workflows=tuple(ours))
    others = {
        "noxfile.py": noxfile(facts),
        "tasks.py": tasks_file(facts),
        ".pre-commit-config.yaml": precommit_config(facts),
        ".gitignore": _gitignore(root),
    }
    planned += [_planned(root, relative, text, force) for relative, text in others.items()]
    order = ["noxfile.py", "tasks.py", *workflows, ".pre-commit-config.yaml", ".gitignore"]
    files = sorted(planned, key=lambda f: order.index(f.path))
    return InitPlan(root, facts, tuple(files), _uv_add_commands(root, facts, tta_dev))


def _planned(root: Path, relative: str, content: str, force: bool) -> PlannedFile:
    """Create, unchanged, update (``force``, or ``.gitignore``) or skip ``relative``."""
    path = root / relative
    if not path.exists():
        return PlannedFile(relative, "create", content)
    if not path.is_file():
        raise InitError(f"{relative} exists and is not a regular file: move it away")
    current = path.read_text(encoding="utf-8", errors="replace")
    if current == content:
        return PlannedFile(relative, "unchanged", content)
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            content.splitlines(keepends=True),
            f"a/{relative}",
            f"b/{relative}",
        )
    )
    # .gitignore is only ever appended to, so it is always safe to update.
    action: Action = "update" if force or relative == ".gitignore" else "skip"
    return PlannedFile(relative, action, content, diff)


Runner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)  # uv add works on the project's own environment
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    return subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=600, check=False, env=env
    )


def _uv_reason(stderr: str) -> str:
    """The line of uv's error that says why (not its closing hint)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("\u00d7", "error:")) or "No solution found" in line:
            following = lines[lines.index(line) + 1 : lines.index(line) + 2]
            return " ".join([line, *following])[:300]
    return (lines[-1] if lines else "no output")[:300]


def apply_plan(plan: InitPlan, *, runner: Runner = _run) -> None:
    """Run the ``uv add`` commands, then write the planned files (never the lock by hand)."""
    if plan.commands and shutil.which("uv") is None and runner is _run:
        raise InitError("uv is not on PATH: install uv (pip install uv) and run init again")
    for command in plan.commands:
        result = runner(command, plan.root)
        if result.returncode != 0:
            raise InitError(f"`{shlex.join(command[:4])} ...` failed: {_uv_reason(result.stderr)}")
    for planned in plan.files:
        if planned.action not in ("create", "update"):
            continue
        path = plan.root / planned.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(planned.content, encoding="utf-8")


def render_plan(plan: InitPlan, *, dry_run: bool) -> str:
    """What was (or would be) done, one line per file and command; diffs in a dry run."""
    verb = {"create": "create", "update": "update", "unchanged": "unchanged", "skip": "skip"}
    # shlex.join: the lines are meant to be pasted, and `nox>=2026.8` unquoted is a redirect.
    lines = [("would run: " if dry_run else "ran: ") + shlex.join(c) for c in plan.commands]
    for planned in plan.files:
        note = (
            " (exists with other content; --force replaces it)" if planned.action == "skip" else ""
        )
        lines.append(f"{verb[planned.action]:9} {planned.path}{note}")
        if dry_run and planned.action == "create":
            lines += [f"    {line}" for line in planned.content.splitlines()[:12]]
            if planned.content.count("\n") > 12:
                lines.append("    ...")
        if dry_run and planned.diff and planned.action in ("update", "skip"):
            lines += [f"    {line}" for line in planned.diff.splitlines()]
    if not plan.changes:
        lines.append("nothing to do: the project is already set up")
    elif dry_run:
        lines.append("dry run: nothing was written")
    else:
        lines.append("next: uv run nox -l, uv run pre-commit install, uv run tta-dev drift")
    return "\n".join(lines)
