"""tta-dev init: what it finds, what it plans, and that it never overwrites unasked."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.workspace.builders import project_toml, virtual_root_toml, write
from tta_dev.devtools.init import InitError, apply_plan, detect_project, plan_init, render_plan
from tta_dev.testing._support import unavailable


def _single(root: Path, *, deps: Sequence[str] = (), extra: str = "") -> Path:
    write(
        root / "pyproject.toml",
        project_toml("demo-lib", dependencies=list(deps))
        + '\n[tool.pyright]\ninclude = ["src"]\n'
        + extra,
    )
    write(root / "src/demo_lib/__init__.py", "")
    write(root / "tests/test_demo.py", "def test_x() -> None:\n    pass\n")
    return root


def _workspace(root: Path) -> Path:
    write(root / "pyproject.toml", virtual_root_toml(["packages/*"]))
    for name, deps in (("alpha", []), ("beta", ["redis>=5"]), ("gamma", [])):
        write(root / f"packages/{name}/pyproject.toml", project_toml(name, dependencies=deps))
        write(root / f"packages/{name}/tests/test_{name}.py", "def test_x() -> None:\n    pass\n")
    return root


class FakeUv:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        self.calls.append(tuple(argv))
        return subprocess.CompletedProcess(list(argv), 0, "", "")


def test_detects_a_single_package(tmp_path: Path) -> None:
    facts = detect_project(_single(tmp_path / "p", deps=["redis>=5"]))
    assert (facts.name, facts.workspace, facts.type_checker) == ("demo-lib", False, "pyright")
    assert facts.has_tests
    assert facts.services == ("redis",)


def test_detects_a_workspace(tmp_path: Path) -> None:
    facts = detect_project(_workspace(tmp_path / "w"))
    assert facts.workspace
    assert set(facts.members) == {"alpha", "beta", "gamma"}
    assert facts.services == ("redis",)
    assert facts.type_checker is None
    assert set(facts.test_paths) == {f"packages/{m}/tests" for m in ("alpha", "beta", "gamma")}


#: `nox -l --json -t ci` of the sessions init writes (the tags as `tta_dev.nox.session` sets).
_NOX_LIST = [
    {"session": "lint", "tags": ["ci"]},
    {"session": "tests", "tags": ["ci"]},
    {"session": "integration", "tags": ["ci"]},
    {"session": "lock_check", "tags": ["ci"]},
    {"session": "coverage", "tags": ["ci", "aggregate"]},
]


def _matrix_of(workflow: str) -> list[str]:
    """The sessions the workflow's matrix would hold: its jq filter run on `_NOX_LIST`."""
    import json
    import re
    import shutil

    jq = shutil.which("jq")
    if jq is None:
        unavailable("jq is missing (GitHub's runners have it): apt-get install jq")
    found = re.search(r"jq -c '([^']+)' sessions\.json", workflow)
    assert found, "the workflow lists no sessions with jq"
    result = subprocess.run(
        [jq, "-c", found.group(1)],
        input=json.dumps(_NOX_LIST),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_plan_writes_sessions_chosen_from_the_project(tmp_path: Path) -> None:
    plan = plan_init(_workspace(tmp_path / "w"))
    files = {f.path: f for f in plan.files}
    assert {f.action for f in plan.files} == {"create"}
    noxfile = files["noxfile.py"].content
    assert '@session(groups=["test"], all_packages=True)\ndef tests' in noxfile
    assert 'with services(session, "redis") as urls:' in noxfile
    assert "def typecheck" not in noxfile
    workflow = files[".github/workflows/ci.yml"].content
    # In a workspace affected.yml owns tests, integration and coverage: ci.yml never runs
    # them again.
    assert _matrix_of(workflow) == ["lint", "lock_check"]
    single = {f.path: f for f in plan_init(_single(tmp_path / "p", deps=["redis>=5"])).files}
    assert _matrix_of(single[".github/workflows/ci.yml"].content) == [
        "lint", "tests", "integration", "lock_check"
    ]  # fmt: skip
    import yaml

    assert set(yaml.safe_load(workflow)["jobs"]) == {"sessions", "nox"}
    assert "nox -s coverage" not in workflow
    assert "upload-artifact" not in workflow
    assert "fetch-depth" not in workflow
    assert "${{ github" not in workflow.split("run: |", 2)[-1].split("env:")[0]
    single = {f.path: f for f in plan_init(_single(tmp_path / "p")).files}
    alone = single[".github/workflows/ci.yml"].content
    assert '.session != "tests"' not in alone
    assert "run: uv run nox -s coverage" in alone
    assert [c[:4] for c in plan.commands] == [
        ("uv", "add", "--group", "dev"),
        ("uv", "add", "--group", "lint"),
        ("uv", "add", "--group", "test"),
    ]


def test_never_overwrites_without_force_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    root = _single(tmp_path / "p")
    write(root / "noxfile.py", "# my own noxfile\n")
    dry = plan_init(root)
    text = render_plan(dry, dry_run=True)
    assert "skip      noxfile.py (exists with other content; --force replaces it)" in text
    assert "-# my own noxfile" in text
    assert not (root / "tasks.py").exists()
    fake = FakeUv()
    apply_plan(dry, runner=fake)
    assert (root / "noxfile.py").read_text() == "# my own noxfile\n"
    assert (root / "tasks.py").is_file()
    assert fake.calls[0][:4] == ("uv", "add", "--group", "dev")
    forced = plan_init(root, force=True)
    apply_plan(forced, runner=fake)
    assert "tta_dev.nox" in (root / "noxfile.py").read_text()


def test_a_second_plan_changes_nothing_once_the_groups_are_there(tmp_path: Path) -> None:
    root = _single(tmp_path / "p")
    apply_plan(plan_init(root), runner=FakeUv())
    # What `uv add` would have written: the groups with their requirements.
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[dependency-groups]\ndev = ["nox", "invoke", "pre-commit", "tta-dev[devtools]"]\n'
        'lint = ["ruff", "zizmor"]\ntest = ["pytest", "coverage", "pytest-asyncio", "tta-dev"]\n'
        'typecheck = ["pyright"]\n'
    )
    again = plan_init(root)
    assert not again.changes
    assert {f.action for f in again.files} == {"unchanged"}
    assert "nothing to do" in render_plan(again, dry_run=False)


