from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.workspace.builders import Repo, lock_toml, package, write
from tests.unit.workspace.conftest import make_sample, sample_lock_packages
from tta_dev.workspace import (
    AffectedResult,
    LockChange,
    Reason,
    WorkspaceError,
    affected_members,
    affected_since,
    build_graph,
    diff_locks,
    load_workspace,
    parse_lock,
    paths_in_workspace,
)

MEMBERS = ["my-app", "core", "plugin", "helper"]


def reasons(result: AffectedResult) -> dict[str, list[str]]:
    return {m.name: [str(r) for r in m.reasons] for m in result.affected}


def affected(root: Path, *paths: str, **kwargs: object) -> AffectedResult:
    return affected_members(build_graph(load_workspace(root)), paths, **kwargs)  # type: ignore[arg-type]


def test_changed_file_affects_owner_and_its_dependents(sample: Path) -> None:
    result = affected(sample, "libs/nested/helper/src/x.py")
    assert not result.all
    assert reasons(result) == {
        "core": ["depends on member helper"],  # through core's own dev group
        "helper": ["changed file libs/nested/helper/src/x.py"],
        "my-app": ["depends on member helper"],
    }
    runtime = affected(sample, "libs/nested/helper/src/x.py", runtime_only=True)
    assert runtime.names == {"helper"}


def test_leaf_change_and_name_differs_from_folder(sample: Path) -> None:
    result = affected(sample, "packages/plugin-folder/plugin/__init__.py")
    assert result.names == {"plugin", "my-app"}
    assert result.affected[0].path == "packages/app"


def test_own_tests_and_docs_of_a_member_do_not_reach_its_dependents(sample: Path) -> None:
    # core ships src/core; helper and my-app depend on it, and import only what it ships.
    for path, kind in [
        ("packages/core/tests/test_x.py", "tests"),
        ("packages/core/tests/data/cassette.yaml", "tests"),
        ("packages/core/conftest.py", "tests"),
        ("packages/core/README.md", "docs"),
        ("packages/core/docs/usage.rst", "docs"),
    ]:
        result = affected(sample, path)
        assert reasons(result) == {
            "core": [f"changed file {path} (its own {kind}: dependents unaffected)"]
        }, path
    # Shipped, or not a test or doc file: the dependents run.
    for path in (
        "packages/core/src/core/tests/test_x.py",
        "packages/core/src/core/prompt.md",
        "packages/core/tox.ini",
    ):
        assert affected(sample, path).names == {"core", "helper", "my-app"}, path
    # helper ships no package we can find: its layout is unknown, so its dependents run.
    helper = affected(sample, "libs/nested/helper/tests/test_x.py")
    assert helper.names == {"helper", "core", "my-app"}
    # One shipped file among own tests: the dependents run.
    both = affected(sample, "packages/core/tests/test_x.py", "packages/core/src/core/x.py")
    assert both.names == {"core", "helper", "my-app"}


def test_member_mapping_other_files_into_its_wheel_has_no_own_files(sample: Path) -> None:
    pyproject = sample / "packages/core/pyproject.toml"
    write(
        pyproject,
        pyproject.read_text()
        + '[tool.hatch.build.targets.wheel.force-include]\n"tests/data" = "core/data"\n',
    )
    result = affected(sample, "packages/core/tests/data/cassette.yaml")
    assert result.names == {"core", "helper", "my-app"}


def test_rules_defaults_and_ignored_files(sample: Path) -> None:
    result = affected(sample, "README.md", "docs/index.md", "../elsewhere/x.py")
    assert result.affected == ()
    assert result.ignored == ("../elsewhere/x.py", "README.md", "docs/index.md")
    everything = affected(sample, ".github/workflows/ci.yml", "packages/core/x.py")
    assert everything.all
    assert everything.names == set(MEMBERS)
    assert everything.why_all == (
        ".github/workflows/ci.yml matches `.github/workflows/**` (default rule: all)",
    )
    core = next(m for m in everything.affected if m.name == "core")
    assert core.reasons[0] == Reason("all", everything.why_all[0])
    assert Reason("file", "packages/core/x.py") in core.reasons


