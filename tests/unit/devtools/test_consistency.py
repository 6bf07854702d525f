from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tta_dev.devtools.consistency import (
    NoxSession,
    check_drift,
    list_nox_sessions,
    precommit_problems,
    workflow_problems,
)

SESSIONS = [
    NoxSession("lint", ("ci",)),
    NoxSession("unit", ("ci",)),
    NoxSession("coverage", ("ci", "aggregate")),
    NoxSession("docs", ()),
]

MATRIX_WORKFLOW = """
jobs:
  sessions:
    runs-on: ubuntu-latest
    outputs:
      sessions: ${{ steps.list.outputs.sessions }}
    steps:
      - id: list
        run: |
          uv run nox -l --json -t ci > s.json
          echo "sessions=$(jq -c '[.[] | select((.tags | index("aggregate")) | not) | .session]' s.json)" >> "$GITHUB_OUTPUT"
  nox:
    needs: sessions
    runs-on: ubuntu-latest
    strategy:
      matrix:
        session: ${{ fromJSON(needs.sessions.outputs.sessions) }}
    steps:
      - env:
          SESSION: ${{ matrix.session }}
        run: uv run nox -s "$SESSION"
  coverage:
    needs: nox
    runs-on: ubuntu-latest
    steps:
      - run: uv run nox -s coverage
"""


def _write(tmp_path: Path, text: str, name: str = "ci.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_this_repository_has_no_drift(project_root: Path) -> None:
    problems = check_drift(project_root)
    assert problems == [], "\n".join(map(str, problems))


def test_nox_lists_every_session_of_this_repository(project_root: Path) -> None:
    sessions = {s.name: s for s in list_nox_sessions(project_root)}
    for name in ["lint", "typecheck", "unit", "integration", "lock_check", "coverage"]:
        assert "ci" in sessions[name].tags


def test_generated_matrix_covers_ci_sessions(tmp_path: Path) -> None:
    assert workflow_problems([_write(tmp_path, MATRIX_WORKFLOW)], SESSIONS) == []


def test_planted_missing_session_is_drift(tmp_path: Path) -> None:
    text = MATRIX_WORKFLOW.replace("nox -s coverage", "nox -s covrage")
    problems = workflow_problems([_write(tmp_path, text)], SESSIONS)
    messages = [str(p) for p in problems]
    assert any("'covrage', which noxfile.py does not define" in m for m in messages)
    # and coverage, tagged ci, is now reached by nothing
    assert any("session 'coverage' is tagged ci but no workflow runs it" in m for m in messages)


def test_aggregate_session_must_be_named_when_matrix_filters_it(tmp_path: Path) -> None:
    text = MATRIX_WORKFLOW.split("  coverage:")[0]
    problems = workflow_problems([_write(tmp_path, text)], SESSIONS)
    assert [p.message for p in problems if "coverage" in p.message]


def test_unfiltered_listing_covers_every_ci_session(tmp_path: Path) -> None:
    text = MATRIX_WORKFLOW.split("  coverage:")[0].replace(
        """echo "sessions=$(jq -c '[.[] | select((.tags | index("aggregate")) | not) | .session]' s.json)" >> "$GITHUB_OUTPUT\"""",
        """echo "sessions=$(jq -c '[.[].session]' s.json)" >> "$GITHUB_OUTPUT\"""",
    )
    assert workflow_problems([_write(tmp_path, text)], SESSIONS) == []


def test_matrix_not_generated_by_nox_is_drift(tmp_path: Path) -> None:
    text = """
    jobs:
      nox:
        runs-on: ubuntu-latest
        strategy:
          matrix:
            session: [lint, unit]
        steps:
          - run: uv run nox -s ${{ matrix.session }}
    """
    problems = workflow_problems([_write(tmp_path, text)], SESSIONS)
    assert any("no 'nox -l --json' listing generates" in p.message for p in problems)


def test_direct_tool_call_is_drift(tmp_path: Path) -> None:
    text = """
    jobs:
      test:
        runs-on: ubuntu-latest
        steps:
          - run: uv run nox -s lint unit coverage
          - name: quick tests
            run: uv run pytest -q && echo done
    """
    problems = workflow_problems([_write(tmp_path, text)], SESSIONS)
    assert len(problems) == 1
    assert "runs 'pytest' directly" in problems[0].message
    assert "quick tests" in problems[0].where


def test_nox_without_uv_is_drift(tmp_path: Path) -> None:
    text = """
    jobs:
      test:
        runs-on: ubuntu-latest
        steps:
          - run: nox --session lint unit coverage
    """
    problems = workflow_problems([_write(tmp_path, text)], SESSIONS)
    assert [p.message for p in problems] == ["run nox as 'uv run nox' (lock-pinned)"]


def test_malformed_workflow_is_reported_not_raised(tmp_path: Path) -> None:
    path = _write(tmp_path, "jobs: [unclosed\n")
    problems = workflow_problems([path], [])
    assert len(problems) == 1
    assert "cannot parse YAML" in problems[0].message


def test_precommit_hooks_must_be_local_and_uv_run(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        """
        repos:
          - repo: https://github.com/astral-sh/ruff-pre-commit
            rev: v0.1.0
            hooks:
              - id: ruff
          - repo: local
            hooks:
              - id: ok
                entry: uv run --frozen ruff check
                language: unsupported
              - id: bare
                entry: ruff check
                language: unsupported
        """,
        ".pre-commit-config.yaml",
    )
    problems = precommit_problems(config)
    assert [p.where for p in problems] == [
        ".pre-commit-config.yaml: hook 'ruff'",
        ".pre-commit-config.yaml: hook 'bare'",
    ]


def test_missing_precommit_config(tmp_path: Path) -> None:
    problems = precommit_problems(tmp_path / ".pre-commit-config.yaml")
    assert "missing" in problems[0].message


@pytest.mark.slow
def test_planted_drift_in_a_copy_of_this_repository(project_root: Path, tmp_path: Path) -> None:
    for name in ["noxfile.py", "pyproject.toml", ".pre-commit-config.yaml"]:
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "src", tmp_path / "src")
    shutil.copytree(project_root / ".github", tmp_path / ".github")
    assert check_drift(tmp_path) == []
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.write_text(
        workflow.read_text(encoding="utf-8").replace("nox -s coverage", "nox -s nonexistent"),
        encoding="utf-8",
    )
    problems = check_drift(tmp_path)
    assert any("'nonexistent'" in p.message for p in problems)
