"""The files ``tta-dev init`` writes, as functions of what it found in the project.

Plain string building (no template engine): each file is short, and every value that
reaches a file is one the scaffolder chose from a fixed set or a session/member name that
was checked to be safe (``[A-Za-z0-9_.-]``).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

__all__ = [
    "ProjectFacts",
    "affected_workflow",
    "ci_workflow",
    "noxfile",
    "precommit_config",
    "tasks_file",
    "zizmor_runs",
]

# Actions pinned to full commit SHAs (the versions this project's own CI uses).
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
SETUP_UV = "astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d # v10.0.1"
UPLOAD = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0"
DOWNLOAD = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1"


@dataclass(frozen=True)
class ProjectFacts:
    """What the scaffolder found in the project; the files are chosen from this alone."""

    name: str
    workspace: bool
    members: tuple[str, ...]
    has_tests: bool
    test_paths: tuple[str, ...]
    type_checker: str | None  # "pyright", "mypy" or None
    services: tuple[str, ...]  # "redis", "prometheus"
    other_pythons: tuple[str, ...]
    #: The project's own names for the groups the sessions install (``tests``, ``typing``).
    test_group: str = "test"
    lint_group: str = "lint"
    typecheck_group: str = "typecheck"
    #: What the type checker checks when no arguments are given (its own config first).
    typecheck_paths: tuple[str, ...] = ()
    #: Workflows the project keeps that init did not write (see ``zizmor_runs``), and the
    #: ones init writes.
    project_workflows: tuple[str, ...] = ()
    init_workflows: tuple[str, ...] = ()
    #: The branch pushes to which run everything (``origin/HEAD``, else main or master).
    default_branch: str = "main"


def zizmor_runs(facts: ProjectFacts) -> tuple[tuple[str, ...], ...]:
    """The zizmor command lines (arguments after ``zizmor``) the lint checks run.

    A project's own workflows get the regular persona: real findings fail lint from the
    first run. The pedantic persona, whose style findings a project adopting tta-dev has
    not chosen to follow, checks only what init wrote; with no workflows of the project's
    own, everything under ``.github`` is init's and gets it.
    """
    if not facts.project_workflows:
        return (("--offline", "--persona=pedantic", ".github"),)
    regular = ("--offline", ".github")
    if not facts.init_workflows:
        return (regular,)
    return (regular, ("--offline", "--persona=pedantic", *facts.init_workflows))


def _quoted_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def noxfile(facts: ProjectFacts) -> str:
    """The noxfile: one session per check, each installing exactly its locked groups."""
    default = ["lint", *(["typecheck"] if facts.type_checker else []), "tests"]
    imports = ["combine_coverage", "configure", "run_pytest", "session"]
    if facts.services:
        imports += ["service_env", "services"]
    if facts.other_pythons:
        imports.append("other_pythons")
    all_packages = ", all_packages=True" if facts.workspace else ""
    lines = [
        f'"""Every check of {facts.name}, as nox sessions on the uv backend (tta-dev init).',
        "",
        "`uv run nox` runs the default sessions; `uv run nox -t ci` runs what CI runs. Each",
        "session installs exactly the locked versions of its dependency groups into its own",
        "virtual environment (`uv sync --locked`); tta_dev.nox documents the helpers.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import nox",
        "from tta_dev.nox import (",
        *(f"    {name}," for name in sorted(imports)),
        ")",
        "",
        f"configure(default={_quoted_list(default)})",
    ]
    if facts.other_pythons:
        lines += ["", "OTHER_PYTHONS = other_pythons()"]
    lines += [
        "",
        "",
        f'@session(groups=["{facts.lint_group}"])',
        "def lint(session: nox.Session) -> None:",
        '    """Formatting and lint rules (ruff)."""',
        '    session.run("ruff", "format", "--check", ".")',
        '    session.run("ruff", "check", ".")',
    ]
    for args in zizmor_runs(facts):
        quoted = [json.dumps(a) for a in ("zizmor", *args)]
        line = f"    session.run({', '.join(quoted)})"
        if len(line) > 88:  # the lint session's `ruff format --check` splits it so (its default)
            line = "    session.run(\n" + "".join(f"        {q},\n" for q in quoted) + "    )"
        lines.append(line)
    if facts.type_checker == "pyright":
        lines += [
            "",
            "",
            f'@session(groups=["{facts.typecheck_group}", "{facts.test_group}"]{all_packages})',
            "def typecheck(session: nox.Session) -> None:",
            '    """Static types (pyright, configured in pyproject.toml)."""',
            '    session.run("pyright", *session.posargs)',
        ]
    elif facts.type_checker == "mypy":
        lines += [
            "",
            "",
            f'@session(groups=["{facts.typecheck_group}", "{facts.test_group}"]{all_packages})',
            "def typecheck(session: nox.Session) -> None:",
            '    """Static types (mypy, configured in the project)."""',
            f'    session.run("mypy", *(session.posargs or {_quoted_list(list(facts.typecheck_paths))}))',
        ]
    selection = ['"-m", "not integration", '] if facts.services else [""]
    lines += [
        "",
        "",
        f'@session(groups=["{facts.test_group}"]{all_packages})',
        "def tests(session: nox.Session) -> None:",
        '    """The test suite with coverage (`-- --affected-since REF`: only affected members)."""',
        f'    run_pytest(session, "tests", {selection[0]}*session.posargs)',
    ]
    if facts.other_pythons:
        lines += [
            "",
            "",
            f'@session(python=OTHER_PYTHONS, groups=["{facts.test_group}"]{all_packages})',
            "def compat(session: nox.Session) -> None:",
            '    """The tests on the other Pythons the classifiers promise (missing fails in CI)."""',
            f'    session.run("pytest", {selection[0]}*session.posargs)',
        ]
    if facts.services:
        names = ", ".join(f'"{s}"' for s in facts.services)
        lines += [
            "",
            "",
            f'@session(groups=["{facts.test_group}"]{all_packages})',
            "def integration(session: nox.Session) -> None:",
            '    """Tests marked integration, against real services (found, started or installed)."""',
            f"    with services(session, {names}) as urls:",
            "        run_pytest(",
            "            session,",
            '            "integration",',
            '            "-m",',
            '            "integration",',
            "            *session.posargs,",
            "            env=service_env(urls),",
            "        )",
        ]
    lines += [
        "",
        "",
        '@session(venv_backend="none")',
        "def lock_check(session: nox.Session) -> None:",
        '    """uv.lock matches pyproject.toml (run `uv lock` and commit it when this fails)."""',
        '    session.run("uv", "lock", "--check")',
        "",
        "",
        f'@session(groups=["{facts.test_group}"], aggregate=True)',
        "def coverage(session: nox.Session) -> None:",
        '    """Combine the coverage data of the test sessions and report it."""',
        "    combine_coverage(session, *session.posargs)",
        "",
    ]
    return "\n".join(lines)


