"""Mutation-based safety audit of test selection: what would our selection let through?

For each member (or a sample), in a temporary copy of the workspace, plant a breaking
change in one public function of the member's code (``raise``: it raises; ``wrong``: it
returns a wrong value) or in one of its third-party dependencies (``dependency``: a
breaking upgrade in ``uv.lock``), then run the tests ours selects for that change
(``affected_members`` + ``members_for_test``) and the full suite. An **escape** is a
mutation the full suite catches (it fails) and the selection does not (it passes): each
comes with the failing tests the selection left out and the rule that left them out.
Failing files the selection left out are run again alone (still mutated): those that
pass there failed in the full run only after an earlier test left state behind
(``order_dependent``), not for lack of selection, and get no rule.

A ``dependency`` mutation is what a PR bumping a package looks like to the engine: the
copy's ``uv.lock`` gets a new version of the package (the lock-aware engine reads both
ends and selects the members whose locked closure holds it), and the tests run with a
broken release of it shadowing the installed one: a folder on ``PYTHONPATH`` whose
modules of the package's import names raise ``ImportError``. Only packages this
interpreter has installed and that neither pytest nor its loaded plugins need qualify.
Besides one per member, one ``dependency`` mutation (member ``(root groups)``) breaks a
package that only the workspace root's dependency groups lock: in no member's closure,
yet ``uv sync`` installs it beside every member, so every test runs with it.

Tests run with this interpreter (``python -m pytest``) and the members' module roots on
``PYTHONPATH``, so the copy needs no install; ``generate_workspace`` writes a
multi-member workspace, with a ``uv.lock`` and tests under ``tests/`` and
``benchmarks/``, to audit.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tta_dev._safeio import quote
from tta_dev._signals import temporary_directory
from tta_dev.errors import TtaDevError
from tta_dev.workspace import (
    LOCK_FILE,
    LockChange,
    Lockfile,
    TestMap,
    Workspace,
    affected_members,
    build_graph,
    current_lock,
    import_packages,
    load_workspace,
    locked_closures,
    members_for_test,
    parse_lock,
    root_group_requirements,
    root_groups_closure,
)

MUTATIONS = ("raise", "wrong", "dependency")
#: Most members ``generate_workspace`` writes: an audit runs pytest twice per mutation,
#: so more is hours of runs, and an unbounded count filled the disk.
MAX_GENERATED = 500
TIMEOUT_S = 600
_IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".nox", "*.pyc", ".*_cache")
_CONFTEST_ERROR = re.compile(r"ImportError while loading conftest '([^'\n]+)'")
_LOCAL_SOURCES = frozenset({"editable", "virtual", "directory", "path"})
#: The ``member`` of the ``dependency`` mutation planted in the root's dependency groups.
ROOT_GROUPS = "(root groups)"


@dataclass(frozen=True)
class Mutation:
    """One planted change: ``kind`` applied to ``function`` in ``path`` of ``member``.

    For ``dependency``, ``path`` is ``uv.lock`` and ``function`` the package whose locked
    version goes from ``old_version`` to ``new_version``; ``imports`` are the import
    names its broken release breaks.
    """

    member: str
    kind: str
    path: str
    function: str
    old_version: str | None = None
    new_version: str | None = None
    imports: tuple[str, ...] = ()

    @property
    def package(self) -> str | None:
        """The third-party package a ``dependency`` mutation breaks."""
        return self.function if self.kind == "dependency" else None


@dataclass(frozen=True)
class MutationRun:
    """What the selection and the full suite did with one mutation."""

    mutation: Mutation
    affected: tuple[str, ...]
    selected: tuple[str, ...]
    full_failed: tuple[str, ...]
    selection_failed: tuple[str, ...]
    missed: tuple[str, ...]
    rules: tuple[str, ...]
    #: Unselected files that failed in the full run but pass when the unselected files
    #: run alone (still mutated): they failed after, and because of, an earlier test.
    order_dependent: tuple[str, ...] = ()

    @property
    def escaped(self) -> bool:
        return bool(self.full_failed) and not self.selection_failed


@dataclass(frozen=True)
class AuditReport:
    """Every mutation run; ``escaped`` are those the selection let through."""

    root: str
    runs: tuple[MutationRun, ...]
    skipped: tuple[str, ...] = ()
    baseline_failed: tuple[str, ...] = ()
    suite: int = 0

    @property
    def escaped(self) -> tuple[MutationRun, ...]:
        return tuple(r for r in self.runs if r.escaped)


def plan_mutations(
    workspace: Workspace,
    sample: int | None = None,
    seed: int = 0,
    *,
    kinds: Sequence[str] = MUTATIONS,
    lock: Lockfile | None = None,
    breakable: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[Mutation], list[str]]:
    """Per member, one mutation of each of ``kinds``.

    Code mutations take the first public top-level function found; ``dependency`` the
    first direct third-party dependency in ``lock`` (the workspace's ``uv.lock`` when
    ``None``; base dependencies, then extras, then groups, each by name) that is in
    ``breakable`` (``breakable_packages()`` when ``None``). Members without one are
    ``skipped``, with the reason. With ``dependency``, one more (member ``ROOT_GROUPS``,
    whatever the sample): a package the root's dependency groups lock and no member's
    closure holds (``_root_groups_dependency_to_break``), or a ``skipped`` line saying why.
    """
    # The root project is a member like any other (a single-project repository is one).
    members = list(workspace.members)
    if sample is not None and sample < len(members):
        members = random.Random(seed).sample(members, sample)  # noqa: S311 - a sample, not a secret
    code_kinds = [k for k in kinds if k != "dependency"]
    if "dependency" in kinds:
        lock = lock if lock is not None else current_lock(workspace)
        if breakable is None:
            breakable = breakable_packages(members={m.name for m in workspace.members})
    out: list[Mutation] = []
    skipped: list[str] = []
    for member in sorted(members, key=lambda m: m.name):
        if code_kinds:
            target = _public_function(workspace, member.name)
            if target is None:
                skipped.append(f"{member.name}: no public function to mutate")
            else:
                out += [Mutation(member.name, kind, *target) for kind in code_kinds]
        if "dependency" in kinds:
            found = _dependency_to_break(workspace, member.name, lock, breakable or {})
            if isinstance(found, str):
                skipped.append(f"{member.name}: {found}")
            else:
                out.append(found)
    if "dependency" in kinds:
        found = _root_groups_dependency_to_break(workspace, lock, breakable or {})
        if isinstance(found, str):
            skipped.append(f"{ROOT_GROUPS}: {found}")
        else:
            out.append(found)
    return out, skipped


def _dependency_to_break(
    workspace: Workspace,
    member: str,
    lock: Lockfile | None,
    breakable: Mapping[str, tuple[str, ...]],
) -> Mutation | str:
    """The member's ``dependency`` mutation, or why it has none."""
    if lock is None:
        return f"no {LOCK_FILE}, so no locked dependency to break"
    entries = lock.member_entries(member)
    if not entries:
        return f"not in {LOCK_FILE} (run `uv lock`)"
    local = {m.name for m in workspace.members} | lock.member_names
    tiers: list[set[str]] = [set(), set(), set()]
    for entry in entries:
        tiers[0].update(d.name for d in entry.dependencies)
        for _extra, deps in entry.optional_dependencies:
            tiers[1].update(d.name for d in deps)
        for _group, deps in entry.dependency_groups:
            tiers[2].update(d.name for d in deps)
    considered: list[str] = []
    for tier in tiers:
        for name in sorted(tier - local - set(considered)):
            locked = lock.by_name.get(name, ())
            if any(p.source.kind in _LOCAL_SOURCES for p in locked):
                continue  # a local project, not a release to upgrade
            considered.append(name)
            if name in breakable and len(locked) == 1 and locked[0].version is not None:
                old = locked[0].version
                return Mutation(
                    member, "dependency", LOCK_FILE, name, old, _next_major(old), breakable[name]
                )
    if not considered:
        return f"no third-party dependency in {LOCK_FILE} to break"
    return (
        f"none of its third-party dependencies ({', '.join(considered)}) is installed here,"
        " locked once and unneeded by pytest and its plugins"
    )


