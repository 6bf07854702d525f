"""Shared test configuration: the project's own fixtures come from tta_dev.testing.plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# The hostile-input tests make folder chains over 1,000 levels deep. They remove them, but
# one left by a run that was killed would make pytest's clean-up of old temporary folders
# (shutil.rmtree, recursive on Python 3.11) end every later run with a RecursionError.
# 4,000 frames clear such chains and stay far from the C stack limit.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 4_000))

ROOT = Path(__file__).resolve().parent.parent
_KINDS = {"unit": ROOT / "tests" / "unit", "integration": ROOT / "tests" / "integration"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so `-m integration` / `-m "not integration"` select."""
    for item in items:
        for marker, folder in _KINDS.items():
            if folder in item.path.parents:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The root of this repository (where pyproject.toml and noxfile.py live)."""
    return ROOT
