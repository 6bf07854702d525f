from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.workspace.builders import project_toml, virtual_root_toml, write
from tta_dev.workspace import (
    DeclaredDependency,
    WorkspaceError,
    find_workspace_root,
    load_workspace,
)


def test_virtual_root_members_sorted_with_normalised_names(sample: Path) -> None:
    workspace = load_workspace(sample)
    assert workspace.virtual
    assert [(m.name, m.path) for m in workspace.members] == [
        ("core", "packages/core"),
        ("helper", "libs/nested/helper"),
        ("my-app", "packages/app"),
        ("plugin", "packages/plugin-folder"),
    ]
    assert workspace.member("My.App").path == "packages/app"
    assert workspace.member("plugin").version is None


def test_member_dependencies_extras_groups_and_sources(sample: Path) -> None:
    app = load_workspace(sample).member("my-app")
    assert DeclaredDependency("plugin", ("fast",), "runtime") in app.dependencies
    assert DeclaredDependency("docs-tool", (), "optional", "docs") in app.dependencies
    assert DeclaredDependency("helper", (), "group", "test") in app.dependencies
    assert app.extras == ("docs",)
    assert app.groups == ("test",)
    assert app.workspace_sources == {"core", "plugin", "helper"}


def test_unknown_member_name_is_an_error(sample: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace member named 'nope'"):
        load_workspace(sample).member("nope")


@pytest.mark.parametrize(
    "start", [".", "packages/app", "packages/app/src/my_app", "packages/app/pyproject.toml"]
)
def test_root_found_from_anywhere_inside(sample: Path, start: str) -> None:
    assert find_workspace_root(sample / start) == sample.resolve()


def test_excluded_project_is_its_own_root(sample: Path) -> None:
    write(sample / "packages/skip/pyproject.toml", project_toml("skip"))
    assert find_workspace_root(sample / "packages/skip") == (sample / "packages/skip").resolve()
    assert "skip" not in load_workspace(sample).names


def test_project_not_matched_by_members_is_its_own_root(sample: Path) -> None:
    write(sample / "tools/x/pyproject.toml", project_toml("x"))
    assert find_workspace_root(sample / "tools/x") == (sample / "tools/x").resolve()


def test_non_project_pyproject_is_skipped_on_the_way_up(sample: Path) -> None:
    write(sample / "packages/app/sub/pyproject.toml", "[tool.ruff]\nline-length = 90\n")
    assert find_workspace_root(sample / "packages/app/sub") == sample.resolve()


def test_single_project_is_its_own_workspace(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", project_toml("Solo", dependencies=["x"]))
    workspace = load_workspace(tmp_path)
    assert not workspace.virtual
    assert [(m.name, m.path) for m in workspace.members] == [("solo", ".")]


def test_project_root_with_members_and_workspace_not_at_repo_root(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "python"
    write(
        root / "pyproject.toml",
        project_toml(
            "root-app",
            dependencies=["lib"],
            workspace_sources=["lib"],
            workspace={"members": ["lib"]},
        ),
    )
    write(root / "lib/pyproject.toml", project_toml("lib"))
    workspace = load_workspace(root / "lib")
    assert workspace.root == root.resolve()
    assert [(m.name, m.path) for m in workspace.members] == [("lib", "lib"), ("root-app", ".")]


def test_empty_matched_folder_is_skipped_as_uv_does(sample: Path) -> None:
    (sample / "packages/empty/__pycache__").mkdir(parents=True)
    write(sample / "packages/empty/__pycache__/x.pyc", "")
    assert "empty" not in {m.path for m in load_workspace(sample).members}


def test_matched_folder_without_pyproject_is_an_error(sample: Path) -> None:
    write(sample / "packages/stray/code.py", "")
    with pytest.raises(WorkspaceError) as info:
        load_workspace(sample)
    message = str(info.value)
    assert "packages/stray" in message
    assert "`packages/*`" in message
    assert "exclude" in message
    assert "\n" not in message


def test_literal_member_that_is_missing_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["lib"]))
    with pytest.raises(WorkspaceError, match="`lib` is not a folder"):
        load_workspace(tmp_path)


@pytest.mark.parametrize(
    "pattern",
    ["../elsewhere", "pkgs/../../outside", "pkgs/*/../../../outside", "./pkgs/a/../..", "/abs"],
)
def test_member_pattern_outside_root_is_an_error(tmp_path: Path, pattern: str) -> None:
    root = tmp_path / "ws"
    write(root / "pyproject.toml", virtual_root_toml([pattern]))
    write(root / "pkgs/a/pyproject.toml", project_toml("a"))
    write(tmp_path / "outside/pyproject.toml", project_toml("outside"))
    with pytest.raises(WorkspaceError, match="leaves the workspace root") as info:
        load_workspace(root)
    assert "\n" not in str(info.value)


def test_member_folder_linked_from_outside_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root / "pyproject.toml", virtual_root_toml(["pkgs/*"]))
    write(tmp_path / "outside/pyproject.toml", project_toml("outside"))
    (root / "pkgs").mkdir()
    (root / "pkgs/link").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(WorkspaceError, match=r"pkgs/link .* is outside the workspace root"):
        load_workspace(root)


def test_member_folder_linked_from_inside_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["pkgs/*"]))
    write(tmp_path / "lib/a/pyproject.toml", project_toml("a"))
    (tmp_path / "pkgs").mkdir()
    (tmp_path / "pkgs/a").symlink_to(tmp_path / "lib/a", target_is_directory=True)
    assert [m.path for m in load_workspace(tmp_path).members] == ["pkgs/a"]