def _root_groups_dependency_to_break(
    workspace: Workspace,
    lock: Lockfile | None,
    breakable: Mapping[str, tuple[str, ...]],
) -> Mutation | str:
    """The root groups' ``dependency`` mutation, or why there is none.

    A package some member's closure (extras and groups included) also holds is left out:
    the member rule already selects for it; only the root-groups rule reaches the rest.
    Direct requirements of the groups come first (what the root's tests import), then the
    rest of their closure, each by name.
    """
    if lock is None:
        return f"no {LOCK_FILE}, so no locked dependency to break"
    shared = root_groups_closure(lock)
    if not shared:
        return (
            f"the root locks no dependency groups in {LOCK_FILE} (a virtual root's"
            " [manifest.dependency-groups], a root project's own groups)"
        )
    names = [m.name for m in workspace.members if lock.member_entries(m.name)]
    covered = {ref.name for refs in locked_closures(lock, names).values() for ref in refs}
    only_root = {ref.name for ref in shared if ref.source.kind not in _LOCAL_SOURCES} - covered
    if not only_root:
        return (
            "every third-party package its groups lock is in a member's closure too"
            " (the member rule selects for it)"
        )
    direct = {dep.name for dep in root_group_requirements(lock)}
    ordered = sorted(only_root, key=lambda name: (name not in direct, name))
    for name in ordered:
        locked = lock.by_name.get(name, ())
        if name in breakable and len(locked) == 1 and locked[0].version is not None:
            old = locked[0].version
            return Mutation(
                ROOT_GROUPS, "dependency", LOCK_FILE, name, old, _next_major(old), breakable[name]
            )
    return (
        f"none of the packages only they lock ({', '.join(ordered)}) is installed here,"
        " locked once and unneeded by pytest and its plugins"
    )


