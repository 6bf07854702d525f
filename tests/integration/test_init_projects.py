"""tta-dev init on generated projects, end to end, as a user would run it.

A single package (``uv init --lib``) and a 3-member workspace: after ``tta-dev init``,
``nox -l`` lists the sessions, ``nox -s lint`` and ``nox -s tests`` pass, ``tta-dev drift``
is clean, and a second ``init`` changes nothing. tta-dev itself comes from this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.workspace.builders import GIT_ENV
from tta_dev.testing._support import unavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv: pip install uv")


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COVERAGE", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTEST"))
    }
    env.update(GIT_ENV)
    return env


def _run(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        check=False,
    )
    return result


def _ok(root: Path, *args: str) -> str:
    result = _run(root, *args)
    assert result.returncode == 0, (
        f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout + result.stderr


def _init(root: Path) -> str:
    return _ok(root, sys.executable, "-m", "tta_dev.cli", "init", "--tta-dev", str(ROOT))


def _ci_matrix(root: Path) -> list[str]:
    """The sessions ci.yml's matrix holds: its `list` step's script run in the project."""
    import json

    import yaml

    if shutil.which("jq") is None:
        unavailable("jq is missing (GitHub's runners have it): apt-get install jq")
    workflow = yaml.safe_load((root / ".github/workflows/ci.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["sessions"]["steps"] if s.get("id") == "list"]
    output = root / "github-output"
    _ok(root, "bash", "-e", "-c", f"GITHUB_OUTPUT={output}\n{step['run']}")
    (line,) = output.read_text().splitlines()
    output.unlink()
    (root / "sessions.json").unlink()
    return json.loads(line.removeprefix("sessions="))


def _check_adopted(root: Path, sessions: set[str]) -> None:
    listed = _ok(root, "uv", "run", "nox", "-l")
    for name in sessions:
        assert f" {name} [ci" in listed or f"* {name} " in listed or f"- {name} " in listed, listed
    _ok(root, "uv", "run", "nox", "-s", "lint")
    tests = _ok(root, "uv", "run", "nox", "-s", "tests")
    assert " passed" in tests
    assert "no drift" in _ok(root, "uv", "run", "tta-dev", "drift")
    before = {
        p: p.read_bytes()
        for p in root.rglob("*")
        if p.is_file()
        and ".nox" not in p.parts
        and ".venv" not in p.parts
        and ".git" not in p.parts
    }
    assert "nothing to do" in _init(root)
    after = {p: p.read_bytes() for p in before}
    assert after == before, "a second init changed files"


def test_init_a_single_package(tmp_path: Path) -> None:
    root = tmp_path / "demo-lib"
    root.mkdir()
    _ok(root, "git", "init", "-q")
    _ok(root, "uv", "init", "-q", "--lib", "--name", "demo-lib", "--no-pin-python", ".")
    (root / "tests").mkdir()
    (root / "tests" / "test_hello.py").write_text(
        "from demo_lib import hello\n\n\ndef test_hello() -> None:\n"
        '    assert hello() == "Hello from demo-lib!"\n'
    )
    out = _init(root)
    assert "create    noxfile.py" in out
    assert _ci_matrix(root) == ["lint", "tests", "lock_check"]  # coverage: its own job
    _check_adopted(root, {"lint", "tests", "lock_check", "coverage"})


def test_init_a_three_member_workspace(tmp_path: Path) -> None:
    root = tmp_path / "suite"
    root.mkdir()
    _ok(root, "git", "init", "-q")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "suite"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["alpha", "beta"]\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n\n'
        "[tool.uv.sources]\nalpha = { workspace = true }\nbeta = { workspace = true }\n"
    )
    for name in ("alpha", "beta", "gamma"):
        member = root / "packages" / name
        (member / "src" / name).mkdir(parents=True)
        (member / "tests").mkdir()
        (member / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
            'dependencies = []\n\n[build-system]\nrequires = ["uv_build>=0.9,<0.14"]\n'
            'build-backend = "uv_build"\n'
        )
        (member / "src" / name / "__init__.py").write_text(
            f'def name() -> str:\n    return "{name}"\n'
        )
        (member / "tests" / f"test_{name}.py").write_text(
            f"from {name} import name\n\n\ndef test_name() -> None:\n"
            f'    assert name() == "{name}"\n'
        )
    _ok(root, "uv", "lock", "-q")
    out = _init(root)
    assert "create    .github/workflows/ci.yml" in out
    # ci.yml's own listing step, run here: affected.yml owns tests and coverage.
    assert _ci_matrix(root) == ["lint", "lock_check"]
    assert "--for-member" in (root / ".github/workflows/affected.yml").read_text()
    _check_adopted(root, {"lint", "tests", "lock_check", "coverage"})
