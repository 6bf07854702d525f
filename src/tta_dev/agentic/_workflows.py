"""The four workflows, each a primitive whose tool steps come from its prompt file.

Independent steps (a prompt file's ``group``) run together with ``|``; dependent ones in
order with ``>>``. Each workflow returns a ``WorkflowReport``; with observability on, the
workflow, every composition and every ``Command`` is a span.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import time
from collections.abc import Collection, Mapping, Sequence
from functools import reduce
from pathlib import Path
from typing import Any, cast

from tta_dev.agentic._command import Command, CommandResult, journal
from tta_dev.agentic._errors import AgenticError, CommandFailed
from tta_dev.agentic._outputs import failed_node_ids, pytest_failure_section
from tta_dev.agentic._plan import with_fix_plan
from tta_dev.agentic._prompts import PromptStep, load_prompt
from tta_dev.agentic._report import BenchmarkChange, Failure, ModuleTests, WorkflowReport
from tta_dev.primitives import LLMProvider, Primitive, WorkflowContext

__all__ = [
    "DEFAULT_ENV",
    "BugFix",
    "FeatureImplementation",
    "PerformanceCheck",
    "QualityGateFix",
    "changed_module_tests",
    "in_order",
    "member_test_paths",
    "read_benchmark_results",
    "together",
]

#: Environment changes for every step: the prompt files say --frozen/--locked themselves, so
#: CI's UV_LOCKED/UV_FROZEN must not turn `uv lock` into a check; the project's own .venv is
#: used, not the caller's (nox sets UV_PROJECT_ENVIRONMENT to its session venv: a `uv sync`
#: that inherits it empties that venv); no colour codes in captured output.
DEFAULT_ENV: Mapping[str, str | None] = {
    "UV_LOCKED": None,
    "UV_FROZEN": None,
    "VIRTUAL_ENV": None,
    "UV_PROJECT_ENVIRONMENT": None,
    "FORCE_COLOR": None,
    "NO_COLOR": "1",
    "PY_COLORS": "0",
}
_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", ".nox", ".tox", "node_modules", "__pycache__", "build", "dist"}
)

# What to do about a gate that still fails, by the step ids the packaged prompt file uses.
_GATE_ADVICE = {
    "lint": "Fix the remaining ruff findings by hand (they have no safe automatic fix): "
    "`uv run --frozen ruff check .`",
    "format": "ruff format could not format every file (a syntax error?): "
    "`uv run --frozen ruff format --check .`",
    "typecheck": "Fix the type errors: `uv run --frozen pyright`",
    "lock": "`uv lock` could not update the lock: read its output above (a requirement that "
    "cannot be resolved?)",
}


class _Workflow(Primitive[object, WorkflowReport]):
    """Shared parts: commands from prompt steps, the report, the optional fix plan."""

    workflow = ""

    def __init__(
        self,
        root: str | Path = ".",
        *,
        provider: LLMProvider | None = None,
        model: str | None = None,
        env: Mapping[str, str | None] | None = None,
        timeout_scale: float = 1.0,
    ) -> None:
        super().__init__(self.workflow)
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise AgenticError(f"{self.root} is not a folder: pass --root with the project")
        self.prompt = load_prompt(self.workflow, self.root)
        self.provider = provider
        self.model = model
        self.env = {**DEFAULT_ENV, **(env or {})}
        self.timeout_scale = timeout_scale
        self._started = 0.0

    def command(
        self,
        step: PromptStep,
        values: Mapping[str, str | Sequence[str]] | None = None,
        *,
        phase: str,
        check: bool = False,
    ) -> Command:
        return Command(
            step.argv(values or {}),
            cwd=self.root,
            timeout=step.timeout * self.timeout_scale,
            env=self.env,
            check=check,
            name=step.id,
            phase=phase,
        )

    def own(self, argv: Sequence[str], name: str, *, phase: str) -> Command:
        """A command the runner itself needs (a git question), reported like the others."""
        return Command(argv, cwd=self.root, timeout=60, env=self.env, name=name, phase=phase)

    async def finish(self, context: WorkflowContext, **fields: Any) -> WorkflowReport:
        report = WorkflowReport(
            workflow=self.prompt.name,
            title=self.prompt.title,
            root=str(self.root),
            prompt_source=self.prompt.source,
            duration=time.monotonic() - self._started,
            runs=tuple(sorted(journal(context), key=lambda r: r.started_at)),
            **fields,
        )
        return await with_fix_plan(
            self.prompt, report, self.provider, model=self.model, context=context
        )

    async def _run(self, data: object, context: WorkflowContext) -> WorkflowReport:
        self._started = time.monotonic()
        return await self.run(context)

    async def run(self, context: WorkflowContext) -> WorkflowReport:
        raise NotImplementedError


def together(commands: Sequence[Command]) -> Primitive[object, list[CommandResult]]:
    """Independent commands at once: ``a | b | c`` (results in the given order)."""
    if len(commands) == 1:
        return _listed(commands[0])
    return cast("Primitive[object, list[CommandResult]]", reduce(lambda a, b: a | b, commands))


def in_order(commands: Sequence[Command]) -> Primitive[object, CommandResult]:
    """Dependent commands one after another: ``a >> b >> c``."""
    return cast("Primitive[object, CommandResult]", reduce(lambda a, b: a >> b, commands))


class _Listed(Primitive[object, list[CommandResult]]):
    def __init__(self, inner: Command) -> None:
        super().__init__(inner.name)
        self.inner = inner

    async def _run(self, data: object, context: WorkflowContext) -> list[CommandResult]:
        return [await self.inner.execute(data, context)]


def _listed(command: Command) -> Primitive[object, list[CommandResult]]:
    return _Listed(command)


def _failure(result: CommandResult, output: str | None = None) -> Failure:
    how = "timed out" if result.timed_out else f"exit {result.exit_code}"
    return Failure(
        result.name, f"`{result.display}` {how}", output if output is not None else result.tail()
    )


def _relevant(result: CommandResult) -> str:
    if result.argv[:1] == ("uv",) and "pytest" in result.argv:
        return pytest_failure_section(result.output)
    return result.tail()


# --- quality gate fix -------------------------------------------------------------------


class QualityGateFix(_Workflow):
    """Run the gates together, apply the fixes of the failing ones in order, run them again.

    ``skip`` names gates not to run (a tool the project does not use).
    """

    workflow = "quality-gate-fix"

    def __init__(self, root: str | Path = ".", *, skip: Collection[str] = (), **kw: Any) -> None:
        super().__init__(root, **kw)
        gates = self.prompt.group("gates")
        unknown = set(skip) - {g.id for g in gates}
        if unknown:
            raise AgenticError(
                f"no gate named {', '.join(sorted(unknown))}: the gates are "
                f"{', '.join(g.id for g in gates)}"
            )
        self.gates = tuple(g for g in gates if g.id not in skip)
        self.skipped = tuple(g.id for g in gates if g.id in skip)
        if not self.gates:
            raise AgenticError("every gate is skipped: nothing to run")

    async def run(self, context: WorkflowContext) -> WorkflowReport:
        first = await together([self.command(g, phase="check") for g in self.gates]).execute(
            None, context
        )
        failing = [g for g, r in zip(self.gates, first, strict=True) if not r.ok]
        notes = [f"skipped gates: {', '.join(self.skipped)}"] if self.skipped else []
        if not failing:
            return await self.finish(context, ok=True, notes=tuple(notes))
        fixes = [s for s in self.prompt.steps if s.fixes in {g.id for g in failing}]
        before = _snapshot(self.root)
        if fixes:
            await in_order([self.command(s, phase="fix") for s in fixes]).execute(None, context)
        touched = _changed(before, _snapshot(self.root))
        # A new lock means a new environment: every gate runs again, not only the failed ones.
        again = self.gates if "uv.lock" in touched else tuple(failing)
        second = await together([self.command(g, phase="recheck") for g in again]).execute(
            None, context
        )
        still = [(g, r) for g, r in zip(again, second, strict=True) if not r.ok]
        still_ids = {g.id for g, _ in still}
        fixed = tuple(g.id for g in failing if g.id not in still_ids)
        failures = tuple(_failure(r, _relevant(r)) for _, r in still)
        next_steps: list[str] = []
        for gate, result in still:
            if gate.id == "unit" or "pytest" in result.argv:
                ids = failed_node_ids(result.output)
                next_steps += [f"`uv run tta-dev agentic bug-fix --test {n}`" for n in ids[:5]]
                if not ids:
                    next_steps.append(f"Make the tests pass: `{result.display}`")
            else:
                next_steps.append(_GATE_ADVICE.get(gate.id, f"Make `{result.display}` pass"))
        if touched:
            next_steps.append("Review what the automatic fixes changed: `git diff`")
        return await self.finish(
            context,
            ok=not still,
            failures=failures,
            fixed=fixed,
            files_touched=touched,
            next_steps=tuple(next_steps),
            notes=tuple(notes),
        )


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every project file outside tool folders: what a fix may touch."""
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith("_cache")]
        for name in files:
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path.relative_to(root).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


