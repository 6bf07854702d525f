"""Shared test configuration: the project's own fixtures come from tta_dev.testing.plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

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
