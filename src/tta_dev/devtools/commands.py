"""Command validation: every command the project documents runs the lock-pinned way.

The files: prompt files (``**/*.prompt.md`` under ``.augment`` and ``src``), GitHub workflows
(each step's ``run:``) and ``README.md`` / ``docs/**/*.md`` (fenced ``bash``, ``sh``,
``shell``, ``zsh`` blocks, and the ``$ `` lines of ``console`` blocks; ``text`` blocks and
inline code are prose). In each, every simple command must

* run a Python tool through ``uv run``, ``uvx`` or nox (``tta_dev.agentic.classify_command``),
* name, with ``nox -s X``, a session ``noxfile.py`` defines (the listing the drift check
  uses: ``nox -l --json``).

A problem names ``file:line``. A legitimate exception is listed in ``pyproject.toml``::

    [tool.tta-dev.agentic.validate]
    paths = ["README.md", "docs/**/*.md", ...]          # replaces the default files
    exceptions = [
        { path = "docs/history.md", command = "pip install", reason = "quotes the old setup" },
    ]

``command`` matches the start of the command as ``shlex.join`` writes it.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

from tta_dev.devtools._shell import parse_script
from tta_dev.devtools.consistency import (
    NoxListingError,
    NoxSession,
    list_nox_sessions,
    named_sessions,
)

__all__ = [
    "DEFAULT_PATHS",
    "CommandException",
    "CommandProblem",
    "DocumentedCommand",
    "check_commands",
    "documented_commands",
    "render_command_problems",
]

DEFAULT_PATHS = (
    "README.md",
    "docs/**/*.md",
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".augment/**/*.prompt.md",
    "src/**/*.prompt.md",
)
_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


@dataclass(frozen=True)
class DocumentedCommand:
    """One simple command found in a file: where, its words, and the step's ``env:``."""

    path: str
    line: int
    words: tuple[str, ...]
    env: Mapping[str, str]


@dataclass(frozen=True)
class CommandProblem:
    """A command that breaks the rule, at ``path:line``."""

    path: str
    line: int
    command: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.command}]"


@dataclass(frozen=True)
class CommandException:
    """A command allowed in the files matching ``path``, for ``reason``."""

    path: str
    command: str
    reason: str

    def allows(self, found: DocumentedCommand) -> bool:
        return fnmatch.fnmatchcase(found.path, self.path) and shlex.join(found.words).startswith(
            self.command
        )


def _config(root: Path) -> tuple[tuple[str, ...], tuple[CommandException, ...]]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return DEFAULT_PATHS, ()
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    table: Any = data.get("tool", {}).get("tta-dev", {}).get("agentic", {}).get("validate", {})
    if not isinstance(table, dict):
        raise ValueError("pyproject.toml: [tool.tta-dev.agentic.validate] must be a table")
    table = cast("dict[str, Any]", table)
    paths_raw: Any = table.get("paths", list(DEFAULT_PATHS))
    paths = cast("list[Any]", paths_raw) if isinstance(paths_raw, list) else None
    if paths is None or not all(isinstance(p, str) for p in paths):
        raise ValueError("pyproject.toml: [tool.tta-dev.agentic.validate] paths must be strings")
    exceptions: list[CommandException] = []
    for item in cast("list[Any]", table.get("exceptions", [])):
        entry = cast("dict[str, Any]", item) if isinstance(item, dict) else {}
        if not all(
            isinstance(entry.get(k), str) and entry.get(k) for k in ("path", "command", "reason")
        ):
            raise ValueError(
                "pyproject.toml: each [tool.tta-dev.agentic.validate] exception needs "
                "path, command and reason"
            )
        exceptions.append(CommandException(entry["path"], entry["command"], entry["reason"]))
    return tuple(str(p) for p in paths), tuple(exceptions)