def _next_major(version: str) -> str:
    try:
        return f"{Version(version).major + 1}.0.0"
    except InvalidVersion:
        return f"{version}.post9999"


def breakable_packages(
    *, plugins: bool = False, members: Sequence[str] | set[str] = ()
) -> dict[str, tuple[str, ...]]:
    """Installed distributions a ``dependency`` mutation may break, with their import names.

    Left out: pytest's own dependency closure (markers evaluated here, so ``tomli`` is
    pytest's only below Python 3.11) and, with ``plugins``, that of every ``pytest11``
    plugin but the workspace's own ``members`` (they are the code under test); and any
    import name such a package shares (a namespace package like ``opentelemetry``).
    """
    own = {canonicalize_name(m) for m in members}
    roots = ["pytest"]
    if plugins:
        roots += sorted(
            {
                ep.dist.name
                for ep in importlib.metadata.entry_points(group="pytest11")
                if ep.dist is not None and canonicalize_name(ep.dist.name) not in own
            }
        )
    runner = _requirement_closure(roots)
    by_dist: dict[str, set[str]] = {}
    for name, dists in importlib.metadata.packages_distributions().items():
        if not name.isidentifier():
            continue  # `yaml-stubs` and the like: no module to import
        owners = {canonicalize_name(d) for d in dists}
        if owners & runner:
            continue
        for dist in owners:
            # A namespace several distributions share (graphrag: ``azure`` holds
            # azure-core, azure-identity, azure-storage-blob...): breaking all of it would
            # break the others too, whose importers the engine rightly leaves out (false
            # escapes). Each breaks only what it ships below it (``azure.identity``).
            below = _own_below(dist, name) if len(owners) > 1 else (name,)
            by_dist.setdefault(dist, set()).update(below)
    return {
        d: tuple(sorted(names)) for d, names in sorted(by_dist.items()) if d not in own and names
    }


def _own_below(dist: str, namespace: str) -> tuple[str, ...]:
    """``dist``'s modules and packages directly below the shared ``namespace``."""
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return ()
    found: set[str] = set()
    for file in files:
        parts = file.parts
        if len(parts) < 2 or parts[0] != namespace:
            continue
        name = parts[1].removesuffix(".py") if len(parts) == 2 else parts[1]
        if len(parts) == 2 and not parts[1].endswith(".py"):
            continue
        if name.isidentifier() and name != "__init__":
            found.add(f"{namespace}.{name}")
    return tuple(sorted(found))


def _requirement_closure(roots: Sequence[str]) -> frozenset[str]:
    """Canonical names of ``roots`` and every installed distribution they require here."""
    seen: set[tuple[str, str]] = set()
    stack = [(canonicalize_name(r), "") for r in roots]
    while stack:
        name, extra = stack.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is None or marker.evaluate({"extra": extra}):
                target = canonicalize_name(requirement.name)
                stack += [(target, ""), *((target, e) for e in requirement.extras)]
    return frozenset(name for name, _extra in seen)


def break_lock(text: str, package: str, new_version: str) -> str:
    """``uv.lock`` text with ``package``'s one locked entry at ``new_version``.

    The ``version`` line and the file names in its sdist and wheel URLs change (hashes
    stay: only a resolver would check them), which is what a PR upgrading it shows.
    """
    marker = "\n[[package]]\n"
    blocks = text.split(marker)
    hits = [k for k, b in enumerate(blocks) if k and b.startswith(f'name = "{package}"\n')]
    if len(hits) != 1:
        raise ValueError(f"{package} is locked {len(hits)} times, not once")
    block = blocks[hits[0]]
    found = re.search(r'^version = "([^"]+)"$', block, re.MULTILINE)
    if found is None:
        raise ValueError(f"{package} has no locked version")
    old = found.group(1)
    block = block[: found.start()] + f'version = "{new_version}"' + block[found.end() :]
    blocks[hits[0]] = "\n".join(
        line.replace(f"-{old}", f"-{new_version}") if "url = " in line else line
        for line in block.split("\n")
    )
    return marker.join(blocks)


def _public_function(workspace: Workspace, member: str) -> tuple[str, str] | None:
    for package in import_packages(workspace, member):
        base = workspace.root / package.path
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for file in files:
            try:
                tree = ast.parse(file.read_bytes())
            except (OSError, SyntaxError, ValueError):
                continue
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                    node.name.startswith("_")
                ):
                    return file.relative_to(workspace.root).as_posix(), node.name
    return None


