from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.automation import (
    PR_MARKER,
    AddLabels,
    AnalysisError,
    RequestReviewers,
    UpsertComment,
    analyze_pr,
    analyze_pr_range,
    pr_actions,
    pr_analysis_data,
    pr_routing_config,
    render_pr_analysis,
    size_label,
)
from tta_dev.workspace import load_workspace

from .conftest import commit, member_toml, run


def labels(analysis: object) -> list[str]:
    return [x.name for x in analysis.labels]  # type: ignore[attr-defined]


def test_files_mode_members_labels_sessions_reviewers(pr_repo: Path) -> None:
    workspace = load_workspace(pr_repo)
    analysis = analyze_pr(
        workspace,
        ["packages/core/src/core/__init__.py", "docs/guide.md"],
        number=4,
        lines_changed=12,
        author="ALICE",
    )
    assert [m.name for m in analysis.affected.affected] == ["app", "core"]
    app = analysis.affected.affected[0]
    assert [str(r) for r in app.reasons] == ["depends on member core"]
    assert labels(analysis) == ["docs", "core", "size/S"]
    assert [s.name for s in analysis.sessions] == ["lint", "unit"]
    # Last match wins per file; the author is never asked to review their own change.
    assert analysis.reviewers.users == ()
    assert analysis.reviewers.teams == ("octo/core-team",)
    assert analysis.reviewers.emails == ("docs@example.com",)
    assert analysis.codeowners_source == ".github/CODEOWNERS"


def test_workflow_and_dependency_files_label_ci_and_dependencies(pr_repo: Path) -> None:
    workspace = load_workspace(pr_repo)
    analysis = analyze_pr(workspace, [".github/workflows/x.yml", "packages/app/pyproject.toml"])
    assert labels(analysis) == ["dependencies", "ci"]
    assert analysis.reviewers.users == ("lead",)
    # A changed lock without both ends cannot be narrowed: everything is affected.
    everything = analyze_pr(workspace, ["uv.lock"])
    assert everything.affected.all
    assert "dependencies" in labels(everything)


@pytest.mark.parametrize(
    ("lines", "label"),
    [
        (0, "size/XS"),
        (9, "size/XS"),
        (10, "size/S"),
        (29, "size/S"),
        (30, "size/M"),
        (99, "size/M"),
        (100, "size/L"),
        (499, "size/L"),
        (500, "size/XL"),
        (10**6, "size/XL"),
    ],
)
def test_size_labels(lines: int, label: str) -> None:
    assert size_label(lines).name == label


def test_range_mode_reads_git(pr_repo: Path) -> None:
    workspace = load_workspace(pr_repo)
    run(pr_repo, "git", "checkout", "-q", "-b", "feature")
    # A description edit is not a dependency change; lines come from numstat.
    (pr_repo / "packages" / "core" / "pyproject.toml").write_text(member_toml("core", [], "new"))
    (pr_repo / "packages" / "core" / "src" / "core" / "__init__.py").write_text("A = 2\nC = 3\n")
    # CODEOWNERS edited in the PR does not decide its own reviewers: the base's file does.
    (pr_repo / ".github" / "CODEOWNERS").write_text("* @mallory\n")
    commit(pr_repo)
    analysis = analyze_pr_range(workspace, "main", "feature", number=9, author="x")
    assert "dependencies" not in labels(analysis)
    assert analysis.lines_changed == 9  # 2 (pyproject) + 3 (code) + 4 (CODEOWNERS)
    assert "size/XS" in labels(analysis)
    assert analysis.reviewers.users == ("lead", "alice")
    assert "mallory" not in analysis.reviewers.users
    assert analysis.lock_diff is None

    # Adding a dependency on the member changes declarations and the lock.
    (pr_repo / "packages" / "core" / "pyproject.toml").write_text(
        member_toml("core", []).replace("dependencies = []", 'dependencies = ["app"]')
        + "\n[tool.uv.sources]\napp = { workspace = true }\n"
    )
    (pr_repo / "packages" / "app" / "pyproject.toml").write_text(member_toml("app", []))
    run(pr_repo, "uv", "lock", "--offline", "--quiet")
    commit(pr_repo)
    analysis = analyze_pr_range(workspace, "main", "feature")
    reasons = {x.name: x.reason for x in analysis.labels}
    assert reasons["dependencies"].endswith("changes its dependency declarations")
    assert analysis.lock_diff is not None
    assert "uv.lock" in analysis.changed_files


def test_unknown_base_affects_everything_and_says_why(pr_repo: Path) -> None:
    workspace = load_workspace(pr_repo)
    analysis = analyze_pr_range(workspace, "no-such-branch", "HEAD")
    assert analysis.affected.all
    assert "no-such-branch" in analysis.affected.why_all[0]
    with pytest.raises(AnalysisError, match="not a git revision"):
        analyze_pr_range(workspace, "--output=/tmp/x", "HEAD")


def test_actions_and_rendering(pr_repo: Path) -> None:
    workspace = load_workspace(pr_repo)
    analysis = analyze_pr(
        workspace, ["packages/core/src/core/__init__.py"], number=7, lines_changed=3
    )
    add, review, comment = pr_actions(analysis)
    assert add == AddLabels(7, ("core", "size/XS"))
    assert review == RequestReviewers(7, ("alice",), ("core-team",))
    assert isinstance(comment, UpsertComment)
    assert comment.marker == PR_MARKER
    assert comment.body.startswith(PR_MARKER)
    assert "| core |" in comment.body
    data = pr_analysis_data(analysis)
    assert data["reviewers"]["teams"] == ["octo/core-team"]
    assert render_pr_analysis(analysis, "json").startswith("{")
    text = render_pr_analysis(analysis)
    assert "reviewers: alice, @octo/core-team" in text
    assert pr_actions(analyze_pr(workspace, ["x"])) == ()
    with pytest.raises(AnalysisError, match="unknown format"):
        render_pr_analysis(analysis, "xml")


def test_codeowners_errors_are_shown(pr_repo: Path) -> None:
    (pr_repo / ".github" / "CODEOWNERS").write_text("* @a\ndocs/ @b # team\n")
    analysis = analyze_pr(load_workspace(pr_repo), ["README.md"])
    assert [e.line for e in analysis.codeowners_errors] == [2]
    assert ".github/CODEOWNERS: line 2: " in render_pr_analysis(analysis)
    assert "### .github/CODEOWNERS errors" in render_pr_analysis(analysis, "markdown")


def test_comment_stays_under_githubs_limit(pr_repo: Path) -> None:
    files = [f"packages/core/f{'x' * 200}{i}.py" for i in range(2000)]
    analysis = analyze_pr(load_workspace(pr_repo), files, number=1)
    body = render_pr_analysis(analysis, "markdown")
    assert len(body) <= 65_536
    assert body.startswith(PR_MARKER)


def test_routing_config_errors(tmp_path: Path) -> None:
    assert pr_routing_config(tmp_path).labels == ()
    (tmp_path / "pyproject.toml").write_text('[tool.tta-dev.routing]\nlabels = ["x"]\n')
    with pytest.raises(AnalysisError, match="must be a table"):
        pr_routing_config(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.tta-dev.routing.labels]\nx = [1]\n")
    with pytest.raises(AnalysisError, match="list of globs"):
        pr_routing_config(tmp_path)
    text = '[tool.tta-dev.routing.sessions]\nunit = "src/**"\n[tool.tta-dev.routing.priority]\n'
    (tmp_path / "pyproject.toml").write_text(text)
    assert pr_routing_config(tmp_path).sessions == (("unit", ("src/**",)),)