def test_gitignore_is_appended_to_not_replaced(tmp_path: Path) -> None:
    root = _single(tmp_path / "p")
    write(root / ".gitignore", "*.log")
    apply_plan(plan_init(root), runner=FakeUv())
    assert (root / ".gitignore").read_text().startswith("*.log\n# tta-dev init")
    assert ".tta/" in (root / ".gitignore").read_text()


def test_bad_projects_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InitError, match=r"pyproject\.toml not found"):
        plan_init(tmp_path)
    root = _workspace(tmp_path / "w")
    with pytest.raises(InitError, match="run init in the workspace root"):
        plan_init(root / "packages" / "alpha")
    write(tmp_path / "bad/pyproject.toml", "[project\n")
    result = subprocess.run(
        [sys.executable, "-m", "tta_dev.cli", "init", "--root", str(tmp_path / "bad"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_project_older_than_tta_devs_python_gets_the_fix_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write(
        root / "pyproject.toml",
        '[project]\nname = "old"\nversion = "1"\nrequires-python = ">=3.10"\n'
        '[dependency-groups]\ntests = ["pytest"]\n',
    )
    with pytest.raises(InitError, match=r'tests = \{ requires-python = ">=3.11" \}'):
        plan_init(root)
    with (root / "pyproject.toml").open("a") as handle:
        handle.write(
            '[tool.uv.dependency-groups]\ndev = { requires-python = ">=3.11" }\n'
            'tests = { requires-python = ">=3.11" }\n'
        )
    plan = plan_init(root)
    assert plan.facts.test_group == "tests"
    assert plan.commands[-1][:4] == ("uv", "add", "--group", "tests")
    assert '@session(groups=["tests"])' in {f.path: f for f in plan.files}["noxfile.py"].content


def test_a_member_older_than_tta_devs_python_counts_in_a_virtual_workspace(
    tmp_path: Path,
) -> None:
    root = _workspace(tmp_path / "w")
    beta = root / "packages/beta/pyproject.toml"
    beta.write_text(
        re.sub(r'requires-python = "[^"]*"', 'requires-python = ">=3.9"', beta.read_text())
    )
    assert '">=3.9"' in beta.read_text()
    with pytest.raises(InitError, match=r"requires-python '>=3\.9' admits Python 3\.10"):
        plan_init(root)


@pytest.mark.parametrize(
    ("selected", "members", "integration", "coverage", "passes"),
    [
        ("success", "success", "success", "skipped", True),  # a pull request
        ("success", "success", "success", "success", True),  # the default branch
        ("success", "skipped", "success", "skipped", True),  # no member affected
        ("success", "success", "success", "failure", False),  # coverage under fail_under
        ("success", "failure", "success", "skipped", False),
        ("success", "cancelled", "success", "skipped", False),
        ("success", "success", "failure", "skipped", False),  # integration runs every time
        ("success", "skipped", "cancelled", "skipped", False),
        ("failure", "skipped", "success", "skipped", False),  # the selection itself failed
        ("cancelled", "skipped", "success", "skipped", False),
    ],
)
def test_the_affected_workflows_passed_job_is_one_check_to_require(
    tmp_path: Path, selected: str, members: str, integration: str, coverage: str, passes: bool
) -> None:
    import yaml

    files = {f.path: f for f in plan_init(_workspace(tmp_path / "w")).files}
    workflow = yaml.safe_load(files[".github/workflows/affected.yml"].content)
    job = workflow["jobs"]["passed"]
    assert (job["needs"], job["if"]) == (
        ["select", "member", "integration", "coverage"],
        "always()",
    )
    # Coverage is combined where every member ran: the default branch, not a selection;
    # the integration session's data joins it (a redis-using member: services).
    combine = workflow["jobs"]["coverage"]
    assert (combine["needs"], combine["if"]) == (
        ["member", "integration"],
        "github.event_name == 'push'",
    )
    assert combine["steps"][-1]["run"] == "uv run nox -s coverage"
    uploads = [s for s in workflow["jobs"]["member"]["steps"] if "with" in s]
    assert uploads[-1]["with"]["name"] == "coverage-${{ matrix.member }}"
    runs = workflow["jobs"]["integration"]["steps"]
    assert "-s integration" in runs[-2]["run"]
    assert runs[-1]["with"]["name"] == "coverage-integration"
    (step,) = job["steps"]
    assert step["env"] == {
        "SELECTED": "${{ needs.select.result }}",
        "MEMBERS": "${{ needs.member.result }}",
        "COVERAGE": "${{ needs.coverage.result }}",
        "INTEGRATION": "${{ needs.integration.result }}",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={
            "SELECTED": selected,
            "MEMBERS": members,
            "INTEGRATION": integration,
            "COVERAGE": coverage,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        check=False,
    )
    assert (done.returncode == 0) is passes


def test_a_workspace_without_services_has_no_integration_job(tmp_path: Path) -> None:
    import yaml

    root = _workspace(tmp_path / "w")
    write(root / "packages/beta/pyproject.toml", project_toml("beta"))
    files = {f.path: f for f in plan_init(root).files}
    workflow = yaml.safe_load(files[".github/workflows/affected.yml"].content)
    assert "integration" not in workflow["jobs"]
    assert workflow["jobs"]["passed"]["needs"] == ["select", "member", "coverage"]
    assert workflow["jobs"]["coverage"]["needs"] == "member"
    assert "INTEGRATION" not in workflow["jobs"]["passed"]["steps"][0]["run"]


def test_member_jobs_upload_coverage_data_under_names_no_other_member_uses(
    tmp_path: Path,
) -> None:
    """Every member job's tests session writes `.coverage.tests`, and the coverage job
    downloads all with merge-multiple (one folder: same names overwrite or corrupt each
    other), so the steps between the tests and the upload must make the names differ."""
    import yaml

    files = {f.path: f for f in plan_init(_workspace(tmp_path / "w")).files}
    workflow = yaml.safe_load(files[".github/workflows/affected.yml"].content)
    steps = workflow["jobs"]["member"]["steps"]
    tests = next(i for i, s in enumerate(steps) if "--for-member" in s.get("run", ""))
    upload = next(i for i, s in enumerate(steps) if "upload-artifact" in s.get("uses", ""))
    assert steps[upload]["with"]["path"] == ".coverage.*"
    download = next(
        s for s in workflow["jobs"]["coverage"]["steps"] if "download-artifact" in s.get("uses", "")
    )
    assert download["with"]["merge-multiple"] is True
    uploaded: list[set[str]] = []
    for member in ("alpha", "beta"):
        job = tmp_path / member
        job.mkdir()
        (job / ".coverage.tests").write_text(member)  # what run_pytest(session, "tests") writes
        for step in steps[tests + 1 : upload]:
            env = {"PATH": "/usr/bin:/bin", "MEMBER": member}
            subprocess.run(["bash", "-e", "-c", step["run"]], cwd=job, env=env, check=True)
        uploaded.append({p.name for p in job.glob(".coverage.*")})
    assert all(uploaded)
    assert not uploaded[0] & uploaded[1]
    empty = tmp_path / "no-data"  # a member whose tests wrote no data: no error
    empty.mkdir()
    for step in steps[tests + 1 : upload]:
        env = {"PATH": "/usr/bin:/bin", "MEMBER": "gamma"}
        subprocess.run(["bash", "-e", "-c", step["run"]], cwd=empty, env=env, check=True)


def test_a_workspace_gets_the_affected_only_workflow(tmp_path: Path) -> None:
    from tta_dev.devtools.consistency import NoxSession, workflow_problems

    files = {f.path: f for f in plan_init(_workspace(tmp_path / "w")).files}
    workflow = files[".github/workflows/affected.yml"].content
    assert "--format matrix" in workflow
    # Pushes run every member whatever the project's rules say of any file.
    assert "workspace affected --all --format matrix" in workflow
    # Only the selection needs history; each member job keeps a one-commit clone.
    select, member = workflow.split("\n  member:\n")
    assert "fetch-depth: 0" in select
    assert "fetch-depth" not in member
    assert '-s tests -- --for-member "$MEMBER"' in workflow
    assert "persist-credentials: false" in workflow
    assert "${{ github" not in workflow.split("run: |", 1)[-1].split("member:")[0]
    path = write(tmp_path / "out/.github/workflows/affected.yml", workflow)
    sessions = [
        NoxSession("tests", ("ci",)),
        NoxSession("integration", ("ci",)),
        NoxSession("coverage", ("ci", "aggregate")),
    ]
    assert workflow_problems([path], sessions) == []
    single = {f.path for f in plan_init(_single(tmp_path / "p")).files}
    assert ".github/workflows/affected.yml" not in single
    binary = Path(sys.executable).with_name("zizmor")
    if not binary.exists():
        unavailable("zizmor is missing: uv sync --group lint")
    zizmor = subprocess.run(
        [str(binary), "--offline", "--persona=pedantic", str(path.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr


def test_commands_shown_can_be_pasted_into_a_shell(tmp_path: Path) -> None:
    root = _single(tmp_path / "p")
    text = render_plan(plan_init(root), dry_run=True)
    assert "'nox>=2026.8'" in text, "unquoted, `>=` is a shell redirect"


def test_a_tta_dev_requirement_that_is_not_one_is_refused_up_front(tmp_path: Path) -> None:
    root = _single(tmp_path / "p")
    with pytest.raises(InitError, match="is not a requirement or a path"):
        plan_init(root, tta_dev="tta-dev; $(touch pwned)")
    assert plan_init(root, tta_dev="tta-dev>=0.1").commands


# A workflow of the project's own: clean for zizmor's regular persona, with findings only
# the pedantic one reports (no names, no concurrency limits).
_THEIRS = (
    "on: push\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: echo hi\n"
)


def _zizmor_calls(noxfile: str) -> list[list[str]]:
    import ast

    return [
        [ast.literal_eval(arg) for arg in node.args[1:]]
        for node in ast.walk(ast.parse(noxfile))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "session.run"
        and ast.unparse(node.args[0]) == "'zizmor'"
    ]


def test_the_noxfile_is_ruff_formatted_with_workflows_of_the_projects_own(
    tmp_path: Path,
) -> None:
    """The lint session it writes runs `ruff format --check .`, noxfile.py included: a
    workspace keeping a workflow of its own gets two pedantic paths on one zizmor call."""
    root = _workspace(tmp_path / "w")
    write(root / ".github/workflows/release.yml", _THEIRS)
    noxfile = {f.path: f for f in plan_init(root).files}["noxfile.py"].content
    assert _zizmor_calls(noxfile)[-1] == [
        "--offline",
        "--persona=pedantic",
        ".github/workflows/ci.yml",
        ".github/workflows/affected.yml",
    ]
    binary = Path(sys.executable).with_name("ruff")
    if not binary.exists():
        unavailable("ruff is missing: uv sync --group lint")
    path = write(tmp_path / "check/noxfile.py", noxfile)
    done = subprocess.run(
        [str(binary), "format", "--check", "--diff", "--isolated", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_pedantic_zizmor_checks_only_what_init_wrote(tmp_path: Path) -> None:
    fresh = {f.path: f for f in plan_init(_single(tmp_path / "new")).files}
    assert _zizmor_calls(fresh["noxfile.py"].content) == [
        ["--offline", "--persona=pedantic", ".github"]
    ]
    root = _single(tmp_path / "p")
    write(root / ".github/workflows/release.yml", _THEIRS)
    plan = plan_init(root)
    files = {f.path: f for f in plan.files}
    calls = _zizmor_calls(files["noxfile.py"].content)
    assert calls == [
        ["--offline", ".github"],
        ["--offline", "--persona=pedantic", ".github/workflows/ci.yml"],
    ]
    hooks = files[".pre-commit-config.yaml"].content
    assert "entry: uv run --frozen zizmor --offline .github\n" in hooks
    assert "zizmor --offline --persona=pedantic .github/workflows/ci.yml\n" in hooks
    # Their own ci.yml, kept (no --force): nothing of init's is left to be pedantic about.
    write(root / ".github/workflows/ci.yml", _THEIRS)
    kept = {f.path: f for f in plan_init(root).files}
    assert _zizmor_calls(kept["noxfile.py"].content) == [["--offline", ".github"]]
    forced = {f.path: f for f in plan_init(root, force=True).files}
    assert _zizmor_calls(forced["noxfile.py"].content) == calls

    apply_plan(plan, runner=FakeUv())
    binary = Path(sys.executable).with_name("zizmor")
    if not binary.exists():
        unavailable("zizmor is missing: uv sync --group lint")
    (root / ".github/workflows/ci.yml").write_text(files[".github/workflows/ci.yml"].content)
    for args in calls:  # what the generated lint session runs passes on this project ...
        done = subprocess.run([str(binary), *args], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    everything = subprocess.run(  # ... where pedantic on everything would fail it
        [str(binary), "--offline", "--persona=pedantic", ".github"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert everything.returncode != 0


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), *args],
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "T",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": "/usr/bin:/bin",
        },
    )


def test_pushes_to_the_default_branch_run_everything_and_a_merge_queue_is_selected(
    tmp_path: Path,
) -> None:
    import yaml

    root = _workspace(tmp_path / "w")
    files = {f.path: f for f in plan_init(root).files}  # not a git repository: main
    assert yaml.safe_load(files[".github/workflows/ci.yml"].content)[True]["push"] == {
        "branches": ["main"]
    }
    _git(root, "init", "-q", "-b", "master")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "x")
    files = {f.path: f for f in plan_init(root).files}
    for name in ("ci.yml", "affected.yml"):
        on = yaml.safe_load(files[f".github/workflows/{name}"].content)[True]  # YAML 1.1 `on`
        assert on["push"] == {"branches": ["master"]}, name
        assert "merge_group" in on, name
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    _git(clone, "remote", "set-head", "origin", "master")
    assert detect_project(clone).default_branch == "master"  # origin/HEAD wins
    affected = files[".github/workflows/affected.yml"].content
    step = yaml.safe_load(affected)["jobs"]["select"]["steps"][-1]
    assert step["env"]["QUEUE_BASE"] == "${{ github.event.merge_group.base_sha }}"
    assert 'elif [ "$EVENT" = merge_group ]; then' in step["run"]
    assert '--base "$QUEUE_BASE" --format matrix' in step["run"]


@pytest.mark.parametrize(("unclaimed", "extra"), [("true", []), ("false", ["--skip-unclaimed"])])
def test_tests_importing_no_member_run_in_one_member_job(
    tmp_path: Path, unclaimed: str, extra: list[str]
) -> None:
    import yaml

    files = {f.path: f for f in plan_init(_workspace(tmp_path / "w")).files}
    workflow = yaml.safe_load(files[".github/workflows/affected.yml"].content)
    (step,) = [s for s in workflow["jobs"]["member"]["steps"] if "--for-member" in s.get("run", "")]
    assert step["env"]["UNCLAIMED"] == "${{ matrix.unclaimed }}"
    bin_dir = tmp_path / "bin"
    write(bin_dir / "uv", '#!/bin/sh\nprintf "%s\\n" "$@"\n').chmod(0o755)
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={"MEMBER": "a b", "UNCLAIMED": unclaimed, "PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    args = done.stdout.splitlines()
    nox = ["run", "nox", "--download-python", "always", "-s", "tests", "--"]
    assert args == [*nox, "--for-member", "a b", *extra]


def test_a_new_push_cancels_an_older_pull_request_run_never_a_push_run(tmp_path: Path) -> None:
    """Two quick pushes to main must both finish: the first may be the one that ran coverage."""
    import yaml

    planned = [
        *plan_init(_workspace(tmp_path / "w")).files,
        *plan_init(_single(tmp_path / "p")).files,
    ]
    workflows = [f for f in planned if f.path.startswith(".github/workflows/")]
    assert len(workflows) == 3  # ci.yml twice, affected.yml once
    for workflow in workflows:
        concurrency = yaml.safe_load(workflow.content)["concurrency"]
        assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
        assert "github.ref" in concurrency["group"]