def _changed(
    before: Mapping[str, tuple[int, int]], after: Mapping[str, tuple[int, int]]
) -> tuple[str, ...]:
    return tuple(sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)))


# --- bug fix ------------------------------------------------------------------------------


class BugFix(_Workflow):
    """Run one test by node id (``-x``), then the tests of its workspace member."""

    workflow = "bug-fix"

    def __init__(self, root: str | Path = ".", *, test: str, **kw: Any) -> None:
        super().__init__(root, **kw)
        if not test or test.startswith("-"):
            raise AgenticError(f"{test!r} is not a pytest node id (tests/test_x.py::test_y)")
        file_part = test.split("::", 1)[0]
        if not (self.root / file_part).exists():
            raise AgenticError(f"no test file {file_part} under {self.root}: pass a node id")
        self.test = test
        self.member_tests = member_test_paths(self.root, self.root / file_part)

    async def run(self, context: WorkflowContext) -> WorkflowReport:
        values = {"test": self.test, "member_tests": self.member_tests}
        reproduce = self.command(self.prompt.step("reproduce"), values, phase="reproduce")
        member = self.command(self.prompt.step("member"), values, phase="member")
        await (reproduce >> member).execute(None, context)
        first, second = journal(context)[-2:]
        if first.exit_code in (4, 5):
            raise AgenticError(
                f"pytest found no test {self.test}: "
                + (first.output.strip().splitlines() or ["no output"])[-1]
            )
        failures: list[Failure] = []
        next_steps: list[str] = []
        notes: list[str] = []
        if not first.ok:
            failures.append(
                Failure(
                    self.test, "reproduced: the test fails", pytest_failure_section(first.output)
                )
            )
            next_steps.append(
                "Read the traceback from the bottom; fix the cause, then run the test again: "
                f"`uv run --frozen pytest {shlex.quote(self.test)} -q`"
            )
        else:
            notes.append(f"{self.test} passes here: the failure did not reproduce")
        if not second.ok:
            others = [n for n in failed_node_ids(second.output) if n != self.test]
            if others:
                failures.append(
                    Failure(
                        "member",
                        f"{len(others)} other test(s) of the member fail: {', '.join(others[:5])}",
                        pytest_failure_section(second.output),
                    )
                )
                next_steps.append("Check whether the other failures share the cause")
        next_steps.append("Then run the gates: `uv run tta-dev agentic quality-gate-fix`")
        return await self.finish(
            context,
            ok=not failures,
            failures=tuple(failures),
            next_steps=tuple(next_steps),
            notes=tuple(notes),
        )


