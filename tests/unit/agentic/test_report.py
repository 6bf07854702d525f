"""Reports render as text, Markdown and JSON; the fix-plan step asks a model or keeps the prompt."""

from __future__ import annotations

import json

import pytest

from tta_dev.agentic import (
    BenchmarkChange,
    CommandResult,
    Failure,
    ModuleTests,
    WorkflowReport,
    failed_node_ids,
    load_prompt,
    pytest_failure_section,
    render_report,
    with_fix_plan,
)
from tta_dev.primitives import LLMError, LLMRequest, LLMResponse, WorkflowContext

PYTEST_OUTPUT = """\
F.                                                                       [100%]
=================================== FAILURES ===================================
____________________________________ test_a ____________________________________

    def test_a():
>       assert 1 == 2
E       assert 1 == 2

test_x.py:3: AssertionError
=========================== short test summary info ============================
FAILED test_x.py::test_a - assert 1 == 2
ERROR test_y.py::test_b
1 failed, 1 passed, 1 error in 0.67s
"""


def _report(**fields: object) -> WorkflowReport:
    run = CommandResult(
        "unit", ("uv", "run", "pytest", "-k", "a|b"), "/p", 1, 1.25, PYTEST_OUTPUT, 500,
        phase="check",
    )  # fmt: skip
    base: dict[str, object] = {
        "workflow": "quality-gate-fix",
        "title": "Quality gate fix",
        "root": "/p",
        "prompt_source": "x.prompt.md",
        "ok": False,
        "duration": 2.0,
        "runs": (run,),
        "failures": (Failure("unit", "tests fail", "E   assert 1 == 2\n```nested fence```"),),
        "fixed": ("lint",),
        "files_touched": ("a.py",),
        "next_steps": ("fix it",),
        "modules": (ModuleTests("pkg/m.py", "pkg.m", ()),),
        "benchmarks": (BenchmarkChange("case|x", 1.0, 1.5, "us", True),),
    }
    base.update(fields)
    return WorkflowReport(**base)  # type: ignore[arg-type]


def test_pytest_failure_section_and_node_ids() -> None:
    section = pytest_failure_section(PYTEST_OUTPUT)
    assert section.startswith("=" * 35 + " FAILURES")
    assert "E       assert 1 == 2" in section
    assert section.endswith("FAILED test_x.py::test_a - assert 1 == 2\nERROR test_y.py::test_b")
    assert "passed" not in section
    assert failed_node_ids(PYTEST_OUTPUT) == ("test_x.py::test_a", "test_y.py::test_b")
    assert pytest_failure_section("just\nsome\nlines") == "just\nsome\nlines"


def test_markdown_has_every_section_with_safe_tables_and_fences() -> None:
    text = render_report(_report(), "markdown")
    assert text.startswith("# Quality gate fix: FAILED (1 failure)")
    for heading in (
        "## What ran", "## Failures", "## Fixed automatically", "## Changed modules",
        "## Benchmarks against the baseline", "## Files touched", "## Next steps",
    ):  # fmt: skip
        assert heading in text
    assert "| check | unit | `uv run pytest -k 'a\\|b'` | exit 1 | 1.2 |" in text
    assert "````text\nE   assert 1 == 2\n```nested fence```\n````" in text
    assert "| case\\|x | 1 | 1.5 | 1.50x | **yes** |" in text


def test_json_is_data_and_text_is_short() -> None:
    data = json.loads(render_report(_report(), "json"))
    assert data["ok"] is False
    assert data["runs"][0]["command"] == ["uv", "run", "pytest", "-k", "a|b"]
    assert data["runs"][0]["exit_code"] == 1
    assert data["benchmarks"][0]["ratio"] == 1.5
    text = render_report(_report(), "text")
    assert "FAILED unit: tests fail" in text
    assert "REGRESSED" in text
    with pytest.raises(ValueError, match="unknown format"):
        render_report(_report(), "html")


class _Model:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.seen.append(request)
        if self.fail:
            raise LLMError("upstream said 503", status_code=503)
        return LLMResponse("  1. Change x.  ", request.model or "", 10, 5)


async def test_fix_plan_from_a_model_with_the_workflow_and_findings() -> None:
    model = _Model()
    prompt = load_prompt("quality-gate-fix")
    report = await with_fix_plan(prompt, _report(), model, model="m", context=WorkflowContext())
    assert report.fix_plan == "1. Change x."
    assert report.agent_prompt is None
    sent = model.seen[0]
    assert sent.model == "m"
    assert "## Step 2: Apply the safe automatic fixes" in sent.prompt
    assert "E   assert 1 == 2" in sent.prompt
    assert "uv run" in (sent.system or "")


async def test_a_failing_model_leaves_a_note_and_the_prompt() -> None:
    prompt = load_prompt("quality-gate-fix")
    report = await with_fix_plan(
        prompt, _report(), _Model(fail=True), model="m", context=WorkflowContext()
    )
    assert report.fix_plan is None
    assert report.agent_prompt is not None
    assert any("upstream said 503" in n for n in report.notes)


async def test_a_passing_run_needs_no_plan() -> None:
    model = _Model()
    prompt = load_prompt("quality-gate-fix")
    report = await with_fix_plan(
        prompt, _report(ok=True), model, model="m", context=WorkflowContext()
    )
    assert report.fix_plan is None
    assert report.agent_prompt is None
    assert model.seen == []