def test_what_github_and_its_bots_read_affects_no_member(sample: Path) -> None:
    quiet = (
        ".github/pull_request_template.md",
        ".github/skills/release/SKILL.md",
        ".github/ISSUE_TEMPLATE/bug.yml",
        ".github/dependabot.yml",
        ".github/renovate.json5",
        "renovate.json",
    )
    result = affected(sample, *quiet)
    assert (result.affected, result.ignored) == ((), tuple(sorted(quiet)))
    # What CI runs, in Markdown too, and any other file of .github: everything.
    for path, pattern in [
        (".github/workflows/triage.md", ".github/workflows/**"),
        (".github/actions/setup/README.md", ".github/actions/**"),
        (".github/component_owners.yml", ".github/**"),
    ]:
        assert affected(sample, path).why_all == (
            f"{path} matches `{pattern}` (default rule: all)",
        ), path


def test_unclaimed_root_file_affects_everything_with_that_reason(sample: Path) -> None:
    result = affected(sample, "Makefile")
    assert result.all
    assert result.why_all == ("Makefile belongs to no member and matches no rule",)


def test_custom_rules_come_first(sample: Path) -> None:
    text = (sample / "pyproject.toml").read_text()
    text += '[tool.tta-dev.affected]\nall = ["Makefile"]\nnone = ["docs/**", "scripts/*.sh"]\ndefaults = false\n'
    write(sample / "pyproject.toml", text)
    assert affected(sample, "Makefile").all
    assert affected(sample, "scripts/x.sh").affected == ()
    assert affected(sample, ".github/ci.yml").why_all == (
        ".github/ci.yml belongs to no member and matches no rule",
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[tool.tta-dev.affected]\nsome = ["x"]\n', "unknown key `some`"),
        ("[tool.tta-dev.affected]\ndefaults = 1\n", "must be true or false"),
        ('[tool.tta-dev.affected]\nall = "x"\n', "must be a list of strings"),
        ('[tool.tta-dev]\naffected = "x"\n', "must be a table"),
    ],
)
def test_bad_rules(sample: Path, section: str, message: str) -> None:
    write(sample / "pyproject.toml", (sample / "pyproject.toml").read_text() + section)
    with pytest.raises(WorkspaceError, match=message):
        load_workspace(sample)


def test_lock_change_marks_only_members_whose_closure_changed(sample: Path) -> None:
    old = parse_lock(lock_toml(sample_lock_packages(), members=MEMBERS))
    new = parse_lock(lock_toml(sample_lock_packages(requests="2.1"), members=MEMBERS))
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert reasons(result) == {"my-app": ["lock change in requests: 2.0 → 2.1"]}


def _with_root_group(root_tool: str, lint: str = "1.0") -> str:
    """The sample lock plus what a virtual root's `[dependency-groups] dev` locks."""
    text = lock_toml(
        [
            *sample_lock_packages(),
            package("root-tool", root_tool, dependencies=[{"name": "root-dep"}]),
            package("root-dep", "1.0"),
            package("root-lint", lint),
        ],
        members=MEMBERS,
    )
    group = (
        '\n[manifest.dependency-groups]\ndev = [\n    { name = "root-lint", marker ='
        ' "python_full_version >= \'3.11\'" },\n    { name = "root-tool", extras = ["x"],'
        ' specifier = ">=1" },\n]\n'
    )
    head, _, rest = text.partition("\n[[package]]")
    return head + group + "\n[[package]]" + rest


def test_root_dependency_groups_affect_every_member(sample: Path) -> None:
    """A virtual root's groups are in no member's closure, yet every test runs with them:
    a change there (here a package only they reach) is a change for every member."""
    old = parse_lock(_with_root_group("1.0"))
    assert [(g, [d.name for d in deps]) for g, deps in old.manifest_groups] == [
        ("dev", ["root-lint", "root-tool"])
    ]
    result = affected(
        sample, "uv.lock", lock_change=LockChange(old, parse_lock(_with_root_group("2.0")))
    )
    why = "lock change in root-tool: 1.0 → 2.0 (root dependency groups: every member's tests run with them)"
    assert reasons(result) == {name: [why] for name in MEMBERS}
    assert not result.all
    lint = affected(
        sample,
        "uv.lock",
        lock_change=LockChange(old, parse_lock(_with_root_group("1.0", lint="1.1"))),
    )
    assert set(lint.names) == set(MEMBERS)
    runtime = affected(
        sample,
        "uv.lock",
        lock_change=LockChange(old, parse_lock(_with_root_group("2.0"))),
        runtime_only=True,
    )
    assert runtime.affected == ()  # dependency groups are not runtime
    upgrade = diff_locks(old, parse_lock(_with_root_group("2.0"))).upgraded
    assert [(u.name, u.reached) for u in upgrade] == [("root-tool", tuple(sorted(MEMBERS)))]


