"""Drift checks: CI, nox and pre-commit must call the same sessions and lock-pinned tools.

The rules, each a :class:`DriftProblem` when broken:

* a workflow step that runs nox runs it as ``uv run nox``, and every session it names
  (``-s``/``--session``) exists, or comes from a matrix that a job generated with
  ``nox -l --json -t <tag>``;
* a workflow step never runs a check tool (pytest, ruff, pyright, ...) directly: checks are
  nox sessions, so local and CI runs cannot drift apart;
* every session tagged ``ci`` is reachable from CI, either named in a step or covered by a
  generated matrix (sessions tagged ``aggregate`` combine the matrix's results, so a listing
  that filters on ``aggregate`` leaves them out and a step must name them);
* every pre-commit hook is a ``repo: local`` hook that runs its tool through
  ``uv run --frozen`` (one version of record: the lock).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

__all__ = [
    "CHECK_TOOLS",
    "DriftProblem",
    "NoxSession",
    "check_drift",
    "list_nox_sessions",
    "precommit_problems",
    "workflow_problems",
]

#: Tools that are checks in this project; in a workflow they run only inside nox sessions.
CHECK_TOOLS = frozenset(
    {"pytest", "ruff", "pyright", "mypy", "zizmor", "coverage", "check-jsonschema", "pre-commit"}
)

_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")
_NEEDS_OUTPUT = re.compile(r"needs\.([A-Za-z0-9_-]+)\.outputs\.")
_ENV_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_EXPR = re.compile(r"\$\{\{.*?\}\}")


@dataclass(frozen=True)
class NoxSession:
    """One session as ``nox -l --json`` lists it."""

    name: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftProblem:
    """One broken rule: where, and what to change."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def list_nox_sessions(root: Path, python: str = sys.executable) -> list[NoxSession]:
    """Ask nox itself which sessions ``root/noxfile.py`` defines (``nox -l --json``)."""
    result = subprocess.run(
        # `-k ""` lists every session, not only the defaults in nox.options.sessions.
        [python, "-m", "nox", "-l", "--json", "-k", "", "-f", str(root / "noxfile.py")],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"nox -l --json failed in {root}: {last}")
    raw = cast("list[dict[str, Any]]", json.loads(result.stdout))
    return [
        NoxSession(name=str(item["session"]), tags=tuple(str(t) for t in item.get("tags") or ()))
        for item in raw
    ]


def _load_yaml(path: Path) -> Any:
    import yaml  # devtools extra: only the drift check needs a YAML parser

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _commands(script: str) -> Iterable[list[str]]:
    """Split a ``run:`` script into simple commands (lines, ``&&``, ``;``, pipes)."""
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            text = _EXPR.sub(lambda m: m.group(0).replace(" ", ""), part.strip())
            if not text or text.startswith("#"):
                continue
            try:
                words = shlex.split(text, comments=True)
            except ValueError:
                words = text.split()
            if words:
                yield words


def _strip_runner(words: list[str]) -> tuple[list[str], bool]:
    """Drop ``uv run [opts]`` / ``uvx`` in front of a tool; report whether uv ran it."""
    if len(words) >= 2 and words[0] == "uv" and words[1] == "run":
        rest = words[2:]
        while rest and rest[0].startswith("-"):
            flag = rest.pop(0)
            if flag in {"--group", "--extra", "--with", "--python", "-p", "--package"} and rest:
                rest.pop(0)
        return rest, True
    if words and words[0] == "uvx":
        return words[1:], True
    return words, False


def _nox_session_args(args: Sequence[str]) -> tuple[list[str], list[str], bool]:
    """Return (named sessions, tags, is_listing) from nox's arguments."""
    sessions: list[str] = []
    tags: list[str] = []
    listing = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in {"-l", "--list", "--list-sessions"}:
            listing = True
        elif arg in {"-s", "-e", "--session", "--sessions"}:
            i += 1
            while i < len(args) and not args[i].startswith("-"):
                sessions.append(args[i])
                i += 1
            continue
        elif arg.startswith("--session="):
            sessions.append(arg.split("=", 1)[1])
        elif arg in {"-t", "--tags"}:
            i += 1
            while i < len(args) and not args[i].startswith("-"):
                tags.append(args[i])
                i += 1
            continue
        elif arg == "--":
            break
        i += 1
    return sessions, tags, listing


