"""Command validation: planted violations in each kind of file, found at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.cli import main
from tta_dev.devtools.commands import check_commands, render_command_problems
from tta_dev.devtools.consistency import NoxSession

SESSIONS = [NoxSession("lint", ("ci",)), NoxSession("unit", ("ci",)), NoxSession("compat-3.12")]

README = """\
# Demo

```bash
uv run nox -s lint
pytest -x
```

```text
pytest -x is output here, not a command
```

Inline `pip install x` is prose.
"""
DOC = """\
# Guide

```console
$ uv run nox -s unit
$ python scripts/x.py
output line: pytest
```
"""
PROMPT = """\
---
name: demo
---
# Demo

```bash
uv run --frozen pytest -q
uv run nox -s typo
```
"""
WORKFLOW = """\
name: CI
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: uv run nox -s lint
      - name: Several
        env:
          SESSION: unit
          OTHER: nosuch
        run: |
          uv run nox -s "$SESSION"
          uv run nox -s compat
          pip install -e .
          uv run nox -s "$OTHER"
"""


def _project(root: Path, **files: str) -> Path:
    for relative, text in files.items():
        path = root / relative.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_planted_violations_in_each_kind_of_file_point_at_their_line(tmp_path: Path) -> None:
    _project(
        tmp_path,
        **{
            "README.md": README,
            "docs__guide.md": DOC,
            ".augment__workflows__demo.prompt.md": PROMPT,
            ".github__workflows__ci.yml": WORKFLOW,
        },
    )
    problems = check_commands(tmp_path, SESSIONS)
    found = {(p.path, p.line, p.command) for p in problems}
    assert found == {
        ("README.md", 5, "pytest -x"),
        ("docs/guide.md", 5, "python scripts/x.py"),
        (".augment/workflows/demo.prompt.md", 8, "uv run nox -s typo"),
        (".github/workflows/ci.yml", 15, "pip install -e ."),
        (".github/workflows/ci.yml", 16, "uv run nox -s '$OTHER'"),
    }
    by_line = {(p.path, p.line): p.message for p in problems}
    assert "runs 'pytest' bare" in by_line[("README.md", 5)]
    assert "'typo'" in by_line[(".augment/workflows/demo.prompt.md", 8)]
    assert "'nosuch'" in by_line[(".github/workflows/ci.yml", 16)]
    assert "uv add" in by_line[(".github/workflows/ci.yml", 15)]
    assert str(problems[0]).startswith(f"{problems[0].path}:{problems[0].line}: ")


def test_exceptions_in_pyproject_allow_a_listed_command(tmp_path: Path) -> None:
    _project(
        tmp_path,
        **{
            "README.md": README,
            "pyproject.toml": (
                "[tool.tta-dev.agentic.validate]\n"
                'paths = ["README.md"]\n'
                'exceptions = [{ path = "README.md", command = "pytest", reason = "demo" }]\n'
            ),
        },
    )
    assert check_commands(tmp_path, SESSIONS) == []


def test_an_exception_without_a_reason_is_bad_input(tmp_path: Path) -> None:
    _project(
        tmp_path,
        **{
            "pyproject.toml": (
                "[tool.tta-dev.agentic.validate]\n"
                'exceptions = [{ path = "README.md", command = "pytest" }]\n'
            )
        },
    )
    with pytest.raises(ValueError, match="path, command and reason"):
        check_commands(tmp_path, SESSIONS)


def test_this_repository_passes(project_root: Path) -> None:
    assert [str(p) for p in check_commands(project_root)] == []


def test_renderings(tmp_path: Path) -> None:
    _project(tmp_path, **{"README.md": README})
    problems = check_commands(tmp_path, SESSIONS)
    assert '"line": 5' in render_command_problems(problems, "json")
    assert "| `README.md:5` |" in render_command_problems(problems, "markdown")
    assert render_command_problems([], "text").startswith("every documented command")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project(tmp_path, **{"README.md": "```bash\npython x.py\n```\n"})
    assert main(["agentic", "validate", "--root", str(tmp_path)]) == 1
    assert "README.md:2: runs 'python' bare" in capsys.readouterr().out
    (tmp_path / "README.md").write_text("```bash\nuv run python x.py\n```\n")
    assert main(["agentic", "validate", "--root", str(tmp_path)]) == 0
    assert main(["agentic", "validate", "--root", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