def test_root_group_requirement_the_lock_leaves_out_is_no_error(sample: Path) -> None:
    """uv records a virtual root's group requirements as written, but locks nothing for
    one whose marker requires-python rules out (`tomli; python_version < '3.11'` under
    >=3.11, as real `uv lock` writes it): a valid lock, read without an error."""

    def unlocked(text: str) -> str:
        return text.replace(
            "dev = [\n",
            'dev = [\n    { name = "tomli", marker = "python_full_version < \'3.11\'" },\n',
        )

    old, new = (
        parse_lock(unlocked(_with_root_group("1.0"))),
        parse_lock(unlocked(_with_root_group("2.0"))),
    )
    assert "tomli" in {d.name for _g, deps in old.manifest_groups for d in deps}
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert set(result.names) == set(MEMBERS)
    upgrade = diff_locks(old, new).upgraded
    assert [(u.name, u.reached) for u in upgrade] == [("root-tool", tuple(sorted(MEMBERS)))]


def test_unlocked_root_group_requirement_is_a_workspace_error() -> None:
    text = _with_root_group("1.0").replace('name = "root-lint", marker', 'nom = "x", marker')
    with pytest.raises(
        WorkspaceError, match=r"dependency-groups 'dev': a dependency in `dev` has no `name`"
    ):
        parse_lock(text)


def test_member_requirements_changed_with_the_lock_reach_dependents_by_closure(
    sample: Path,
) -> None:
    # plugin's `slow` extra moves fork 2.0 -> 2.1; my-app uses plugin[fast] only.
    text = lock_toml(sample_lock_packages(), members=MEMBERS)
    bumped = text.replace('"fork", version = "2.0"', '"fork", version = "2.1"').replace(
        'name = "fork"\nversion = "2.0"', 'name = "fork"\nversion = "2.1"'
    )
    assert bumped.count("2.1") == 2
    manifest = "packages/plugin-folder/pyproject.toml"
    before = (sample / manifest).read_text()
    after = before.replace("fork==2.0", "fork==2.1")
    change = LockChange(parse_lock(text), parse_lock(bumped), manifests={manifest: (before, after)})
    result = affected(sample, "uv.lock", manifest, lock_change=change)
    assert reasons(result) == {
        "plugin": [
            f"changed file {manifest} (only what uv.lock records: dependents by their locked closures)",
            "lock change in fork: 2.0 → 2.1",
        ]
    }
    # Anything else in the manifest, an unknown end, or no lock change: dependents run.
    scripts = after + '[project.scripts]\nplugin = "plugin:main"\n'
    for lock_change in (
        LockChange(change.old, change.new, manifests={manifest: (before, scripts)}),
        LockChange(change.old, change.new, manifests={manifest: (None, after)}),
        LockChange(change.old, change.new),
    ):
        result = affected(sample, "uv.lock", manifest, lock_change=lock_change)
        assert result.names == {"plugin", "my-app"}
    assert affected(sample, manifest).names == {"plugin", "my-app"}


def test_registry_url_spelling_is_no_change(sample: Path) -> None:
    old = parse_lock(lock_toml(sample_lock_packages(), members=MEMBERS))
    new = parse_lock(
        lock_toml(sample_lock_packages(six_source="https://PYPI.org/simple/"), members=MEMBERS)
    )
    assert affected(sample, "uv.lock", lock_change=LockChange(old, new)).affected == ()
    moved = parse_lock(
        lock_toml(sample_lock_packages(six_source="https://mirror.example/simple"), members=MEMBERS)
    )
    result = affected(sample, "uv.lock", lock_change=LockChange(old, moved))
    assert result.names == {"core", "helper", "my-app"}
    assert reasons(result)["core"] == [
        "lock change in six: 1.0: source registry https://pypi.org/simple → registry https://mirror.example/simple"
    ]


def test_lock_change_without_old_lock_affects_everything(sample: Path) -> None:
    new = parse_lock((sample / "uv.lock").read_text())
    result = affected(
        sample, "uv.lock", lock_change=LockChange(None, new, "did not exist at the base")
    )
    assert result.all
    assert result.why_all == ("uv.lock changed and did not exist at the base",)
    assert affected(sample, "uv.lock").why_all == (
        "uv.lock changed and its old version is unknown",
    )