def _mutant(kind: str, name: str) -> str:
    """Appended to the module: the name is rebound, so importers get the mutant."""
    if kind == "raise":
        body = "    raise RuntimeError('tta-dev audit mutation')\n"
    else:
        body = (
            "    result = _tta_audit_original(*args, **kwargs)\n"
            "    return None if result is not None else 'tta-dev audit mutation'\n"
        )
    return f"\n\n_tta_audit_original = {name}\n\n\ndef {name}(*args, **kwargs):\n{body}"


def _shadow(folder: Path, mutation: Mutation) -> None:
    """A broken release of the mutation's package: each import name raises on import."""
    message = f"tta-dev audit: {mutation.function} {mutation.new_version} breaks its importers"
    for name in mutation.imports:
        # ``azure.identity``: ``azure/`` stays a namespace portion (no ``__init__``), so
        # the installed ``azure.core`` and the rest still import.
        package = folder.joinpath(*name.split("."))
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"raise ImportError({message!r})\n", "utf-8")


def _module_roots(workspace: Workspace) -> list[str]:
    roots: set[str] = set()
    for member in workspace.members:
        for package in import_packages(workspace, member):
            depth = package.name.count(".") + 1
            path = Path(package.path.removesuffix(".py"))
            roots.add(str(workspace.root / Path(*path.parts[:-depth] or ".")))
    return sorted(roots)


def _test_files(root: Path, limits: Sequence[str] = ()) -> list[Path]:
    """The suite: ``test_*.py``/``bench_*.py`` under ``root`` (or under ``limits`` in it)."""
    if limits:
        found: set[Path] = set()
        for limit in limits:
            path = root / limit
            found.update([path] if path.is_file() else _test_files(path))
        return sorted(found)
    found_here: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in {"__pycache__", ".venv"}]
        found_here += [
            Path(folder) / n
            for n in files
            if n.endswith(".py") and n.startswith(("test_", "bench_"))
        ]
    return sorted(found_here)


def _pytest(
    root: Path,
    targets: Sequence[str],
    pythonpath: list[str],
    plugins: bool,
    extra: Sequence[str] = (),
    *,
    must_run: bool = False,
) -> tuple[str, ...] | None:
    """Failing test files (relative), ``()`` when all pass; ``None``: nothing to run.

    ``must_run``: no test collected (exit 5) is a failure too, ``(pytest exit 5 ...)``.
    """
    if not targets:
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    if not plugins:
        # Installed plugins cost seconds of start-up per run; the generated tests need none.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # --continue-on-collection-errors: a module failing to import would otherwise stop the
    # run before any test, hiding the other files' failures (and so what a selection missed).
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--continue-on-collection-errors",
         "-o", "python_files=test_*.py bench_*.py", *extra, *targets],
        cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    failed = {
        line.split()[1].split("::")[0]
        for line in result.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    }
    # A conftest that fails to import stops the whole run before any test: name it.
    for found in _CONFTEST_ERROR.finditer(result.stdout + result.stderr):
        conftest = Path(found.group(1))
        failed.add(
            conftest.relative_to(root).as_posix()
            if conftest.is_relative_to(root)
            else str(conftest)
        )
    if result.returncode not in (0, 1, 5) and not failed:
        failed = {f"(pytest exit {result.returncode})"}
    if result.returncode == 5 and must_run:
        failed = {"(pytest exit 5: no tests ran)"}
    return tuple(sorted(failed))


class AuditError(TtaDevError, ValueError):
    """Bad input to the audit (an unknown kind, a missing test path, nothing to test)."""


