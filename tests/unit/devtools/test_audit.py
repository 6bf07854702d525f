"""``tta-dev workspace audit``: mutations, escapes and the rule that missed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tta_dev.cli import main
from tta_dev.devtools.audit import audit, generate_workspace, plan_mutations, render_audit
from tta_dev.workspace import load_workspace

# Each runs pytest or git/uv/ruff in subprocesses: seconds apiece, in the unit session
# only (compat runs the same code on other Pythons without them).
pytestmark = pytest.mark.slow


def test_the_generated_workspace_lets_nothing_through(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 3)
    report = audit(root, plugins=False)
    data = json.loads(render_audit(report, "json"))
    assert [(m["member"], m["kind"]) for m in data["mutations"]] == [
        ("pkg0", "raise"),
        ("pkg0", "wrong"),
        ("pkg1", "raise"),
        ("pkg1", "wrong"),
        ("pkg2", "raise"),
        ("pkg2", "wrong"),
        ("pkg2", "dependency"),  # pkg2 uses PyYAML; pkg0 and pkg1 have nothing to break
        ("(root groups)", "dependency"),  # mdurl, only the root's dev group locks
    ]
    assert data["escaped"] == []
    # Every mutation is caught by the full suite and by the selection, which is smaller.
    assert all(m["full_failed"] and m["selection_failed"] for m in data["mutations"])
    pkg0 = data["mutations"][0]
    assert pkg0["affected"] == ["pkg0", "pkg1"]
    assert "tests/deep/test_helper_use.py" in pkg0["selected"]  # through tests/helpers.py
    assert "benchmarks/bench_pkg2.py" not in pkg0["selected"]
    # The fixture-only test comes through tests/conftest.py, which imports pkg0.
    assert "tests/test_fixture_only.py" in pkg0["full_failed"]
    assert "tests/test_fixture_only.py" in pkg0["selected"]
    dependency = data["mutations"][6]
    assert (dependency["function"], dependency["package"]["name"]) == ("pyyaml", "pyyaml")
    assert dependency["affected"] == ["pkg2"]
    assert "tests/test_pkg2.py" in dependency["selection_failed"]
    shared = data["mutations"][7]
    assert shared["package"]["name"] == "mdurl"
    assert shared["affected"] == ["pkg0", "pkg1", "pkg2"]  # every member's tests run with it
    assert len(shared["selected"]) == data["suite"]
    assert shared["full_failed"] == shared["selection_failed"] == ["tests/deep/test_helper_use.py"]
    assert data["skipped"] == [
        "pkg0: no third-party dependency in uv.lock to break",
        "pkg1: no third-party dependency in uv.lock to break",
    ]


def test_an_undeclared_dependency_escapes_and_is_named(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 2)
    # pkg1 keeps calling pkg0 but no longer declares it: the engine cannot know.
    (root / "packages/pkg1/pyproject.toml").write_text(
        '[project]\nname = "pkg1"\nversion = "0.1.0"\n', "utf-8"
    )
    # uv.lock would still record the edge (the engine reads it): no lock, as before `uv lock`.
    (root / "uv.lock").unlink()
    # Only pkg1's tests see a broken pkg0 now.
    for test in (
        "test_pkg0.py",
        "test_dynamic.py",
        "deep/test_helper_use.py",
        "test_fixture_only.py",
    ):
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
    mutations, skipped = plan_mutations(
        load_workspace(root), sample=2, seed=1, kinds=("raise", "wrong")
    )
    assert (len(mutations), skipped) == (4, [])
    assert len({m.member for m in mutations}) == 2
    assert main(["workspace", "audit", "--generated", "1"]) == 2
    assert "takes 2 to 500 members" in capsys.readouterr().err
    args = ["workspace", "audit", "--generated", "2", "--sample", "1", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    # Two members, no third-party package of theirs: raise, wrong and the root's dev group.
    assert [m["kind"] for m in out["mutations"]] == ["raise", "wrong", "dependency"]
    assert out["escaped"] == []
    assert len(out["skipped"]) == 1
    assert out["root"] == "(a generated workspace of 2 members)"  # its folder is gone


def test_a_file_failing_only_after_a_failed_test_is_order_dependent_not_missed(
    tmp_path: Path,
) -> None:
    # graphrag's shape: a test of pkg0 changes folder and fails before changing back; a
    # later test of pkg2 (unaffected by pkg0) reads a relative path and fails after it.
    root = generate_workspace(tmp_path / "gen", 3)
    (root / "tests/test_a_chdir.py").write_text(
        "import os\n\nimport pkg0\n\n\ndef test_in_a_subfolder():\n"
        "    os.chdir('packages')\n    assert pkg0.value() == 0\n    os.chdir('..')\n",
        "utf-8",
    )
    (root / "tests/test_z_relative.py").write_text(
        "from pathlib import Path\n\nimport pkg2\n\n\ndef test_reads_a_relative_path():\n"
        "    assert Path('tests').is_dir() and pkg2.value() == 2\n",
        "utf-8",
    )
    report = audit(root, kinds=("raise",), plugins=False, sample=None)
    (pkg0,) = [r for r in report.runs if r.mutation.member == "pkg0"]
    assert "tests/test_z_relative.py" in pkg0.full_failed
    assert "tests/test_z_relative.py" not in pkg0.selected
    assert "tests/test_a_chdir.py" in pkg0.selection_failed
    # Run alone, it passes: order, not a selection gap, so no rule and not partly missed.
    assert pkg0.order_dependent == ("tests/test_z_relative.py",)
    assert "tests/test_z_relative.py" not in pkg0.missed
    assert not any("test_z_relative" in rule for rule in pkg0.rules)
    data = json.loads(render_audit(report, "json"))
    assert data["escaped"] == []
    assert data["mutations"][0]["order_dependent"] == ["tests/test_z_relative.py"]
    assert "failing only after other tests" in render_audit(report)