@dataclass
class _JobScan:
    listing_tags: list[str]
    listing_filters_aggregate: bool


def workflow_problems(
    workflow_files: Iterable[Path], sessions: Sequence[NoxSession]
) -> list[DriftProblem]:
    """Check GitHub workflow files against the sessions nox defines."""
    known = {s.name for s in sessions}
    problems: list[DriftProblem] = []
    reached: set[str] = set()
    for path in sorted(workflow_files):
        try:
            data = _load_yaml(path)
        except Exception as exc:  # a broken file is drift too; say which and why
            problems.append(DriftProblem(str(path), f"cannot parse YAML: {exc}".splitlines()[0]))
            continue
        if not isinstance(data, dict):
            problems.append(DriftProblem(str(path), "not a workflow (top level is not a mapping)"))
            continue
        jobs_raw = cast("dict[str, Any]", data).get("jobs")
        jobs = cast("dict[str, Any]", jobs_raw) if isinstance(jobs_raw, dict) else {}
        scans: dict[str, _JobScan] = {}
        for job_id, job in jobs.items():
            scans[job_id] = _scan_listing(job)
        for job_id, job in jobs.items():
            _check_job(path, job_id, job, scans, sessions, known, reached, problems)
    problems.extend(
        DriftProblem(
            "CI",
            f"session '{s.name}' is tagged ci but no workflow runs it; "
            f"name it in a step (uv run nox -s {s.name}) or cover it by a matrix",
        )
        for s in sessions
        if "ci" in s.tags and s.name not in reached
    )
    return problems


def _steps(job: Any) -> list[dict[str, Any]]:
    if not isinstance(job, dict):
        return []
    steps = cast("dict[str, Any]", job).get("steps")
    if not isinstance(steps, list):
        return []
    return [cast("dict[str, Any]", s) for s in cast("list[Any]", steps) if isinstance(s, dict)]


def _scan_listing(job: Any) -> _JobScan:
    tags: list[str] = []
    filters_aggregate = False
    for step in _steps(job):
        script = step.get("run")
        if not isinstance(script, str):
            continue
        for words in _commands(script):
            tool, _ = _strip_runner(words)
            if tool and tool[0] == "nox":
                _, listed_tags, listing = _nox_session_args(tool[1:])
                if listing and "--json" in tool:
                    tags.extend(listed_tags or ["*"])
        if "aggregate" in script:
            filters_aggregate = True
    return _JobScan(tags, filters_aggregate)


def _check_job(
    path: Path,
    job_id: str,
    job: Any,
    scans: Mapping[str, _JobScan],
    sessions: Sequence[NoxSession],
    known: set[str],
    reached: set[str],
    problems: list[DriftProblem],
) -> None:
    matrix_sources = _matrix_sources(job, scans)
    for index, step in enumerate(_steps(job)):
        script = step.get("run")
        if not isinstance(script, str):
            continue
        where = f"{path.name}: job '{job_id}' step {step.get('name') or index + 1}"
        step_env_raw = step.get("env")
        step_env = (
            {str(k): str(v) for k, v in cast("dict[str, Any]", step_env_raw).items()}
            if isinstance(step_env_raw, dict)
            else {}
        )
        for words in _commands(script):
            tool, via_uv = _strip_runner(words)
            if not tool:
                continue
            name = Path(tool[0]).name
            if name in {"python", "python3"} and len(tool) >= 3 and tool[1] == "-m":
                name = tool[2]
                tool = tool[2:]
            if name == "nox":
                if not via_uv:
                    problems.append(DriftProblem(where, "run nox as 'uv run nox' (lock-pinned)"))
                named, _, _ = _nox_session_args(tool[1:])
                for raw in named:
                    session = _resolve_env(raw, step_env)
                    _check_named(where, session, matrix_sources, sessions, known, reached, problems)
            elif name in CHECK_TOOLS:
                problems.append(
                    DriftProblem(
                        where,
                        f"runs '{name}' directly; run the nox session that owns it "
                        "(uv run nox -s <session>) so local and CI agree",
                    )
                )