def audit(
    root: Path | str,
    *,
    sample: int | None = None,
    seed: int = 0,
    kinds: Sequence[str] = MUTATIONS,
    plugins: bool = True,
    tests: Sequence[str] = (),
    pytest_args: Sequence[str] = (),
) -> AuditReport:
    """Audit the workspace at ``root`` in a temporary copy (``root`` is never written).

    ``tests``: files or folders (relative to the workspace root) that make up the suite;
    default every ``test_*.py``/``bench_*.py`` file. ``pytest_args`` go to every run.
    ``plugins`` false runs pytest without autoloaded plugins (faster; generated tests).
    The suite runs once unmutated first: files failing there (a service not running, a
    tool not installed) count for no mutation.
    """
    unknown = [k for k in kinds if k not in MUTATIONS]
    if unknown or not kinds:
        raise AuditError(
            f"unknown mutation kind {quote(unknown[0]) if unknown else '(none)'}:"
            f" choose from {', '.join(MUTATIONS)}"
        )
    if sample is not None and sample < 1:
        raise AuditError(f"the sample must be at least 1 member, not {sample}")
    source = load_workspace(root)
    limits = [_suite_path(source.root, t) for t in tests]
    with temporary_directory("tta-audit-") as tmp:
        copy = tmp / "ws"
        shutil.copytree(source.root, copy, ignore=_IGNORED, symlinks=True)
        workspace = load_workspace(copy)
        lock = current_lock(workspace)
        graph = build_graph(workspace, lock)
        test_map = TestMap(workspace)
        suite = _test_files(copy, limits)
        if not suite:
            where = ", ".join(limits) if limits else str(source.root)
            raise AuditError(
                f"no test files (test_*.py, bench_*.py) under {where}: nothing to audit"
            )
        owners = {t: members_for_test(workspace, t, test_map) for t in suite}
        everything = [t.relative_to(copy).as_posix() for t in suite]
        roots = _module_roots(workspace)

        def run(targets: Sequence[str], path: list[str], must_run: bool = False) -> tuple[str, ...]:
            return _pytest(copy, targets, path, plugins, pytest_args, must_run=must_run) or ()

        breakable = (
            breakable_packages(plugins=plugins, members=[m.name for m in workspace.members])
            if "dependency" in kinds
            else {}
        )
        mutations, skipped = plan_mutations(
            workspace, sample, seed, kinds=kinds, lock=lock, breakable=breakable
        )
        baseline = run(everything, roots, must_run=True) if mutations else ()
        broken = [f for f in baseline if f.startswith("(pytest exit ")]
        if broken:
            # pytest refused the arguments (exit 4), crashed, or ran no test: every
            # mutation's runs would do the same, and the audit would report nothing
            # detected and nothing escaped.
            given = f" {quote(shlex.join(pytest_args))}" if pytest_args else ""
            raise AuditError(
                f"the unmutated suite does not run {broken[0]}: check the pytest"
                f" arguments{given} and the test paths (python -m pytest runs them)"
            )
        runs: list[MutationRun] = []
        for mutation in mutations:
            target = copy / mutation.path
            original = target.read_text(encoding="utf-8")
            shadow = tmp / "shadow"  # outside the copy: no test or member owns it
            pythonpath = roots
            try:
                if mutation.kind == "dependency":
                    new_version = mutation.new_version or ""
                    broken = break_lock(original, mutation.function, new_version)
                    target.write_text(broken, "utf-8")
                    change = LockChange(lock, parse_lock(broken, str(target)))
                    result = affected_members(
                        graph, [LOCK_FILE], lock_change=change, test_map=test_map
                    )
                    _shadow(shadow, mutation)
                    pythonpath = [str(shadow), *roots]
                else:
                    target.write_text(original + _mutant(mutation.kind, mutation.function), "utf-8")
                    result = affected_members(graph, [mutation.path], test_map=test_map)
                names = result.names
                selected = [
                    t.relative_to(copy).as_posix()
                    for t in suite
                    if result.all or owners[t] is None or (owners[t] or frozenset()) & names
                ]
                full = _new_failures(run(everything, pythonpath), baseline)
                # The selection is the whole suite (a root project, a hub member): its
                # result is the full run's, so pytest runs once, not twice.
                chosen = (
                    full
                    if len(selected) == len(everything)
                    else _new_failures(run(selected, pythonpath), baseline)
                )
                unselected = sorted(set(full) - set(selected))
                # A file can fail in the full run only because a test before it failed
                # half-way and left state behind (graphrag: a config test that chdirs, then
                # raises before changing back, fails the loader tests that read relative
                # paths). Run alone, such a file passes: order, not a selection gap.
                alone = (
                    set(_new_failures(run(unselected, pythonpath), baseline))
                    if unselected
                    else set[str]()
                )
                if any(f.startswith("(pytest exit ") for f in alone):
                    alone = set(unselected)  # that run proved nothing: keep them missed
            finally:
                target.write_text(original, "utf-8")
                shutil.rmtree(shadow, ignore_errors=True)
            missed = tuple(f for f in unselected if f in alone)
            order_only = tuple(f for f in unselected if f not in alone)
            rules = tuple(_why_missed(copy, m, owners, mutation) for m in missed)
            runs.append(
                MutationRun(
                    mutation,
                    tuple(sorted(names)),
                    tuple(selected),
                    full,
                    chosen,
                    missed,
                    rules,
                    order_only,
                )
            )
    return AuditReport(str(source.root), tuple(runs), tuple(skipped), baseline, len(everything))


def _new_failures(failed: tuple[str, ...], baseline: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in failed if f not in baseline)


