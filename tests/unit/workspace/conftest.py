"""Synthetic workspaces for the workspace tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.workspace.builders import (
    lock_toml,
    member_package,
    package,
    project_toml,
    virtual_root_toml,
    write,
)

REG = {"registry": "https://pypi.org/simple"}


def sample_lock_packages(
    *, requests: str = "2.0", six_source: str = "https://pypi.org/simple"
) -> list[dict[str, object]]:
    """The lock of ``sample_workspace``; arguments vary one package for diff tests."""
    return [
        member_package(
            "my-app",
            "packages/app",
            dependencies=[
                {"name": "core"},
                {"name": "plugin", "extra": ["fast"]},
                {"name": "requests"},
            ],
            optional={"docs": [{"name": "docs-tool"}]},
            groups={"test": [{"name": "helper"}, {"name": "pytest-thing"}]},
        ),
        member_package(
            "core",
            "packages/core",
            dependencies=[{"name": "six"}],
            groups={"dev": [{"name": "helper"}, {"name": "lint-tool"}]},
        ),
        member_package(
            "plugin",
            "packages/plugin-folder",
            version=None,
            optional={
                "fast": [{"name": "speedup"}],
                "slow": [{"name": "fork", "version": "2.0", "source": REG}],
            },
        ),
        member_package("helper", "libs/nested/helper", dependencies=[{"name": "core"}]),
        package("requests", requests, dependencies=[{"name": "urllib3"}]),
        package("urllib3", "1.0"),
        package("six", "1.0", {"registry": six_source}),
        package("docs-tool", "1.0"),
        package(
            "pytest-thing", "1.0", dependencies=[{"name": "fork", "version": "1.0", "source": REG}]
        ),
        package("lint-tool", "1.0"),
        package("speedup", "1.0"),
        package("fork", "1.0"),
        package("fork", "2.0"),
    ]


def make_sample(root: Path, *, requests: str = "2.0") -> Path:
    """A virtual-root workspace: nested members, an exclude, a cycle, name != folder."""
    write(
        root / "pyproject.toml",
        virtual_root_toml(["packages/*", "libs/nested/*"], exclude=["packages/skip"]),
    )
    write(
        root / "packages/app/pyproject.toml",
        project_toml(
            "My_App",
            dependencies=["core", "plugin[fast]", f"requests=={requests}"],
            optional={"docs": ["docs-tool"]},
            groups={"test": ["helper", "pytest-thing"]},
            workspace_sources=["core", "plugin", "helper"],
        ),
    )
    write(root / "packages/app/src/my_app/__init__.py", "")
    write(
        root / "packages/core/pyproject.toml",
        project_toml(
            "core",
            dependencies=["six"],
            groups={"dev": ["helper", "lint-tool"]},
            workspace_sources=["helper"],
        ),
    )
    write(root / "packages/core/src/core/__init__.py", "")
    write(
        root / "packages/plugin-folder/pyproject.toml",
        project_toml("plugin", version=None, optional={"fast": ["speedup"], "slow": ["fork==2.0"]}),
    )
    write(
        root / "libs/nested/helper/pyproject.toml",
        project_toml("helper", dependencies=["core"], workspace_sources=["core"]),
    )
    write(root / "packages/skip/notes.txt", "excluded, no pyproject\n")
    write(root / "README.md", "# sample\n")
    write(
        root / "uv.lock",
        lock_toml(
            sample_lock_packages(requests=requests),
            members=["my-app", "core", "plugin", "helper"],
        ),
    )
    return root


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return make_sample(tmp_path / "ws")
