"""What the plugin's fixtures compute, as plain functions (the fixtures stay thin).

Nothing here imports pytest at import time, so each piece is testable on its own and cheap to import:
the plugin loads in every pytest run of every project that installs tta-dev.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from packaging.utils import canonicalize_name

__all__ = [
    "AgenticWorkspace",
    "SyncCheck",
    "check_synced",
    "copy_project",
    "in_ci",
    "installed_distributions",
    "redis_key_prefix",
    "unavailable",
    "unique_label",
    "venv_path",
]

# Folders a copy of a project never needs: environments, caches, VCS metadata.
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        ".nox",
        ".tox",
        "node_modules",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        ".hypothesis",
        ".benchmarks",
        "htmlcov",
        "dist",
        "build",
    }
)
_FALSE = frozenset({"", "0", "false", "no", "off"})
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``CI`` is set to something other than an explicit false."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in _FALSE


def unavailable(message: str) -> NoReturn:
    """Skip locally (``message`` says how to fix it), fail in CI (``in_ci``).

    A CI run must never pass having run nothing: there a missing service, binary or
    interpreter is a broken machine, not a reason to skip.
    """
    import pytest

    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


def venv_path() -> Path:
    """The virtual environment pytest runs in (``sys.prefix``), or ``.venv`` guessed from uv.

    Outside a virtual environment (``sys.prefix == sys.base_prefix``) uv's own choice is
    reported: ``UV_PROJECT_ENVIRONMENT`` when set, else ``.venv`` of the working folder.
    """
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix)
    configured = os.environ.get("UV_PROJECT_ENVIRONMENT", "").strip()
    return Path(configured).resolve() if configured else Path.cwd() / ".venv"


def installed_distributions(
    python: str | None = None, *, uv: str | None = None
) -> Mapping[str, str]:
    """Distribution name (normalised) to version, as ``uv pip list --format=json`` sees it.

    Without uv on ``PATH`` the same answer comes from ``importlib.metadata`` of the
    running interpreter (what ``uv pip list`` reads too).
    """
    uv_binary = uv if uv is not None else shutil.which("uv")
    if uv_binary is not None:
        result = subprocess.run(
            [uv_binary, "pip", "list", "--format=json", "--python", python or sys.executable],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode == 0:
            rows = json.loads(result.stdout or "[]")
            return MappingProxyType(
                {canonicalize_name(str(row["name"])): str(row["version"]) for row in rows}
            )
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist.version)
    return MappingProxyType(dict(sorted(found.items())))


@dataclass(frozen=True)
class SyncCheck:
    """Whether an environment matches ``uv.lock``, and the command that makes it so."""

    ok: bool
    command: str
    detail: str


def check_synced(
    root: Path,
    *,
    environment: Path | None = None,
    extra_args: Sequence[str] = (),
    uv: str | None = None,
) -> SyncCheck:
    """Check (never change) that ``environment`` is in sync with the lock of ``root``.

    Runs ``uv sync --locked --check``: ``--locked`` fails on a lock that no longer matches
    ``pyproject.toml`` instead of rewriting it, ``--check`` changes nothing in the
    environment. ``--inexact`` is the default so tools installed beside the project (a
    nox session's extras) are not counted as drift; ``extra_args`` add groups or extras.
    """
    uv_binary = uv if uv is not None else shutil.which("uv")
    fix = "uv sync --locked" + "".join(f" {a}" for a in extra_args if a != "--inexact")
    if uv_binary is None:
        return SyncCheck(False, "install uv (https://docs.astral.sh/uv/)", "uv is not on PATH")
    args = [uv_binary, "sync", "--locked", "--check", "--inexact", *extra_args]
    env = dict(os.environ)
    env["UV_PROJECT_ENVIRONMENT"] = str(environment or venv_path())
    env.pop("VIRTUAL_ENV", None)  # uv warns when it disagrees with UV_PROJECT_ENVIRONMENT
    result = subprocess.run(
        args, cwd=root, capture_output=True, text=True, timeout=120, check=False, env=env
    )
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    if result.returncode == 0:
        return SyncCheck(True, fix, lines[-1] if lines else "in sync")
    detail = next((ln for ln in lines if "error" in ln.lower()), lines[-1] if lines else "")
    if "lockfile needs to be updated" in detail or "--locked" in detail:
        fix = "uv lock && " + fix
    return SyncCheck(False, fix, detail.strip() or f"uv sync exited {result.returncode}")


def unique_label(nodeid: str) -> str:
    """A label for one test: its name (``[A-Za-z0-9_.-]`` only, 40 at most) and a random tail."""
    name = _SAFE_ID.sub("_", nodeid.rsplit("::", 1)[-1])[:40]
    return f"{name}-{uuid.uuid4().hex[:12]}"


def redis_key_prefix(worker: str, nodeid: str) -> str:
    """A key prefix no other test, xdist worker or run shares: ``tta-test:<worker>:<id>:``.

    Only letters, digits and ``_.-`` come from the test id, so the prefix has no glob
    characters (``SCAN MATCH prefix*`` then matches exactly these keys).
    """
    label, _, tail = unique_label(nodeid).rpartition("-")
    return f"tta-test:{_SAFE_ID.sub('_', worker)}:{label}:{tail}:"


def _ignored(folder: str, names: list[str]) -> set[str]:
    del folder
    return {n for n in names if n in _SKIP_DIRS or n.endswith((".pyc", ".egg-info"))}


@dataclass(frozen=True)
class AgenticWorkspace:
    """A temporary copy of a project, synced with its lock, to run workflows in."""

    root: Path
    source: Path
    python: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a command in the copy (``uv run`` uses the copy's own environment)."""
        return subprocess.run(
            list(args),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_without_venv(),
        )


def _without_venv() -> dict[str, str]:
    """The environment minus the variables that would point uv at pytest's own venv."""
    env = dict(os.environ)
    for var in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"):
        env.pop(var, None)
    return env


def copy_project(source: Path, dest: Path) -> Path:
    """Copy the project at ``source`` into ``dest`` without environments or caches."""
    shutil.copytree(source, dest, ignore=_ignored, symlinks=True)
    return dest


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a fixed identity; raise ``RuntimeError`` with its stderr."""
    env = _without_venv()
    env.update(
        GIT_AUTHOR_NAME="tta-dev tests",
        GIT_AUTHOR_EMAIL="tests@tta-dev.invalid",
        GIT_COMMITTER_NAME="tta-dev tests",
        GIT_COMMITTER_EMAIL="tests@tta-dev.invalid",
        GIT_CONFIG_NOSYSTEM="1",
    )
    result = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"git {' '.join(args)} failed in {root}: {last}")
    return result.stdout.strip()


def make_agentic_workspace(source: Path, dest: Path, *, sync: bool = True) -> AgenticWorkspace:
    """Copy ``source`` to ``dest``, make it a git repository, and ``uv sync --locked`` it.

    The copy gets its own git history (one commit of the copied files) so workflows that
    branch, diff or commit never touch the original repository.
    """
    root = copy_project(source, dest)
    if not (root / ".git").exists():
        git(root, "init", "--quiet", "--initial-branch=main")
        git(root, "add", "--all")
        git(root, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", "copy of project")
    python = root / ".venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    if sync:
        uv_binary = shutil.which("uv")
        if uv_binary is None:
            raise RuntimeError("uv is not on PATH: install uv to sync the agentic workspace")
        result = subprocess.run(
            [uv_binary, "sync", "--locked", "--quiet"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=_without_venv(),
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"uv sync --locked failed in the copy of {source}: {last}")
    return AgenticWorkspace(root=root, source=source, python=python)