def _resolve_env(word: str, env: Mapping[str, str]) -> str:
    """``$SESSION`` / ``${SESSION}`` set in the step's ``env:`` stands for its value."""
    match = _ENV_REF.match(word)
    if match and match.group(1) in env:
        return env[match.group(1)].strip()
    return word


def _matrix_sources(job: Any, scans: Mapping[str, _JobScan]) -> dict[str, _JobScan]:
    """Matrix keys of ``job`` that come from another job's ``nox -l --json`` listing."""
    if not isinstance(job, dict):
        return {}
    strategy = cast("dict[str, Any]", job).get("strategy")
    if not isinstance(strategy, dict):
        return {}
    matrix = cast("dict[str, Any]", strategy).get("matrix")
    sources: dict[str, _JobScan] = {}
    if isinstance(matrix, dict):
        for key, value in cast("dict[str, Any]", matrix).items():
            match = _NEEDS_OUTPUT.search(str(value))
            if match and match.group(1) in scans and scans[match.group(1)].listing_tags:
                sources[key] = scans[match.group(1)]
    elif isinstance(matrix, str):
        match = _NEEDS_OUTPUT.search(matrix)
        if match and match.group(1) in scans and scans[match.group(1)].listing_tags:
            sources["*"] = scans[match.group(1)]
    return sources


def _check_named(
    where: str,
    session: str,
    matrix_sources: Mapping[str, _JobScan],
    sessions: Sequence[NoxSession],
    known: set[str],
    reached: set[str],
    problems: list[DriftProblem],
) -> None:
    ref = _MATRIX_REF.match(session)
    if ref:
        scan = matrix_sources.get(ref.group(1)) or matrix_sources.get("*")
        if scan is None:
            problems.append(
                DriftProblem(
                    where,
                    f"session comes from matrix.{ref.group(1)}, which no 'nox -l --json' "
                    "listing generates",
                )
            )
            return
        for s in sessions:
            covered = "*" in scan.listing_tags or any(t in s.tags for t in scan.listing_tags)
            if covered and not (scan.listing_filters_aggregate and "aggregate" in s.tags):
                reached.add(s.name)
        return
    if session not in known:
        problems.append(
            DriftProblem(
                where,
                f"names nox session '{session}', which noxfile.py does not define "
                f"(defined: {', '.join(sorted(known)) or 'none'})",
            )
        )
        return
    reached.add(session)


def precommit_problems(config: Path) -> list[DriftProblem]:
    """Every hook must be local and run its tool through ``uv run --frozen``."""
    try:
        data = _load_yaml(config)
    except FileNotFoundError:
        return [DriftProblem(str(config), "missing; add a .pre-commit-config.yaml")]
    except Exception as exc:
        return [DriftProblem(str(config), f"cannot parse YAML: {exc}".splitlines()[0])]
    problems: list[DriftProblem] = []
    repos_raw = cast("dict[str, Any]", data).get("repos") if isinstance(data, dict) else None
    repos = cast("list[Any]", repos_raw) if isinstance(repos_raw, list) else []
    for repo in repos:
        if not isinstance(repo, dict):
            continue
        repo_d = cast("dict[str, Any]", repo)
        url = str(repo_d.get("repo"))
        hooks = cast("list[Any]", repo_d.get("hooks") or [])
        for hook in hooks:
            hook_d = cast("dict[str, Any]", hook) if isinstance(hook, dict) else {}
            hook_id = str(hook_d.get("id", "?"))
            where = f"{config.name}: hook '{hook_id}'"
            if url != "local":
                problems.append(
                    DriftProblem(where, f"comes from '{url}'; use a repo: local hook via uv")
                )
                continue
            entry = str(hook_d.get("entry", ""))
            if not entry.startswith("uv run --frozen "):
                problems.append(
                    DriftProblem(where, "entry must start with 'uv run --frozen ' (lock-pinned)")
                )
    return problems


def check_drift(root: Path, sessions: Sequence[NoxSession] | None = None) -> list[DriftProblem]:
    """All drift rules for the project at ``root``."""
    listed = list_nox_sessions(root) if sessions is None else sessions
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    return [
        *workflow_problems(workflows, listed),
        *precommit_problems(root / ".pre-commit-config.yaml"),
    ]
