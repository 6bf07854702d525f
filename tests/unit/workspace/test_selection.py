from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.workspace.builders import Repo, project_toml, virtual_root_toml, write
from tta_dev.workspace import load_workspace, member_for_test, members_for_test


def test_member_for_test_convention(sample: Path, tmp_path: Path) -> None:
    workspace = load_workspace(sample)

    def owner(relative: str) -> str | None:
        member = member_for_test(workspace, sample / relative)
        return member.name if member else None

    assert owner("packages/app/tests/test_x.py") == "my-app"
    assert owner("tests/core/test_x.py") == "core"
    assert owner("tests/unit/my_app/test_x.py") == "my-app"  # by name, normalised
    assert owner("tests/unit/plugin-folder/test_x.py") == "plugin"  # by folder name
    assert owner("tests/unit/other/test_x.py") is None  # virtual root: nobody
    assert owner("tests/test_core.py") is None  # a file name is not a folder
    assert member_for_test(workspace, tmp_path / "elsewhere.py") is None


def test_project_root_claims_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", project_toml("root", workspace={"members": ["lib"]}))
    write(tmp_path / "lib/pyproject.toml", project_toml("lib"))
    workspace = load_workspace(tmp_path)
    assert member_for_test(workspace, tmp_path / "tests/unit/workspace/test_x.py").name == "root"  # type: ignore[union-attr]
    assert member_for_test(workspace, tmp_path / "tests/lib/test_x.py").name == "lib"  # type: ignore[union-attr]


def test_a_project_roots_test_also_belongs_to_the_members_it_imports(tmp_path: Path) -> None:
    # The root does not depend on lib: a change to lib affects lib alone, so lib's job
    # (--for-member lib) must run the root test importing lib, or its failure escapes.
    write(tmp_path / "pyproject.toml", project_toml("root", workspace={"members": ["lib"]}))
    write(tmp_path / "lib/pyproject.toml", project_toml("lib"))
    write(tmp_path / "lib/src/lib/__init__.py", "")
    write(tmp_path / "tests/test_lib.py", "import lib\n\ndef test_lib():\n    pass\n")
    write(tmp_path / "tests/test_plain.py", "def test_plain():\n    pass\n")
    workspace = load_workspace(tmp_path)
    assert members_for_test(workspace, tmp_path / "tests/test_lib.py") == {"root", "lib"}
    assert members_for_test(workspace, tmp_path / "tests/test_plain.py") == {"root"}
    assert members_for_test(workspace, tmp_path / "tests/lib/test_x.py") == {"lib"}


# -- the pytest option, in a real pytest run on a temporary workspace ------------------


@pytest.fixture
def project(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "proj")
    root = repo.path
    write(
        root / "pyproject.toml",
        virtual_root_toml(
            ["packages/*"],
            extra="[tool.pytest.ini_options]\naddopts = ['-p', 'no:cacheprovider']\n",
        ),
    )
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    write(
        root / "packages/b/pyproject.toml",
        project_toml("b", dependencies=["a"], workspace_sources=["a"]),
    )
    write(root / "packages/c/pyproject.toml", project_toml("c"))
    for member in "abc":
        write(
            root / f"packages/{member}/tests/test_{member}.py", f"def test_{member}():\n    pass\n"
        )
    write(root / "tests/test_misc.py", "def test_misc():\n    pass\n")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "work")
    return repo


