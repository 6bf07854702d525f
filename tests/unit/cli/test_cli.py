from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tta_dev import __version__
from tta_dev.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out
    assert __version__ != "0+unknown"


def test_no_command_is_one_line_naming_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert not out
    assert err.count("\n") == 1
    assert "drift, workspace" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuch"],
        ["workspace", "affected"],
        ["workspace", "members", "--format", "x" * 200_000],
        ["workspace", "members", "--bogus", "y" * 200_000],
        ["workspace", "lock-diff", "only-one"],
        ["--no-such-option"],
    ],
)
def test_usage_errors_are_one_bounded_line_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert not out
    assert err.count("\n") == 1
    assert err.startswith("tta-dev")
    assert ": error: " in err
    assert "usage:" not in err
    assert len(err) < 600


def test_drift_on_missing_root_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", "--root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("tta-dev: error: ")
    assert "noxfile.py not found" in err


def test_drift_on_broken_noxfile_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "noxfile.py").write_text("import nox\nthis is not python $(rm -rf /)\n")
    assert main(["drift", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nox -l --json failed" in err


def test_drift_json_on_this_repository(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", "--root", str(project_root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tta_dev.cli", "drift", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