def tasks_file(facts: ProjectFacts) -> str:
    """invoke tasks: thin wrappers over the nox sessions and tta-dev commands."""
    workspace_tasks = ""
    collections = "ns = Collection(check, ci, session, drift, health)\n"
    if facts.workspace:
        workspace_tasks = '''

@task(help={"base": "merge base with this ref"})
def affected(c: Context, base: str = "origin/main") -> None:
    """Workspace members affected since BASE, and why."""
    c.run(f"uv run tta-dev workspace affected --base {shlex.quote(base)}", pty=False)


@task(name="test-affected", help={"base": "merge base with this ref"})
def test_affected(c: Context, base: str = "origin/main") -> None:
    """Run the tests of the members affected since BASE (everything if unattributable)."""
    c.run(f"uv run nox -s tests -- --affected-since={shlex.quote(base)}", pty=False)
'''
        collections = (
            "ns = Collection(check, ci, session, drift, health)\n"
            'ns.add_collection(Collection("workspace", affected, test_affected))\n'
        )
    return f'''"""invoke tasks: thin wrappers over the nox sessions (written by tta-dev init).

`uv run invoke --list` shows them; `uv run invoke` runs the default sessions.
"""

from __future__ import annotations

import shlex

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task


@task(default=True)
def check(c: Context) -> None:
    """Run the default nox sessions."""
    c.run("uv run nox", pty=False)


@task
def ci(c: Context) -> None:
    """Run every session CI runs (tag ci)."""
    c.run("uv run nox -t ci", pty=False)


@task(help={{"name": "nox session to run, e.g. tests"}})
def session(c: Context, name: str) -> None:
    """Run one nox session by name."""
    c.run(f"uv run nox -s {{shlex.quote(name)}}", pty=False)


@task
def drift(c: Context) -> None:
    """Check that CI, nox sessions and pre-commit hooks agree."""
    c.run("uv run tta-dev drift", pty=False)


@task
def health(c: Context) -> None:
    """Is this checkout ready: uv, lock, environment, hooks, drift."""
    c.run("uv run tta-dev health", pty=False)
{workspace_tasks}

{collections}'''


