"""invoke nox.session: a name that cannot be a session is one line and exit 2, not nox's 3."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit
from invoke.runners import Result

ROOT = Path(__file__).resolve().parents[3]


def load_tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tasks_under_test", ROOT / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name", ["$(touch pwned)", "unit; rm -rf /", "-l", "", "a b", "x" * 200, "unit\nlint"]
)
def test_a_name_that_cannot_be_a_session_runs_nothing(name: str) -> None:
    tasks = load_tasks()
    context = MockContext()  # any c.run would raise: nothing may run
    with pytest.raises(Exit) as info:
        tasks.session(context, name)
    assert info.value.code == 2
    message = str(info.value.message)
    assert "is not a session name" in message
    assert "\n" not in message
    assert len(message) < 200


def test_an_unknown_session_is_one_line_and_exit_2() -> None:
    tasks = load_tasks()
    context = MockContext(run={"uv run nox -s nosuch": Result(exited=3)})
    with pytest.raises(Exit) as info:
        tasks.session(context, "nosuch")
    assert info.value.code == 2
    assert (
        info.value.message == "nox.session: no session named 'nosuch'; `invoke nox.list` lists them"
    )


def test_a_session_that_fails_keeps_its_exit_code() -> None:
    tasks = load_tasks()
    context = MockContext(run={"uv run nox -s unit": Result(exited=1)})
    with pytest.raises(Exit) as info:
        tasks.session(context, "unit")
    assert info.value.code == 1


def test_a_session_that_passes() -> None:
    tasks = load_tasks()
    context = MockContext(run={"uv run nox -s compat-3.12": Result(exited=0)})
    tasks.session(context, "compat-3.12")


def test_from_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "-r", str(ROOT), "nox.session", "--name", "$(touch x)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "is not a session name" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_metrics_run_with_unbalanced_quotes_is_one_line() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "invoke", "metrics.run", "--command", "uv 'lock"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "metrics.run: --command is not a shell command line (No closing quotation)"
    ]


@pytest.mark.parametrize(
    ("base", "argument"),
    [
        ("origin/main", "--affected-since=origin/main"),
        ("-x", "--affected-since=-x"),  # a value, refused by the plugin in one line
        ("$(touch pwned)", "--affected-since='$(touch pwned)'"),
    ],
)
def test_test_affected_passes_the_base_as_the_options_value(base: str, argument: str) -> None:
    tasks = load_tasks()
    command = f"uv run nox -s unit -- {argument}"
    context = MockContext(run={command: Result(exited=0)})
    tasks.workspace_test_affected(context, base)  # any other command raises
