from __future__ import annotations

import json
import os
import shutil
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tta_dev.devtools.consistency import (
    DriftProblem,
    NoxListingError,
    NoxSession,
    check_drift,
    list_nox_sessions,
    precommit_problems,
    render_drift,
    workflow_problems,
)

T = TypeVar("T")

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
    assert [p.message for p in problems] == [
        "run nox as 'uv run nox' (lock-pinned): a bare nox is whatever is on PATH"
    ]


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


# --- commands read by a bash parser, not by substrings ------------------------------------


def _job(*runs: str) -> str:
    steps = "\n".join(f"      - run: {json.dumps(r)}" for r in runs)
    return f"jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n{steps}\n"


def _messages(tmp_path: Path, text: str, sessions: list[NoxSession] = SESSIONS) -> list[str]:
    return [p.message for p in workflow_problems([_write(tmp_path, text)], sessions)]


ALL = "uv run nox -s lint unit coverage"


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        # uvx fetches the latest nox: not the locked one.
        ("uvx nox -s lint unit coverage", "uvx fetches the latest nox"),
        ("uv tool run nox -s lint unit coverage", "uvx fetches the latest nox"),
        ("uv run --with nox nox -s lint unit coverage", "does not take nox from uv.lock"),
        ("python -m nox -s lint unit coverage", "a bare nox is whatever is on PATH"),
        # Check tools outside nox, however they are started.
        (f"{ALL}\nuv run --only-group lint ruff check .", "runs 'ruff' directly"),
        (f"{ALL}\nuv run -m pytest", "runs 'pytest' directly"),
        (f"{ALL}\nuv run python -m coverage report", "runs 'coverage' directly"),
        (f"{ALL}\nif true; then uv run pyright; fi", "runs 'pyright' directly"),
        (f"{ALL}\nbash -c 'uv run zizmor .github'", "runs 'zizmor' directly"),
        (f'{ALL}\necho "$(uv run pre-commit run -a)"', "runs 'pre-commit' directly"),
        (f"{ALL}\nenv CI=1 .venv/bin/mypy src", "runs 'mypy' directly"),
        (f"{ALL}\nif then fi (", "'run' is not valid bash near line 2"),
    ],
)
def test_commands_are_read_as_bash(tmp_path: Path, run: str, expected: str) -> None:
    messages = _messages(tmp_path, _job(run))
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "run",
    [
        # Operators and tool names inside quotes are text, not commands.
        f'{ALL}\necho "done && pytest -q; ruff check"',
        f"{ALL}\n# uv run pytest\ntrue",
        f"{ALL}\necho 'uvx nox -s lint'",
        # Sessions named through nox's own option forms.
        "uv run nox --session=lint -s unit -scoverage",
        "uv run nox -t ci",
        "uv run --frozen nox -s lint unit coverage -- -x",
        "SESSION=x uv run nox -s lint unit coverage",
    ],
)
def test_harmless_commands_are_not_drift(tmp_path: Path, run: str) -> None:
    assert _messages(tmp_path, _job(run)) == []


def test_aggregate_filter_is_read_from_the_jq_program(tmp_path: Path) -> None:
    # The word "aggregate" in a comment or an echo filters nothing: the matrix then covers
    # the aggregate session too, and no step has to name it.
    unfiltered = MATRIX_WORKFLOW.split("  coverage:")[0].replace(
        """echo "sessions=$(jq -c '[.[] | select((.tags | index("aggregate")) | not) | .session]' s.json)" >> "$GITHUB_OUTPUT\"""",
        """# aggregate sessions? none are filtered here
          echo "aggregate" > /dev/null
          echo "sessions=$(jq -c '[.[].session]' s.json)" >> "$GITHUB_OUTPUT\"""",
    )
    assert _messages(tmp_path, unfiltered) == []
    # A jq filter that names it, through --arg, leaves it out.
    filtered = unfiltered.replace(
        "jq -c '[.[].session]' s.json",
        "jq -c --arg t aggregate '[.[] | select(.tags | index($t) | not) | .session]' s.json",
    )
    assert any("'coverage' is tagged ci" in m for m in _messages(tmp_path, filtered))


# --- hostile files ------------------------------------------------------------------------


