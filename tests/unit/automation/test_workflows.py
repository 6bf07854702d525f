"""The automation workflows keep their safety properties, and the drift check reads them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from tta_dev.devtools.consistency import workflow_problems  # noqa: E402

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", ["pr-analysis.yml", "issue-router.yml"])
def test_workflow_safety(name: str) -> None:
    data = load(name)
    assert data["permissions"] == {}
    assert data["concurrency"]["cancel-in-progress"] is True
    for job in data["jobs"].values():
        assert job["timeout-minutes"] <= 15
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
            # Untrusted text never inside a script: expressions only in env.
            assert "${{" not in step.get("run", "")
    assert workflow_problems([WORKFLOWS / name], []) == []


def test_pr_analysis_writes_only_for_branches_of_this_repository() -> None:
    jobs = load("pr-analysis.yml")["jobs"]
    assert jobs["analyze"]["permissions"] == {"contents": "read"}
    assert "$GITHUB_STEP_SUMMARY" in jobs["analyze"]["steps"][-1]["run"]
    assert jobs["apply"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    condition = jobs["apply"]["if"]
    assert condition.startswith(
        "github.event.pull_request.head.repo.full_name == github.repository"
    )
    assert "dependabot[bot]" in condition
    assert "--apply" in jobs["apply"]["steps"][-1]["run"]
    assert "--apply" not in jobs["analyze"]["steps"][-1]["run"]


def test_issue_router_gets_title_and_body_only_through_env() -> None:
    data = load("issue-router.yml")
    assert data.get("on", data.get(True)) == {
        "issues": {"types": ["opened", "edited"]}
    }  # YAML 1.1: on is true
    (job,) = data["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    step = job["steps"][-1]
    assert step["env"]["ISSUE_TITLE"] == "${{ github.event.issue.title }}"
    assert step["env"]["ISSUE_BODY"] == "${{ github.event.issue.body }}"
    assert '--issue-title="$ISSUE_TITLE"' in step["run"]
    assert "--apply" in step["run"]