def test_member_without_project_table_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["a"]))
    write(tmp_path / "a/pyproject.toml", "[tool.ruff]\n")
    with pytest.raises(WorkspaceError, match=r"a/pyproject.toml .* has no \[project\]"):
        load_workspace(tmp_path)


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["a"]))
    write(tmp_path / "a/pyproject.toml", '[project]\nname = "a\n')
    with pytest.raises(WorkspaceError, match=r"a/pyproject.toml: invalid TOML"):
        load_workspace(tmp_path)


def test_duplicate_member_names_are_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["*"]))
    write(tmp_path / "a/pyproject.toml", project_toml("same"))
    write(tmp_path / "b/pyproject.toml", project_toml("Same"))
    with pytest.raises(WorkspaceError, match="two workspace members are named 'same'"):
        load_workspace(tmp_path)


def test_no_project_anywhere(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"no pyproject\.toml"):
        find_workspace_root(tmp_path)
    with pytest.raises(WorkspaceError, match="does not exist"):
        find_workspace_root(tmp_path / "missing")


def test_bad_requirement_and_bad_types(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", project_toml("a", dependencies=["not a requirement !"]))
    with pytest.raises(WorkspaceError, match="invalid requirement 'not a requirement !'"):
        load_workspace(tmp_path)
    write(tmp_path / "pyproject.toml", '[project]\nname = "a"\ndependencies = "x"\n')
    with pytest.raises(WorkspaceError, match="`dependencies` must be a list of strings"):
        load_workspace(tmp_path)
    write(tmp_path / "pyproject.toml", "[project]\nversion = '1'\n")
    with pytest.raises(WorkspaceError, match="has no `name`"):
        load_workspace(tmp_path)
    write(tmp_path / "pyproject.toml", "project = 3\n")
    with pytest.raises(WorkspaceError, match="`project` must be a table"):
        load_workspace(tmp_path)


def test_dependency_groups_include_and_legacy_dev(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        project_toml(
            "a",
            groups={"Test": ["x", {"include-group": "lint"}], "lint": ["y"]},
            extra='[tool.uv]\ndev-dependencies = ["z"]\n',
        ),
    )
    member = load_workspace(tmp_path).member("a")
    groups = {(d.via, d.name) for d in member.dependencies if d.kind == "group"}
    assert groups == {("test", "x"), ("test", "y"), ("lint", "y"), ("dev", "z")}


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}, "includes itself"),
        ({"a": [{"include-group": "missing"}]}, "names no dependency group"),
        ({"a": [3]}, "use requirement strings"),
    ],
)
def test_bad_dependency_groups(tmp_path: Path, groups: dict[str, object], message: str) -> None:
    write(tmp_path / "pyproject.toml", project_toml("p", groups=groups))  # type: ignore[arg-type]
    with pytest.raises(WorkspaceError, match=message):
        load_workspace(tmp_path)


def test_dependency_group_that_is_not_a_list(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "p"\n[dependency-groups]\na = "x"\n')
    with pytest.raises(WorkspaceError, match="dependency group `a` must be a list"):
        load_workspace(tmp_path)


def test_root_sources_apply_to_members_unless_overridden(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        virtual_root_toml(
            ["*"],
            extra='[tool.uv.sources]\nb = { workspace = true }\nc = { git = "https://x/c" }\n',
        ),
    )
    write(tmp_path / "a/pyproject.toml", project_toml("a", dependencies=["b", "c"]))
    write(
        tmp_path / "d/pyproject.toml",
        project_toml("d", dependencies=["b"], other_sources={"b": {"path": "../elsewhere"}}),
    )
    write(tmp_path / "b/pyproject.toml", project_toml("b"))
    workspace = load_workspace(tmp_path)
    assert workspace.member("a").workspace_sources == {"b"}
    assert workspace.member("a").other_sources == {"c"}
    assert workspace.member("d").other_sources == {"b", "c"}


def test_unicode_and_odd_folder_names(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["pkgs/*"]))
    odd = "dé jà 'q' $(x)"
    write(tmp_path / "pkgs" / odd / "pyproject.toml", project_toml("odd"))
    workspace = load_workspace(tmp_path)
    assert workspace.member("odd").path == f"pkgs/{odd}"


def test_owner_is_the_deepest_member(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml", project_toml("root", workspace={"members": ["a", "a/inner"]})
    )
    write(tmp_path / "a/pyproject.toml", project_toml("a"))
    write(tmp_path / "a/inner/pyproject.toml", project_toml("inner"))
    workspace = load_workspace(tmp_path)
    owner = workspace.owner_of
    assert owner("a/inner/x.py").name == "inner"  # type: ignore[union-attr]
    assert owner("a/x.py").name == "a"  # type: ignore[union-attr]
    assert owner("a/innerish/x.py").name == "a"  # type: ignore[union-attr]
    assert owner("tools/x.py").name == "root"  # type: ignore[union-attr]
    assert owner("../outside.py") is None


def test_symlinked_start_resolves(sample: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    os.symlink(sample, link)
    assert find_workspace_root(link / "packages/app") == sample.resolve()


@pytest.mark.parametrize(
    "value",
    ["core", "Plugin_X[Fast, cli]", " a [ b ] ", "a[]", "a[ ]", "a[b,b]", "a.b-c", "a[x]>=1",
     'x; python_version<"3"', "x @ https://e/x.whl", "a-", "-a", "a[b c]", "a[b,]", "a b"],
)  # fmt: skip
def test_requirement_fast_path_agrees_with_packaging(value: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from tta_dev.workspace._model import _requirement_parts

    try:
        parsed = Requirement(value)
    except InvalidRequirement:
        with pytest.raises(InvalidRequirement):
            _requirement_parts(value)
        return
    extras = tuple(sorted({canonicalize_name(e) for e in parsed.extras}))
    assert _requirement_parts(value) == (canonicalize_name(parsed.name), extras)