def _test_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        found += [
            Path(folder, f)
            for f in sorted(files)
            if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py"))
        ]
    return found


def member_test_paths(root: Path, test_file: Path) -> tuple[str, ...]:
    """The fewest paths that select every test file of ``test_file``'s member and no other's.

    Empty when that member holds every test (pytest's own collection is then right).
    Without a uv workspace: the test file's folder.
    """
    from tta_dev.workspace import WorkspaceError, load_workspace, member_for_test

    try:
        workspace = load_workspace(root)
    except WorkspaceError:
        return (test_file.parent.relative_to(root).as_posix(),)
    member = member_for_test(workspace, test_file)
    files = _test_files(workspace.root)
    mine = {f for f in files if member_for_test(workspace, f) == member}
    if len(mine) == len(files):
        return ()
    paths: list[str] = []

    def cover(folder: Path) -> None:
        inside = [f for f in files if folder in f.parents]
        if inside and all(f in mine for f in inside):
            paths.append(folder.relative_to(workspace.root).as_posix())
            return
        for child in sorted({f.relative_to(folder).parts[0] for f in inside}):
            path = folder / child
            if path.is_dir():
                cover(path)
            elif path in mine:
                paths.append(path.relative_to(workspace.root).as_posix())

    cover(workspace.root)
    return tuple(paths)


# --- feature ------------------------------------------------------------------------------


