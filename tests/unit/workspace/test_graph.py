from __future__ import annotations

from pathlib import Path

from tests.unit.workspace.builders import (
    lock_toml,
    member_package,
    package,
    project_toml,
    virtual_root_toml,
    write,
)
from tta_dev.workspace import (
    MemberEdge,
    build_graph,
    conflict_group_gate,
    load_workspace,
    locked_closure,
    locked_closures,
    parse_lock,
    read_lock,
)


def names(refs: frozenset[object]) -> set[str]:
    return {str(r) for r in refs}


def test_member_edges_of_every_kind(sample: Path) -> None:
    graph = build_graph(load_workspace(sample))
    assert set(graph.dependencies_of("my-app")) == {
        MemberEdge("my-app", "core", "runtime"),
        MemberEdge("my-app", "plugin", "runtime", None, ("fast",)),
        MemberEdge("my-app", "helper", "group", "test"),
    }
    assert set(graph.dependents_of("core")) == {
        MemberEdge("my-app", "core", "runtime"),
        MemberEdge("helper", "core", "runtime"),
    }
    assert graph.dependencies_of("nobody") == ()


def test_member_closure_follows_own_groups_not_others(sample: Path) -> None:
    graph = build_graph(load_workspace(sample))
    # core's dev group holds helper; helper depends on core: a cycle, and fine
    assert graph.member_closure("core") == {"core", "helper"}
    assert graph.member_closure("core", runtime_only=True) == {"core"}
    assert graph.member_closure("helper") == {"helper", "core"}  # not core's dev group
    assert graph.member_closure("my-app") == {"my-app", "core", "plugin", "helper"}
    assert graph.member_closure("my-app", runtime_only=True) == {"my-app", "core", "plugin"}
    assert graph.dependents_closure("helper") == {"helper", "core", "my-app"}
    assert graph.dependents_closure("helper", runtime_only=True) == {"helper"}


def test_requested_extras_are_followed_further_down(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        project_toml(
            "root",
            dependencies=["a[x]"],
            workspace_sources=["a", "b", "c"],
            workspace={"members": ["a", "b", "c"]},
        ),
    )
    write(
        tmp_path / "a/pyproject.toml",
        project_toml("a", optional={"x": ["b"], "y": ["c"]}, workspace_sources=["b", "c"]),
    )
    write(
        tmp_path / "b/pyproject.toml",
        project_toml(
            "b", optional={"self": ["b[more]"], "more": ["c"]}, workspace_sources=["b", "c"]
        ),
    )
    write(tmp_path / "c/pyproject.toml", project_toml("c"))
    graph = build_graph(load_workspace(tmp_path))
    assert graph.member_closure("root", runtime_only=True) == {"root", "a", "b"}
    assert graph.member_closure("b") == {"b", "c"}  # its own extras, self-reference included


def test_dependency_with_another_source_is_no_member_edge(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        project_toml(
            "root",
            dependencies=["a"],
            other_sources={"a": {"git": "https://x/a"}},
            workspace={"members": ["a"]},
        ),
    )
    write(tmp_path / "a/pyproject.toml", project_toml("a"))
    assert build_graph(load_workspace(tmp_path)).edges == ()


def test_locked_closure_is_what_uv_installs(sample: Path) -> None:
    lock = read_lock(sample / "uv.lock")
    app = names(locked_closure(lock, "my-app"))
    assert app == {
        "my-app 0.1.0", "core 0.1.0", "six 1.0", "plugin", "speedup 1.0", "requests 2.0",
        "urllib3 1.0", "docs-tool 1.0", "helper 0.1.0", "pytest-thing 1.0", "fork 1.0",
    }  # fmt: skip
    assert "lint-tool 1.0" not in app  # core's dev group is core's business
    assert "fork 2.0" not in app  # plugin[slow] is not requested
    runtime = names(locked_closure(lock, "my-app", runtime_only=True))
    assert runtime == {
        "my-app 0.1.0",
        "core 0.1.0",
        "six 1.0",
        "plugin",
        "speedup 1.0",
        "requests 2.0",
        "urllib3 1.0",
    }
    assert names(locked_closure(lock, "plugin")) == {"plugin", "speedup 1.0", "fork 2.0"}
    assert names(locked_closure(lock, "core")) == {
        "core 0.1.0",
        "six 1.0",
        "helper 0.1.0",
        "lint-tool 1.0",
    }
    assert locked_closure(lock, "not-a-member") == frozenset()
    closures = locked_closures(lock, load_workspace(sample).members)
    assert set(closures) == {"my-app", "core", "plugin", "helper"}
    assert locked_closures(lock, ["core"])["core"] == locked_closure(lock, "core")


