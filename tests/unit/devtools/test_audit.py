"""``tta-dev workspace audit``: mutations, escapes and the rule that missed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tta_dev.cli import main
from tta_dev.devtools.audit import audit, generate_workspace, plan_mutations, render_audit
from tta_dev.workspace import load_workspace


def test_the_generated_workspace_lets_nothing_through(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 3)
    report = audit(root, plugins=False)
    data = json.loads(render_audit(report, "json"))
    assert [(m["member"], m["kind"]) for m in data["mutations"]] == [
        (f"pkg{i}", kind) for i in range(3) for kind in ("raise", "wrong")
    ]
    assert data["escaped"] == []
    # Every mutation is caught by the full suite and by the selection, which is smaller.
    assert all(m["full_failed"] and m["selection_failed"] for m in data["mutations"])
    pkg0 = data["mutations"][0]
    assert pkg0["affected"] == ["pkg0", "pkg1"]
    assert "tests/deep/test_helper_use.py" in pkg0["selected"]  # through tests/helpers.py
    assert "benchmarks/bench_pkg2.py" not in pkg0["selected"]
    last = data["mutations"][4]  # pkg2 raise: the fixture-only test comes through conftest
    assert "tests/test_fixture_only.py" in last["full_failed"]
    assert "tests/test_fixture_only.py" in last["selected"]


def test_an_undeclared_dependency_escapes_and_is_named(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 2)
    # pkg1 keeps calling pkg0 but no longer declares it: the engine cannot know.
    (root / "packages/pkg1/pyproject.toml").write_text(
        '[project]\nname = "pkg1"\nversion = "0.1.0"\n', "utf-8"
    )
    # Only pkg1's tests see a broken pkg0 now.
    for test in ("test_pkg0.py", "test_dynamic.py", "deep/test_helper_use.py"):
        (root / "tests" / test).unlink()
    (root / "benchmarks/bench_pkg0.py").unlink()
    (root / "packages/pkg0/tests/test_own_pkg0.py").unlink()
    report = audit(root, kinds=("raise",), plugins=False)
    (escape,) = report.escaped
    assert escape.mutation.member == "pkg0"
    assert "tests/test_pkg1.py" in escape.missed
    assert any("tests/test_pkg1.py belongs to pkg1" in rule for rule in escape.rules)
    assert "ESCAPED" in render_audit(report)
    assert "**yes**" in render_audit(report, "markdown")


def test_sample_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = generate_workspace(tmp_path / "gen", 4)
    mutations, skipped = plan_mutations(load_workspace(root), sample=2, seed=1)
    assert (len(mutations), skipped) == (4, [])
    assert len({m.member for m in mutations}) == 2
    assert main(["workspace", "audit", "--generated", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err
    args = ["workspace", "audit", "--generated", "2", "--sample", "1", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (len(out["mutations"]), out["escaped"]) == (2, [])
