"""``tta-dev workspace replay``: ours against paths-only and all, per commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.workspace.builders import Repo, project_toml, virtual_root_toml, write
from tests.unit.workspace.conftest import make_sample
from tta_dev.cli import main
from tta_dev.workspace import WorkspaceError, load_workspace
from tta_dev.workspace._replay import replay
from tta_dev.workspace._replay_render import render_replay


def _a_and_b(path: Path) -> Repo:
    """A repository holding members a and b (b depends on a), not committed yet."""
    repo = Repo(path)
    root = repo.path
    write(root / "pyproject.toml", virtual_root_toml(["packages/*"]))
    write(root / "packages/a/pyproject.toml", project_toml("a"))
    write(root / "packages/a/src/a/__init__.py", "")
    write(
        root / "packages/b/pyproject.toml",
        project_toml("b", dependencies=["a"], workspace_sources=["a"]),
    )
    write(root / "packages/b/src/b/__init__.py", "")
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = _a_and_b(tmp_path / "ws")
    root = repo.path
    write(root / "packages/c/pyproject.toml", project_toml("c"))
    write(root / "packages/c/src/c/__init__.py", "")
    write(root / "tests/test_c.py", "import c\n")
    repo.commit("initial")
    write(root / "packages/a/src/a/x.py", "x = 1\n")
    repo.commit("a changes")
    write(root / "packages/c/src/c/x.py", "x = 1\n")
    write(root / "tests/test_c.py", "import c\n\ndef test_c():\n    pass\n")
    repo.commit("c and its root test")
    write(root / "docs/index.md", "# docs\n")
    repo.commit("docs")
    return repo


def test_replay_compares_ours_with_paths_only_and_all(repo: Repo) -> None:
    report = replay(load_workspace(repo.path), last=10)
    assert report.members == 3
    rows = [(c.subject, c.ours, c.ours_all, c.paths_only, c.paths_all) for c in report.commits]
    assert rows == [
        ("docs", (), False, (), False),
        ("c and its root test", ("c",), False, ("a", "b", "c"), True),
        ("a changes", ("a", "b"), False, ("a", "b"), False),
    ]  # the root commit has no parent to compare with
    single = report.summary(single_member=True)
    assert (single.commits, single.full_jobs, single.ours_jobs, single.paths_jobs) == (2, 6, 3, 5)
    data = json.loads(render_replay(report, "json"))
    assert data["single_member"]["ours_share"] == 0.5
    assert data["commits"][1]["saved_share"] == round(2 / 3, 4)
    markdown = render_replay(report, "markdown")
    assert "```mermaid\nxychart-beta" in markdown
    assert "| single-member commits | 2 | 50.0% | 83.3% | 100% | 0 | 1 |" in markdown


def test_since_walks_the_commits_after_rev(repo: Repo) -> None:
    report = replay(load_workspace(repo.path), since="HEAD~2")
    assert [c.subject for c in report.commits] == ["docs", "c and its root test"]


def test_bad_input_is_one_line(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(WorkspaceError, match="not in this clone"):
        replay(load_workspace(repo.path), since="nope")
    with pytest.raises(WorkspaceError, match="at least 1"):
        replay(load_workspace(repo.path), last=0)
    code = main(["workspace", "replay", "--root", str(repo.path), "--since=-x"])
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_an_empty_window_is_an_error_not_a_zero_share(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    # It printed "ours 0.0% of member jobs" beside "all 100%", measured on no commit.
    workspace = load_workspace(repo.path)
    with pytest.raises(WorkspaceError, match="nothing to replay"):
        replay(workspace, since="HEAD")
    with pytest.raises(WorkspaceError, match="nothing to replay"):
        replay(workspace, last=1, head="HEAD~3")  # the root commit alone
    assert main(["workspace", "replay", "--root", str(repo.path), "--since", "HEAD"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_cli_text(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workspace", "replay", "--root", str(repo.path), "--last", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 members, 3 commits replayed")
    assert "single-member commits (2): ours 50.0% of member jobs" in out


def test_a_members_own_test_runs_it_alone_and_paths_only_its_dependents(repo: Repo) -> None:
    write(repo.path / "packages/a/tests/test_a.py", "import a\n")
    repo.commit("a's own test")
    newest = replay(load_workspace(repo.path), last=1).commits[0]
    assert (newest.ours, newest.ours_all) == (("a",), False)
    assert (newest.paths_only, newest.paths_all) == (("a", "b"), False)


def test_single_member_share_outside_core_members(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "hub")
    root = repo.path
    write(root / "pyproject.toml", virtual_root_toml(["packages/*"]))
    write(root / "packages/core/pyproject.toml", project_toml("core"))
    write(root / "packages/core/src/core/__init__.py", "")
    for plugin in ("p1", "p2"):
        write(
            root / f"packages/{plugin}/pyproject.toml",
            project_toml(plugin, dependencies=["core"], workspace_sources=["core"]),
        )
        write(root / f"packages/{plugin}/src/{plugin}/__init__.py", "")
    repo.commit("initial")
    write(root / "packages/core/src/core/x.py", "x = 1\n")
    repo.commit("core changes")
    write(root / "packages/p1/src/p1/x.py", "x = 1\n")
    repo.commit("p1 changes")
    report = replay(load_workspace(root), last=2)
    assert report.core == ("core",)
    single, outside = report.summary(single_member=True), report.summary(outside_core=True)
    assert (single.commits, single.ours_jobs, outside.commits, outside.ours_jobs) == (2, 4, 1, 1)
    text = render_replay(report)
    assert "single-member commits (2): ours 66.7% of member jobs" in text
    assert "single-member commits, no core member (core: core) (1): ours 33.3%" in text
    data = json.loads(render_replay(report, "json"))
    assert data["core_members"] == ["core"]
    assert data["single_member_outside_core"]["ours_share"] == round(1 / 3, 4)
    assert data["single_member_outside_core"]["paths_only_share"] == round(1 / 3, 4)
    markdown = render_replay(report, "markdown")
    assert (
        "| single-member commits, no core member (core: core) | 1 | 33.3% | 33.3% | 100%"
        in markdown
    )


def test_requirements_changed_with_the_lock_reach_dependents_by_closure(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "sample")
    make_sample(repo.path)
    repo.commit("initial")
    # plugin's `slow` extra moves fork 2.0 -> 2.1, in its pyproject.toml and in uv.lock;
    # its dependent my-app uses plugin[fast] only, so my-app's locked closure is unchanged.
    for name, old, new in [
        ("packages/plugin-folder/pyproject.toml", "fork==2.0", "fork==2.1"),
        ("uv.lock", '"fork", version = "2.0"', '"fork", version = "2.1"'),
        ("uv.lock", 'name = "fork"\nversion = "2.0"', 'name = "fork"\nversion = "2.1"'),
    ]:
        path = repo.path / name
        write(path, path.read_text().replace(old, new))
    repo.commit("plugin[slow]: fork 2.1")
    newest = replay(load_workspace(repo.path), last=1).commits[0]
    assert (newest.ours, newest.ours_all) == (("plugin",), False)
    assert newest.paths_all


def test_a_shallow_clone_says_history_is_missing(repo: Repo, tmp_path: Path) -> None:
    # Past the shallow boundary a commit shows no parent; replaying it as a root commit
    # would silently shrink --last 10 to the commits the clone happens to hold.
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone))
    workspace = load_workspace(clone)
    assert [c.subject for c in replay(workspace, last=1).commits] == ["docs"]
    with pytest.raises(WorkspaceError, match=r"shallow clone.*git fetch --unshallow"):
        replay(workspace, last=10)


def test_head_must_name_a_commit(repo: Repo) -> None:
    workspace = load_workspace(repo.path)
    for head in ("HEAD^{tree}", "HEAD~1..HEAD", "nope"):
        with pytest.raises(WorkspaceError, match=r"--head .* is not a commit in this clone"):
            replay(workspace, last=2, head=head)
    assert [c.subject for c in replay(workspace, last=1, head="HEAD~1").commits] == [
        "c and its root test"
    ]


def test_a_merge_is_replayed_against_its_first_parent(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "side", "HEAD~1")
    write(repo.path / "packages/a/src/a/y.py", "y = 1\n")
    repo.commit("a on a side branch")
    repo.git("checkout", "-q", "main")
    write(repo.path / "packages/c/src/c/y.py", "y = 1\n")
    repo.commit("c on main")
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge side")
    report = replay(load_workspace(repo.path), last=2)
    # The side branch's own commit is not walked; the merge brings in a's change only.
    assert [(c.subject, c.touched, c.ours) for c in report.commits] == [
        ("merge side", ("a",), ("a", "b")),
        ("c on main", ("c",), ("c",)),
    ]


def _two_members(tmp_path: Path) -> Repo:
    repo = _a_and_b(tmp_path / "grow")
    repo.commit("initial")
    return repo


def test_each_commit_is_replayed_with_the_members_it_had(tmp_path: Path) -> None:
    """A full run at a commit tests the members of that commit, not today's."""
    repo = _two_members(tmp_path)
    root = repo.path
    write(root / "packages/b/src/b/x.py", "x = 1\n")
    repo.commit("b changes")
    write(root / "packages/c/pyproject.toml", project_toml("c"))
    write(root / "packages/c/src/c/__init__.py", "")
    write(root / "tests/test_c.py", "import c\n")
    repo.commit("c is added")
    write(root / "packages/a/src/a/x.py", "x = 1\n")
    repo.commit("a changes")
    report = replay(load_workspace(root), last=10)
    rows = [(c.subject, c.members, c.ours, c.ours_all) for c in report.commits]
    assert rows == [
        ("a changes", 3, ("a", "b"), False),
        ("c is added", 3, ("c",), False),  # its root test is attributed with c's import names
        ("b changes", 2, ("b",), False),  # c did not exist: a full run was 2 jobs
    ]
    assert report.members == 3
    assert report.summary().full_jobs == 8
    data = json.loads(render_replay(report, "json"))
    assert [c["full"] for c in data["commits"]] == [3, 3, 2]
    assert data["commits"][2]["saved_share"] == 0.5