def _upload_coverage(suffix: str) -> str:
    """The step keeping a job's ``.coverage.*`` as artifact ``coverage-SUFFIX``."""
    return f"""      - name: Keep coverage data for the coverage job
        uses: {UPLOAD}
        with:
          name: coverage-{suffix}
          path: .coverage.*
          include-hidden-files: true
          if-no-files-found: ignore
          retention-days: 1
"""


def _coverage_job(title: str, needs: str, setup: str, condition: str = "") -> str:
    """The job combining every ``coverage-*`` artifact with ``nox -s coverage``."""
    guard = f"\n    if: {condition}" if condition else ""
    return f"""  coverage:
    name: {title}
    needs: {needs}{guard}
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    steps:
{setup}
      - uses: {DOWNLOAD}
        with:
          pattern: coverage-*
          merge-multiple: true
      - name: Combine and report coverage
        run: uv run nox -s coverage
"""


def ci_workflow(facts: ProjectFacts) -> str:
    """CI: a matrix of the nox sessions tagged ci, then the aggregate ones (coverage).

    In a workspace the ``tests`` session, ``integration`` and coverage belong to
    ``affected.yml`` (one job per affected member on pull requests, every member on the
    default branch), so this workflow runs every other session and never the suite a
    second time.
    """
    select = '[.[] | select((.tags | index("aggregate")) | not) | .session]'
    listing = "Generate the matrix from nox (sessions tagged aggregate run after it)"
    if facts.workspace:
        owned = '"tests", "integration"' if facts.services else '"tests"'
        select = (
            '[.[] | select((.tags | index("aggregate")) | not)'
            f" | select(.session | IN({owned}) | not) | .session]"
        )
        listing = (
            "Generate the matrix from nox (tests, integration and coverage run in affected.yml)"
            if facts.services
            else "Generate the matrix from nox (tests and coverage run in affected.yml)"
        )
    setup = f"""      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: {SETUP_UV}
        with:
          version-file: pyproject.toml
          enable-cache: true
          cache-dependency-glob: uv.lock"""
    coverage = (
        _upload_coverage("${{ matrix.session }}")
        + "\n"
        + _coverage_job("nox -s coverage", "nox", setup)
    )
    return f"""name: CI

on:
  push:
    branches: [{json.dumps(facts.default_branch)}]
  pull_request:
  merge_group:

permissions: {{}}

concurrency:
  group: ci-${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

env:
  UV_LOCKED: "1"
  FORCE_COLOR: "1"

jobs:
  sessions:
    name: List nox sessions tagged ci
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    outputs:
      sessions: ${{{{ steps.list.outputs.sessions }}}}
    steps:
{setup}
      - id: list
        name: {listing}
        run: |
          uv run nox -l --json -t ci > sessions.json
          echo "sessions=$(jq -c '{select}' sessions.json)" >> "$GITHUB_OUTPUT"

  nox:
    name: nox -s ${{{{ matrix.session }}}}
    needs: sessions
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    strategy:
      fail-fast: false
      matrix:
        session: ${{{{ fromJSON(needs.sessions.outputs.sessions) }}}}
    steps:
{setup}
      - name: Run the session
        env:
          SESSION: ${{{{ matrix.session }}}}
        run: uv run nox --download-python always -s "$SESSION"
""" + ("" if facts.workspace else coverage)


