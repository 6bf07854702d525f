"""Prompt files: the packaged ones parse; tagged blocks become steps; errors name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.agentic import (
    WORKFLOW_NAMES,
    PromptFileError,
    classify_command,
    load_prompt,
    parse_prompt,
)


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_packaged_prompt_files_parse_with_goals_and_uv_commands(name: str) -> None:
    prompt = load_prompt(name)
    assert prompt.name == name
    assert prompt.description
    assert prompt.steps
    for step in prompt.steps:
        assert step.goal, f"{name}: step {step.id} sits in a section without a **Goal:**"
        assert classify_command(step.command).problem is None
        line = prompt.text.splitlines()[step.line - 1]
        assert line.split()[0] == step.command[0]  # the line number points at the command


def test_quality_gate_steps_group_the_gates_and_link_fixes() -> None:
    prompt = load_prompt("quality-gate-fix")
    assert [s.id for s in prompt.group("gates")] == ["lint", "format", "typecheck", "lock", "unit"]
    assert {s.id: s.fixes for s in prompt.steps if s.fixes} == {
        "fix-lint": "lint",
        "fix-format": "format",
        "fix-lock": "lock",
    }
    assert prompt.step("fix-lint").command == (
        "uv",
        "run",
        "--frozen",
        "ruff",
        "check",
        "--fix",
        ".",
    )


def test_a_projects_own_prompt_file_wins(tmp_path: Path) -> None:
    own = tmp_path / ".augment" / "workflows"
    own.mkdir(parents=True)
    (own / "bug-fix.prompt.md").write_text(
        "---\nname: bug-fix\ninputs:\n  test: node id\n---\n# Mine\n\n"
        "```bash step=reproduce\nuv run pytest {test}\n```\n"
    )
    prompt = load_prompt("bug-fix", tmp_path)
    assert prompt.title == "bug-fix"
    assert prompt.step("reproduce").argv({"test": "t.py::x"}) == ["uv", "run", "pytest", "t.py::x"]


def test_placeholders_fill_words_and_sequences_fill_several() -> None:
    prompt = parse_prompt(
        "---\ninputs:\n  paths: p\n  name: n\n---\n"
        "```bash step=go\nuv run pytest {paths} -k test_{name}\n```\n"
    )
    step = prompt.step("go")
    assert step.argv({"paths": ("a", "b"), "name": "x"}) == [
        "uv", "run", "pytest", "a", "b", "-k", "test_x"
    ]  # fmt: skip
    assert step.argv({"paths": (), "name": "x"}) == ["uv", "run", "pytest", "-k", "test_x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```bash step=a colour=red\nuv run x\n```\n", "x.prompt.md:1: unknown block attribute"),
        (
            "```bash step=a\nuv run x && uv run y\n```\n",
            "x.prompt.md:2: step 'a' must hold exactly one",
        ),
        ("\n```bash step=a\npytest -x\n```\n", "x.prompt.md:3: step 'a' runs 'pytest' bare"),
        ("```bash step=a\nuv run pytest {who}\n```\n", "x.prompt.md:2: step 'a' uses {who}"),
        ("```python step=a\nprint(1)\n```\n", "step 'a' must be a bash/sh block"),
        ("```bash step=A_B\nuv run x\n```\n", "step id 'A_B'"),
        ("```bash step=a timeout=soon\nuv run x\n```\n", "timeout must be a number"),
        ("```bash step=a\nuv run x\n```\n```bash step=a\nuv run y\n```\n", "defined twice"),
        ("---\nname: x\n", "never closed"),
        ("```bash step=a\nuv run x\nuv run y\n```\n", "x.prompt.md:2: step 'a' must hold exactly"),
        (
            "```bash step=a\n# why\nuv run x \\\n  -q > out\n```\n",
            "x.prompt.md:3: step 'a' must hold",
        ),
    ],
)
def test_malformed_steps_are_errors_naming_file_and_line(text: str, message: str) -> None:
    with pytest.raises(PromptFileError, match=None) as info:
        parse_prompt(text, "x.prompt.md")
    assert message in str(info.value)


def test_an_unknown_workflow_names_the_known_ones() -> None:
    with pytest.raises(PromptFileError, match="quality-gate-fix"):
        load_prompt("nope")


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("uv run --frozen pytest -x", False),
        ("uv run --group lint ruff check .", False),
        ("uvx zizmor .github", False),
        ("uv tool run ruff check", False),
        ("uv run nox -s lint", False),
        ("git switch -c x", False),
        ("uv pip list", False),
        ("pytest", True),
        ("python script.py", True),
        ("python3.12 -m pytest", True),
        (".venv/bin/pytest", True),
        ("pip install x", True),
        ("python -m pip install x", True),
        ("uv pip install x", True),
        ("uv run pip install x", True),
        ("uv run python -m pip install x", True),
        ("nox -s lint", True),
        ("tta-dev drift", True),
    ],
)
def test_the_command_rule(command: str, bad: bool) -> None:
    assert (classify_command(command.split()).problem is not None) is bad


def test_a_step_may_continue_over_lines_after_a_comment() -> None:
    prompt = parse_prompt("```bash step=a\n# why\nuv run pytest \\\n  -q -x\n```\n", "p.md")
    assert prompt.step("a").command == ("uv", "run", "pytest", "-q", "-x")
    assert prompt.step("a").line == 3