def test_a_renamed_member_folder_is_still_that_member(tmp_path: Path) -> None:
    """Its old paths belonged to a member that is still there: not 'no member'."""
    repo = _two_members(tmp_path)
    root = repo.path
    repo.git("mv", "packages/a", "packages/a-renamed")
    repo.commit("a moves")
    (row,) = replay(load_workspace(root), last=1).commits
    assert (row.ours, row.ours_all, row.why_all) == (("a", "b"), False, ())
    assert (row.paths_only, row.paths_all) == (("a", "b"), False)
    assert row.touched == ("a",)


def test_a_commit_whose_workspace_cannot_be_read_keeps_todays(tmp_path: Path) -> None:
    repo = _two_members(tmp_path)
    root = repo.path
    good = (root / "pyproject.toml").read_text()
    write(root / "pyproject.toml", "[tool.uv.workspace\nbroken")
    write(root / "packages/a/src/a/x.py", "x = 1\n")
    repo.commit("broken root")
    write(root / "pyproject.toml", good)
    repo.commit("fixed root")
    rows = replay(load_workspace(root), last=2).commits
    assert [(c.subject, c.members) for c in rows] == [("fixed root", 2), ("broken root", 2)]
    assert all(c.ours_all for c in rows)  # the root pyproject.toml changed: everything


@pytest.mark.slow
def test_a_killed_replay_leaves_no_skeleton_folder(repo: Repo, tmp_path: Path) -> None:
    import signal

    from tests.unit._killed import killed_midway

    # Replay waits inside its first diff, after it made the skeleton folder.
    script = (
        "import time\n"
        "from tta_dev.workspace import _git\n"
        "real = _git.changed_files\n"
        "def slow(*args):\n"
        "    time.sleep(60)\n"
        "    return real(*args)\n"
        "_git.changed_files = slow\n"
        "from tta_dev.cli import main\n"
        f"raise SystemExit(main(['workspace', 'replay', '--root', {str(repo.path)!r},"
        " '--last', '3']))\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    code, err = killed_midway(["-c", script], temp, lambda: any(temp.glob("tta-replay-*")))
    assert code == 128 + signal.SIGTERM, err
    assert list(temp.iterdir()) == []