def affected_workflow(branch: str = "main", *, integration: bool = False) -> str:
    """Affected-only CI for a uv workspace: one job per affected member.

    Pull requests: ``tta-dev workspace affected --base origin/BASE --format matrix`` (a
    change it cannot attribute lists every member); a merge queue's group: the same against
    the queue's base commit; pushes to ``branch`` (the default branch): every member.
    Each member's job runs the nox ``tests`` session with ``--for-member``: the member's
    own tests and root tests that import it; tests that import no member run in the first
    job only (``unclaimed`` in the matrix, ``--skip-unclaimed`` elsewhere).
    ``passed`` is the one check to require in branch protection: matrix job names change
    with the selection, and a skipped matrix job names no member. Coverage is combined and
    enforced on the default branch only, where every member ran: a pull request's
    selection covers part of the code by design. ``integration``: the project has an
    ``integration`` session; it runs here on every event (one job: services are shared,
    not a member's), so its coverage joins the members' on the default branch.
    """
    # Every member job's tests session writes .coverage.tests and the coverage job downloads
    # them all into one folder (merge-multiple), where one name overwrites (or corrupts) the
    # others: each job renames its data after its member before uploading it.
    # Only the selection reads history (the merge base); a member job reads the work tree
    # alone (--for-member), so it keeps checkout's one-commit clone: N jobs, N clones.
    setup = f"""      - uses: {CHECKOUT}
        with:
          persist-credentials: false{{depth}}
      - uses: {SETUP_UV}
        with:
          version-file: pyproject.toml
          enable-cache: true
          cache-dependency-glob: uv.lock"""
    history = setup.replace("{depth}", "\n          fetch-depth: 0")
    setup = setup.replace("{depth}", "")
    integration_job = integration_env = integration_echo = integration_check = ""
    integration_need, coverage_needs = "", "member"
    if integration:
        integration_job = f"""
  integration:
    name: nox -s integration
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
{setup}
      - name: Run the integration tests (the session finds, starts or installs services)
        run: uv run nox --download-python always -s integration
{_upload_coverage("integration")}"""
        integration_need, coverage_needs = "integration, ", "[member, integration]"
        integration_env = "\n          INTEGRATION: ${{ needs.integration.result }}"
        integration_echo = ", integration: $INTEGRATION"
        integration_check = ' && [ "$INTEGRATION" = success ]'
    return f"""name: Affected members

on:
  push:
    branches: [{json.dumps(branch)}]
  pull_request:
  merge_group:

permissions: {{}}

concurrency:
  group: affected-${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

env:
  UV_LOCKED: "1"
  FORCE_COLOR: "1"

jobs:
  select:
    name: Affected members
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    outputs:
      matrix: ${{{{ steps.select.outputs.matrix }}}}
    steps:
{history}
      - id: select
        name: One job per affected member (every member on the default branch)
        env:
          EVENT: ${{{{ github.event_name }}}}
          BASE_REF: ${{{{ github.base_ref }}}}
          QUEUE_BASE: ${{{{ github.event.merge_group.base_sha }}}}
        run: |
          if [ "$EVENT" = pull_request ]; then
            matrix=$(uv run tta-dev workspace affected --base "origin/$BASE_REF" --format matrix)
          elif [ "$EVENT" = merge_group ]; then
            matrix=$(uv run tta-dev workspace affected --base "$QUEUE_BASE" --format matrix)
          else
            matrix=$(uv run tta-dev workspace affected --all --format matrix)
          fi
          echo "matrix=$matrix" >> "$GITHUB_OUTPUT"

  member:
    name: tests of ${{{{ matrix.member }}}}
    needs: select
    if: fromJSON(needs.select.outputs.matrix).include[0]
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    strategy:
      fail-fast: false
      matrix: ${{{{ fromJSON(needs.select.outputs.matrix) }}}}
    steps:
{setup}
      - name: Run the member's tests wherever they live
        env:
          MEMBER: ${{{{ matrix.member }}}}
          UNCLAIMED: ${{{{ matrix.unclaimed }}}}
        # Tests that import no member run in the first job only (matrix `unclaimed`).
        run: |
          if [ "$UNCLAIMED" = true ]; then
            uv run nox --download-python always -s tests -- --for-member "$MEMBER"
          else
            uv run nox --download-python always -s tests -- --for-member "$MEMBER" --skip-unclaimed
          fi
      - name: Name the coverage data after the member (each job writes .coverage.tests)
        env:
          MEMBER: ${{{{ matrix.member }}}}
        run: for data in .coverage.*; do if [ -f "$data" ]; then mv "$data" "$data.$MEMBER"; fi; done
{_upload_coverage("${{ matrix.member }}")}{integration_job}
{_coverage_job("nox -s coverage (every member, default branch)", coverage_needs, setup, "github.event_name == 'push'")}
  passed:
    name: Affected members passed
    needs: [select, member, {integration_need}coverage]
    if: always()
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions: {{}}
    steps:
      - name: The selection ran and every member job passed (none selected passes)
        env:
          SELECTED: ${{{{ needs.select.result }}}}
          MEMBERS: ${{{{ needs.member.result }}}}
          COVERAGE: ${{{{ needs.coverage.result }}}}{integration_env}
        run: |
          echo "select: $SELECTED, member jobs: $MEMBERS, coverage: $COVERAGE{integration_echo}"
          [ "$SELECTED" = success ] && {{ [ "$MEMBERS" = success ] || [ "$MEMBERS" = skipped ]; }} \\
            && {{ [ "$COVERAGE" = success ] || [ "$COVERAGE" = skipped ]; }}{integration_check}
"""