def _files(root: Path, patterns: Sequence[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p for p in root.glob(pattern) if p.is_file())
    return sorted(found)


def documented_commands(root: Path, path: Path) -> Iterator[DocumentedCommand]:
    """The commands ``path`` (Markdown or a workflow) documents, with their lines."""
    relative = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yml", ".yaml"}:
        yield from _workflow_commands(relative, text)
    else:
        yield from _markdown_commands(relative, text)


def _script_commands(script: str, first_line: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The simple commands of a shell script (the drift check's bash parser), with lines."""
    for command in parse_script(script).commands:
        yield first_line + command.line - 1, command.words


def _markdown_commands(relative: str, text: str) -> Iterator[DocumentedCommand]:
    from tta_dev.agentic import SHELL_LANGUAGES, code_blocks, split_front_matter

    try:
        _, body, offset = split_front_matter(text)
    except ValueError:
        body, offset = text, 0
    for block in code_blocks(body, offset):
        if block.language not in SHELL_LANGUAGES:
            continue
        for line, words in _script_commands(block.shell_script(), block.line):
            yield DocumentedCommand(relative, line, words, {})


def _workflow_commands(relative: str, text: str) -> Iterator[DocumentedCommand]:
    import yaml

    root = yaml.compose(text)
    for run, env in _run_nodes(root):
        # A block scalar (`run: |`) starts on the line after its indicator.
        first = run.start_mark.line + (2 if run.style in ("|", ">") else 1)
        for line, words in _script_commands(str(run.value), first):
            yield DocumentedCommand(relative, line, words, env)


def _run_nodes(node: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """Every ``run:`` scalar of a workflow's steps, with the step's plain ``env:`` values."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        pairs = cast("list[tuple[Any, Any]]", node.value)
        keys = {str(k.value): v for k, v in pairs if isinstance(k, yaml.ScalarNode)}
        run = keys.get("run")
        if isinstance(run, yaml.ScalarNode):
            env_node = keys.get("env")
            env: dict[str, str] = {}
            if isinstance(env_node, yaml.MappingNode):
                for k, v in cast("list[tuple[Any, Any]]", env_node.value):
                    if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode):
                        env[str(k.value)] = str(v.value)
            yield run, env
        for _, value in pairs:
            yield from _run_nodes(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in cast("list[Any]", node.value):
            yield from _run_nodes(item)


def check_commands(
    root: Path, sessions: Sequence[NoxSession] | None = None
) -> list[CommandProblem]:
    """Every broken rule in the project's documented commands (none: all is well)."""
    from tta_dev.agentic import classify_command

    root = root.resolve()
    patterns, exceptions = _config(root)
    known: set[str] | None = None
    problems: list[CommandProblem] = []
    for path in _files(root, patterns):
        for found in documented_commands(root, path):
            if any(e.allows(found) for e in exceptions):
                continue
            shown = shlex.join(found.words)
            call = classify_command(found.words)
            if call.problem:
                problems.append(CommandProblem(found.path, found.line, shown, call.problem))
            tool = list(call.tool)
            if tool and _PYTHON.match(PurePosixPath(tool[0]).name) and tool[1:2] == ["-m"]:
                tool = tool[2:]
            if not tool or PurePosixPath(tool[0]).name != "nox":
                continue
            for raw in named_sessions(tool[1:]):
                name = _resolve(raw, found.env)
                if name is None:
                    continue
                if known is None:
                    try:
                        listed = list_nox_sessions(root) if sessions is None else sessions
                    except NoxListingError as exc:
                        raise ValueError(str(exc)) from None
                    known = {s.name for s in listed}
                if not _session_exists(name, known):
                    problems.append(
                        CommandProblem(
                            found.path,
                            found.line,
                            shown,
                            f"names nox session '{name}', which noxfile.py does not define "
                            f"(defined: {', '.join(sorted(known)) or 'none'})",
                        )
                    )
    return problems


def _resolve(word: str, env: Mapping[str, str]) -> str | None:
    """The session a word names; ``None`` when only a run can tell (a matrix, a placeholder)."""
    match = _VARIABLE.match(word)
    if match:
        value = env.get(match.group(1))
        if value is None:
            return None
        word = value.strip()
    if any(c in word for c in "${}*"):
        return None  # an expression, a placeholder or a pattern: the drift check owns matrices
    return word


def _session_exists(name: str, known: set[str]) -> bool:
    # `nox -s compat` runs every `compat-3.X` session nox parametrized by Python version.
    return name in known or any(k.startswith(name + "-") for k in known)


def render_command_problems(problems: Sequence[CommandProblem], fmt: str = "text") -> str:
    """The problems as ``text``, ``markdown`` or ``json``."""
    if fmt == "json":
        data = [
            {"path": p.path, "line": p.line, "command": p.command, "message": p.message}
            for p in problems
        ]
        return json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    if fmt == "markdown":
        if not problems:
            return "Every documented command runs through `uv run`, `uvx` or nox.\n"
        rows = [f"| `{p.path}:{p.line}` | `{p.command}` | {p.message} |" for p in problems]
        return "\n".join(["| where | command | problem |", "|---|---|---|", *rows]) + "\n"
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}: choose text, markdown or json")
    if not problems:
        return "every documented command runs through uv run, uvx or nox\n"
    return "".join(f"{p}\n" for p in problems)
