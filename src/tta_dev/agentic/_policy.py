"""The command rule: Python tools run through ``uv run``, ``uvx`` or nox, never bare.

A bare ``pytest`` or ``python script.py`` runs whatever interpreter and packages happen to be
on ``PATH``; ``uv run`` runs the ones ``uv.lock`` pins (and syncs them first), ``uvx`` an
isolated tool, ``nox`` a session that installs from the lock. ``pip install`` (also as
``uv pip install`` or ``uv run pip install``) changes an environment behind the lock's back:
dependencies are added with ``uv add``. Other programs (``git``, ``apt-get``, ``jq``) are
not Python tools and pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["PYTHON_TOOLS", "ToolCall", "classify_command"]

#: Programs that come from a Python environment: bare, they bypass the lock.
PYTHON_TOOLS = frozenset(
    {
        "pytest",
        "py.test",
        "pip",
        "pip3",
        "ruff",
        "pyright",
        "mypy",
        "coverage",
        "nox",
        "invoke",
        "inv",
        "pre-commit",
        "zizmor",
        "check-jsonschema",
        "tta-dev",
        "black",
        "isort",
        "flake8",
        "pylint",
        "tox",
        "twine",
        "hatch",
        "poetry",
        "pdm",
        "pipx",
        "virtualenv",
    }
)
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
# `uv run` options that take a value (so the tool is the word after it).
_UV_RUN_VALUE_OPTIONS = frozenset(
    {
        "--group",
        "--extra",
        "--with",
        "--with-editable",
        "--with-requirements",
        "--python",
        "-p",
        "--package",
        "--directory",
        "--project",
        "--env-file",
        "--index",
        "--default-index",
        "--only-group",
        "--no-group",
        "--no-extra",
        "--script",
        "-w",
    }
)
_UVX_VALUE_OPTIONS = frozenset({"--from", "--with", "--python", "-p", "--index", "-w"})
_PIP_CHANGES = frozenset({"install", "uninstall", "sync"})


@dataclass(frozen=True)
class ToolCall:
    """What a command runs: ``runner`` (``uv run``, ``uvx``, ``uv``, ``nox`` or ``""`` for
    a bare program), the tool's words after the runner, and the broken rule, if any."""

    runner: str
    tool: tuple[str, ...]
    problem: str | None = None

    @property
    def program(self) -> str:
        return PurePosixPath(self.tool[0]).name if self.tool else ""


def _after_options(words: Sequence[str], value_options: frozenset[str]) -> tuple[str, ...]:
    rest = list(words)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--":
            break
        if option in value_options and "=" not in option and rest:
            rest.pop(0)
    return tuple(rest)


def classify_command(words: Sequence[str]) -> ToolCall:
    """How ``words`` (one simple command) runs its tool, and whether that breaks the rule."""
    if not words:
        return ToolCall("", ())
    program = PurePosixPath(words[0]).name
    if program == "uv" and len(words) >= 2:
        sub = words[1]
        if sub == "run":
            return _through_uv("uv run", _after_options(words[2:], _UV_RUN_VALUE_OPTIONS))
        if sub == "tool" and len(words) >= 3 and words[2] == "run":
            return _through_uv("uvx", _after_options(words[3:], _UVX_VALUE_OPTIONS))
        if sub == "pip" and len(words) >= 3 and words[2] in _PIP_CHANGES:
            return ToolCall(
                "uv",
                tuple(words[1:]),
                f"'uv pip {words[2]}' changes the environment behind uv.lock; "
                "use 'uv add' / 'uv remove' and 'uv sync'",
            )
        return ToolCall("uv", tuple(words[1:]))
    if program == "uvx":
        return _through_uv("uvx", _after_options(words[1:], _UVX_VALUE_OPTIONS))
    if program in PYTHON_TOOLS or _PYTHON.match(program):
        pip = _through_uv("", tuple(words))
        if pip.problem:
            return pip
        return ToolCall(
            "",
            tuple(words),
            f"runs '{program}' bare; run it through 'uv run' (lock-pinned), 'uvx' or a nox "
            f"session (e.g. 'uv run {_shown(words)}')",
        )
    return ToolCall("", tuple(words))


def _through_uv(runner: str, tool: tuple[str, ...]) -> ToolCall:
    program = PurePosixPath(tool[0]).name if tool else ""
    pip = tool[2:3] if _PYTHON.match(program) and tool[1:2] == ("-m",) else tool[:1]
    if (pip and PurePosixPath(pip[0]).name in {"pip", "pip3"}) or program in {"pip", "pip3"}:
        rest = tool[tool.index(pip[0]) + 1 :] if pip else ()
        if rest and rest[0] in _PIP_CHANGES:
            shown = f"{runner} ... pip {rest[0]}" if runner else f"pip {rest[0]}"
            return ToolCall(
                runner,
                tool,
                f"'{shown}' changes an environment behind uv.lock; "
                "use 'uv add' / 'uv remove' and 'uv sync'",
            )
    return ToolCall(runner, tool)


def _shown(words: Sequence[str]) -> str:
    text = " ".join([PurePosixPath(words[0]).name, *words[1:4]])
    return text if len(words) <= 4 else text + " ..."
