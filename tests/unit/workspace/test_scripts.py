from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("workspace_members", ["--format", "json"]),
        ("workspace_graph", ["--format", "json"]),
        ("workspace_affected", ["--files", "packages/core/x.py", "--format", "json"]),
    ],
)
def test_scripts_wrap_the_cli(
    sample: Path, capsys: pytest.CaptureFixture[str], script: str, args: list[str]
) -> None:
    assert load(script).main([*args, "--root", str(sample)]) == 0
    assert json.loads(capsys.readouterr().out)


def test_lock_diff_script_and_bad_input(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = str(sample / "uv.lock")
    assert load("workspace_lock_diff").main([lock, lock]) == 0
    assert "no changes" in capsys.readouterr().out
    assert load("workspace_members").main(["--root", str(sample / "missing")]) == 2
    assert capsys.readouterr().err.startswith("tta-dev: error: ")
