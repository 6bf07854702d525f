"""``tta-dev health``: is this checkout ready to work in, and in step with CI?

Each check answers one question and, when it fails, says the command that fixes it:

- ``uv``: uv is on ``PATH`` and inside ``[tool.uv] required-version``;
- ``lock``: ``uv.lock`` matches ``pyproject.toml`` (``uv lock --check``);
- ``environment``: the project environment matches the lock (``uv sync --locked --check``);
- ``pre-commit``: the git hook is installed when the project has hooks;
- ``drift``: workflows, nox sessions and hooks agree (``tta_dev.devtools.consistency``);
- ``prompts``: the agentic workflow prompt files parse (``tta_dev.agentic``, when present);
- ``services`` (opt-in): ``REDIS_URL`` / ``PROMETHEUS_URL`` answer.

The checks run in threads: most of them wait on a subprocess, so the whole run costs about
as much as the slowest (the drift check's ``nox -l``), under 2 s on this repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tta_dev._safeio import value_at

__all__ = ["HealthCheck", "HealthReport", "check_health"]

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class HealthCheck:
    """One check's answer: ``fix`` is the command (or step) that makes a failure pass."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class HealthReport:
    """Every check, in a fixed order."""

    checks: tuple[HealthCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _run(args: Sequence[str], root: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)  # uv would warn that it differs from the project's .venv
    return subprocess.run(
        list(args), cwd=root, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def _pyproject(root: Path) -> Mapping[str, Any]:
    from tta_dev._safeio import load_toml

    return load_toml(root / "pyproject.toml", "pyproject.toml")


def check_uv(root: Path, which: Callable[[str], str | None] = shutil.which) -> HealthCheck:
    uv = which("uv")
    if uv is None:
        return HealthCheck("uv", "fail", "uv is not on PATH", "install uv: pip install uv")
    result = _run([uv, "--version"], root, timeout=20)
    words = result.stdout.split()
    version = words[1] if len(words) >= 2 else ""
    try:
        raw = value_at(_pyproject(root), "tool", "uv", "required-version")
        required = raw if isinstance(raw, str) else ""
    except (ValueError, OSError, AttributeError) as exc:
        return HealthCheck("uv", "fail", str(exc), "fix pyproject.toml")
    if not required:
        return HealthCheck("uv", "pass", f"uv {version} (no required-version set)")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        inside = Version(version) in SpecifierSet(required)
    except (InvalidSpecifier, InvalidVersion):
        return HealthCheck(
            "uv", "fail", f"cannot compare uv {version!r} with {required!r}", "fix required-version"
        )
    if not inside:
        return HealthCheck(
            "uv",
            "fail",
            f"uv {version} is outside required-version {required}",
            f"pip install 'uv{required}'  (or: uv self update)",
        )
    return HealthCheck("uv", "pass", f"uv {version} inside {required}")


def check_lock(root: Path) -> HealthCheck:
    if not (root / "uv.lock").is_file():
        return HealthCheck("lock", "fail", "uv.lock does not exist", "uv lock")
    result = _run(["uv", "lock", "--check"], root)
    if result.returncode == 0:
        return HealthCheck("lock", "pass", "uv.lock matches pyproject.toml")
    return HealthCheck("lock", "fail", _last_line(result.stderr) or "uv.lock is stale", "uv lock")


def check_environment(root: Path) -> HealthCheck:
    # --inexact: tools installed beside the project (extras, another group) are not drift.
    result = _run(["uv", "sync", "--locked", "--check", "--inexact"], root)
    if result.returncode == 0:
        return HealthCheck("environment", "pass", "the project environment matches uv.lock")
    detail = _last_line(result.stderr) or "the environment differs from uv.lock"
    fix = "uv lock && uv sync --locked" if "lockfile" in detail.lower() else "uv sync --locked"
    return HealthCheck("environment", "fail", detail, fix)


def check_precommit(root: Path) -> HealthCheck:
    if not (root / ".pre-commit-config.yaml").is_file():
        return HealthCheck("pre-commit", "skip", "no .pre-commit-config.yaml")
    result = _run(["git", "rev-parse", "--git-path", "hooks/pre-commit"], root, timeout=20)
    if result.returncode != 0:
        return HealthCheck("pre-commit", "skip", "not a git repository")
    hook = Path(result.stdout.strip())
    hook = hook if hook.is_absolute() else root / hook
    try:
        installed = hook.is_file() and "pre-commit" in hook.read_text(errors="replace")[:65536]
    except OSError:
        installed = False
    if installed:
        return HealthCheck("pre-commit", "pass", "the pre-commit git hook is installed")
    return HealthCheck(
        "pre-commit",
        "fail",
        "the pre-commit git hook is not installed",
        "uv run pre-commit install",
    )


def check_drift_health(root: Path) -> HealthCheck:
    if not (root / "noxfile.py").is_file():
        return HealthCheck("drift", "skip", "no noxfile.py")
    from tta_dev.devtools.consistency import check_drift

    try:
        problems = check_drift(root)
    except (RuntimeError, ValueError, OSError) as exc:
        return HealthCheck("drift", "fail", str(exc).splitlines()[0][:300], "uv run tta-dev drift")
    if not problems:
        return HealthCheck("drift", "pass", "workflows, nox sessions and hooks agree")
    first = str(problems[0])[:300]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return HealthCheck("drift", "fail", first + more, "uv run tta-dev drift  (then fix each line)")


def check_prompts(root: Path) -> HealthCheck:
    """Every agentic workflow's prompt file (the project's own, else the packaged) parses."""
    try:
        from tta_dev.agentic import WORKFLOW_NAMES, AgenticError, load_prompt
    except ImportError:
        return HealthCheck(
            "prompts", "skip", "the agentic extra is not installed", "uv add 'tta-dev[agentic]'"
        )
    problems: list[str] = []
    for name in WORKFLOW_NAMES:
        try:
            load_prompt(name, root)
        except (AgenticError, ValueError, OSError) as exc:
            problems.append(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
    if not problems:
        return HealthCheck("prompts", "pass", f"{len(WORKFLOW_NAMES)} agentic prompt files parse")
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return HealthCheck(
        "prompts",
        "fail",
        problems[0] + more,
        "fix the prompt file, then: uv run tta-dev agentic show",
    )


def check_services(environ: Mapping[str, str]) -> HealthCheck:
    from tta_dev._redact import shown_url
    from tta_dev.devtools.services import prometheus_ready, redis_ready

    seen: list[str] = []
    failed: list[str] = []
    for var, ready in (("REDIS_URL", redis_ready), ("PROMETHEUS_URL", prometheus_ready)):
        url = environ.get(var, "").strip()
        if not url:
            continue
        (seen if ready(url, timeout=1.0) else failed).append(f"{var}={shown_url(url)}")
    if failed:
        return HealthCheck(
            "services", "fail", "no answer from " + ", ".join(failed), "start the server(s)"
        )
    if not seen:
        return HealthCheck("services", "skip", "neither REDIS_URL nor PROMETHEUS_URL is set")
    return HealthCheck("services", "pass", "answering: " + ", ".join(seen))


def check_health(
    root: Path, *, services: bool = False, environ: Mapping[str, str] | None = None
) -> HealthReport:
    """Run every check on the project at ``root`` (``services`` opts in to network checks)."""
    env = os.environ if environ is None else environ
    jobs: list[Callable[[], HealthCheck]] = [
        lambda: check_uv(root),
        lambda: check_lock(root),
        lambda: check_environment(root),
        lambda: check_precommit(root),
        lambda: check_drift_health(root),
        lambda: check_prompts(root),
    ]
    if services:
        jobs.append(lambda: check_services(env))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        return HealthReport(tuple(f.result() for f in futures))


def render_health(report: HealthReport, fmt: str) -> str:
    """The report as ``text`` (a table), ``json`` or ``markdown``."""
    import json

    if fmt == "json":
        return json.dumps(
            {
                "ok": report.ok,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                    for c in report.checks
                ],
            },
            indent=2,
            ensure_ascii=True,
        )
    if fmt == "markdown":
        icon = {"pass": "✅ pass", "fail": "❌ fail", "skip": "skip"}

        def cell(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        lines = ["| check | status | detail | fix |", "|---|---|---|---|"]
        lines += [
            f"| {c.name} | {icon[c.status]} | {cell(c.detail)} | "
            + (f"`{cell(c.fix)}`" if c.fix and c.status == "fail" else "")
            + " |"
            for c in report.checks
        ]
        return "\n".join(lines)
    rows = [("check", "status", "detail")]
    rows += [(c.name, c.status.upper(), c.detail) for c in report.checks]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    fixes = ["fix", *(c.fix if c.status == "fail" else "" for c in report.checks)]
    lines = [
        ("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + fix).rstrip()
        for r, fix in zip(rows, fixes, strict=True)
    ]
    summary = "healthy" if report.ok else "unhealthy: run the fix of each FAIL line"
    return "\n".join([*lines, "", summary])