def test_member_missing_from_one_lock(sample: Path) -> None:
    full = sample_lock_packages()
    without_helper = [p for p in full if p["name"] != "helper"]
    for p in without_helper:  # nothing may point at helper any more
        p["groups"] = {}
    old = parse_lock(lock_toml(without_helper, members=["my-app", "core", "plugin"]))
    new = parse_lock(lock_toml(full, members=MEMBERS))
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert reasons(result)["helper"] == ["lock change in helper: not in the old uv.lock"]
    back = affected(sample, "uv.lock", lock_change=LockChange(new, old))
    assert reasons(back)["helper"] == ["lock change in helper: not in the new uv.lock"]


def test_paths_in_workspace(sample: Path, tmp_path: Path) -> None:
    workspace = load_workspace(sample)
    assert paths_in_workspace(
        workspace, ["a.py", "", "b/./c.py", str(sample / "d.py")], sample
    ) == (
        "a.py",
        "b/c.py",
        "d.py",
    )
    nested = paths_in_workspace(workspace, ["ws/x.py", "other/y.py"], tmp_path)
    assert nested == ("x.py", "../other/y.py")
    with pytest.raises(WorkspaceError, match="outside the repository"):
        paths_in_workspace(workspace, ["../../etc/passwd"], sample)
    with pytest.raises(WorkspaceError, match="outside the repository"):
        paths_in_workspace(workspace, ["/etc/passwd"], sample)


# -- git ---------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repository = Repo(tmp_path / "repo")
    make_sample(repository.path)
    repository.commit("initial")
    return repository


def test_affected_since_a_branch(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    write(repo.path / "packages/core/src/core/new.py", "x = 1\n")
    repo.commit("core change")
    workspace = load_workspace(repo.path)
    result = affected_since(workspace, "main", "HEAD")
    assert result.names == {"core", "helper", "my-app"}
    assert result.base == repo.git("rev-parse", "main")
    assert result.head == repo.git("rev-parse", "HEAD")
    # the work tree: uncommitted and untracked files count too
    write(repo.path / "packages/plugin-folder/x.py", "")
    assert affected_since(workspace, "main").names == {"core", "helper", "my-app", "plugin"}
    assert affected_since(workspace, "main", "HEAD").names == {"core", "helper", "my-app"}


def test_lock_aware_through_git(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "bump")
    make_sample(repo.path, requests="2.1")
    repo.commit("bump requests")
    result = affected_since(load_workspace(repo.path), "main", "bump")
    assert {m.name: [str(r) for r in m.reasons] for m in result.affected} == {
        "my-app": [
            "changed file packages/app/pyproject.toml (only what uv.lock records:"
            " dependents by their locked closures)",
            "lock change in requests: 2.0 → 2.1",
        ],
    }
    # the same in the work tree (head None reads uv.lock and pyproject.toml from disk)
    repo.git("checkout", "-q", "main")
    make_sample(repo.path, requests="2.2")
    result = affected_since(load_workspace(repo.path), "main")
    assert result.names == {"my-app"}
    assert "only what uv.lock records" in str(result.affected[0].reasons[0])


def test_lock_added_deleted_or_unreadable_at_base(repo: Repo) -> None:
    workspace = load_workspace(repo.path)
    (repo.path / "uv.lock").unlink()
    assert affected_since(workspace, "main").why_all == ("uv.lock changed and was deleted",)
    repo.commit("no lock")
    make_sample(repo.path)
    result = affected_since(workspace, "HEAD")
    assert result.why_all == ("uv.lock changed and did not exist at the base",)
    write(repo.path / "uv.lock", "version = 2\n")
    repo.commit("bad lock")
    make_sample(repo.path)
    result = affected_since(workspace, "HEAD")
    assert result.all
    assert "its base version is unreadable" in result.why_all[0]
    write(repo.path / "uv.lock", "version = [\n")
    with pytest.raises(WorkspaceError, match="invalid TOML"):
        affected_since(workspace, "HEAD")


def test_unknown_base_or_head_affects_everything(repo: Repo) -> None:
    workspace = load_workspace(repo.path)
    result = affected_since(workspace, "no-such-branch")
    assert result.all
    assert result.why_all == ("base 'no-such-branch' is not in this clone (fetch it first)",)
    assert affected_since(workspace, "main", "nope").why_all == (
        "head 'nope' is not in this clone",
    )


def test_unrelated_histories_affect_everything(repo: Repo) -> None:
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated")
    result = affected_since(load_workspace(repo.path), "main", "other")
    assert result.all
    assert "share no history" in result.why_all[0]


def test_shallow_clone_says_so(repo: Repo, tmp_path: Path) -> None:
    for n in range(3):
        write(repo.path / f"packages/core/f{n}.py", "")
        repo.commit(f"c{n}")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True
    )
    result = affected_since(load_workspace(clone), "HEAD~2")
    assert result.all
    assert "shallow clone" in result.why_all[0]