def _suite_path(root: Path, text: str) -> str:
    """``text`` (relative to the workspace root, or absolute) as a root-relative path."""
    path = Path(text)
    absolute = (path if path.is_absolute() else root / path).resolve()
    if not absolute.is_relative_to(root.resolve()):
        raise AuditError(f"test path {quote(text)} is outside the workspace {root}")
    if not absolute.exists():
        raise AuditError(f"test path {quote(text)} does not exist under {root}")
    return absolute.relative_to(root.resolve()).as_posix()


def _why_missed(
    copy: Path,
    test: str,
    owners: dict[Path, frozenset[str] | None],
    mutation: Mutation,
) -> str:
    members = owners.get(copy / test)
    listed = ", ".join(sorted(members or ())) or "none"
    if mutation.member == ROOT_GROUPS:
        return (
            f"{test} belongs to {listed} (members_for_test); {mutation.function} is locked"
            " only by the root's dependency groups, in no member's closure, yet every"
            f" member's tests run with it: its upgrade to {mutation.new_version} affected"
            " none of them (the root-groups rule, root_groups_closure, did not apply)"
        )
    if mutation.kind == "dependency":
        return (
            f"{test} belongs to {listed} (members_for_test), whose locked closure in"
            f" {LOCK_FILE} (extras and groups included) does not hold {mutation.function},"
            f" so its upgrade to {mutation.new_version} affects none of them"
        )
    return (
        f"{test} belongs to {listed} (members_for_test), none of which the change in"
        f" {mutation.member} affects (no dependency edge from them to {mutation.member})"
    )


# -- a generated workspace ---------------------------------------------------------------


#: The third-party package generated members use: installed wherever tta-dev's tests run
#: (the ``devtools`` extra, in the ``dev`` group and the nox sessions) and not by pytest.
GENERATED_PACKAGE = ("pyyaml", "yaml")
_PYYAML_LOCK = """
[[package]]
name = "pyyaml"
version = "6.0.4"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/76/b8/c0b780928e2fb1c87e9e375818c6f121da2398b071012d1747be300b83f4/pyyaml-6.0.4.tar.gz", hash = "sha256:e24bf71af8a432d7808fabff134d38dfe16d3cbb41f2873bb4b1e42422de0a1a", size = 136336, upload-time = "2026-11-20T23:37:05Z" }
wheels = [
    { url = "https://files.pythonhosted.org/packages/e1/ba/fb2aad330bc4f31041f989630ceae5f32e307d3ba9819573d35b71e078fa/pyyaml-6.0.4-cp311-cp311-macosx_10_15_x86_64.whl", hash = "sha256:180ac792c958c2173f6e4467c55ae5f73ab1a9a624ee29fc7095c56d5e3a4055", size = 190856, upload-time = "2026-11-20T23:34:50Z" },
]
"""
#: The package the generated virtual root's ``dev`` group locks and its root tests use
#: (``tests/helpers.py``), which no member depends on. The ``agentic`` extra installs it
#: (markdown-it-py's one dependency) wherever tta-dev's tests run (the ``dev`` group, the
#: nox sessions' extras), pytest and its plugins do not; it imports in a few milliseconds,
#: which every full run of the generated suite pays.
GENERATED_ROOT_PACKAGE = ("mdurl", "mdurl")
# As `uv lock` writes a virtual root with `dev = ["mdurl>=0.1"]` (uv 0.13.9).
_ROOT_GROUPS_LOCK = """
[manifest.dependency-groups]
dev = [{ name = "mdurl", specifier = ">=0.1" }]
"""
_MDURL_LOCK = """
[[package]]
name = "mdurl"
version = "0.1.2"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/d6/54/cfe61301667036ec958cb99bd3efefba235e65cdeb9c84d24a8293ba1d90/mdurl-0.1.2.tar.gz", hash = "sha256:bb413d29f5eea38f31dd4754dd7377d4465116fb207585f97bf925588687c1ba", size = 8729, upload-time = "2022-08-14T12:40:10.846Z" }
wheels = [
    { url = "https://files.pythonhosted.org/packages/b3/38/89ba8ad64ae25be8de66a6d463314cf1eb366222074cfda9ee839c56a4b4/mdurl-0.1.2-py3-none-any.whl", hash = "sha256:84008a41e51615a49fc9966191ff91509e3c40b939176e643fd50a5c2196b8f8", size = 9979, upload-time = "2022-08-14T12:40:09.779Z" },
]
"""


