"""Mutation-based safety audit of test selection: what would our selection let through?

For each member (or a sample), in a temporary copy of the workspace, plant a breaking
change in one public function of the member's code (``raise``: it raises; ``wrong``: it
returns a wrong value), then run the tests ours selects for that change
(``affected_members`` + ``members_for_test``) and the full suite. An **escape** is a
mutation the full suite catches (it fails) and the selection does not (it passes): each
comes with the failing tests the selection left out and the rule that left them out.

Tests run with this interpreter (``python -m pytest``) and the members' module roots on
``PYTHONPATH``, so the copy needs no install; ``generate_workspace`` writes a
multi-member workspace with tests under ``tests/`` and ``benchmarks/`` to audit.
"""

from __future__ import annotations

import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tta_dev.workspace import (
    TestMap,
    Workspace,
    affected_members,
    build_graph,
    current_lock,
    import_packages,
    load_workspace,
    members_for_test,
)

MUTATIONS = ("raise", "wrong")
TIMEOUT_S = 600
_IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".nox", "*.pyc", ".*_cache")


@dataclass(frozen=True)
class Mutation:
    """One planted change: ``kind`` applied to ``function`` in ``path`` of ``member``."""

    member: str
    kind: str
    path: str
    function: str


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

    @property
    def escaped(self) -> bool:
        return bool(self.full_failed) and not self.selection_failed


@dataclass(frozen=True)
class AuditReport:
    """Every mutation run; ``escaped`` are those the selection let through."""

    root: str
    runs: tuple[MutationRun, ...]
    skipped: tuple[str, ...] = ()

    @property
    def escaped(self) -> tuple[MutationRun, ...]:
        return tuple(r for r in self.runs if r.escaped)


def plan_mutations(
    workspace: Workspace, sample: int | None = None, seed: int = 0
) -> tuple[list[Mutation], list[str]]:
    """One mutation of each kind per member (first public top-level function found)."""
    members = [m for m in workspace.members if m.path != "."]
    if sample is not None and sample < len(members):
        members = random.Random(seed).sample(members, sample)  # noqa: S311 - a sample, not a secret
    out: list[Mutation] = []
    skipped: list[str] = []
    for member in sorted(members, key=lambda m: m.name):
        target = _public_function(workspace, member.name)
        if target is None:
            skipped.append(f"{member.name}: no public function to mutate")
            continue
        out += [Mutation(member.name, kind, *target) for kind in MUTATIONS]
    return out, skipped


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


def _module_roots(workspace: Workspace) -> list[str]:
    roots: set[str] = set()
    for member in workspace.members:
        for package in import_packages(workspace, member):
            depth = package.name.count(".") + 1
            path = Path(package.path.removesuffix(".py"))
            roots.add(str(workspace.root / Path(*path.parts[:-depth] or ".")))
    return sorted(roots)


def _test_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in {"__pycache__", ".venv"}]
        found += [
            Path(folder) / n
            for n in files
            if n.endswith(".py") and n.startswith(("test_", "bench_"))
        ]
    return sorted(found)


def _pytest(
    root: Path, targets: Sequence[str], pythonpath: list[str], plugins: bool
) -> tuple[str, ...] | None:
    """Failing test files (relative), ``()`` when all pass; ``None``: nothing to run."""
    if not targets:
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    if not plugins:
        # Installed plugins cost seconds of start-up per run; the generated tests need none.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "python_files=test_*.py bench_*.py", *targets],
        cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    failed = {
        line.split()[1].split("::")[0]
        for line in result.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR "))
    }
    if result.returncode not in (0, 1, 5) and not failed:
        failed = {f"(pytest exit {result.returncode})"}
    return tuple(sorted(failed))


def audit(
    root: Path | str,
    *,
    sample: int | None = None,
    seed: int = 0,
    kinds: Sequence[str] = MUTATIONS,
    plugins: bool = True,
) -> AuditReport:
    """Audit the workspace at ``root`` in a temporary copy (``root`` is never written).

    ``plugins`` false runs pytest without autoloaded plugins (faster; generated tests).
    """
    source = load_workspace(root)
    with tempfile.TemporaryDirectory(prefix="tta-audit-") as tmp:
        copy = Path(tmp) / "ws"
        shutil.copytree(source.root, copy, ignore=_IGNORED, symlinks=True)
        workspace = load_workspace(copy)
        graph = build_graph(workspace, current_lock(workspace))
        test_map = TestMap(workspace)
        tests = _test_files(copy)
        owners = {t: members_for_test(workspace, t, test_map) for t in tests}
        pythonpath = _module_roots(workspace)
        mutations, skipped = plan_mutations(workspace, sample, seed)
        runs: list[MutationRun] = []
        for mutation in (m for m in mutations if m.kind in kinds):
            target = copy / mutation.path
            original = target.read_text(encoding="utf-8")
            target.write_text(original + _mutant(mutation.kind, mutation.function), "utf-8")
            try:
                result = affected_members(graph, [mutation.path], test_map=test_map)
                names = result.names
                selected = [
                    t.relative_to(copy).as_posix()
                    for t in tests
                    if result.all or owners[t] is None or (owners[t] or frozenset()) & names
                ]
                everything = [t.relative_to(copy).as_posix() for t in tests]
                full = _pytest(copy, everything, pythonpath, plugins) or ()
                chosen = _pytest(copy, selected, pythonpath, plugins) or ()
            finally:
                target.write_text(original, "utf-8")
            missed = tuple(sorted(set(full) - set(selected)))
            rules = tuple(_why_missed(workspace, copy, m, owners, mutation) for m in missed)
            runs.append(
                MutationRun(
                    mutation, tuple(sorted(names)), tuple(selected), full, chosen, missed, rules
                )
            )
    return AuditReport(str(source.root), tuple(runs), tuple(skipped))


