"""Our reader against uv's own answers, on a lock that the real ``uv lock`` wrote.

Everything resolves offline: third-party packages are tiny wheels in a ``find-links``
folder, the git dependency is a local repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from tests.unit.workspace.builders import Repo, project_toml, virtual_root_toml, wheel, write
from tta_dev.testing._support import unavailable
from tta_dev.workspace import (
    WorkspaceError,
    build_graph,
    diff_locks,
    load_workspace,
    locked_closure,
    locked_closures,
    read_lock,
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _needs_uv() -> None:
    if shutil.which("uv") is None:
        unavailable("uv is not on PATH: pip install uv")


BUILD = '[build-system]\nrequires = ["uv_build>=0.9,<0.14"]\nbuild-backend = "uv_build"\n'


def uv(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["uv", *args, "--offline", "--no-progress"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PREVIEW_FEATURES": "workspace-metadata"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def uv_refuses(root: Path) -> str:
    """What ``uv workspace list`` says when it refuses the workspace (one line of text)."""
    result = subprocess.run(
        ["uv", "workspace", "list", "--offline"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    return " ".join(result.stderr.split())  # uv wraps long lines


def make_real_workspace(tmp_path: Path, *, speedup: str = "1.0") -> Path:
    gitdep = Repo(tmp_path / "gitdep")
    write(gitdep.path / "pyproject.toml", project_toml("gitdep", version="0.3.0"))
    gitdep.commit("gitdep")
    root = tmp_path / "ws"
    wheels = root / "wheels"
    for name, version, requires, extras in [
        ("six", "1.0", (), ()),
        ("docs_tool", "1.0", (), ()),
        ("pytest_thing", "1.0", ("urllib3",), ()),
        ("urllib3", "1.0", (), ()),
        ("lint_tool", "1.0", (), ()),
        ("speedup", "1.0", ("extra_dep; extra == 'more'",), ("more",)),
        ("speedup", "1.1", ("extra_dep; extra == 'more'",), ("more",)),
        ("fork_pkg", "1.0", (), ()),
        ("fork_pkg", "2.0", ("leaf",), ()),
        ("leaf", "1.0", (), ()),
        ("extra_dep", "1.0", (), ()),
    ]:
        wheel(wheels, name, version, requires, extras)
    write(
        root / "pyproject.toml",
        virtual_root_toml(
            ["packages/*", "libs/deep/*"],
            exclude=["packages/ignored"],
            extra=(
                '[tool.uv]\nfind-links = ["wheels"]\nno-index = true\n'
                "[tool.uv.sources]\ncore = { workspace = true }\n"
                f'gitdep = {{ git = "file://{gitdep.path}" }}\n'
            ),
        ),
    )
    write(
        root / "packages/app-folder/pyproject.toml",
        project_toml(
            "App",
            dependencies=[
                "core",
                "plugin[fast]",
                "fork-pkg<2; python_version < '3.12'",
                "fork-pkg>=2; python_version >= '3.12'",
            ],
            optional={"docs": ["docs-tool"]},
            groups={"test": ["helper", "pytest-thing"]},
            workspace_sources=["plugin", "helper"],
        ),
    )
    write(
        root / "packages/core/pyproject.toml",
        project_toml(
            "core",
            dependencies=["six", "gitdep"],
            groups={"dev": ["lint-tool", "helper"]},
            workspace_sources=["helper"],
            extra=BUILD,
        ),
    )
    write(root / "packages/core/src/core/__init__.py", "")
    write(
        root / "packages/plugin/pyproject.toml",
        project_toml(
            "plugin",
            optional={"fast": [f"speedup=={speedup}"], "slow": ["app"]},
            workspace_sources=["app"],
        ),
    )
    write(
        root / "libs/deep/helper/pyproject.toml",
        project_toml("helper", dependencies=["core"], extra="[tool.uv]\npackage = false\n"),
    )
    write(root / "packages/ignored/notes.txt", "not a member\n")
    uv(root, "lock")
    return root


def export_names(root: Path, member: str) -> set[tuple[str, str | None]]:
    text = uv(
        root,
        "export",
        "--frozen",
        "--package",
        member,
        "--all-extras",
        "--all-groups",
        "--format",
        "pylock.toml",
    )
    data = tomllib.loads(text)
    return {(p["name"], p.get("version")) for p in data["packages"]}


def metadata_closure(metadata: dict[str, Any], member: str) -> set[tuple[str, str | None]]:
    nodes: dict[str, Any] = metadata["resolution"]
    start = next(k for k, v in nodes.items() if v["name"] == member and v["kind"] == "package")
    roots = [start]
    roots += [x["id"] for x in nodes[start].get("optional_dependencies", [])]
    roots += [x["id"] for x in nodes[start].get("dependency_groups", [])]
    seen = set(roots)
    queue = deque(roots)
    while queue:
        for dep in nodes[queue.popleft()].get("dependencies", []):
            if dep["id"] not in seen:
                seen.add(dep["id"])
                queue.append(dep["id"])
    return {(nodes[i]["name"], nodes[i].get("version")) for i in seen}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_real_workspace(tmp_path_factory.mktemp("oracle"))


def test_members_match_uv_workspace_list(real: Path) -> None:
    workspace = load_workspace(real / "packages/core/src")
    assert sorted(m.name for m in workspace.members) == sorted(
        uv(real, "workspace", "list").split()
    )
    uv_paths = {
        Path(p).resolve() for p in uv(real, "workspace", "list", "--paths").split("\n") if p
    }
    assert {(workspace.root / m.path).resolve() for m in workspace.members} == uv_paths
    lock = read_lock(real / "uv.lock")
    assert lock.member_names == workspace.names
    assert lock.revision is not None


def test_lock_reader_on_real_output(real: Path) -> None:
    lock = read_lock(real / "uv.lock")
    kinds = {p.name: p.source.kind for p in lock.packages}
    assert kinds["core"] == "editable"
    assert kinds["helper"] == "virtual"  # `package = false`
    assert kinds["gitdep"] == "git"
    assert kinds["six"] == "registry"
    assert sorted(p.version or "" for p in lock.by_name["fork-pkg"]) == ["1.0", "2.0"]


def test_closures_match_uv_export_and_metadata(real: Path) -> None:
    workspace = load_workspace(real)
    lock = read_lock(real / "uv.lock")
    metadata = json.loads(uv(real, "workspace", "metadata", "--frozen"))
    assert sorted(m["name"] for m in metadata["members"]) == sorted(workspace.names)
    for member in workspace.members:
        ours = {(r.name, r.version) for r in locked_closure(lock, member.name)}
        assert ours == metadata_closure(metadata, member.name), member.name
        # export lists what gets installed: virtual (`package = false`) projects are not,
        # though their dependencies are
        installed = {
            r.name for r in locked_closure(lock, member.name) if r.source.kind != "virtual"
        }
        exported = {name for name, _ in export_names(real, member.name)}
        assert installed == exported, member.name
    for runtime_only in (False, True):
        bulk = locked_closures(lock, workspace.members, runtime_only=runtime_only)
        one_by_one = {
            m.name: locked_closure(lock, m.name, runtime_only=runtime_only)
            for m in workspace.members
        }
        assert bulk == one_by_one


def test_expected_closure_rules_on_real_lock(real: Path) -> None:
    lock = read_lock(real / "uv.lock")
    app = {r.name for r in locked_closure(lock, "app")}
    assert "lint-tool" not in app  # core's dev group is not installed with core
    assert "extra-dep" not in app  # speedup[more] is not requested
    assert {"helper", "pytest-thing", "docs-tool", "gitdep", "leaf"} <= app
    graph = build_graph(load_workspace(real))
    assert graph.member_closure("helper") == {"helper", "core"}


def test_lock_aware_diff_on_two_real_locks(real: Path, tmp_path: Path) -> None:
    bumped = make_real_workspace(tmp_path, speedup="1.1")
    diff = diff_locks(read_lock(real / "uv.lock"), read_lock(bumped / "uv.lock"))
    assert [(c.name, c.old, c.new, c.reached) for c in diff.upgraded] == [
        ("speedup", "1.0", "1.1", ("app", "plugin"))
    ]
    assert not diff.added
    assert not diff.removed
    assert not diff.changed
    # the two workspaces differ in their paths only: the git commit may differ, nothing else
    assert all(s.name == "gitdep" for s in diff.sources)


def test_member_folders_without_pyproject_as_uv_sees_them(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["packages/*"]))
    write(tmp_path / "packages/a/pyproject.toml", project_toml("a"))
    (tmp_path / "packages/empty").mkdir()
    assert uv(tmp_path, "workspace", "list").split() == ["a"]
    assert [m.name for m in load_workspace(tmp_path).members] == ["a"]
    write(tmp_path / "packages/stray/code.py", "")
    assert "missing a `pyproject.toml`" in uv_refuses(tmp_path)
    with pytest.raises(WorkspaceError, match="packages/stray"):
        load_workspace(tmp_path)


def test_globstar_inside_a_component_is_rejected_as_by_uv(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["packages/a**b"]))
    write(tmp_path / "packages/axb/pyproject.toml", project_toml("axb"))
    assert "recursive wildcards must form a single path component" in uv_refuses(tmp_path)
    with pytest.raises(WorkspaceError, match="recursive wildcards must form a single path"):
        load_workspace(tmp_path)


@pytest.mark.parametrize(
    "name", ["gam$(id)ma", "a\nb", "-lead", "trail.", "x y", "é", "p\u212ag", "\u017f"]
)
def test_an_invalid_member_name_is_rejected_as_by_uv(tmp_path: Path, name: str) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["packages/*"]))
    quoted = name.replace("\n", "\\n")
    write(
        tmp_path / "packages/a/pyproject.toml",
        f'[project]\nname = "{quoted}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
    )
    assert "Not a valid package or extra name" in uv_refuses(tmp_path)
    with pytest.raises(WorkspaceError, match="is not a valid package name"):
        load_workspace(tmp_path)


def test_valid_member_names_load(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["packages/*"]))
    for index, name in enumerate(["a", "A.b_c-9", "x1"]):
        write(tmp_path / f"packages/m{index}/pyproject.toml", project_toml(name))
    names = sorted(m.name for m in load_workspace(tmp_path).members)
    assert names == ["a", "a-b-c-9", "x1"]
    assert len(uv(tmp_path, "workspace", "list").split()) == 3  # uv takes them too
