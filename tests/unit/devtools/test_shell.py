"""The drift check's shell reading: simple commands from bash, and the tool each runs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tta_dev.devtools._shell import (
    _UV_RUN_VALUE_OPTIONS,  # pyright: ignore[reportPrivateUsage]
    _UVX_VALUE_OPTIONS,  # pyright: ignore[reportPrivateUsage]
    invocation,
    parse_script,
)
from tta_dev.testing._support import unavailable


def _words(script: str) -> list[tuple[str, ...]]:
    return [c.words for c in parse_script(script).commands]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # $(...) inside double quotes is a command of its own; the jq program stays one word.
        (
            """echo "s=$(jq -c '[.[] | select(.x | index("aggregate"))]' s.json)" >> "$OUT\"""",
            [
                ("echo", "s=$(...)"),
                ("jq", "-c", '[.[] | select(.x | index("aggregate"))]', "s.json"),
            ],
        ),
        # Operators inside quotes are text, not command separators.
        ('echo "a && pytest -q; ruff"', [("echo", "a && pytest -q; ruff")]),
        # if/then bodies, lists, pipes, subshells and continuation lines.
        (
            'if [ -n "$X" ]; then uv run pytest; fi\n(cd x && ruff check) | tee log\nuv run \\\n  nox',
            [
                ("uv", "run", "pytest"),
                ("cd", "x"),
                ("ruff", "check"),
                ("tee", "log"),
                ("uv", "run", "nox"),
            ],
        ),
        # Environment prefixes are not words; quotes and escapes are removed.
        ("FOO=1 uv run 'py'test \\-q", [("uv", "run", "pytest", "-q")]),
        # GitHub expressions are kept as written.
        (
            "uv run nox -s ${{ matrix.session }}",
            [("uv", "run", "nox", "-s", "${{ matrix.session }}")],
        ),
        # bash -c, sh -c and eval strings are scripts too.
        (
            "bash -o pipefail -ec 'uv run pytest && echo ok'",
            [
                ("bash", "-o", "pipefail", "-ec", "uv run pytest && echo ok"),
                ("uv", "run", "pytest"),
                ("echo", "ok"),
            ],
        ),
        ('eval "ruff check"', [("eval", "ruff check"), ("ruff", "check")]),
        # A comment is nothing.
        ("# uv run pytest\ntrue", [("true",)]),
    ],
)
def test_simple_commands(script: str, expected: list[tuple[str, ...]]) -> None:
    assert _words(script) == expected


def test_syntax_error_is_located() -> None:
    script = parse_script("echo ok\nif then fi (\n")
    assert script.error_line == 2


def test_deep_nesting_and_nested_shells_are_bounded() -> None:
    deep = "echo " + "$(" * 3000 + "x" + ")" * 3000
    parse_script(deep)  # no RecursionError
    nested = "bash -c " + "'bash -c " * 10 + "pytest" + "'" * 10
    assert ("pytest",) not in _words(nested)  # deeper than MAX_NESTED_SCRIPTS: not followed


@pytest.mark.parametrize(
    ("command", "tool", "runner", "pinned"),
    [
        ("uv run nox -s lint", "nox", "uv run", True),
        ("uvx nox -s lint", "nox", "uvx", False),
        ("uv tool run nox -s lint", "nox", "uvx", False),
        ("uvx --from nox==2026.8 nox", "nox", "uvx", False),
        ("uvx ruff@0.6 check", "ruff", "uvx", False),
        ("nox -s lint", "nox", "", False),
        ("python -m nox -s lint", "nox", "python -m", False),
        ("uv run --only-group lint ruff check .", "ruff", "uv run", True),
        ("uv run --group=lint --frozen -p 3.12 ruff check .", "ruff", "uv run", True),
        ("uv run -pX pytest", "pytest", "uv run", True),
        ("uv run -qq --no-sync pytest", "pytest", "uv run", True),
        ("uv --directory sub -q run pytest", "pytest", "uv run", True),
        ("uv run -m pytest -q", "pytest", "uv run", True),
        ("uv run python -W error -m pytest", "pytest", "uv run", True),
        ("uv run python3.12 -mpytest", "pytest", "uv run", True),
        ("uv run python scripts/x.py -m y", "python", "uv run", True),
        ("uv run --with nox nox -s x", "nox", "uv run", False),
        ("uv run --with=Nox==1 nox -s x", "nox", "uv run", False),
        ("uv run --with rich nox -s x", "nox", "uv run", True),
        ("uv run --no-project nox", "nox", "uv run", False),
        ("uv run uvx nox", "nox", "uvx", False),
        ("uv run -- pytest", "pytest", "uv run", True),
        ("env -i A=1 B=2 pytest", "pytest", "", False),
        ("sudo -u me timeout -s KILL 60 uv run pytest", "pytest", "uv run", True),
        ("time nice -n 5 .venv/bin/pytest", "pytest", "", False),
        ("xargs -n 1 ruff check", "ruff", "", False),
    ],
)
def test_invocation(command: str, tool: str, runner: str, pinned: bool) -> None:
    found = invocation(command.split())
    assert found is not None
    assert (found.tool, found.runner, found.lock_pinned) == (tool, runner, pinned)


@pytest.mark.parametrize("command", ["uv run", "uv sync", "uvx", "env", "uv run --group"])
def test_no_tool(command: str) -> None:
    found = invocation(command.split())
    assert found is None or found.tool in {"uv"}


def _value_options(help_text: str) -> set[str]:
    """Options that take a value (`--opt <VALUE>`), with their short forms, from --help."""
    options: set[str] = set()
    for line in help_text.splitlines():
        match = re.match(r"^\s+(-\w, )?(--[\w-]+) <", line)
        if match:
            options.add(match.group(2))
            if match.group(1):
                options.add(match.group(1)[:2])
    return options


@pytest.mark.parametrize(
    ("command", "table"),
    [(["uv", "run", "--help"], _UV_RUN_VALUE_OPTIONS), (["uvx", "--help"], _UVX_VALUE_OPTIONS)],
)
def test_option_tables_match_the_uv_in_use(command: list[str], table: frozenset[str]) -> None:
    if shutil.which(command[0]) is None:
        unavailable(f"{command[0]} is not on PATH (install uv)")
    help_text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    missing = _value_options(help_text) - table
    assert not missing, f"add to the table in _shell.py: {sorted(missing)}"


def test_without_the_devtools_extra_the_parser_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from tta_dev.devtools import _shell

    _shell._parser.cache_clear()
    monkeypatch.setitem(sys.modules, "tree_sitter_bash", None)  # import fails as if absent
    try:
        with pytest.raises(_shell.ShellParserMissing, match=r"uv add 'tta-dev\[devtools\]'"):
            _shell._parser()
    finally:
        _shell._parser.cache_clear()
