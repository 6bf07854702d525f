"""The dashboard page: computed from a real git workspace, rendered offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.workspace.builders import GIT_ENV
from tests.unit.workspace.conftest import make_sample
from tta_dev.devtools.dashboard import build_dashboard, render_dashboard, write_dashboard
from tta_dev.devtools.metrics import MetricRecord, append_record


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, env={**os.environ, **GIT_ENV}, timeout=60)


def make_branch_workspace(root: Path) -> Path:
    """The sample workspace on `main`, then a branch that changes `core`, with uv timings."""
    make_sample(root)
    (root / ".gitignore").write_text(".tta/\n")  # the metrics folder is local state
    _git(root, "init", "-q", "--initial-branch=main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "checkout", "-qb", "feature")
    (root / "packages/core/src/core/__init__.py").write_text("X = 1\n")
    _git(root, "commit", "-qam", "change core")
    for i, seconds in enumerate([0.8, 0.9, 1.4]):
        append_record(
            root / ".tta/metrics/uv.jsonl",
            MetricRecord("uv sync", ("--locked",), seconds, 0, "uv", "0.13.9", "c", f"t{i}"),
        )
    return root


def test_dashboard_of_a_branch(tmp_path: Path) -> None:
    root = make_branch_workspace(tmp_path / "ws")
    dashboard = build_dashboard(root, health=False)
    assert dashboard.affected is not None
    assert dashboard.affected.base == "main"
    assert set(dashboard.affected.names) == {"core", "helper", "my-app"}
    assert dashboard.metrics.operations[0].count == 3
    page = render_dashboard(dashboard)
    assert "<script" not in page
    assert "default-src 'none'" in page
    assert 'data-member="core"' in page
    assert 'id="charts"' in page
    target = write_dashboard(dashboard, tmp_path / "out")
    assert target.read_text(encoding="utf-8") == page


def test_dashboard_without_a_base_says_so(tmp_path: Path) -> None:
    root = make_sample(tmp_path / "ws")  # not a git repository
    dashboard = build_dashboard(root, health=False)
    assert dashboard.affected is None
    assert any("no base branch" in p for p in dashboard.problems)
    assert 'id="no-metrics"' in render_dashboard(dashboard)


def test_cli_writes_the_page(tmp_path: Path) -> None:
    root = make_branch_workspace(tmp_path / "ws")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tta_dev.cli",
            "dashboard",
            "--root",
            str(root),
            "-o",
            str(tmp_path / "site"),
            "--no-health",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == tmp_path / "site" / "index.html"


def test_cli_output_that_is_a_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tta_dev.cli import main

    not_a_folder = tmp_path / "site"
    not_a_folder.write_text("mine")
    assert main(["dashboard", "--root", str(tmp_path), "-o", str(not_a_folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not a folder: pass -o with a folder" in err
    assert not_a_folder.read_text() == "mine"
