"""Root test files attributed to the members they import (``_testmap``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.workspace.builders import Repo, project_toml, virtual_root_toml, write
from tta_dev.workspace import (
    TestMap,
    Workspace,
    affected_members,
    affected_since,
    build_graph,
    load_workspace,
    members_for_test,
)
from tta_dev.workspace._testmap import is_test_path, parse_imports


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """a; b depends on a; c; and ns-openai shipping ``ns.plugins.openai`` (PEP 420)."""
    root = tmp_path / "ws"
    write(root / "pyproject.toml", virtual_root_toml(["packages/*"]))
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    write(root / "packages/a/src/a/__init__.py", "def f():\n    return 1\n")
    write(
        root / "packages/b/pyproject.toml",
        project_toml("b", dependencies=["a"], workspace_sources=["a"]),
    )
    write(root / "packages/b/src/b/__init__.py", "import a\n")
    write(root / "packages/c/pyproject.toml", project_toml("c"))
    write(root / "packages/c/src/c/__init__.py", "")
    write(root / "packages/openai/pyproject.toml", project_toml("ns-openai"))
    write(root / "packages/openai/src/ns/plugins/openai/__init__.py", "")
    write(root / "tests/__init__.py", "")
    write(root / "tests/test_a.py", "import a\n\ndef test_a():\n    assert a.f() == 1\n")
    write(root / "tests/test_ab.py", "from a import f\nimport b.sub\n")
    write(root / "tests/test_openai.py", "from ns.plugins import openai\n")
    write(root / "tests/helpers.py", "VALUE = 1\n")
    write(root / "tests/test_c.py", "import c\nfrom .helpers import VALUE\n")
    write(root / "tests/test_plain.py", "import json\n")
    write(root / "tests/deep/test_c2.py", "from tests.helpers import VALUE\nimport c\n")
    return root


def affected(workspace: Workspace, *paths: str) -> tuple[set[str], bool, tuple[str, ...]]:
    result = affected_members(build_graph(workspace, None), paths)
    return set(result.names), result.all, result.why_all


def test_a_changed_test_runs_in_the_members_it_imports_not_their_dependents(root: Path) -> None:
    workspace = load_workspace(root)
    result = affected_members(build_graph(workspace, None), ["tests/test_a.py"])
    assert not result.all
    assert result.names == {"a"}  # b depends on a, but a's code did not change
    (member,) = result.affected
    assert [(r.kind, r.subject) for r in member.reasons] == [("test", "tests/test_a.py")]
    assert str(member.reasons[0]) == "changed test file tests/test_a.py"


def test_a_test_importing_two_members_selects_both(root: Path) -> None:
    assert affected(load_workspace(root), "tests/test_ab.py")[:2] == ({"a", "b"}, False)


def test_namespace_packages_map_through_from_imports(root: Path) -> None:
    assert affected(load_workspace(root), "tests/test_openai.py")[:2] == ({"ns-openai"}, False)


def test_member_code_and_its_test_together(root: Path) -> None:
    names, everything, _ = affected(
        load_workspace(root), "packages/openai/src/ns/plugins/openai/tts.py", "tests/test_openai.py"
    )
    assert (names, everything) == ({"ns-openai"}, False)


def test_a_test_importing_no_member_runs_everything(root: Path) -> None:
    names, everything, why = affected(load_workspace(root), "tests/test_plain.py")
    assert everything
    assert names == {"a", "b", "c", "ns-openai"}
    assert why == ("tests/test_plain.py: tests/test_plain.py imports no member",)


def test_a_test_loading_an_unreadable_helper_says_which(root: Path) -> None:
    write(root / "tests/broken_helper.py", "def broken(:\n")
    write(root / "tests/test_plain.py", "from tests.broken_helper import x\n")
    _, everything, why = affected(load_workspace(root), "tests/test_plain.py")
    assert everything
    assert why == (
        "tests/test_plain.py: tests/test_plain.py loads tests/broken_helper.py,"
        " which cannot be read or parsed",
    )


def test_an_unparsable_test_runs_everything(root: Path) -> None:
    write(root / "tests/test_a.py", "import a\ndef broken(:\n")
    _, everything, why = affected(load_workspace(root), "tests/test_a.py")
    assert everything
    assert "cannot be parsed" in why[0]


def test_a_helper_runs_the_tests_importing_it(root: Path) -> None:
    workspace = load_workspace(root)
    result = affected_members(build_graph(workspace, None), ["tests/helpers.py"])
    assert (result.names, result.all) == ({"c"}, False)
    (member,) = result.affected
    assert member.reasons[0].detail == "tests/deep/test_c2.py, tests/test_c.py"


def test_conftest_runs_the_tests_of_its_folder(root: Path) -> None:
    write(root / "tests/deep/conftest.py", "import pytest\n")
    assert affected(load_workspace(root), "tests/deep/conftest.py")[:2] == ({"c"}, False)
    write(root / "tests/conftest.py", "import pytest\n")
    # Every test of tests/ runs; test_plain.py imports no member, so that is everything.
    assert affected(load_workspace(root), "tests/conftest.py")[1]
    (root / "tests/test_plain.py").unlink()
    names, everything, _ = affected(load_workspace(root), "tests/conftest.py")
    assert (names, everything) == ({"a", "b", "c", "ns-openai"}, False)


def test_a_deleted_test_nothing_imports_is_ignored(root: Path) -> None:
    workspace = load_workspace(root)
    result = affected_members(build_graph(workspace, None), ["tests/test_gone.py"])
    assert (result.names, result.all, result.ignored) == (set(), False, ("tests/test_gone.py",))


def test_a_test_using_only_conftest_fixtures_goes_with_the_conftest_imports(root: Path) -> None:
    write(root / "tests/conftest.py", "import c\n")
    write(root / "tests/test_fixture.py", "def test_x(thing):\n    pass\n")
    workspace = load_workspace(root)
    assert affected(workspace, "tests/test_fixture.py")[:2] == ({"c"}, False)
    assert members_for_test(workspace, root / "tests/test_fixture.py") == {"c"}


def test_members_for_test_for_the_plugin(root: Path) -> None:
    workspace = load_workspace(root)
    test_map = TestMap(workspace)
    assert members_for_test(workspace, root / "tests/test_ab.py", test_map) == {"a", "b"}
    assert members_for_test(workspace, root / "tests/test_c.py", test_map) == {"c"}
    assert members_for_test(workspace, root / "tests/test_plain.py", test_map) is None
    assert members_for_test(workspace, root / "packages/a/tests/test_x.py") == {"a"}


def test_a_large_tree_is_unattributable(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tta_dev.workspace._testmap.MAX_FILES", 3)
    _, everything, why = affected(load_workspace(root), "tests/test_a.py")
    assert everything
    assert "more than 3 files" in why[0]


def test_head_revision_content_is_read_from_git(root: Path) -> None:
    repo = Repo(root)
    repo.commit("initial")
    write(root / "tests/test_a.py", "import c\n")
    head = repo.commit("test_a now tests c")
    write(root / "tests/test_a.py", "import json\n")  # the work tree differs from head
    result = affected_since(load_workspace(root), "HEAD~1", head)
    assert (result.names, result.all) == ({"c"}, False)
    assert affected_since(load_workspace(root), "HEAD~1").all


def test_import_parsing() -> None:
    found = parse_imports(
        "import x.y\nfrom . import sib\nfrom ..up import z\nfrom p import (q, r)\n"
        "importlib.import_module('dyn.mod')\npytest.importorskip('opt')\n",
        "tests/sub/test_m.py",
    )
    assert found.ok
    assert found.names == {
        "x.y", "tests.sub", "tests.sub.sib", "tests.up", "tests.up.z", "p", "p.q", "p.r",
        "dyn.mod", "opt",
    }  # fmt: skip
    assert not parse_imports("def (", "t.py").ok
    assert is_test_path("tests/helpers.py")
    assert is_test_path("test_x.py")
    assert not is_test_path("scripts/x.py")
    assert not is_test_path("tests/data.json")


def test_imports_of_syntax_newer_than_this_python_are_read_from_tokens() -> None:
    """A project on 3.12+ (PEP 695 generics, `type`, nested f-string quotes): a test
    file that this Python cannot parse still names what it imports (it made whole
    commits run everything in OpenHands/software-agent-sdk)."""
    text = (
        '"""Docstring: import nothing_here; from nowhere import x"""\n'
        "from __future__ import annotations\n"
        "import os, a.b as ab\n"
        "from pkg.sub import (\n    one,\n    two as deux,  # comment\n)\n"
        "from .helpers import fake\n"
        "from ... import top\n"
        "type Alias[T] = list[T]\n"
        "def first[T](items: list[T]) -> T:\n"
        "    import inner.mod\n"
        "    if items: from lazy import thing\n"
        '    return f"{items["key"]}"\n'
        "def gen():\n"
        "    yield from range(3)\n"
        "    raise ValueError('x') from None\n"
        "importlib.import_module('dyn.mod'); pytest.importorskip(\"opt\")\n"
        "from star import *\n"
    )
    found = parse_imports(text, "tests/sub/deep/test_new.py")
    assert found.ok
    assert found.names == {
        "__future__", "__future__.annotations", "os", "a.b", "pkg.sub", "pkg.sub.one",
        "pkg.sub.two", "tests.sub.deep.helpers", "tests.sub.deep.helpers.fake", "tests",
        "tests.top", "inner.mod", "lazy", "lazy.thing", "dyn.mod", "opt", "star",
    }  # fmt: skip
    assert not parse_imports("def f[T](:\n    (\n", "t.py").ok  # not even tokens


def test_tokens_and_the_parser_agree_on_every_file_of_this_repository() -> None:
    from tta_dev.workspace._testmap import _scan_imports  # pyright: ignore[reportPrivateUsage]

    root = Path(__file__).resolve().parents[3]
    files = [*root.glob("src/**/*.py"), *root.glob("tests/**/*.py"), *root.glob("*.py")]
    assert len(files) > 100
    for file in files:
        relative = file.relative_to(root).as_posix()
        parsed = parse_imports(file.read_bytes(), relative)
        assert parsed.ok, relative
        scanned = _scan_imports(file.read_bytes(), relative.split("/")[:-1])
        assert scanned == set(parsed.names), relative