def pytest_run(
    repo: Repo, *args: str, xdist: tuple[str, ...] = ("-p", "no:xdist")
) -> subprocess.CompletedProcess[str]:
    # Only the plugins under test: every autoloaded one (hypothesis, anyio, ...) costs
    # 1.5 s of start-up a run, and this file starts pytest about 40 times.
    plugins = ["-p", "tta_dev.testing.plugin"]
    if "-n" in xdist:
        plugins += ["-p", "xdist.plugin"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", *plugins, *xdist, *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )


def ran(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        line.split("::")[1].split()[0] for line in result.stdout.splitlines() if " PASSED" in line
    }


@pytest.mark.slow
def test_runs_tests_of_affected_members_and_unclaimed_tests(project: Repo) -> None:
    write(project.path / "packages/a/src/a.py", "x = 1\n")
    result = pytest_run(project, "--affected-since", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result) == {"test_a", "test_b", "test_misc"}
    assert "--affected-since main: affected members: a, b; 1 tests deselected" in result.stdout


@pytest.mark.slow
def test_a_root_test_runs_when_it_imports_an_affected_member(project: Repo) -> None:
    # `if False` keeps the member uninstalled here; the import analysis still sees it.
    body = "if False:\n    import {0}\n\ndef test_root_{0}():\n    pass\n"
    for member in "ac":
        write(project.path / f"packages/{member}/src/{member}/__init__.py", "")
        write(project.path / f"tests/test_root_{member}.py", body.format(member))
    project.commit("root tests")
    write(project.path / "packages/c/src/c/__init__.py", "x = 1\n")
    result = pytest_run(project, "--affected-since", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result) == {"test_c", "test_root_c", "test_misc"}


@pytest.mark.slow
def test_for_member_runs_a_members_tests_wherever_they_live(project: Repo) -> None:
    write(project.path / "packages/c/src/c/__init__.py", "")
    write(
        project.path / "tests/test_root_c.py",
        "if False:\n    import c\n\ndef test_root_c():\n    pass\n",
    )
    result = pytest_run(project, "--for-member", "c")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result) == {"test_c", "test_root_c", "test_misc"}  # test_misc imports no member
    # The other member jobs of a matrix leave test_misc to the one job that runs it.
    skipping = pytest_run(project, "--for-member", "c", "--skip-unclaimed")
    assert skipping.returncode == 0, skipping.stdout + skipping.stderr
    assert ran(skipping) == {"test_c", "test_root_c"}
    alone = pytest_run(project, "--skip-unclaimed")
    assert alone.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--skip-unclaimed goes with --for-member NAME" in alone.stderr
    unknown = pytest_run(project, "--for-member", "nope")
    assert unknown.returncode == pytest.ExitCode.USAGE_ERROR
    assert "'nope' is not a workspace member" in unknown.stderr
    # A matrix entry holding several members (past GitHub's 256 jobs): "a,c".
    grouped = pytest_run(project, "--for-member", "a,c", "--skip-unclaimed")
    assert grouped.returncode == 0, grouped.stdout + grouped.stderr
    assert ran(grouped) == {"test_a", "test_c", "test_root_c"}
    unknown_in_group = pytest_run(project, "--for-member", "c,nope")
    assert unknown_in_group.returncode == pytest.ExitCode.USAGE_ERROR
    assert "'nope' is not a workspace member" in unknown_in_group.stderr


@pytest.mark.slow
def test_everything_runs_when_the_change_cannot_be_attributed(project: Repo) -> None:
    write(project.path / "Makefile", "all:\n")
    result = pytest_run(project, "--affected-since", "main")
    assert result.returncode == 0
    assert ran(result) == {"test_a", "test_b", "test_c", "test_misc"}
    assert "running every test (Makefile belongs to no member" in result.stdout
    unknown = pytest_run(project, "--affected-since", "no-such-ref")
    assert ran(unknown) == {"test_a", "test_b", "test_c", "test_misc"}


@pytest.mark.slow
def test_under_xdist_the_note_still_says_what_ran(project: Repo) -> None:
    # The workers collect and select; without the note a mistyped ref ran everything
    # without a word (the project's unit session and test-affected task use -n auto).
    unknown = pytest_run(project, "--affected-since", "no-such-ref", xdist=("-n", "2"))
    assert unknown.returncode == 0, unknown.stdout + unknown.stderr
    assert ran(unknown) == {"test_a", "test_b", "test_c", "test_misc"}
    assert "--affected-since no-such-ref: running every test (base 'no-such-ref'" in unknown.stdout
    write(project.path / "packages/a/src/a.py", "x = 1\n")
    some = pytest_run(project, "--affected-since", "main", xdist=("-n", "2"))
    assert ran(some) == {"test_a", "test_b", "test_misc"}
    assert some.stdout.count("affected members: a, b; 1 tests deselected") == 1, some.stdout


