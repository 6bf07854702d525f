"""Drift checks: CI, nox and pre-commit must call the same sessions and lock-pinned tools.

The rules, each a :class:`DriftProblem` when broken:

* a workflow step that runs nox runs it as ``uv run nox`` (``uvx nox`` fetches the latest
  nox, a bare ``nox`` is whatever is on ``PATH``: neither is the locked one), and every
  session it names (``-s``/``--session``) exists, or comes from a matrix that a job
  generated with ``nox -l --json -t <tag>``;
* a workflow step never runs a check tool (pytest, ruff, pyright, ...) directly, however it
  is started (``uv run --only-group lint ruff``, ``python -m pytest``, ``bash -c``): checks
  are nox sessions, so local and CI runs cannot drift apart;
* every session tagged ``ci`` is reachable from CI, either named in a step or covered by a
  generated matrix (sessions tagged ``aggregate`` combine the matrix's results, so a listing
  whose ``jq`` filter names ``"aggregate"`` leaves them out and a step must name them);
* every pre-commit hook is a ``repo: local`` hook that runs its tool through
  ``uv run --frozen`` (one version of record: the lock).

``run:`` blocks are read by a real bash parser (:mod:`tta_dev.devtools._shell`), hook
entries by ``shlex`` (as pre-commit itself splits them). The files are read as a user's
input: only regular files, at most :data:`MAX_CONFIG_BYTES`, YAML nested at most
:data:`MAX_YAML_DEPTH` deep and at most :data:`MAX_YAML_NODES` nodes once aliases are
expanded (a "billion laughs" file is refused, not expanded); nox gets a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tta_dev._safeio import InputError, read_text
from tta_dev.devtools._shell import invocation, parse_script, uv_run_command
from tta_dev.errors import TtaDevError

if TYPE_CHECKING:
    import yaml

__all__ = [
    "CHECK_TOOLS",
    "MAX_CONFIG_BYTES",
    "MAX_SCRIPT_CHARS",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "NOX_LIST_TIMEOUT",
    "DriftProblem",
    "NoxListingError",
    "NoxSession",
    "check_drift",
    "list_nox_sessions",
    "named_sessions",
    "precommit_problems",
    "render_drift",
    "workflow_problems",
]

#: Tools that are checks in this project; in a workflow they run only inside nox sessions.
CHECK_TOOLS = frozenset(
    {"pytest", "ruff", "pyright", "mypy", "zizmor", "coverage", "check-jsonschema", "pre-commit"}
)

#: A workflow or hook config larger than this is refused (ours are a few KiB).
MAX_CONFIG_BYTES = 1 << 20
#: YAML nesting deeper than this is refused (a workflow nests about ten levels).
MAX_YAML_DEPTH = 64
#: YAML with more nodes than this, counting each alias as the node it repeats, is refused.
MAX_YAML_NODES = 100_000
#: A ``run:`` block longer than this is a problem, not parsed (ours are a few lines; the
#: parser costs about a second per 64 KiB in pure-Python walking).
MAX_SCRIPT_CHARS = 64 * 1024
#: Seconds ``nox -l --json`` may take (it imports the noxfile) before the check gives up.
NOX_LIST_TIMEOUT = 120.0

_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$")
_NEEDS_OUTPUT = re.compile(r"needs\.([A-Za-z0-9_-]+)\.outputs\.")
_ENV_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_JQ_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_BASH_SHELLS = frozenset({"bash", "sh"})


class NoxListingError(TtaDevError, RuntimeError):
    """``nox -l --json`` failed, timed out or printed something that is not its listing."""


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


def _short(value: object, limit: int = 80) -> str:
    """``value`` fit for a one-line message: no line breaks, at most ``limit`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def list_nox_sessions(
    root: Path, python: str = sys.executable, timeout: float = NOX_LIST_TIMEOUT
) -> list[NoxSession]:
    """Ask nox itself which sessions ``root/noxfile.py`` defines (``nox -l --json``).

    Raises :class:`NoxListingError` when nox fails, prints no listing, or takes longer than
    ``timeout`` seconds (a noxfile that never finishes importing); nox and anything it
    started are stopped then.
    """
    # `-k ""` lists every session, not only the defaults in nox.options.sessions.
    command = [python, "-m", "nox", "-l", "--json", "-k", "", "-f", str(root / "noxfile.py")]
    with subprocess.Popen(
        command,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group: a timeout stops what it started too
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise NoxListingError(
                f"nox -l --json did not finish within {timeout:g}s in {root}: "
                "does noxfile.py finish importing?"
            ) from None
    if process.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise NoxListingError(f"nox -l --json failed in {root}: {_short(last, 200)}")
    return _parse_listing(stdout, root)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # already gone
        process.kill()
    # Only nox is waited for: a grandchild that kept the pipes open is dead too (its group).
    process.communicate()


def _parse_listing(stdout: str, root: Path) -> list[NoxSession]:
    try:
        raw: object = json.loads(stdout)
    except (ValueError, RecursionError):
        raw = None
    if not isinstance(raw, list):
        raise NoxListingError(f"nox -l --json in {root} printed no session listing")
    sessions: list[NoxSession] = []
    for item in cast("list[object]", raw):
        if not isinstance(item, dict):
            raise NoxListingError(f"nox -l --json in {root}: unexpected entry {_short(item)}")
        entry = cast("dict[str, object]", item)
        name: object = entry.get("session")
        tags: object = entry.get("tags") or []
        if not isinstance(name, str) or not isinstance(tags, list):
            raise NoxListingError(f"nox -l --json in {root}: unexpected entry {_short(entry)}")
        sessions.append(NoxSession(name, tuple(str(t) for t in cast("list[object]", tags))))
    return sessions


def _load_yaml(path: Path) -> Any:
    """Parse ``path`` as YAML (safe types only), refusing bombs and deep nesting."""
    import yaml  # devtools extra: only the drift check needs a YAML parser

    if not path.exists():
        raise FileNotFoundError(path)
    loader = _bounded_loader_class()(read_text(path, what="it", limit=MAX_CONFIG_BYTES))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)  # pyright: ignore[reportUnknownMemberType]
    except RecursionError:
        raise InputError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        raise InputError(f"cannot parse YAML: {_short(exc, 200)}") from None
    finally:
        loader.dispose()


def _bounded_loader_class() -> type[yaml.SafeLoader]:
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that refuses nesting deeper than MAX_YAML_DEPTH while composing."""

        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self._depth += 1
            try:
                if self._depth > MAX_YAML_DEPTH:
                    raise InputError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels")
                return super().compose_node(parent, index)  # pyright: ignore[reportUnknownMemberType]
            finally:
                self._depth -= 1

    return BoundedLoader


def _check_expanded_size(root: yaml.Node) -> None:
    """Count nodes as the constructed data will hold them (aliases repeat their node)."""
    import yaml

    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    # Iterative post-order walk; node ids identify the nodes aliases share.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(cast("list[yaml.Node]", node.value))
        elif isinstance(node, yaml.MappingNode):
            for k, v in cast("list[tuple[yaml.Node, yaml.Node]]", node.value):
                children += [k, v]
        if done:
            in_progress.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_YAML_NODES:
                raise InputError(
                    f"YAML expands to more than {MAX_YAML_NODES} nodes through aliases"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise InputError("YAML alias refers to a node that contains it")
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


class _NoxArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # never exit: a bad nox command line is reported
        raise ValueError(message)


def _nox_parser() -> argparse.ArgumentParser:
    """The part of nox's own (argparse) command line that says which sessions run."""
    parser = _NoxArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-s", "-e", "--session", "--sessions", nargs="*", action="extend")
    parser.add_argument("-t", "--tags", nargs="*", action="extend")
    parser.add_argument("-l", "--list", "--list-sessions", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-k", "--keywords")
    # Options whose short form would otherwise read as -t/-f/-d plus a value, or that take
    # values that must not be read as sessions.
    for flags in (("-ts", "--add-timestamp"), ("-r",), ("-R",), ("-N",), ("-x",), ("-v",)):
        parser.add_argument(*flags, action="store_true")
    for flags in (
        ("-f", "--noxfile"),
        ("-db", "--default-venv-backend"),
        ("-fb", "--force-venv-backend"),
        ("-j", "--parallel"),
        ("--envdir",),
        ("--report",),
        ("--usage",),
        ("--reuse-venv",),
        ("--download-python",),
        ("--script-mode",),
        ("--script-venv-backend",),
    ):
        parser.add_argument(*flags)
    for flags in (
        ("-p", "--python", "--pythons"),
        ("-P", "--force-python", "--force-pythons"),
        ("--extra-python", "--extra-pythons"),
    ):
        parser.add_argument(*flags, nargs="*")
    return parser


@dataclass(frozen=True)
class _NoxCall:
    sessions: tuple[str, ...]
    tags: tuple[str, ...]
    listing: bool
    json: bool


def _nox_call(args: Sequence[str]) -> _NoxCall:
    """Sessions, tags and listing flags of one nox command line (as nox's argparse reads it)."""
    try:
        parsed, _ = _nox_parser().parse_known_args(list(args))
    except ValueError:
        return _NoxCall((), (), False, False)
    return _NoxCall(
        tuple(parsed.session or ()), tuple(parsed.tags or ()), bool(parsed.list), bool(parsed.json)
    )


def named_sessions(nox_args: Sequence[str]) -> tuple[str, ...]:
    """The sessions a nox command line names (``-s``/``-e``/``--session``), as nox reads them."""
    return _nox_call(nox_args).sessions


@dataclass
class _JobScan:
    listing_tags: list[str] = field(default_factory=lambda: [])
    listing_filters_aggregate: bool = False


@dataclass(frozen=True)
class _Step:
    where: str
    script: str
    env: Mapping[str, str]
    shell: str


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
        except FileNotFoundError:
            problems.append(DriftProblem(str(path), "missing"))
            continue
        except InputError as exc:  # a broken file is drift too; say which and why
            problems.append(DriftProblem(str(path), str(exc)))
            continue
        if not isinstance(data, dict):
            problems.append(DriftProblem(str(path), "not a workflow (top level is not a mapping)"))
            continue
        workflow = cast("dict[Any, Any]", data)
        jobs_raw = workflow.get("jobs")
        if not isinstance(jobs_raw, dict):
            problems.append(DriftProblem(path.name, "'jobs' is not a mapping of jobs"))
            continue
        jobs = {str(k): v for k, v in cast("dict[Any, Any]", jobs_raw).items()}
        default_shell = _default_shell(workflow, "bash")
        steps = {
            job_id: _job_steps(path, job_id, job, default_shell, problems)
            for job_id, job in jobs.items()
        }
        scans = {job_id: _scan_listing(job_steps) for job_id, job_steps in steps.items()}
        for job_id, job in jobs.items():
            matrix_sources = _matrix_sources(job, scans)
            for step in steps[job_id]:
                _check_step(step, matrix_sources, sessions, known, reached, problems)
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


def _default_shell(container: Mapping[Any, Any], inherited: str) -> str:
    defaults = container.get("defaults")
    if isinstance(defaults, dict):
        run = cast("dict[Any, Any]", defaults).get("run")
        if isinstance(run, dict):
            shell = cast("dict[Any, Any]", run).get("shell")
            if isinstance(shell, str):
                return shell
    return inherited


def _job_steps(
    path: Path, job_id: str, job: Any, default_shell: str, problems: list[DriftProblem]
) -> list[_Step]:
    """The job's ``run:`` steps; wrong types are problems, not crashes."""
    where_job = f"{path.name}: job '{_short(job_id)}'"
    if not isinstance(job, dict):
        problems.append(DriftProblem(where_job, "is not a mapping"))
        return []
    job_d = cast("dict[Any, Any]", job)
    if "uses" in job_d and "steps" not in job_d:
        return []  # a reusable workflow call has no steps of its own
    steps_raw = job_d.get("steps")
    if not isinstance(steps_raw, list):
        problems.append(DriftProblem(where_job, "'steps' is not a list"))
        return []
    shell_default = _default_shell(job_d, default_shell)
    steps: list[_Step] = []
    for index, step in enumerate(cast("list[Any]", steps_raw)):
        if not isinstance(step, dict):
            problems.append(DriftProblem(f"{where_job} step {index + 1}", "is not a mapping"))
            continue
        step_d = cast("dict[Any, Any]", step)
        label = step_d.get("name")
        where = f"{where_job} step {_short(label) if isinstance(label, str) else index + 1}"
        script = step_d.get("run")
        if script is None:
            continue
        if not isinstance(script, str):
            problems.append(DriftProblem(where, "'run' is not a string"))
            continue
        if len(script) > MAX_SCRIPT_CHARS:
            problems.append(
                DriftProblem(
                    where,
                    f"'run' is longer than {MAX_SCRIPT_CHARS} characters; "
                    "move it into a script file the step calls",
                )
            )
            continue
        env_raw = step_d.get("env")
        env = (
            {str(k): str(v) for k, v in cast("dict[Any, Any]", env_raw).items()}
            if isinstance(env_raw, dict)
            else {}
        )
        shell = step_d.get("shell", shell_default)
        if not isinstance(shell, str):
            problems.append(DriftProblem(where, "'shell' is not a string"))
            continue
        steps.append(_Step(where, script, env, shell))
    return steps


def _is_shell_script(step: _Step) -> bool:
    words = step.shell.split()
    return bool(words) and Path(words[0]).name in _BASH_SHELLS


def _scan_listing(steps: Sequence[_Step]) -> _JobScan:
    """Which tags a job lists with ``nox -l --json``, and whether a jq filter drops aggregate."""
    scan = _JobScan()
    for step in steps:
        if not _is_shell_script(step):
            continue
        for command in parse_script(step.script).commands:
            found = invocation(command.words)
            if found is None:
                continue
            if found.tool == "nox":
                call = _nox_call(found.args)
                if call.listing and call.json:
                    scan.listing_tags.extend(call.tags or ["*"])
            elif found.tool == "jq" and _jq_names_aggregate(found.args):
                scan.listing_filters_aggregate = True
    return scan


def _jq_names_aggregate(args: Sequence[str]) -> bool:
    """Whether a jq program (or a ``--arg``/``--argjson`` value) names ``"aggregate"``."""
    program: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in {"--arg", "--argjson"}:
            if i + 2 < len(args) and args[i + 2].strip('"') == "aggregate":
                return True
            i += 3
            continue
        if arg in {"--slurpfile", "--rawfile"}:
            i += 3
            continue
        if arg in {"-f", "--from-file", "-L", "--indent"}:
            i += 2
            continue
        if arg.startswith("-") and program is None:
            i += 1
            continue
        if program is None:
            program = arg
        i += 1
    return program is not None and any(
        m.group(1) == "aggregate" for m in _JQ_STRING.finditer(program)
    )


def _check_step(
    step: _Step,
    matrix_sources: Mapping[str, _JobScan],
    sessions: Sequence[NoxSession],
    known: set[str],
    reached: set[str],
    problems: list[DriftProblem],
) -> None:
    if not _is_shell_script(step):
        return
    script = parse_script(step.script)
    if script.error_line is not None:
        problems.append(
            DriftProblem(
                step.where,
                f"'run' is not valid bash near line {script.error_line}; "
                "the drift check cannot tell what it runs",
            )
        )
    for command in script.commands:
        found = invocation(command.words)
        if found is None:
            continue
        if found.tool == "nox":
            if not found.lock_pinned:
                why = {
                    "uvx": "uvx fetches the latest nox, not the locked one",
                    "uv run": "uv run --with/--no-project does not take nox from uv.lock",
                }.get(found.runner, "a bare nox is whatever is on PATH")
                problems.append(
                    DriftProblem(step.where, f"run nox as 'uv run nox' (lock-pinned): {why}")
                )
            call = _nox_call(found.args)
            if call.listing:
                continue
            for raw in call.sessions:
                session = _resolve_env(raw, step.env)
                _check_named(
                    step.where, session, matrix_sources, sessions, known, reached, problems
                )
            if call.tags and not call.sessions:
                reached.update(s.name for s in sessions if set(call.tags) & set(s.tags))
        elif found.tool in CHECK_TOOLS:
            problems.append(
                DriftProblem(
                    step.where,
                    f"runs '{found.tool}' directly; run the nox session that owns it "
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
    strategy = cast("dict[Any, Any]", job).get("strategy")
    if not isinstance(strategy, dict):
        return {}
    matrix = cast("dict[Any, Any]", strategy).get("matrix")
    sources: dict[str, _JobScan] = {}
    if isinstance(matrix, dict):
        for key, value in cast("dict[Any, Any]", matrix).items():
            if not isinstance(value, str):
                continue  # a literal list of values: not generated by a listing
            match = _NEEDS_OUTPUT.search(value)
            if match and match.group(1) in scans and scans[match.group(1)].listing_tags:
                sources[str(key)] = scans[match.group(1)]
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
                f"names nox session '{_short(session)}', which noxfile.py does not define "
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
    except InputError as exc:
        return [DriftProblem(str(config), str(exc))]
    if not isinstance(data, dict):
        return [DriftProblem(config.name, "top level is not a mapping")]
    repos = cast("dict[Any, Any]", data).get("repos")
    if not isinstance(repos, list):
        return [DriftProblem(config.name, "'repos' is not a list")]
    problems: list[DriftProblem] = []
    for index, repo in enumerate(cast("list[Any]", repos), 1):
        where_repo = f"{config.name}: repo {index}"
        if not isinstance(repo, dict):
            problems.append(DriftProblem(where_repo, "is not a mapping"))
            continue
        repo_d = cast("dict[Any, Any]", repo)
        url = repo_d.get("repo")
        hooks = repo_d.get("hooks")
        if not isinstance(hooks, list):
            problems.append(DriftProblem(where_repo, "'hooks' is not a list"))
            continue
        for hook in cast("list[Any]", hooks):
            if not isinstance(hook, dict):
                problems.append(DriftProblem(where_repo, "a hook is not a mapping"))
                continue
            hook_d = cast("dict[Any, Any]", hook)
            where = f"{config.name}: hook '{_short(hook_d.get('id', '?'))}'"
            if url != "local":
                problems.append(
                    DriftProblem(
                        where, f"comes from '{_short(url)}'; use a repo: local hook via uv"
                    )
                )
                continue
            message = _entry_problem(hook_d.get("entry"))
            if message:
                problems.append(DriftProblem(where, message))
    return problems


def _entry_problem(entry: object) -> str | None:
    """Why a local hook's ``entry`` does not run a lock-pinned tool, or None."""
    fix = "entry must start with 'uv run --frozen ' (lock-pinned)"
    if not isinstance(entry, str):
        return f"{fix}; it is not a string"
    try:
        words = shlex.split(entry)  # how pre-commit itself splits an entry
    except ValueError as exc:
        return f"{fix}; it does not split as a command line ({exc})"
    run = uv_run_command(words)
    if run is None or not any(option == "--frozen" for option, _ in run[0]):
        return fix
    found = invocation(words)
    if found is None:
        return f"{fix}, followed by the tool to run"
    if not found.lock_pinned:
        return f"{fix}; --with/--no-project/uvx take '{found.tool}' from outside uv.lock"
    return None


def check_drift(
    root: Path,
    sessions: Sequence[NoxSession] | None = None,
    timeout: float = NOX_LIST_TIMEOUT,
) -> list[DriftProblem]:
    """All drift rules for the project at ``root``."""
    listed = list_nox_sessions(root, timeout=timeout) if sessions is None else sessions
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    return [
        *workflow_problems(workflows, listed),
        *precommit_problems(root / ".pre-commit-config.yaml"),
    ]


def render_drift(problems: Sequence[DriftProblem], fmt: str = "text") -> str:
    """Render as ``text`` (a line per problem), ``markdown`` (a table) or ``json``."""
    if fmt == "json":
        return json.dumps([{"where": p.where, "message": p.message} for p in problems], indent=2)
    if not problems:
        return "no drift: CI, nox sessions and pre-commit hooks agree"
    if fmt == "markdown":

        def cell(text: str) -> str:
            return text.replace("\\", "\\\\").replace("|", "\\|")

        rows = [f"| {cell(p.where)} | {cell(p.message)} |" for p in problems]
        return "\n".join(["| where | problem |", "|---|---|", *rows])
    return "\n".join(map(str, problems))