def precommit_config(facts: ProjectFacts) -> str:
    """``repo: local`` hooks running the lock-pinned tools through ``uv run --frozen``."""
    zizmor = "".join(
        f"""      - id: zizmor{"-" + str(index) if index else ""}
        name: zizmor (workflow security{", pedantic" if "--persona=pedantic" in args else ""})
        entry: uv run --frozen zizmor {shlex.join(args)}
        language: unsupported
        files: ^\\.github/
        pass_filenames: false
"""
        for index, args in enumerate(zizmor_runs(facts))
    )
    return f"""# Every hook is local and runs the lock-pinned tool through `uv run --frozen`:
# one version of record (uv.lock), nothing for pre-commit to clone or pin twice.
default_install_hook_types: [pre-commit]
repos:
  - repo: local
    hooks:
      - id: ruff-format
        name: ruff format
        entry: uv run --frozen ruff format --force-exclude
        language: unsupported
        types_or: [python, pyi]
        require_serial: true
      - id: ruff-check
        name: ruff check
        entry: uv run --frozen ruff check --force-exclude
        language: unsupported
        types_or: [python, pyi]
        require_serial: true
      - id: uv-lock-check
        name: uv lock --check (any pyproject.toml or uv.lock)
        entry: uv run --frozen uv lock --check
        language: unsupported
        files: (^|/)pyproject\\.toml$|^uv\\.lock$
        pass_filenames: false
{zizmor}"""
