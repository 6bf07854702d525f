from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.workspace.builders import lock_toml, member_package, package, write
from tta_dev.workspace import (
    LockDependency,
    LockSource,
    WorkspaceError,
    parse_lock,
    read_lock,
)


def test_sample_lock(sample: Path) -> None:
    lock = read_lock(sample / "uv.lock")
    assert lock.version == 1
    assert lock.revision == 3
    assert lock.requires_python == ">=3.11"
    assert lock.member_names == {"my-app", "core", "plugin", "helper"}
    assert [p.version for p in lock.by_name["fork"]] == ["1.0", "2.0"]
    plugin = lock.member_entries("plugin")[0]
    assert plugin.version is None
    assert plugin.source == LockSource("editable", "packages/plugin-folder")
    assert [d.name for d in plugin.extra_dependencies("fast")] == ["speedup"]
    assert plugin.extra_dependencies("nope") == ()
    app = lock.member_entries("my-app")[0]
    assert app.dependencies[1] == LockDependency("plugin", extras=("fast",))
    assert dict(app.dependency_groups)["test"][0].name == "helper"


@pytest.mark.parametrize("revision", [None, 1, 2, 3, 5])
def test_any_revision_of_version_1(revision: int | None) -> None:
    assert parse_lock(lock_toml([package("a")], revision=revision)).revision == revision


def test_lock_version_2_is_a_clear_error() -> None:
    with pytest.raises(WorkspaceError) as info:
        parse_lock(lock_toml([package("a")], version=2))
    assert "lock version 2 is not supported" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("revision = 1\n", "no `version`"),
        ('version = 1\nrevision = "x"\n', "`revision` must be an integer"),
        ("version = 1\n[[package]]\nversion = '1'\n", "has no `name`"),
        ("version = 1\n[[package]]\nname = 'a'\n", "no `source` table"),
        ("version = 1\n[[package]]\nname = 'a'\nsource = { weird = 'x' }\n", "is not one of"),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x', git = 'y' }\n",
            "is not one of",
        ),
        ("version = 1\n[manifest]\nmembers = 'a'\n", "must be a list of strings"),
        ("version = 1\npackage = 3\n", "must be a list of tables"),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x' }\ndependencies = [{ version = '1' }]\n",
            "has no `name`",
        ),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x' }\ndependencies = [{ name = 'b', extra = 'x' }]\n",
            "must be a list",
        ),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x' }\nresolution-markers = 'x'\n",
            "must be a list",
        ),
        ("version = [1\n", "invalid TOML"),
        ("version = true\n", "lock version True is not supported"),
        ("version = 1.0\n", "lock version 1.0 is not supported"),
        ("version = 1\nrevision = true\n", "`revision` must be an integer"),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x' }\n"
            "dependencies = [{ name = 'b', extra = [{ x = 1 }] }]\n",
            "`extra` of 'b' must be a list of strings",
        ),
        (
            "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x' }\n"
            "resolution-markers = [1]\n",
            "`resolution-markers` must be a list of strings",
        ),
    ],
)
def test_malformed_locks(text: str, message: str) -> None:
    with pytest.raises(WorkspaceError, match=message):
        parse_lock(text)


def test_missing_lock_says_run_uv_lock(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="run `uv lock`"):
        read_lock(tmp_path / "uv.lock")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {"registry": "https://PyPI.org/simple/"},
            LockSource("registry", "https://pypi.org/simple"),
        ),
        ({"registry": "wheels/"}, LockSource("registry", "wheels")),
        (
            {"git": "https://github.com/o/r.git?rev=main#0123abc"},
            LockSource("git", "https://github.com/o/r#0123abc"),
        ),
        (
            {"git": "https://github.com/o/r?subdirectory=pkg&tag=v1#0123abc"},
            LockSource("git", "https://github.com/o/r?subdirectory=pkg#0123abc"),
        ),
        ({"git": "https://github.com/o/r"}, LockSource("git", "https://github.com/o/r")),
        (
            {"url": "HTTPS://files.example/a-1.0.tar.gz"},
            LockSource("url", "https://files.example/a-1.0.tar.gz"),
        ),
        ({"path": "./wheels/a.whl"}, LockSource("path", "wheels/a.whl")),
        ({"directory": "libs\\a/"}, LockSource("directory", "libs/a")),
        ({"editable": "."}, LockSource("editable", ".")),
        ({"virtual": "./"}, LockSource("virtual", ".")),
    ],
)
def test_sources_are_normalised(source: dict[str, str], expected: LockSource) -> None:
    lock = parse_lock(lock_toml([package("a", source=source)]))
    assert lock.packages[0].source == expected


def test_ambiguous_edges_resolve_by_version_and_source() -> None:
    lock = parse_lock(
        lock_toml(
            [
                package("a", "1.0"),
                package("a", "1.0", {"registry": "https://other.example/simple"}),
                package("a", "2.0"),
            ]
        )
    )
    assert [p.version for p in lock.resolve(LockDependency("a", "2.0"))] == ["2.0"]
    other = LockSource("registry", "https://other.example/simple")
    assert [p.source for p in lock.resolve(LockDependency("a", "1.0", other))] == [other]
    assert len(lock.resolve(LockDependency("a"))) == 3  # uv never writes this; be safe


def test_edge_to_an_unlocked_package_is_an_error() -> None:
    lock = parse_lock(lock_toml([package("a", dependencies=[{"name": "ghost", "version": "1"}])]))
    with pytest.raises(WorkspaceError, match="ghost 1, which it does not lock"):
        lock.resolve(lock.packages[0].dependencies[0])


def test_single_project_lock_member_is_the_root() -> None:
    lock = parse_lock(lock_toml([package("solo", "0.1", {"virtual": "."}), package("x")]))
    assert lock.member_names == {"solo"}
    assert lock.member_entries("x") == ()


def test_lock_names_are_normalised(tmp_path: Path) -> None:
    text = lock_toml(
        [
            member_package("My_Pkg", "."),
            package("Zope.Interface", dependencies=[{"name": "Foo_Bar"}]),
            package("foo-bar"),
        ],
        members=["My_Pkg"],
    )
    lock = read_lock(write(tmp_path / "uv.lock", text))
    assert lock.member_names == {"my-pkg"}
    assert set(lock.by_name) == {"my-pkg", "zope-interface", "foo-bar"}
    assert lock.by_name["zope-interface"][0].dependencies[0].name == "foo-bar"