def test_git_refs_that_look_like_options_are_refused(repo: Repo) -> None:
    workspace = load_workspace(repo.path)
    for ref in ("--output=/tmp/x", "a\nb", ""):
        with pytest.raises(WorkspaceError, match="is not a git revision"):
            affected_since(workspace, ref)


def test_not_a_repository(sample: Path) -> None:
    with pytest.raises(
        WorkspaceError, match="not in a git repository: pass the changed files with --files"
    ):
        affected_since(load_workspace(sample), "main")


def test_workspace_below_repository_root(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "mono")
    make_sample(repo.path / "python")
    write(repo.path / "web/app.js", "")
    repo.commit("initial")
    repo.git("checkout", "-q", "-b", "f")
    write(repo.path / "web/app.js", "changed")
    write(repo.path / "python/packages/plugin-folder/p.py", "")
    repo.commit("both")
    result = affected_since(load_workspace(repo.path / "python"), "main", "HEAD")
    assert result.names == {"plugin", "my-app"}
    assert result.ignored == ("../web/app.js",)


def test_hostile_file_names(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "odd")
    names = ["q\"uote's.py", "$(touch pwned).py", "new\nline.py", "dé jà vu.py", "-rf.py"]
    for name in names:
        write(repo.path / "packages/core" / name, "")
    repo.commit("odd names")
    result = affected_since(load_workspace(repo.path), "main", "HEAD")
    core = next(m for m in result.affected if m.name == "core")
    assert {r.subject for r in core.reasons} == {f"packages/core/{n}" for n in names}
    assert not (repo.path / "pwned").exists()


def test_relative_to_is_a_path_prefix_not_a_string_prefix() -> None:
    from tta_dev.workspace._affected import _relative_to  # pyright: ignore[reportPrivateUsage]

    assert _relative_to("/repo/a/b.py", "/repo") == "a/b.py"
    assert _relative_to("/repo", "/repo") == "."
    assert _relative_to("/repo2/a.py", "/repo") is None  # a sibling sharing the prefix
    assert _relative_to("/elsewhere/a.py", "/repo") is None
    assert _relative_to("/a.py", "/") == "a.py"


def test_a_root_test_runs_when_a_package_it_imports_changes(sample: Path) -> None:
    """A test runs with what it imports, declared or not: requests is in my-app's closure
    only, yet tests/test_core_http.py (core's) imports it too (graphrag: a config test
    importing pydantic, which neither of its members locks)."""
    write(sample / "tests/test_core_http.py", "import core\nimport requests\n")
    write(sample / "tests/test_plain_http.py", "from requests import get\n")
    old = parse_lock(lock_toml(sample_lock_packages(), members=MEMBERS))
    new = parse_lock(lock_toml(sample_lock_packages(requests="2.1"), members=MEMBERS))
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert reasons(result) == {
        "my-app": ["lock change in requests: 2.0 → 2.1"],
        "core": ["lock change in tests/test_core_http.py: the test imports requests 2.0 → 2.1"],
    }
    assert not result.all  # test_plain_http.py imports no member: my-app's job runs it
    # A conftest.py pytest loads for a test counts as the test's own import.
    write(sample / "tests/test_core_http.py", "import core\n")
    write(sample / "tests/conftest.py", "import requests\n")
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert "core" in result.names
    same = parse_lock(lock_toml(sample_lock_packages(), members=MEMBERS))
    assert affected(sample, "uv.lock", lock_change=LockChange(old, same)).names == frozenset()


def test_a_test_importing_a_changed_package_and_no_member_runs_everything(sample: Path) -> None:
    """Nothing else is affected, so no member job would run it: everything runs."""
    write(sample / "tests/test_orphan.py", "import orphan\n")
    old = parse_lock(
        lock_toml([*sample_lock_packages(), package("orphan", "1.0")], members=MEMBERS)
    )
    new = parse_lock(
        lock_toml([*sample_lock_packages(), package("orphan", "1.1")], members=MEMBERS)
    )
    result = affected(sample, "uv.lock", lock_change=LockChange(old, new))
    assert result.all
    assert result.why_all == ("tests/test_orphan.py imports orphan 1.0 → 1.1 and no member",)