class FeatureImplementation(_Workflow):
    """Sync, create ``feature/NAME`` (unless on it), check that changed modules have tests."""

    workflow = "feature-implementation"

    def __init__(self, root: str | Path = ".", *, name: str, base: str = "main", **kw: Any) -> None:
        super().__init__(root, **kw)
        if not name or name.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in name):
            raise AgenticError(f"{name!r} cannot be part of a branch name: use letters, digits, -")
        if not base or base.startswith("-"):
            raise AgenticError(f"{base!r} is not a git revision")
        self.name = name
        self.base = base

    async def run(self, context: WorkflowContext) -> WorkflowReport:
        values = {"name": self.name, "base": self.base}
        branch = f"feature/{self.name}"
        current = await self.own(
            ["git", "branch", "--show-current"], "current-branch", phase="setup"
        ).execute(None, context)
        notes: list[str] = []
        setup = [self.command(self.prompt.step("sync"), values, phase="setup", check=True)]
        if current.output.strip() == branch:
            notes.append(f"already on {branch}: branch step skipped")
        else:
            setup.append(
                self.command(self.prompt.step("branch"), values, phase="setup", check=True)
            )
        try:
            await in_order(setup).execute(None, context)
        except CommandFailed as exc:
            return await self.finish(
                context,
                ok=False,
                failures=(_failure(exc.result),),
                notes=tuple(notes),
                next_steps=(f"Make `{exc.result.display}` succeed, then run the workflow again",),
            )
        changes = await together(
            [self.command(s, values, phase="changes") for s in self.prompt.group("changes")]
        ).execute(None, context)
        failed = [r for r in changes if not r.ok]
        if failed:
            return await self.finish(
                context, ok=False, failures=tuple(_failure(r) for r in failed), notes=tuple(notes)
            )
        paths = sorted({p for r in changes for p in r.output.split("\0") if p.strip()})
        modules = changed_module_tests(self.root, paths)
        missing = [m for m in modules if not m.tests]
        failures = tuple(
            Failure(m.module, f"{m.path} changed and no test file names or imports it")
            for m in missing
        )
        next_steps = [
            f"Add tests for `{m.module}` (e.g. a test_{Path(m.path).stem.lstrip('_')}.py)"
            for m in missing
        ]
        next_steps.append("Before pushing: `uv run tta-dev agentic quality-gate-fix`")
        if not modules:
            notes.append(f"no changed modules since {self.base}")
        return await self.finish(
            context,
            ok=not missing,
            failures=failures,
            modules=tuple(modules),
            files_touched=tuple(paths),
            next_steps=tuple(next_steps),
            notes=tuple(notes),
        )


def _is_test_path(path: Path) -> bool:
    name = path.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in {"tests", "test", "testing"} for part in path.parts[:-1])
    )


def _dotted(root: Path, path: Path) -> str | None:
    """The import name of a module inside a package (a folder with ``__init__.py``)."""
    if not (path.parent / "__init__.py").is_file():
        return None
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder != root:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def changed_module_tests(root: Path, changed: Sequence[str]) -> list[ModuleTests]:
    """Each changed package module (not a test, not ``__init__``) and the tests that cover it:
    a test file named after it (``test_<module>.py``) or one importing it."""
    modules: list[tuple[str, str]] = []
    for relative in changed:
        path = root / relative
        if path.suffix != ".py" or not path.is_file() or path.name == "__init__.py":
            continue
        if _is_test_path(Path(relative)):
            continue
        dotted = _dotted(root, path)
        if dotted is not None:
            modules.append((relative, dotted))
    if not modules:
        return []
    tests = [(f.relative_to(root).as_posix(), f.stem, _imports(f)) for f in _test_files(root)]
    out: list[ModuleTests] = []
    for relative, dotted in modules:
        stem = dotted.rsplit(".", 1)[-1]
        names = {f"test_{stem}", f"test_{stem.lstrip('_')}", f"{stem}_test"}
        found = tuple(
            t for t, test_stem, imported in tests if test_stem in names or dotted in imported
        )
        out.append(ModuleTests(relative, dotted, found))
    return out


# --- performance --------------------------------------------------------------------------