def _finishes(call: Callable[[], T], seconds: float = 60) -> T:
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it never returns."""
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(call())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if errors:
        raise errors[0]
    assert box, f"did not return within {seconds}s"
    return box[0]


BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def _hostile_workflows() -> dict[str, str]:
    deep = "jobs: " + "[" * 100_000 + "]" * 100_000
    return {
        "bomb in a step env": BOMB
        + "\njobs:\n  t:\n    steps:\n      - env: {X: *a9}\n        run: uv run nox -s lint",
        "bomb in a matrix": BOMB + "\njobs:\n  t:\n    strategy: {matrix: {s: *a9}}\n    steps: []",
        "deep nesting": deep,
        "recursive alias": "jobs: &j {t: {steps: [*j]}}",
        "jobs is a number": "jobs: 5",
        "jobs is a list": "jobs: [1, 2]",
        "job is a string": "jobs: {t: x}",
        "steps is a number": "jobs: {t: {steps: 5}}",
        "step is a list": "jobs: {t: {steps: [[1]]}}",
        "run is a mapping": "jobs: {t: {steps: [{run: {a: 1}}]}}",
        "name is a mapping": "jobs: {t: {steps: [{name: {a: 1}, run: pytest}]}}",
        "env is a list": "jobs: {t: {steps: [{env: [1], run: 'uv run nox -s $X'}]}}",
        "shell is a number": "jobs: {t: {steps: [{shell: 5, run: pytest}]}}",
        "strategy is a string": "jobs: {t: {strategy: x, steps: []}}",
        "matrix is a number": "jobs: {t: {strategy: {matrix: 5}, steps: []}}",
        "top level is a list": "[1, 2]",
        "not YAML": "jobs: [unclosed",
        "a key that is a list": "jobs: {? [1, 2] : {steps: []}}",
        "long line": "jobs: {t: {steps: [{run: 'uv run nox -s " + "x" * 200_000 + "'}]}}",
        "long script": "jobs: {t: {steps: [{run: '" + "uv run pytest; " * 5000 + "'}]}}",
        "nested substitutions": "jobs: {t: {steps: [{run: 'echo "
        + "$(" * 20_000
        + "x"
        + ")" * 20_000
        + "'}]}}",
    }


@pytest.mark.parametrize("name", list(_hostile_workflows()))
def test_hostile_workflow_is_a_problem_not_a_crash(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, _hostile_workflows()[name])
    problems = _finishes(lambda: workflow_problems([path], SESSIONS))
    assert all("\n" not in str(p) and len(str(p)) < 500 for p in problems)
    mine = [p for p in problems if p.where != "CI"]
    valid = {"bomb in a step env", "strategy is a string", "matrix is a number"}
    if name not in valid | {"nested substitutions"}:
        assert mine, f"{name}: no problem reported"


def test_yaml_bombs_and_depth_are_refused_with_the_reason(tmp_path: Path) -> None:
    hostile = _hostile_workflows()
    for name, reason in [
        ("bomb in a matrix", "more than 100000 nodes"),
        ("deep nesting", "nested deeper than 64"),
        ("recursive alias", "refers to a node that contains it"),
    ]:
        path = _write(tmp_path, hostile[name], f"{name}.yml")
        problems = _finishes(lambda path=path: workflow_problems([path], []))
        assert any(reason in p.message for p in problems), name


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = "x: &steps [{run: uv run nox -s lint unit coverage}]\njobs: {a: {steps: *steps}}"
    assert _messages(tmp_path, text) == []


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "huge", "binary"])
@pytest.mark.parametrize("name", ["ci.yml", ".pre-commit-config.yaml"])
def test_files_that_are_not_small_regular_text_are_refused(
    tmp_path: Path, kind: str, name: str
) -> None:
    path = tmp_path / name
    reason = "it is not a regular file"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "huge":
        path.write_text("#" * (2 << 20))
        reason = "it is larger than"
    else:
        path.write_bytes(b"jobs: \xff\xfe\n")
        reason = "it is not UTF-8"
    if name == "ci.yml":
        problems = _finishes(lambda: workflow_problems([path], []))
    else:
        problems = _finishes(lambda: precommit_problems(path))
    assert len(problems) == 1
    assert problems[0].message.startswith(reason)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("repos: 5", "'repos' is not a list"),
        ("repos: [5]", "repo 1: is not a mapping"),
        ("repos: [{repo: local, hooks: 5}]", "'hooks' is not a list"),
        ("repos: [{repo: local, hooks: [5]}]", "a hook is not a mapping"),
        ("repos: [{repo: local, hooks: [{id: x, entry: 5}]}]", "it is not a string"),
        (
            'repos: [{repo: local, hooks: [{id: x, entry: "uv run --frozen \'x"}]}]',
            "does not split",
        ),
        (
            "repos: [{repo: local, hooks: [{id: x, entry: uv run --frozen}]}]",
            "followed by the tool",
        ),
        ("repos: [{repo: local, hooks: [{id: x, entry: uvx ruff}]}]", "must start with"),
        (
            "repos: [{repo: local, hooks: [{id: x, entry: uv run --frozen --with ruff ruff}]}]",
            "outside uv.lock",
        ),
        ("repos: [{repo: local, hooks: [{id: x, entry: uv run ruff}]}]", "must start with"),
        ("[1]", "top level is not a mapping"),
        (BOMB + "\nrepos: *a9", "more than 100000 nodes"),
        ("repos: " + "[" * 5000 + "]" * 5000, "nested deeper than 64"),
    ],
)
def test_hostile_precommit_config_is_a_problem(tmp_path: Path, config: str, message: str) -> None:
    path = _write(tmp_path, config, ".pre-commit-config.yaml")
    problems = _finishes(lambda: precommit_problems(path))
    assert len(problems) == 1, problems
    assert message in str(problems[0])


def test_frozen_may_come_after_other_uv_run_options(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "repos: [{repo: local, hooks: [{id: x, entry: uv run --group lint --frozen ruff}]}]",
        ".pre-commit-config.yaml",
    )
    assert precommit_problems(path) == []


# --- nox that misbehaves ------------------------------------------------------------------

HANGING_NOXFILE = """\
import subprocess, sys, time
# A grandchild that keeps nox's stdout open, then an import that never finishes.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
while True:
    time.sleep(0.1)
