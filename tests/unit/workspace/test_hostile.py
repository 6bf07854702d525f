"""Hostile input on every workspace entry point: exit 2 with one bounded line, or success.

One corpus per class of issue 16 ("Hostile input, tried on every entry point"): nested
input, wrong types in valid files, files that are not regular files, patterns that
backtrack or recurse, input that made the cost grow too fast, parity with uv, and
messages that echoed unbounded input. Each case failed before (a RecursionError,
AttributeError or TypeError traceback, a hang, or a line of 100-200 KB).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.unit.workspace.builders import lock_toml, member_package, project_toml, write
from tests.unit.workspace.test_scripts import load
from tta_dev.cli import main
from tta_dev.testing import plugin
from tta_dev.workspace import WorkspaceError, load_workspace, parse_lock
from tta_dev.workspace._globs import glob_match

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")
MAX_LINE = 600  # tta_dev._safeio.MESSAGE_LIMIT plus the "tta-dev: error: " prefix

ROOT = '[project]\nname = "root"\nversion = "1"\n'
LOCK = lock_toml([member_package("root", ".")], members=["root"])


def fails(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``tta-dev ARGS``: exit 2, nothing on stdout, one bounded line on stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own errors exit from inside main
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err[:300])
    assert not out
    assert err.startswith("tta-dev")
    assert ": error: " in err
    assert err.count("\n") == 1, err[:300]
    assert len(err) <= MAX_LINE, err[:300]
    return err


def succeeds(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err[:300]
    return out


def project(tmp_path: Path, pyproject: str, lock: str | None = LOCK) -> Path:
    root = tmp_path / "ws"
    write(root / "pyproject.toml", pyproject)
    if lock is not None:
        write(root / "uv.lock", lock)
    return root


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- nested input ------------------------------------------------------------------------

NESTED_PYPROJECTS = {
    "array 900": ROOT + "[tool.x]\na = " + nested_array(900) + "\n",
    "array 100,000": ROOT + "[tool.x]\na = " + nested_array(100_000) + "\n",
    "unclosed 100,000": ROOT + "[tool.x]\na = " + "[" * 100_000 + "\n",
    "inline tables 2,000": ROOT + "[tool.x]\na = " + "{b = " * 2000 + "1" + "}" * 2000 + "\n",
    "dotted key 100,000": ROOT + "[tool.x]\n" + ".".join(["k"] * 100_000) + " = 1\n",
    "header 5,000": ROOT + "[" + ".".join(["k"] * 5000) + "]\n",
    "affected config": ROOT + "[tool.tta-dev.affected]\nall = " + nested_array(5000) + "\n",
    "dependency group": ROOT + "[dependency-groups]\na = " + nested_array(3000) + "\n",
}


@pytest.mark.parametrize("text", NESTED_PYPROJECTS.values(), ids=NESTED_PYPROJECTS.keys())
@pytest.mark.parametrize("command", ["members", "graph"])
def test_nested_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, command: str
) -> None:
    root = project(tmp_path, text)
    err = fails(capsys, "workspace", command, "--root", str(root))
    assert "nested deeper than 80" in err or "dotted key of more than 80" in err


@pytest.mark.parametrize("depth", [900, 100_000])
def test_nested_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int) -> None:
    lock = LOCK + "\n[extra]\na = " + nested_array(depth) + "\n"
    root = project(tmp_path, ROOT, lock)
    lock_path = str(root / "uv.lock")
    assert "nested deeper than 80" in fails(capsys, "workspace", "graph", "--root", str(root))
    fails(capsys, "workspace", "lock-diff", lock_path, lock_path, "--root", str(root))
    fails(
        capsys, "workspace", "affected", "--root", str(root), "--files", "uv.lock",
        "--old-lock", lock_path,
    )  # fmt: skip
    with pytest.raises(WorkspaceError, match="nested deeper"):
        parse_lock(lock)


def test_long_include_group_chains_are_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3,000 groups each including the next (recursed 3,000 deep), then 40 levels that
    # each include the next twice (2**40 requirements if expanded naively).
    groups = [f'g{i} = [{{include-group = "g{i + 1}"}}]' for i in range(3000)]
    groups.append('g3000 = ["last"]')
    groups += [
        f'h{i} = [{{include-group = "h{i + 1}"}}, {{include-group = "h{i + 1}"}}]'
        for i in range(40)
    ]
    groups.append('h40 = ["leaf"]')
    root = project(tmp_path, ROOT + "[dependency-groups]\n" + "\n".join(groups) + "\n")
    member = load_workspace(root).member("root")
    assert len(member.groups) == 3042
    assert [d.name for d in member.dependencies if d.via == "g0"] == ["last"]
    assert [d.name for d in member.dependencies if d.via == "h0"] == ["leaf"]
    assert succeeds(capsys, "workspace", "members", "--root", str(root))


def test_include_group_chains_that_expand_quadratically_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups = [f'g{i} = ["r{i}", {{include-group = "g{i + 1}"}}]' for i in range(3000)]
    groups.append('g3000 = ["last"]')
    root = project(tmp_path, ROOT + "[dependency-groups]\n" + "\n".join(groups) + "\n")
    err = fails(capsys, "workspace", "members", "--root", str(root))
    assert "expand to more than 100,000 requirements" in err


def test_include_group_cycle_far_down_is_named(tmp_path: Path) -> None:
    groups = [f'g{i} = [{{include-group = "g{i + 1}"}}]' for i in range(2000)]
    groups.append('g2000 = [{include-group = "g1500"}]')
    root = project(tmp_path, ROOT + "[dependency-groups]\n" + "\n".join(groups) + "\n")
    with pytest.raises(WorkspaceError, match="includes itself") as info:
        load_workspace(root)
    assert len(str(info.value)) <= 500


def test_affected_since_option_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    """The pytest plugin: a nested pyproject is a pytest usage error, not a traceback."""
    root = project(tmp_path, NESTED_PYPROJECTS["array 100,000"])
    config = SimpleNamespace(getoption={"affected_since": "main"}.get, rootpath=root, stash={})
    with pytest.raises(pytest.UsageError, match=r"^--affected-since: .*nested deeper") as info:
        plugin._check_selection_options(cast(Any, config))  # pyright: ignore[reportPrivateUsage]
    assert "\n" not in str(info.value)


# --- wrong types in valid files ------------------------------------------------------

WRONG_PYPROJECTS = [
    "tool = 1\n" + ROOT,
    ROOT + "[tool]\nuv = 1\n",
    ROOT + "[tool.uv]\nworkspace = 3\n",
    ROOT + '[tool.uv.workspace]\nmembers = "x"\n',
    ROOT + "[tool.uv.workspace]\nmembers = [1]\n",
    ROOT + "[tool.uv.workspace]\nmembers = [[]]\n",
    ROOT + "[tool.uv.workspace]\nexclude = {}\n",
    "project = 1\n",
    "[project]\nname = 1\n",
    "[project]\nname = ['x']\n",
    '[project]\nname = "p"\nversion = 1\n',
    ROOT + 'dependencies = "x"\n',
    ROOT + "dependencies = [1]\n",
    ROOT + "dependencies = [{}]\n",
    ROOT + "optional-dependencies = 1\n",
    ROOT + "[project.optional-dependencies]\nx = 1\n",
    ROOT + "[project.optional-dependencies]\nx = [1]\n",
    "dependency-groups = 1\n" + ROOT,
    ROOT + "[dependency-groups]\na = [1]\n",
    ROOT + "[dependency-groups]\na = [{include-group = 1}]\n",
    ROOT + "[dependency-groups]\na = [{include-group = 'b'}]\n",
    ROOT + "[dependency-groups]\na = [[1]]\n",
    ROOT + "[tool.uv]\ndev-dependencies = 1\n",
    ROOT + "[tool.uv]\nsources = 1\n",
    ROOT + '[tool.uv.sources]\na = "x"\n',
    ROOT + "[tool.uv.sources]\na = [1]\n",
    ROOT + "[tool.uv.sources]\na = 1\n",
    ROOT + "[tool.tta-dev]\naffected = 1\n",
    ROOT + "[tool.tta-dev.affected]\nall = [1]\n",
    ROOT + '[tool.tta-dev.affected]\ndefaults = "yes"\n',
    ROOT + '[tool.tta-dev.affected]\nnone = ["[z-a]"]\n',
    ROOT + "[tool.tta-dev]\n" + "affected = " + "1" * 5000 + "\n",
]


@pytest.mark.parametrize("text", WRONG_PYPROJECTS)
def test_wrong_types_in_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    root = project(tmp_path, text)
    fails(capsys, "workspace", "graph", "--root", str(root))


PACKAGE = '[[package]]\nname = "root"\nversion = "1"\nsource = { editable = "." }\n'
WRONG_LOCKS = [
    'version = "1"\n',
    "version = 1.0\n",
    "version = true\n",
    "version = 1\nrevision = 'x'\n",
    "version = 1\nrequires-python = 1\n",
    "version = 1\npackage = 1\n",
    "version = 1\npackage = [1]\n",
    "version = 1\nmanifest = 1\n",
    "version = 1\n[manifest]\nmembers = 1\n",
    "version = 1\n[manifest]\nmembers = [1]\n",
    "version = 1\n[[package]]\nname = 1\n",
    "version = 1\n[[package]]\nname = 'a'\nsource = 1\n",
    "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 1 }\n",
    "version = 1\n[[package]]\nname = 'a'\nsource = { registry = 'x', git = 'y' }\n",
    "version = 1\n[[package]]\nname = 'a'\nversion = 1\nsource = { virtual = '.' }\n",
    "version = 1\n" + PACKAGE + "dependencies = 1\n",
    "version = 1\n" + PACKAGE + "dependencies = [1]\n",
    "version = 1\n" + PACKAGE + "dependencies = [{ name = 1 }]\n",
    "version = 1\n" + PACKAGE + "dependencies = [{ name = 'a', extra = 1 }]\n",
    "version = 1\n" + PACKAGE + "dependencies = [{ name = 'a', version = 1 }]\n",
    "version = 1\n" + PACKAGE + "dependencies = [{ name = 'a', marker = [] }]\n",
    "version = 1\n" + PACKAGE + "optional-dependencies = 1\n",
    "version = 1\n" + PACKAGE + "optional-dependencies = { x = 1 }\n",
    "version = 1\n" + PACKAGE + "dev-dependencies = { x = [1] }\n",
    "version = 1\n" + PACKAGE + "resolution-markers = 1\n",
]


@pytest.mark.parametrize("lock", WRONG_LOCKS)
def test_wrong_types_in_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str], lock: str) -> None:
    root = project(tmp_path, ROOT, lock)
    fails(capsys, "workspace", "graph", "--root", str(root))
    lock_path = str(root / "uv.lock")
    good = write(tmp_path / "good.lock", LOCK)
    fails(capsys, "workspace", "lock-diff", str(good), lock_path, "--root", str(root))


# --- files that are not regular files ------------------------------------------------


@posix_only
@pytest.mark.parametrize("where", ["pyproject.toml", "uv.lock", "packages/a/pyproject.toml"])
def test_fifo_in_the_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    root = project(tmp_path, ROOT + '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    (root / where).unlink()
    os.mkfifo(root / where)
    err = fails(capsys, "workspace", "graph", "--root", str(root / "packages/a"))
    assert f"{where} is not a regular file (a FIFO)" in err


def test_folder_where_the_lock_belongs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, ROOT, lock=None)
    (root / "uv.lock").mkdir()
    err = fails(capsys, "workspace", "graph", "--root", str(root))
    assert "uv.lock is not a regular file (a folder)" in err


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "link to /dev/zero"])
def test_lock_arguments_that_are_not_regular_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    root = project(tmp_path, ROOT)
    special = tmp_path / "special"
    if kind == "fifo":
        os.mkfifo(special)
    elif kind == "/dev/zero":
        special = Path("/dev/zero")
    else:
        special.symlink_to("/dev/zero")
    lock = str(root / "uv.lock")
    for args in (
        ("lock-diff", str(special), lock),
        ("lock-diff", lock, str(special)),
        ("affected", "--files", "uv.lock", "--old-lock", str(special)),
    ):
        err = fails(capsys, "workspace", *args, "--root", str(root))
        assert "is not a regular file" in err


def test_oversized_lock_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, ROOT)
    big = tmp_path / "big.lock"
    with big.open("wb") as file:
        file.truncate(40 * 1024 * 1024)  # sparse: no 40 MB written
    err = fails(capsys, "workspace", "lock-diff", str(big), str(root / "uv.lock"))
    assert "is larger than 33,554,432 bytes" in err


# --- patterns ------------------------------------------------------------------------


def _remove_chain(base: Path) -> None:
    """Remove a ``d/d/...`` chain from the bottom up: ``shutil.rmtree`` recurses (3.11)."""
    cwd = Path.cwd()
    try:
        os.chdir(base)
        depth = 0
        while os.path.isdir("d"):
            os.chdir("d")
            depth += 1
        for _ in range(depth):
            os.chdir("..")
            shutil.rmtree("d")  # shallow by now: everything below is gone
    finally:
        os.chdir(cwd)


@pytest.fixture
def deep_chain() -> Iterator[Callable[[Path, int], Path]]:
    """Makes ``base/d/d/.../d``, ``depth`` folders deep (relative steps, so no path is too
    long to make), and removes it after the test (pytest's own cleanup would recurse)."""
    made: list[Path] = []

    def make(base: Path, depth: int) -> Path:
        base.mkdir(parents=True, exist_ok=True)
        made.append(base)
        cwd = Path.cwd()
        try:
            os.chdir(base)
            for _ in range(depth):
                os.mkdir("d")
                os.chdir("d")
        finally:
            os.chdir(cwd)
        return base

    yield make
    for base in made:
        _remove_chain(base)


@pytest.mark.parametrize("pattern", ["**/**/**/**/**/*", "**", "d/**/d", "*/*/*/*/*/*/*/*"])
def test_member_globs_over_a_deep_folder_chain(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    deep_chain: Callable[[Path, int], Path],
    pattern: str,
) -> None:
    root = project(tmp_path, ROOT + f'[tool.uv.workspace]\nmembers = ["{pattern}"]\n')
    deep_chain(root, 1100)  # empty folders: no members, as for uv
    assert "root" in succeeds(capsys, "workspace", "members", "--root", str(root))


def test_member_glob_finds_a_deep_member(
    tmp_path: Path, deep_chain: Callable[[Path, int], Path]
) -> None:
    root = project(tmp_path, ROOT + '[tool.uv.workspace]\nmembers = ["**/**/**/**/**/m"]\n')
    deep_chain(root, 1100)
    deep = "/".join(["d"] * 60) + "/m"
    write(root / deep / "pyproject.toml", project_toml("deep"))
    workspace = load_workspace(root)
    assert workspace.member("deep").path == deep


BACKTRACKING = "*a" * 12 + "*b"


def test_backtracking_patterns_match_in_linear_time() -> None:
    assert not glob_match(BACKTRACKING, "a" * 100_000)
    assert glob_match(BACKTRACKING, "a" * 100_000 + "b")
    assert not glob_match("**/" + BACKTRACKING, "x/" * 1000 + "a" * 10_000)
    assert glob_match("**/" + "*a" * 30, "x/y/" + "a" * 30)
    assert not glob_match("**/" + "*a" * 30, "/".join(["a"] * 30))  # `*` stays in a folder
    with pytest.raises(WorkspaceError, match="single path component"):  # as uv: `***`
        glob_match("**" + "*a" * 30, "a")


def test_backtracking_exclude_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(
        tmp_path,
        ROOT
        + '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        + f'exclude = ["packages/{BACKTRACKING}"]\n'
        + f'[tool.tta-dev.affected]\nall = ["{BACKTRACKING}"]\n',
    )
    (root / "packages" / ("a" * 250)).mkdir(parents=True)
    assert "root" in succeeds(capsys, "workspace", "members", "--root", str(root))
    out = succeeds(capsys, "workspace", "affected", "--root", str(root), "--files", "a" * 50_000)
    assert "root" in out


@pytest.mark.parametrize("pattern", ["packages/[a", "lib[", "a[]", "[!]"])
def test_unclosed_class_is_invalid_as_for_uv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    root = project(tmp_path, ROOT + f'[tool.uv.workspace]\nmembers = ["{pattern}"]\n')
    assert "is never closed" in fails(capsys, "workspace", "members", "--root", str(root))


# --- cost ----------------------------------------------------------------------------


def test_owner_of_a_very_deep_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, ROOT + '[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    path = "packages/a/" + "d/" * 60_000 + "x.py"
    workspace = load_workspace(root)
    owner = workspace.owner_of(path)
    assert owner is not None
    assert owner.name == "a"
    out = succeeds(capsys, "workspace", "affected", "--root", str(root), "--files", path)
    assert "a" in out


def test_too_many_member_patterns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patterns = ", ".join(f'"p{i}/*"' for i in range(10_001))
    root = project(tmp_path, ROOT + f"[tool.uv.workspace]\nmembers = [{patterns}]\n")
    err = fails(capsys, "workspace", "members", "--root", str(root))
    assert "10,001 member and exclude patterns (at most 10,000)" in err


# --- parity with uv ------------------------------------------------------------------


def test_bom_is_read_as_uv_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_bytes(b"\xef\xbb\xbf" + ROOT.encode())
    (root / "uv.lock").write_bytes(b"\xef\xbb\xbf" + LOCK.encode())
    assert "root" in succeeds(capsys, "workspace", "graph", "--root", str(root))
    lock = str(root / "uv.lock")
    assert "no changes" in succeeds(capsys, "workspace", "lock-diff", lock, lock)


@pytest.mark.parametrize("file", ["pyproject.toml", "uv.lock"])
def test_lone_carriage_return_is_invalid_as_for_uv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str
) -> None:
    root = project(tmp_path, ROOT)
    text = (root / file).read_text(encoding="utf-8")
    (root / file).write_bytes(text.replace("\n", "\r", 1).encode())
    err = fails(capsys, "workspace", "graph", "--root", str(root))
    assert "carriage return alone at line 1" in err


