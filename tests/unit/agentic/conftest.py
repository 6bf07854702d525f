"""A small real uv project with planted problems, for running the workflows end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tta_dev.testing._support import unavailable

# The versions this repository locks, so uv finds them in its cache.
PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[dependency-groups]
dev = ["ruff==0.17.6", "pytest==9.2.0", "pyright[nodejs]==1.1.414"]

[tool.pytest.ini_options]
pythonpath = ["."]
"""
DEMO = "import os\n\n\ndef add(a, b):\n    return a + b\n"  # F401: unused import
OTHER = "def mul(a,b):\n  return a*b\n"  # not formatted
TESTS = (
    "from demo import add\n\n\n"
    "def test_add():\n    assert add(1, 2) == 3\n\n\n"
    "def test_fails():\n    assert add(2, 2) == 5\n"
)


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        unavailable("uv is not on PATH: install it (https://docs.astral.sh/uv/)")
    return uv


def _run(*argv: str, cwd: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"UV_LOCKED", "UV_FROZEN", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A synced uv project with an unused import, an unformatted file, a stale uv.lock and a
    failing test."""
    uv = _uv()
    root = tmp_path / "demo"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "demo.py").write_text(DEMO)
    (root / "other.py").write_text(OTHER)
    (root / "tests" / "test_demo.py").write_text(TESTS)
    _run(uv, "lock", "--quiet", cwd=root)
    _run(uv, "sync", "--frozen", "--quiet", cwd=root)
    # A new dependency the lock does not have yet: `uv lock --check` fails.
    text = (
        (root / "pyproject.toml")
        .read_text()
        .replace("dependencies = []", 'dependencies = ["iniconfig"]')
    )
    (root / "pyproject.toml").write_text(text)
    return root


@pytest.fixture
def git_project(demo_project: Path) -> Path:
    """The demo project, its lock up to date, as a git repository with one commit on ``main``."""
    git = shutil.which("git")
    if git is None:
        unavailable("git is not installed: apt-get install git")
    _run(_uv(), "lock", "--quiet", cwd=demo_project)
    (demo_project / ".gitignore").write_text(".venv/\n__pycache__/\n.pytest_cache/\n.ruff_cache/\n")
    for args in (
        ("init", "-q", "-b", "main"),
        ("add", "-A"),
        ("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "init"),
    ):
        _run(git, *args, cwd=demo_project)
    return demo_project