"""


def test_noxfile_that_never_finishes_importing_times_out(tmp_path: Path) -> None:
    (tmp_path / "noxfile.py").write_text(HANGING_NOXFILE)
    with pytest.raises(NoxListingError, match=r"did not finish within 2s"):
        _finishes(lambda: list_nox_sessions(tmp_path, timeout=2))


@pytest.mark.parametrize(
    ("noxfile", "message"),
    [
        (
            "import nox\nprint('hello')\n@nox.session\ndef a(session): pass\n",
            "printed no session listing",
        ),
        ("import nox\nraise SystemExit(3)\n", "nox -l --json failed"),
    ],
)
def test_noxfile_with_bad_output_is_an_error(tmp_path: Path, noxfile: str, message: str) -> None:
    (tmp_path / "noxfile.py").write_text(noxfile)
    with pytest.raises(NoxListingError, match=message):
        list_nox_sessions(tmp_path)


def test_cli_drift_times_out_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tta_dev.cli import main

    (tmp_path / "noxfile.py").write_text(HANGING_NOXFILE)
    assert _finishes(lambda: main(["drift", "--root", str(tmp_path), "--timeout", "2"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "did not finish within 2s" in err


def test_render_drift_text_markdown_json() -> None:
    problems = [DriftProblem("ci.yml: job 'a|b'", "runs 'ruff' directly")]
    assert render_drift(problems) == "ci.yml: job 'a|b': runs 'ruff' directly"
    assert render_drift(problems, "markdown").splitlines() == [
        "| where | problem |",
        "|---|---|",
        "| ci.yml: job 'a\\|b' | runs 'ruff' directly |",
    ]
    assert json.loads(render_drift(problems, "json")) == [
        {"where": "ci.yml: job 'a|b'", "message": "runs 'ruff' directly"}
    ]
    assert render_drift([], "markdown").startswith("no drift")


def test_cli_drift_noxfile_that_is_a_fifo_is_not_a_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tta_dev.cli import main

    os.mkfifo(tmp_path / "noxfile.py")
    assert _finishes(lambda: main(["drift", "--root", str(tmp_path)])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not a regular file" in err
