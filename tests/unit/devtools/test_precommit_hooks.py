"""The pre-commit hooks, run for real in a temporary copy of this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def clone(project_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("uv") is None:
        pytest.fail("uv is not on PATH: install uv (pip install uv) to run the hook tests")
    dest = tmp_path_factory.mktemp("clone") / "repo"
    dest.mkdir()
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=project_root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = project_root / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    return dest


def _run_hooks(repo: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        # the hooks' `uv run --frozen` syncs this venv from the lock (uv's cache makes it cheap)
        "UV_PROJECT_ENVIRONMENT": str(repo / ".venv"),
    }
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["uv", "run", "--frozen", "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_clean_tree_passes_every_hook(clone: Path, tmp_path: Path) -> None:
    result = _run_hooks(clone, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "content", "failing_hook"),
    [
        ("bad.py", "import os\nx=1\n", "ruff check"),
        ("bad_format.py", "x = [1,\n 2]\n", "ruff format"),
        ("bad.toml", "[table\nkey = 'unterminated\n", "TOML is valid"),
        ("bad.yaml", "key: [unclosed\n", "YAML is valid"),
        ("no_newline.txt", "text without a final newline", "files end in one newline"),
    ],
)
def test_planted_bad_file_fails(
    clone: Path, tmp_path: Path, name: str, content: str, failing_hook: str
) -> None:
    planted = clone / name
    planted.write_text(content, encoding="utf-8")
    _git(clone, "add", name)
    try:
        result = _run_hooks(clone, tmp_path)
        assert result.returncode != 0
        failed = [line for line in result.stdout.splitlines() if line.endswith("Failed")]
        assert any(line.startswith(failing_hook) for line in failed), result.stdout
    finally:
        _git(clone, "rm", "-q", "-f", name)


def test_stale_lock_fails_the_lock_hook(clone: Path, tmp_path: Path) -> None:
    pyproject = clone / "pyproject.toml"
    original = pyproject.read_text(encoding="utf-8")
    stale = original.replace('"packaging>=24",', '"packaging>=24", "six",', 1)
    assert stale != original
    pyproject.write_text(stale, encoding="utf-8")
    _git(clone, "add", "pyproject.toml")
    try:
        result = _run_hooks(clone, tmp_path)
        assert result.returncode != 0
        assert any(
            line.startswith("uv lock --check") and line.endswith("Failed")
            for line in result.stdout.splitlines()
        ), result.stdout
    finally:
        pyproject.write_text(original, encoding="utf-8")
        _git(clone, "add", "pyproject.toml")