def _why_missed(
    workspace: Workspace,
    copy: Path,
    test: str,
    owners: dict[Path, frozenset[str] | None],
    mutation: Mutation,
) -> str:
    members = owners.get(copy / test)
    listed = ", ".join(sorted(members or ())) or "none"
    return (
        f"{test} belongs to {listed} (members_for_test), none of which the change in"
        f" {mutation.member} affects (no dependency edge from them to {mutation.member})"
    )


# -- a generated workspace ---------------------------------------------------------------


def generate_workspace(root: Path, members: int = 6) -> Path:
    """A virtual-root workspace of ``members`` members with tests in the places tests live.

    ``pkgI`` ships ``pkgI.value()``; odd members depend on the previous one and call it.
    Tests: ``tests/test_pkgI.py`` (direct import), ``tests/deep/test_helper_*.py`` (through
    ``tests/helpers.py``), a fixture-only test (through ``tests/conftest.py``), a test
    loading a member with ``importlib.import_module``, ``benchmarks/bench_pkgI.py``, and
    each member's own ``packages/pkgI/tests``.
    """
    if members < 2:
        raise ValueError("a generated workspace needs at least 2 members")
    root.mkdir(parents=True, exist_ok=True)
    names = [f"pkg{i}" for i in range(members)]
    (root / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[tool.uv.sources]\n'
        + "".join(f"{n} = {{ workspace = true }}\n" for n in names),
        "utf-8",
    )
    for index, name in enumerate(names):
        folder = root / "packages" / name
        deps = [names[index - 1]] if index % 2 == 1 else []
        dep_line = ", ".join(f'"{d}"' for d in deps)
        sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
        _write(
            folder / "pyproject.toml",
            f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{dep_line}]\n'
            + (f"\n[tool.uv.sources]\n{sources}" if sources else ""),
        )
        body = f"{deps[0]}.value() + {index}" if deps else str(index)
        imports = f"import {deps[0]}\n\n\n" if deps else ""
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
    _write(root / "tests/__init__.py", "")
    _write(root / "tests/deep/__init__.py", "")
    _write(root / "tests/helpers.py", f"from {names[0]} import value\n\nBASE = 0\n")
    _write(
        root / "tests/deep/test_helper_use.py",
        "from tests.helpers import value\n\n\ndef test_helper():\n    assert value() == 0\n",
    )
    _write(
        root / "tests/conftest.py",
        f"import pytest\n\nimport {names[-1]}\n\n\n@pytest.fixture\ndef last():\n"
        f"    return {names[-1]}.value()\n",
    )
    last = len(names) - 1
    expected_last = last + (last - 1 if last % 2 == 1 else 0)
    _write(
        root / "tests/test_fixture_only.py",
        f"def test_fixture(last):\n    assert last == {expected_last}\n",
    )
    _write(
        root / "tests/test_dynamic.py",
        "import importlib\n\n\ndef test_dynamic():\n"
        f"    assert importlib.import_module('{names[2 % members]}').value() is not None\n",
    )
    return root


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
            "affected": list(run.affected),
            "selected": list(run.selected),
            "full_failed": list(run.full_failed),
            "selection_failed": list(run.selection_failed),
            "missed": list(run.missed),
            "rules": list(run.rules),
            "escaped": run.escaped,
        }

    return {
        "root": report.root,
        "mutations": [run_data(r) for r in report.runs],
        "escaped": [run_data(r) for r in report.escaped],
        "caught": sum(1 for r in report.runs if r.full_failed and r.selection_failed),
        "undetected": sum(1 for r in report.runs if not r.full_failed),
        "skipped": list(report.skipped),
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
            f" {data['caught']} caught, {data['undetected']} not detected by the full suite."
        )
        return "\n".join(lines)
    lines = [
        f"{r.mutation.member} {r.mutation.kind} {r.mutation.function}: affected"
        f" {len(r.affected)}, selected {len(r.selected)} tests, full fails"
        f" {len(r.full_failed)}, selection fails {len(r.selection_failed)}"
        + (" ESCAPED" if r.escaped else "")
        for r in report.runs
    ]
    lines += [f"  missed: {rule}" for r in report.escaped for rule in r.rules]
    lines.append(
        f"{len(report.runs)} mutations, {len(report.escaped)} escaped, {data['caught']} caught,"
        f" {data['undetected']} not detected by the full suite"
    )
    return "\n".join(lines)