def generate_workspace(root: Path, members: int = 6) -> Path:
    """A virtual-root workspace of ``members`` members with tests in the places tests live.

    ``pkgI`` ships ``pkgI.value()``; odd members depend on the previous one and call it;
    ``pkg2``, ``pkg6``, ... (``I % 4 == 2``) compute it with PyYAML (so ``pkg3``, ``pkg7``
    reach it only through them). The virtual root's ``dev`` group holds mdurl, which
    ``tests/helpers.py`` imports and no member depends on. ``uv.lock`` locks the members,
    pyyaml, the root's group and mdurl the way uv does.
    Tests: ``tests/test_pkgI.py`` (direct import), ``tests/deep/test_helper_*.py`` (through
    ``tests/helpers.py``), a fixture-only test (through ``tests/conftest.py``, of ``pkg0``), a test
    loading a member with ``importlib.import_module``, ``benchmarks/bench_pkgI.py``, and
    each member's own ``packages/pkgI/tests``.
    """
    if members < 2:
        raise ValueError("a generated workspace needs at least 2 members")
    if members > MAX_GENERATED:
        raise ValueError(f"a generated workspace has at most {MAX_GENERATED} members")
    root.mkdir(parents=True, exist_ok=True)
    names = [f"pkg{i}" for i in range(members)]
    (root / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[tool.uv.sources]\n'
        + "".join(f"{n} = {{ workspace = true }}\n" for n in names)
        + f'\n[dependency-groups]\ndev = ["{GENERATED_ROOT_PACKAGE[0]}>=0.1"]\n',
        "utf-8",
    )
    package, module = GENERATED_PACKAGE
    locked: dict[str, str] = {}
    for index, name in enumerate(names):
        folder = root / "packages" / name
        deps = [names[index - 1]] if index % 2 == 1 else []
        third_party = [package] if index % 4 == 2 else []
        dep_line = ", ".join(f'"{d}"' for d in deps + [f"{t}>=6" for t in third_party])
        sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
        _write(
            folder / "pyproject.toml",
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            f"dependencies = [{dep_line}]\n"
            + (f"\n[tool.uv.sources]\n{sources}" if sources else ""),
        )
        locked[name] = _locked_member(name, deps, third_party)
        if deps:
            imports, body = f"import {deps[0]}\n\n\n", f"{deps[0]}.value() + {index}"
        elif third_party:
            imports, body = f"import {module}\n\n\n", f'{module}.safe_load("{index}")'
        else:
            imports, body = "", str(index)
        _write(folder / f"src/{name}/__init__.py", f"{imports}def value():\n    return {body}\n")
        expected = index + (index - 1 if deps else 0)
        _write(
            folder / f"tests/test_own_{name}.py",
            f"import {name}\n\n\ndef test_own():\n    assert {name}.value() == {expected}\n",
        )
        _write(
            root / f"tests/test_{name}.py",
            f"import {name}\n\n\ndef test_value():\n    assert {name}.value() == {expected}\n",
        )
        _write(
            root / f"benchmarks/bench_{name}.py",
            f"from {name} import value\n\n\ndef test_bench():\n"
            f"    assert sum(value() for _ in range(100)) == {expected * 100}\n",
        )
    if members > 2:
        locked[package] = _PYYAML_LOCK.lstrip("\n")
    locked["mdurl"] = _MDURL_LOCK.lstrip("\n")
    # uv's layout: header, manifest, then the packages sorted by name.
    _write(
        root / "uv.lock",
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[manifest]\nmembers = [\n'
        + "".join(f'    "{n}",\n' for n in sorted(names))
        + "]\n"
        + _ROOT_GROUPS_LOCK
        + "\n"
        + "\n".join(locked[n] for n in sorted(locked)),
    )
    _write(root / "tests/__init__.py", "")
    _write(root / "tests/deep/__init__.py", "")
    # The root's dev group at work: a broken mdurl fails the helper's users.
    _write(
        root / "tests/helpers.py",
        f"from {GENERATED_ROOT_PACKAGE[1]} import parse\nfrom {names[0]} import value\n\n"
        "BASE = 0\n\n\ndef host(url):\n    return parse(url).hostname\n",
    )
    _write(
        root / "tests/deep/test_helper_use.py",
        "from tests.helpers import host, value\n\n\ndef test_helper():\n"
        "    assert value() == 0\n"
        "    assert host(f'https://pkg{value()}.example.org/x') == 'pkg0.example.org'\n",
    )
    # The conftest imports pkg0, which no PyYAML change reaches: a broken PyYAML fails
    # test by test instead of stopping every run under tests/ at the conftest.
    _write(
        root / "tests/conftest.py",
        f"import pytest\n\nimport {names[0]}\n\n\n@pytest.fixture\ndef first():\n"
        f"    return {names[0]}.value()\n",
    )
    _write(
        root / "tests/test_fixture_only.py",
        "def test_fixture(first):\n    assert first == 0\n",
    )
    _write(
        root / "tests/test_dynamic.py",
        "import importlib\n\n\ndef test_dynamic():\n"
        f"    assert importlib.import_module('{names[2 % members]}').value() is not None\n",
    )
    return root


def _locked_member(name: str, members: list[str], third_party: list[str]) -> str:
    """A member's ``[[package]]`` table as uv locks it (editable, with its metadata)."""
    deps = sorted(members + third_party)
    text = (
        f'[[package]]\nname = "{name}"\nversion = "0.1.0"\n'
        f'source = {{ editable = "packages/{name}" }}\n'
    )
    if deps:
        text += "dependencies = [\n" + "".join(f'    {{ name = "{d}" }},\n' for d in deps) + "]\n"
    requires = sorted(
        [f'{{ name = "{m}", editable = "packages/{m}" }}' for m in members]
        + [f'{{ name = "{t}", specifier = ">=6" }}' for t in third_party]
    )
    text += "\n[package.metadata]\nrequires-dist = [" + ", ".join(requires) + "]\n"
    return text


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


# -- rendering ---------------------------------------------------------------------------


def audit_data(report: AuditReport) -> dict[str, object]:
    """``mutations`` (every run) and ``escaped`` (those the selection let through)."""

    def run_data(run: MutationRun) -> dict[str, object]:
        m = run.mutation
        return {
            "member": m.member,
            "kind": m.kind,
            "path": m.path,
            "function": m.function,
            # A dependency mutation's package and its upgrade; null for code mutations.
            "package": (
                {
                    "name": m.function,
                    "from": m.old_version,
                    "to": m.new_version,
                    "imports": list(m.imports),
                }
                if m.kind == "dependency"
                else None
            ),
            "affected": list(run.affected),
            "selected": list(run.selected),
            "full_failed": list(run.full_failed),
            "selection_failed": list(run.selection_failed),
            "missed": list(run.missed),
            "rules": list(run.rules),
            "order_dependent": list(run.order_dependent),
            "escaped": run.escaped,
        }

    return {
        "root": report.root,
        "mutations": [run_data(r) for r in report.runs],
        "escaped": [run_data(r) for r in report.escaped],
        "caught": sum(1 for r in report.runs if r.full_failed and r.selection_failed),
        "undetected": sum(1 for r in report.runs if not r.full_failed),
        # Caught (the selection fails) but some failing files were not selected.
        "partly_missed": sum(1 for r in report.runs if r.selection_failed and r.missed),
        "skipped": list(report.skipped),
        "suite": report.suite,
        "baseline_failed": list(report.baseline_failed),
    }


def render_audit(report: AuditReport, fmt: str = "text") -> str:
    """The audit as ``text``, ``json`` or ``markdown``."""
    if fmt == "json":
        import json

        return json.dumps(audit_data(report), indent=2)
    data = audit_data(report)
    if fmt == "markdown":
        lines = [
            "| member | mutation | function | affected | selected tests | full fails"
            " | selection fails | escaped |",
            "|---|---|---|---:|---:|---:|---:|---|",
        ]
        for r in report.runs:
            m = r.mutation
            lines.append(
                f"| {m.member} | {m.kind} | `{m.function}` | {len(r.affected)} | {len(r.selected)}"
                f" | {len(r.full_failed)} | {len(r.selection_failed)}"
                f" | {'**yes**' if r.escaped else 'no'} |"
            )
        lines.append("")
        lines.append(
            f"{len(report.runs)} mutations, {len(report.escaped)} escaped,"
            f" {data['caught']} caught ({data['partly_missed']} of them missing some failing"
            f" files), {data['undetected']} not detected by the full suite"
            f" ({report.suite} test files; {len(report.baseline_failed)} failing unmutated)."
        )
        return "\n".join(lines)
    lines = [
        f"{r.mutation.member} {r.mutation.kind} {r.mutation.function}: affected"
        f" {len(r.affected)}, selected {len(r.selected)} of {report.suite} test files, full fails"
        f" {len(r.full_failed)}, selection fails {len(r.selection_failed)}"
        + (" ESCAPED" if r.escaped else f", missed {len(r.missed)}" if r.missed else "")
        + (
            f" ({len(r.order_dependent)} more failing only after other tests)"
            if r.order_dependent
            else ""
        )
        for r in report.runs
    ]
    lines += [f"  missed: {rule}" for r in report.escaped for rule in r.rules]
    lines += [
        f"  failing only after other tests (passes alone): {f}"
        for r in report.escaped
        for f in r.order_dependent
    ]
    lines += [f"skipped: {why}" for why in report.skipped]
    if report.baseline_failed:
        lines.append(
            f"{len(report.baseline_failed)} test files fail unmutated and count for no mutation: "
            + ", ".join(report.baseline_failed)
        )
    lines.append(
        f"{len(report.runs)} mutations, {len(report.escaped)} escaped, {data['caught']} caught"
        f" ({data['partly_missed']} of them missing some failing files),"
        f" {data['undetected']} not detected by the full suite"
    )
    return "\n".join(lines)