def test_locked_closure_extras_cycles_and_self_extras() -> None:
    lock = parse_lock(
        lock_toml(
            [
                member_package("m", ".", dependencies=[{"name": "a", "extra": ["x"]}]),
                package(
                    "a",
                    dependencies=[{"name": "b"}],
                    optional={
                        "x": [{"name": "a", "extra": ["y"]}],
                        "y": [{"name": "c"}],
                        "z": [{"name": "d"}],
                    },
                ),
                package("b", dependencies=[{"name": "a"}]),
                package("c"),
                package("d"),
            ]
        )
    )
    assert names(locked_closure(lock, "m")) == {"m 0.1.0", "a 1.0", "b 1.0", "c 1.0"}


def test_conflict_group_gate() -> None:
    assert conflict_group_gate("extra == 'group-11-pydantic-ai-dev'") == "pydantic-ai"
    assert conflict_group_gate("extra == 'group-4-root-my-group'") == "root"
    assert conflict_group_gate("extra == 'extra-4-root-x'") is None
    assert conflict_group_gate("extra == 'group-40-root-dev'") is None
    assert conflict_group_gate("sys_platform == 'linux'") is None
    assert conflict_group_gate(None) is None


def test_edges_gated_by_a_conflicting_group_count_for_its_owner_only() -> None:
    gate = "extra == 'group-4-root-dev'"
    lock = parse_lock(
        lock_toml(
            [
                member_package("root", ".", groups={"dev": [{"name": "mcp"}]}),
                member_package("cli", "cli", dependencies=[{"name": "mcp"}]),
                package("mcp", dependencies=[{"name": "sse", "marker": gate}, {"name": "anyio"}]),
                package("sse"),
                package("anyio"),
            ],
            members=["root", "cli"],
        )
    )
    assert names(locked_closure(lock, "root")) == {"root 0.1.0", "mcp 1.0", "sse 1.0", "anyio 1.0"}
    assert names(locked_closure(lock, "cli")) == {"cli 0.1.0", "mcp 1.0", "anyio 1.0"}
    assert names(locked_closure(lock, "root", runtime_only=True)) == {"root 0.1.0"}
    for runtime_only in (False, True):
        bulk = locked_closures(lock, ["root", "cli"], runtime_only=runtime_only)
        assert bulk == {
            m: locked_closure(lock, m, runtime_only=runtime_only) for m in ("root", "cli")
        }


def test_bulk_closures_equal_one_by_one(sample: Path) -> None:
    lock = read_lock(sample / "uv.lock")
    members = [*sorted(lock.member_names), "not-locked"]
    for runtime_only in (False, True):
        bulk = locked_closures(lock, members, runtime_only=runtime_only)
        assert bulk == {m: locked_closure(lock, m, runtime_only=runtime_only) for m in members}


def test_lock_adds_member_edges_for_dynamic_dependencies(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", virtual_root_toml(["a", "b"]))
    write(
        tmp_path / "a/pyproject.toml",
        '[project]\nname = "a"\nversion = "1"\ndynamic = ["dependencies"]\n',
    )
    write(tmp_path / "b/pyproject.toml", project_toml("b"))
    workspace = load_workspace(tmp_path)
    assert build_graph(workspace).edges == ()
    lock = parse_lock(
        lock_toml(
            [
                member_package(
                    "a",
                    "a",
                    dependencies=[
                        {"name": "b", "extra": ["y", "x"]},
                        {"name": "a", "extra": ["z"]},
                    ],
                    optional={"z": [{"name": "b"}, {"name": "six"}]},
                    groups={"dev": [{"name": "b"}]},
                ),
                member_package("b", "b"),
                package("six"),
            ],
            members=["a", "b"],
        )
    )
    assert set(build_graph(workspace, lock).edges) == {
        MemberEdge("a", "b", "runtime", None, ("x", "y")),
        MemberEdge("a", "a", "runtime", None, ("z",)),
        MemberEdge("a", "b", "optional", "z"),
        MemberEdge("a", "b", "group", "dev"),
    }