def test_string_source_is_invalid_as_for_uv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, ROOT + '[tool.uv.sources]\na = "x"\n')
    err = fails(capsys, "workspace", "members", "--root", str(root))
    assert "[tool.uv.sources] 'a' must be a table" in err


# --- messages ------------------------------------------------------------------------

HUGE = "x" * 200_000


@pytest.mark.parametrize(
    "args",
    [
        ("lock-diff", HUGE, HUGE),
        ("lock-diff", "uv.lock", "a\nb" + HUGE),
        ("affected", "--files", "/" + HUGE),
        ("affected", "--base", "-" + HUGE),
        ("affected", "--base", "main", "--format", HUGE),
        ("members", "--format", HUGE),
    ],
)
def test_no_message_echoes_unbounded_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    root = project(tmp_path, ROOT)
    fails(capsys, "workspace", *args, "--root", str(root))


@pytest.mark.parametrize(
    "text",
    [
        ROOT + f'dependencies = ["{HUGE} !!"]\n',
        ROOT + f'[tool.uv.workspace]\nmembers = ["../{HUGE}"]\n',
        ROOT + f'[tool.uv.workspace]\nmembers = ["{HUGE}"]\n',
        ROOT + f'[tool.uv.workspace]\nmembers = ["[z-a]{HUGE}"]\n',
        ROOT + f'[dependency-groups]\na = [{{include-group = "{HUGE}"}}]\n',
        ROOT + f'[dependency-groups]\na = [{{x = "{HUGE}"}}]\n',
        ROOT + f'[tool.uv.sources]\n"{HUGE}" = 1\n',
        ROOT + f'[tool.tta-dev.affected]\n"{HUGE}" = 1\n',
    ],
)
def test_no_message_echoes_unbounded_file_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    fails(capsys, "workspace", "members", "--root", str(project(tmp_path, text)))


def test_scripts_give_the_same_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, NESTED_PYPROJECTS["array 100,000"])
    for script in ("workspace_members", "workspace_graph"):
        assert load(script).main(["--root", str(root)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "nested deeper than 80" in err
    with pytest.raises(SystemExit) as info:
        load("workspace_affected").main(["--root", str(root)])
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
