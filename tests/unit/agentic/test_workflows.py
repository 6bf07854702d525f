"""The workflows, run for real on a small uv project (uv, ruff, pyright, pytest from the lock)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from tta_dev.agentic import (
    AgenticError,
    BugFix,
    FeatureImplementation,
    PerformanceCheck,
    QualityGateFix,
    render_report,
)
from tta_dev.cli import main
from tta_dev.primitives import LLMRequest, LLMResponse, WorkflowContext

pytestmark = pytest.mark.slow


async def test_quality_gate_fix_repairs_lint_format_and_lock_and_reports_the_test(
    demo_project: Path,
) -> None:
    report = await QualityGateFix(demo_project).execute(None, WorkflowContext("qg"))

    assert not report.ok
    assert report.exit_code == 1
    assert set(report.fixed) == {"lint", "format", "lock"}
    assert [f.step for f in report.failures] == ["unit"]
    failure = report.failures[0]
    assert "test_fails" in failure.output
    assert "assert 4 == 5" in failure.output
    assert "import os" not in (demo_project / "demo.py").read_text()
    assert (demo_project / "other.py").read_text() == "def mul(a, b):\n    return a * b\n"
    assert '"iniconfig"' in (demo_project / "uv.lock").read_text()
    assert {"demo.py", "other.py", "uv.lock"} <= set(report.files_touched)
    phases = {(r.phase, r.name) for r in report.runs}
    assert {("check", "lint"), ("check", "typecheck"), ("check", "unit")} <= phases
    assert {("fix", "fix-lint"), ("fix", "fix-format"), ("fix", "fix-lock")} <= phases
    # uv.lock changed, so every gate ran again.
    assert {r.name for r in report.runs if r.phase == "recheck"} == {
        "lint", "format", "typecheck", "lock", "unit"
    }  # fmt: skip
    assert "`uv run tta-dev agentic bug-fix --test tests/test_demo.py::test_fails`" in (
        report.next_steps
    )
    # No provider: the report carries the prompt for an agent, with the workflow and findings.
    assert report.agent_prompt is not None
    assert "## Step 2: Apply the safe automatic fixes" in report.agent_prompt
    assert "assert 4 == 5" in report.agent_prompt
    markdown = render_report(report, "markdown")
    assert "## Failures" in markdown
    assert "## Files touched" in markdown
    assert json.loads(render_report(report, "json"))["fixed"] == ["lint", "format", "lock"]


async def test_quality_gate_fix_passes_on_a_clean_project(demo_project: Path) -> None:
    (demo_project / "tests" / "test_demo.py").write_text("def test_ok():\n    assert True\n")
    first = await QualityGateFix(demo_project, skip=["typecheck"]).execute(None)
    assert first.ok  # the fixes made every gate pass
    assert set(first.fixed) == {"lint", "format", "lock"}
    assert first.agent_prompt is None
    again = await QualityGateFix(demo_project, skip=["typecheck"]).execute(None)
    assert again.ok
    assert {r.phase for r in again.runs} == {"check"}
    assert again.notes == ("skipped gates: typecheck",)
    assert again.agent_prompt is None


def test_unknown_gate_to_skip_is_bad_input(demo_project: Path) -> None:
    with pytest.raises(AgenticError, match="no gate named nope"):
        QualityGateFix(demo_project, skip=["nope"])


class _Planner:
    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        return LLMResponse("1. Fix add() in demo.py.", request.model or "m", 100, 10)


async def test_bug_fix_reproduces_the_failing_test_and_asks_the_model(demo_project: Path) -> None:
    planner = _Planner()
    report = await BugFix(
        demo_project, test="tests/test_demo.py::test_fails", provider=planner, model="gpt-4o-mini"
    ).execute(None)
    assert not report.ok
    reproduce = next(r for r in report.runs if r.name == "reproduce")
    assert reproduce.argv[-3:] == ("tests/test_demo.py::test_fails", "-x", "-q")
    assert reproduce.exit_code == 1
    assert report.failures[0].summary == "reproduced: the test fails"
    assert "def test_fails" in report.failures[0].output
    assert "assert 4 == 5" in report.failures[0].output
    # The member holds every test, so pytest's own collection runs them.
    member = next(r for r in report.runs if r.name == "member")
    assert member.argv[-2:] == ("pytest", "-q")
    assert report.fix_plan == "1. Fix add() in demo.py."
    assert "assert 4 == 5" in planner.requests[0].prompt
    assert report.agent_prompt is None


async def test_bug_fix_of_a_passing_test_says_it_did_not_reproduce(demo_project: Path) -> None:
    report = await BugFix(demo_project, test="tests/test_demo.py::test_add").execute(None)
    assert any("did not reproduce" in n for n in report.notes)
    assert not report.ok  # test_fails, in the same member, still fails
    assert "test_fails" in report.failures[0].summary


def test_bug_fix_of_a_missing_test_is_bad_input(demo_project: Path) -> None:
    with pytest.raises(AgenticError, match="no test file"):
        BugFix(demo_project, test="tests/nope.py::test_x")


def test_bug_fix_cli_writes_the_report_and_exits_1(
    demo_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = demo_project / "out" / "bug.md"
    code = main(
        [
            "agentic", "bug-fix", "--root", str(demo_project),
            "--test", "tests/test_demo.py::test_fails", "--report", str(report),
        ]
    )  # fmt: skip
    assert code == 1
    text = report.read_text()
    assert text.startswith("# Bug fix: FAILED")
    assert "assert 4 == 5" in text
    assert "Bug fix: FAILED" in capsys.readouterr().out


async def test_feature_creates_the_branch_and_finds_modules_without_tests(
    git_project: Path,
) -> None:
    report = await FeatureImplementation(git_project, name="speed").execute(None)
    assert report.ok, render_report(report)
    branch = await asyncio.to_thread(
        subprocess.run,
        ["git", "branch", "--show-current"],
        cwd=git_project,
        capture_output=True,
        text=True,
    )
    assert branch.stdout.strip() == "feature/speed"
    assert report.modules == ()  # nothing changed yet
    # A package module without tests, and one with a test named after it.
    package = git_project / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_fast.py").write_text("def go():\n    return 1\n")
    (package / "slow.py").write_text("def go():\n    return 2\n")
    (git_project / "tests" / "test_fast.py").write_text(
        "from pkg._fast import go\n\n\ndef test_go():\n    assert go() == 1\n"
    )
    again = await FeatureImplementation(git_project, name="speed").execute(None)
    assert not again.ok
    assert any("already on feature/speed" in n for n in again.notes)
    by_module = {m.module: m.tests for m in again.modules}
    assert by_module == {"pkg._fast": ("tests/test_fast.py",), "pkg.slow": ()}
    assert [f.step for f in again.failures] == ["pkg.slow"]


def test_feature_rejects_a_name_git_cannot_use(demo_project: Path) -> None:
    with pytest.raises(AgenticError, match="branch name"):
        FeatureImplementation(demo_project, name="a b")


BENCH = """\
import json, sys
out = sys.argv[sys.argv.index("--json") + 1]
json.dump({"unit": "us", "results": {"fast": 1.0, "slow": float(sys.argv[1])}}, open(out, "w"))
"""


async def test_perf_flags_regressions_beyond_the_threshold(demo_project: Path) -> None:
    tmp_path = demo_project
    (tmp_path / "bench.py").write_text(BENCH)
    baseline = tmp_path / "base.json"
    common = {"baseline": baseline, "output": tmp_path / "latest.json", "threshold": 0.10}
    env: dict[str, str | None] = {}
    first = await PerformanceCheck(
        tmp_path, benchmark=["bench.py", "2.0"], save_baseline=True, env=env, **common
    ).execute(None)
    assert first.ok, render_report(first)
    assert baseline.is_file()
    same = await PerformanceCheck(
        tmp_path, benchmark=["bench.py", "2.1"], env=env, **common
    ).execute(None)
    assert same.ok  # 5 % slower, within 10 %
    slower = await PerformanceCheck(
        tmp_path, benchmark=["bench.py", "3.0"], env=env, **common
    ).execute(None)
    assert not slower.ok
    assert [f.step for f in slower.failures] == ["slow"]
    regressed = {b.name: b for b in slower.benchmarks}
    assert regressed["slow"].regressed
    assert regressed["slow"].ratio == pytest.approx(1.5)
    assert not regressed["fast"].regressed
