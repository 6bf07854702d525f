"""``workspace audit`` on a root project, its options and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tta_dev.cli import main
from tta_dev.devtools import audit as audit_module
from tta_dev.devtools.audit import AuditError, audit, generate_workspace

# Each runs pytest or git/uv/ruff in subprocesses: seconds apiece, in the unit session
# only (compat runs the same code on other Pythons without them).
pytestmark = pytest.mark.slow

_LOCK = """version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "pyyaml"
version = "6.0.4"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/76/b8/pyyaml-6.0.4.tar.gz", hash = "sha256:e24bf71af8a432d7808fabff134d38dfe16d3cbb41f2873bb4b1e42422de0a1a", size = 136336 }

[[package]]
name = "solo"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "pyyaml" },
]

[package.metadata]
requires-dist = [{ name = "pyyaml", specifier = ">=6" }]
"""


def _single_project(root: Path) -> Path:
    """One root project (no workspace members): src/solo, tests/, PyYAML, uv.lock."""
    files = {
        "pyproject.toml": (
            '[project]\nname = "solo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            'dependencies = ["pyyaml>=6"]\n'
        ),
        "uv.lock": _LOCK,
        "src/solo/__init__.py": "import yaml\n\n\ndef load(text):\n    return yaml.safe_load(text)\n",
        "tests/test_solo.py": "import solo\n\n\ndef test_load():\n    assert solo.load('1') == 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    return root


def test_a_root_project_is_audited_with_one_pytest_run_per_mutation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _single_project(tmp_path / "solo")
    calls: list[tuple[str, ...]] = []
    real = audit_module._pytest

    def counting(root: Path, targets, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(tuple(targets))
        return real(root, targets, *args, **kwargs)

    monkeypatch.setattr(audit_module, "_pytest", counting)
    report = audit(root, plugins=False)
    assert [(r.mutation.member, r.mutation.kind, r.mutation.function) for r in report.runs] == [
        ("solo", "raise", "load"),
        ("solo", "wrong", "load"),
        ("solo", "dependency", "pyyaml"),
    ]
    assert report.escaped == ()
    assert all(r.selected == ("tests/test_solo.py",) for r in report.runs)
    assert all(r.full_failed == r.selection_failed == ("tests/test_solo.py",) for r in report.runs)
    # The selection is the whole suite: one unmutated run, then one run per mutation.
    assert len(calls) == 1 + 3
    assert (report.suite, report.baseline_failed) == (1, ())


def test_tests_limit_the_suite_and_unmutated_failures_count_for_nothing(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 2)
    # Fails with or without a mutation (say, a service that is not running).
    (root / "tests/test_needs_service.py").write_text(
        "import pkg0\n\n\ndef test_service():\n    raise ConnectionError('no service')\n", "utf-8"
    )
    report = audit(root, kinds=("raise",), tests=["tests"], plugins=False, sample=1, seed=0)
    assert report.baseline_failed == ("tests/test_needs_service.py",)
    (run,) = report.runs
    assert "tests/test_needs_service.py" not in run.full_failed
    assert all(t.startswith("tests/") for t in run.selected)
    assert report.suite == len(list((root / "tests").rglob("test_*.py")))
    data = json.loads(audit_module.render_audit(report, "json"))
    assert data["baseline_failed"] == ["tests/test_needs_service.py"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kinds", "raise,explode"], "unknown mutation kind 'explode'"),
        (["--sample", "0"], "--sample must be at least 1, not 0"),
        (["--tests", "no/such/dir"], "test path 'no/such/dir' does not exist"),
        (["--pytest-args=-k 'unbalanced"], "--pytest-args: No closing quotation"),
        (["--generated", "1"], "--generated takes 2 to 500 members, not 1"),
        (["--generated", "100000"], "--generated takes 2 to 500 members, not 100000"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = generate_workspace(tmp_path / "gen", 2)
    assert main(["workspace", "audit", "--root", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_workspace_without_tests_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _single_project(tmp_path / "solo")
    (root / "tests/test_solo.py").unlink()
    with pytest.raises(AuditError, match="no test files"):
        audit(root, plugins=False)
    assert main(["workspace", "audit", "--root", str(root)]) == 2
    assert "no test files (test_*.py, bench_*.py) under" in capsys.readouterr().err


def test_a_killed_audit_leaves_no_temporary_copy(tmp_path: Path) -> None:
    """SIGTERM (a CI timeout, `kill`) unwinds: the generated workspace and copies go."""
    import signal

    from tests.unit._killed import killed_midway

    # Mid-audit: its copy of the workspace is being made. (A signal landing inside
    # TemporaryDirectory() itself is tests/unit/core/test_signals.py's case.) CI once saw
    # a 60 s hang here that never reproduced: a hang now fails with the audit's stacks.
    code, err = killed_midway(
        ["-m", "tta_dev.cli", "workspace", "audit", "--generated", "6"],
        tmp_path,
        lambda: any(tmp_path.glob("tta-audit-*/ws")),
    )
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert list(tmp_path.glob("tta-audit-*")) == []


@pytest.mark.parametrize(
    ("pytest_args", "detail"),
    [(["--no-such-option"], "(pytest exit 4)"), (["-k", "nothing_matches"], "(pytest exit 5")],
)
def test_a_suite_that_does_not_run_is_an_error_not_a_clean_audit(
    tmp_path: Path, pytest_args: list[str], detail: str
) -> None:
    # Every run failed alike (or ran nothing), so nothing was "detected" and nothing
    # "escaped": the audit reported success having tested nothing.
    root = _single_project(tmp_path / "solo")
    with pytest.raises(AuditError, match="the unmutated suite does not run") as info:
        audit(root, plugins=False, kinds=["raise"], pytest_args=pytest_args)
    assert detail in str(info.value)