@pytest.mark.slow
@pytest.mark.parametrize("xdist", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_nothing_affected_is_success(project: Repo, xdist: tuple[str, ...]) -> None:
    """A docs-only change runs nothing, test_misc (imports no member) included: CI's
    matrix is empty then, and `invoke workspace.test-affected` must select the same."""
    write(project.path / "docs/index.md", "# docs\n")
    result = pytest_run(project, "--affected-since", "HEAD", xdist=xdist)
    assert result.returncode == 0, result.stdout
    assert ran(result) == set()
    if xdist[0] == "-p":
        assert "4 deselected" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("xdist", [("-p", "no:xdist"), ("-n", "2")], ids=["serial", "xdist"])
def test_no_tests_for_other_reasons_is_still_no_tests(
    project: Repo, xdist: tuple[str, ...]
) -> None:
    """Only the plugin's own deselection turns "no tests ran" into success."""
    write(project.path / "packages/a/src/a.py", "x = 1\n")
    by_keyword = pytest_run(project, "--affected-since", "main", "-k", "nothing", xdist=xdist)
    assert by_keyword.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, by_keyword.stdout
    if xdist[0] == "-n":
        return  # the same path under xdist; one slow run is enough
    write(project.path / "Makefile", "all:\n")  # everything affected, nothing deselected
    empty = pytest_run(project, "--affected-since", "main", "-k", "nothing", xdist=xdist)
    assert empty.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, empty.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--for-member", "nosuch"), "--for-member: 'nosuch' is not a workspace member"),
        (("--skip-unclaimed",), "--skip-unclaimed goes with --for-member NAME"),
    ],
)
def test_bad_selection_options_are_one_line_under_xdist(
    project: Repo, args: tuple[str, ...], message: str
) -> None:
    # The workers collect: a usage error raised there was an INTERNALERROR traceback.
    result = pytest_run(project, *args, xdist=("-n", "2"))
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout
    assert message in result.stderr
    assert "INTERNALERROR" not in result.stdout + result.stderr


@pytest.mark.slow
def test_bad_workspace_is_a_usage_error(project: Repo) -> None:
    write(project.path / "packages/stray/x.py", "")
    result = pytest_run(project, "--affected-since", "main")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--affected-since: workspace member folder packages/stray" in result.stderr


# -- the unit nox session keeps xdist with --affected-since -----------------------------


def load_noxfile(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """This project's noxfile, its sessions registered apart from nox's own registry."""
    import nox.registry

    monkeypatch.setattr(nox.registry, "_REGISTRY", {})
    path = Path(__file__).resolve().parents[3] / "noxfile.py"
    spec = importlib.util.spec_from_file_location("noxfile_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeSession:
    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs
        self.runs: list[tuple[str, ...]] = []

    def run(self, *args: str, **kwargs: Any) -> None:
        self.runs.append(args)


@pytest.mark.parametrize(
    ("posargs", "xdist"),
    [
        ([], ["-n", "auto"]),
        (["--affected-since", "main"], ["-n", "auto"]),
        (["-k", "drift", "-x"], ["-n", "auto"]),
        (["-n", "2", "--affected-since", "main"], []),
        (["-n0"], []),
        (["--numprocesses=4"], []),
        (["--numprocesses", "4"], []),
        (["-p", "no:xdist", "--affected-since", "main"], []),
        (["-pno:xdist"], []),
    ],
)
def test_unit_session_keeps_xdist_unless_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, posargs: list[str], xdist: list[str]
) -> None:
    noxfile = load_noxfile(monkeypatch)
    # The session decorator installs through tta_dev.nox; the coverage data it erases
    # before a run lives in ROOT, which must not be this checkout's (its own run's data).
    monkeypatch.setattr("tta_dev.nox.install_locked", lambda *a, **k: None)
    monkeypatch.setattr(noxfile, "ROOT", tmp_path)
    session = FakeSession(posargs)
    noxfile.unit(session)
    (command,) = session.runs
    assert list(command[command.index("not integration") + 1 :]) == [*xdist, *posargs]


def test_outside_a_workspace_the_error_names_no_cli_option(tmp_path: Path) -> None:
    from tta_dev.testing.plugin import _workspace_error  # pyright: ignore[reportPrivateUsage]
    from tta_dev.workspace import WorkspaceError, load_workspace

    with pytest.raises(WorkspaceError) as info:
        load_workspace(tmp_path)
    assert "pass --root" in str(info.value)  # the CLI's hint ...
    message = _workspace_error("--for-member", info.value)
    assert message.startswith("--for-member: no pyproject.toml")
    assert "--root" not in message  # ... which pytest does not have
    assert "run pytest inside the workspace" in message