class PerformanceCheck(_Workflow):
    """Run the benchmark, compare with the baseline, flag regressions beyond ``threshold``."""

    workflow = "performance-optimization"

    def __init__(
        self,
        root: str | Path = ".",
        *,
        benchmark: Sequence[str],
        baseline: str | Path,
        output: str | Path,
        threshold: float = 0.10,
        save_baseline: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(root, **kw)
        if not benchmark:
            raise AgenticError("no benchmark given: pass --benchmark 'SCRIPT [ARGS]'")
        if threshold < 0:
            raise AgenticError(f"threshold must be >= 0, got {threshold}")
        self.benchmark = tuple(benchmark)
        self.baseline = self.root / baseline
        self.output = self.root / output
        self.threshold = threshold
        self.save_baseline = save_baseline

    async def run(self, context: WorkflowContext) -> WorkflowReport:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.unlink(missing_ok=True)
        values = {"benchmark": self.benchmark, "output": str(self.output)}
        result = await self.command(self.prompt.step("benchmark"), values, phase="measure").execute(
            None, context
        )
        failures: list[Failure] = []
        notes: list[str] = []
        if not result.ok:
            failures.append(_failure(result))
        if not self.output.is_file():
            failures.append(Failure("benchmark", f"wrote no results to {self.output}"))
            return await self.finish(context, ok=False, failures=tuple(failures))
        unit, current = read_benchmark_results(self.output)
        changes: list[BenchmarkChange] = []
        if self.baseline.is_file():
            base_unit, baseline = read_benchmark_results(self.baseline)
            if base_unit != unit:
                raise AgenticError(f"baseline unit {base_unit!r} differs from this run's {unit!r}")
            for name in sorted(current.keys() | baseline.keys()):
                now, then = current.get(name), baseline.get(name)
                regressed = (
                    now is not None and then is not None and now > then * (1 + self.threshold)
                )
                changes.append(BenchmarkChange(name, then, now, unit, regressed))
            slower = [c for c in changes if c.regressed]
            failures += [
                Failure(
                    c.name,
                    f"{c.ratio:.2f}x the baseline ({c.baseline:.4g} -> {c.current:.4g} {unit}; "
                    f"threshold {self.threshold:.0%})",
                )
                for c in slower
                if c.ratio is not None and c.baseline is not None and c.current is not None
            ]
            gone = [c.name for c in changes if c.current is None]
            new = [c.name for c in changes if c.baseline is None]
            if gone:
                notes.append(f"in the baseline only: {', '.join(gone)}")
            if new:
                notes.append(f"new since the baseline: {', '.join(new)}")
        else:
            changes = [BenchmarkChange(n, None, v, unit, False) for n, v in sorted(current.items())]
            notes.append(f"no baseline at {self.baseline}: nothing to compare with")
        if self.save_baseline:
            self.baseline.parent.mkdir(parents=True, exist_ok=True)
            self.baseline.write_text(self.output.read_text(encoding="utf-8"), encoding="utf-8")
            notes.append(f"saved this run as the baseline: {self.baseline}")
        next_steps = (
            (
                "Profile the regressed cases (`uv run tta-dev profile MODULE:ATTR`) and compare again",
            )
            if any(c.regressed for c in changes)
            else ()
        )
        return await self.finish(
            context,
            ok=not failures,
            failures=tuple(failures),
            benchmarks=tuple(changes),
            notes=tuple(notes),
            next_steps=next_steps,
        )


def read_benchmark_results(path: Path) -> tuple[str, dict[str, float]]:
    """(unit, {case: value}) from our format or pytest-benchmark's ``--benchmark-json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AgenticError(f"cannot read benchmark results {path}: {exc}") from None
    table = cast("dict[str, Any]", data) if isinstance(data, dict) else {}
    if isinstance(table.get("results"), dict):
        raw = cast("dict[str, Any]", table["results"])
        unit = str(table.get("unit", ""))
        try:
            return unit, {str(k): float(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise AgenticError(f"{path}: every result must be a number") from None
    if isinstance(table.get("benchmarks"), list):
        out: dict[str, float] = {}
        for item in cast("list[Any]", table["benchmarks"]):
            entry = cast("dict[str, Any]", item) if isinstance(item, dict) else {}
            stats = entry.get("stats")
            if isinstance(stats, dict) and "median" in stats:
                out[str(entry.get("fullname") or entry.get("name"))] = float(
                    cast("dict[str, Any]", stats)["median"]
                )
        return "s", out
    raise AgenticError(
        f'{path}: expected {{"unit": ..., "results": {{case: number}}}} or pytest-benchmark JSON'
    )
