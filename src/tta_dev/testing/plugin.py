"""pytest plugin registered through the ``pytest11`` entry point: tta-dev's fixture library.

Any project that installs ``tta-dev`` gets these fixtures and markers without a
``conftest.py`` (``uv run pytest --fixtures`` lists them); docs/architecture.md has the
table of names, scopes and when each skips or errors.

- Workspace: ``uv_workspace_root``, ``uv_venv_path``, ``workspace_packages``, ``uv_lock``,
  ``installed_packages``, ``ensure_workspace_synced``.
- Primitives: ``workflow_context``, ``mock_primitive``.
- Services: ``redis_url``, ``redis_key_prefix``, ``redis_client``, ``prometheus_url``. A
  service comes from its environment variable (``REDIS_URL``, ``PROMETHEUS_URL``) or is
  found/started the way the nox sessions do (``tta_dev.devtools.services``, which honours
  ``TTA_NO_PROVISION=1``). A missing service skips the test with the command that provides
  it, and **fails** it when ``CI`` is set, so CI never passes having tested nothing.
- Agentic: ``agentic_workspace`` (a synced temporary copy of the project) and
  ``feature_branch`` (a git branch in that copy, removed after the test, also on failure).
- Markers ``unit``, ``integration``, ``slow``; tests under an ``integration/`` folder are
  marked ``integration``.

``--affected-since REF`` runs only the tests of the workspace members affected since the
merge base with REF (``tta_dev.workspace.affected_since``, work tree included). A test
belongs to a member by the convention of ``tta_dev.workspace.member_for_test``: inside the
member's folder, under ``tests/<member>/`` or ``tests/<kind>/<member>/``, else the root
project (and the members it imports), else the members it imports (``members_for_test``: a root ``tests/test_x.py``
importing an affected member runs). Tests that import no member run when any member is
affected (as in CI, where the first member job runs them), and when a change cannot be
attributed (an unknown base, a shallow clone, a file no rule or member claims) everything
runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from tta_dev.testing import _support

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from tta_dev.primitives import WorkflowContext
    from tta_dev.testing.mock import MockPrimitive
    from tta_dev.workspace import Lockfile, Member, Workspace

_MARKERS = {
    "unit": "fast, isolated tests (no services, no network)",
    "integration": "tests that talk to real services (Redis, Prometheus); tests under an"
    " integration/ folder get it automatically",
    "slow": "tests that take more than a second or two",
}
_HOW = {
    "redis": "set REDIS_URL, or run `uv run nox -s integration` (it finds or starts Redis)",
    "prometheus": "set PROMETHEUS_URL, or run `uv run nox -s integration` (it finds or"
    " starts Prometheus)",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, description in _MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    _check_selection_options(config)


def _wanted_members(config: pytest.Config) -> list[str]:
    """``--for-member`` values, each one name or several comma-separated (an entry of a
    matrix that GitHub's 256-job limit made hold several members)."""
    values: list[str] = config.getoption("for_member", None) or []
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _check_selection_options(config: pytest.Config) -> None:
    """Refuse bad selection options before collection: under xdist the workers collect,
    and a usage error raised there is an INTERNALERROR traceback, not one line."""
    wanted = _wanted_members(config)
    if config.getoption("skip_unclaimed", False) and not wanted:
        raise pytest.UsageError("--skip-unclaimed goes with --for-member NAME")
    if not wanted and not config.getoption("affected_since", None):
        return
    from packaging.utils import canonicalize_name

    from tta_dev.workspace import WorkspaceError, load_workspace

    option = "--for-member" if wanted else "--affected-since"
    try:
        workspace = load_workspace(config.rootpath)
    except WorkspaceError as exc:
        raise pytest.UsageError(_workspace_error(option, exc)) from exc
    names = frozenset(canonicalize_name(n) for n in wanted)
    unknown = sorted(names - workspace.names)
    if unknown:
        raise pytest.UsageError(f"--for-member: {unknown[0]!r} is not a workspace member")
    # Collection reuses both: the options were checked here, once, in every process.
    config.stash[_WORKSPACE] = workspace
    config.stash[_FOR_MEMBERS] = names


@pytest.hookimpl(tryfirst=True)
def pytest_itemcollected(item: pytest.Item) -> None:
    """Tests in a folder named ``integration`` (at any depth) are ``integration`` tests."""
    try:
        parts = item.path.parent.relative_to(item.config.rootpath).parts
    except ValueError:
        parts = ()
    if "integration" in parts and item.get_closest_marker("integration") is None:
        item.add_marker(pytest.mark.integration)


# -- workspace -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def uv_workspace_root(pytestconfig: pytest.Config) -> Path:
    """The root of the uv workspace (or project) the tests run in, found from pytest's rootdir."""
    from tta_dev.workspace import WorkspaceError, find_workspace_root

    try:
        return find_workspace_root(pytestconfig.rootpath)
    except WorkspaceError as exc:
        pytest.fail(f"uv_workspace_root: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def uv_workspace(uv_workspace_root: Path) -> Workspace:
    """The workspace model (``tta_dev.workspace.Workspace``) of ``uv_workspace_root``."""
    from tta_dev.workspace import WorkspaceError, load_workspace

    try:
        return load_workspace(uv_workspace_root)
    except WorkspaceError as exc:
        pytest.fail(f"uv_workspace: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def uv_venv_path() -> Path:
    """The virtual environment the tests run in (``sys.prefix``; ``.venv`` outside one)."""
    return _support.venv_path()


@pytest.fixture(scope="session")
def workspace_packages(uv_workspace: Workspace) -> tuple[Member, ...]:
    """Every member of the workspace (root project included), from ``[tool.uv.workspace]``."""
    return tuple(uv_workspace.members)


@pytest.fixture(scope="session")
def uv_lock(uv_workspace_root: Path) -> Lockfile:
    """``uv.lock`` of the workspace, parsed (``tta_dev.workspace.Lockfile``); errors if absent."""
    from tta_dev.workspace import WorkspaceError, read_lock

    path = uv_workspace_root / "uv.lock"
    if not path.is_file():
        pytest.fail(f"uv_lock: {path} does not exist: run `uv lock`", pytrace=False)
    try:
        return read_lock(path)
    except WorkspaceError as exc:
        pytest.fail(f"uv_lock: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def installed_packages() -> Mapping[str, str]:
    """Normalised distribution name to version in the running environment (``uv pip list``)."""
    return _support.installed_distributions()


@pytest.fixture(scope="session")
def ensure_workspace_synced(
    uv_workspace_root: Path, uv_venv_path: Path, request: pytest.FixtureRequest
) -> _support.SyncCheck:
    """Fail unless the environment matches ``uv.lock`` (``uv sync --locked --check``).

    Checks only: the lock and the environment are never changed. The failure names the
    command to run. Extra ``uv sync`` arguments (groups, extras) come from the ini option
    ``tta_sync_args``.
    """
    extra: list[str] = list(request.config.getini("tta_sync_args"))
    check = _support.check_synced(uv_workspace_root, environment=uv_venv_path, extra_args=extra)
    if not check.ok:
        pytest.fail(
            f"the environment is not in sync with uv.lock ({check.detail}): run `{check.command}`",
            pytrace=False,
        )
    return check


# -- primitives ------------------------------------------------------------------------


@pytest.fixture
def workflow_context() -> WorkflowContext:
    """A fresh ``WorkflowContext`` for one test."""
    from tta_dev.primitives import WorkflowContext

    return WorkflowContext()


@pytest.fixture
def mock_primitive() -> Callable[..., MockPrimitive]:
    """A factory of ``MockPrimitive``: ``mock_primitive("llm", return_value=...)``."""
    from tta_dev.testing.mock import MockPrimitive

    def make(name: str = "mock", **kwargs: Any) -> MockPrimitive:
        return MockPrimitive(name, **kwargs)

    return make


# -- services --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _tta_services() -> Iterator[_Services]:
    """The services this run found or started; what it started is stopped at the end."""
    with contextlib.ExitStack() as stack:
        yield _Services(stack)


class _Services:
    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.urls: dict[str, str] = {}

    def url(self, name: str, env_var: str) -> str:
        url = os.environ.get(env_var, "").strip()
        if url:
            return url.rstrip("/")
        if name not in self.urls:
            from tta_dev.devtools.services import ServiceUnavailableError, provide_services

            try:
                endpoints = self.stack.enter_context(provide_services([name]))
            except ServiceUnavailableError as exc:
                _support.unavailable(f"{name} is not available ({exc}); {_HOW[name]}")
                raise AssertionError("unreachable") from exc  # pragma: no cover
            self.urls[name] = endpoints[name].url
        return self.urls[name]


@pytest.fixture(scope="session")
def redis_url(_tta_services: _Services) -> str:
    """URL of a real Redis: ``REDIS_URL``, else one found or started like the nox sessions do.

    Skips (with the command that provides one) when none can be had; fails when ``CI`` is set.
    """
    return _tta_services.url("redis", "REDIS_URL")


@pytest.fixture(scope="session")
def prometheus_url(_tta_services: _Services) -> str:
    """Base URL of a real Prometheus: ``PROMETHEUS_URL``, else found or started.

    Skips (with the command that provides one) when none can be had; fails when ``CI`` is set.
    """
    return _tta_services.url("prometheus", "PROMETHEUS_URL")


@pytest.fixture
def redis_key_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test alone (per test and per xdist worker); no glob characters."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return _support.redis_key_prefix(worker, request.node.nodeid)


async def _redis_client(redis_url: str, redis_key_prefix: str) -> AsyncIterator[Redis]:
    try:
        import redis.asyncio
    except ImportError:
        _support.unavailable("redis_client needs the redis package: uv add 'tta-dev[redis]'")
        raise AssertionError("unreachable") from None  # pragma: no cover
    # redis-py's stubs leave kwargs untyped; the client is used through its own API.
    client: Any = cast(Any, redis.asyncio.Redis).from_url(redis_url)
    try:
        yield client
    finally:
        # Only this test's keys: never FLUSHALL/FLUSHDB a server others (or you) use.
        try:
            keys: list[bytes] = [
                key async for key in client.scan_iter(match=f"{redis_key_prefix}*", count=500)
            ]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


_redis_client.__doc__ = (
    "An async Redis client (``redis.asyncio.Redis``) on ``redis_url``.\n\n"
    "Write keys under ``redis_key_prefix``: they are this test's alone (per test and per"
    " xdist worker) and are deleted after the test, also when it fails. The server is never"
    " flushed, so a developer's own data is safe. Needs pytest-asyncio."
)


def _redis_client_fixture() -> Any:
    """The async fixture through pytest-asyncio, or one that says how to get it."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - the project's own runs have pytest-asyncio

        @pytest.fixture(name="redis_client")
        def missing() -> None:
            _support.unavailable("redis_client is async: uv add --group test pytest-asyncio")

        missing.__doc__ = _redis_client.__doc__
        return missing
    return pytest_asyncio.fixture(_redis_client, name="redis_client")


redis_client = _redis_client_fixture()


# -- agentic ---------------------------------------------------------------------------


@pytest.fixture
def agentic_workspace(
    uv_workspace_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> _support.AgenticWorkspace:
    """A temporary copy of the project (no .venv, .git or caches), a git repo, synced.

    ``uv sync --locked`` builds the copy's own ``.venv``; ``.run(...)`` runs a command in
    it. Fails with uv's message when the copy cannot be synced.
    """
    dest = tmp_path_factory.mktemp("agentic") / uv_workspace_root.name
    try:
        return _support.make_agentic_workspace(uv_workspace_root, dest)
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"agentic_workspace: {exc}", pytrace=False)


@pytest.fixture
def feature_branch(
    agentic_workspace: _support.AgenticWorkspace, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A git branch made for this test in ``agentic_workspace`` and checked out.

    After the test (also when it fails) the previous branch is checked out again and the
    test's branch is deleted.
    """
    root = agentic_workspace.root
    previous = _support.git(root, "rev-parse", "--abbrev-ref", "HEAD")
    name = "tta-test/" + _support.unique_label(request.node.nodeid)
    _support.git(root, "checkout", "--quiet", "-b", name)
    try:
        yield name
    finally:
        _support.git(root, "checkout", "--quiet", "--force", previous)
        _support.git(root, "branch", "--quiet", "-D", name)


_AFFECTED_NOTE = pytest.StashKey[str]()
#: The workspace and the ``--for-member`` names, as ``pytest_configure`` checked them.
_WORKSPACE = pytest.StashKey["Workspace"]()
_FOR_MEMBERS = pytest.StashKey[frozenset[str]]()
#: Set when ``--affected-since`` deselected every test that was left.
_EMPTIED = pytest.StashKey[bool]()
_EMPTIED_OUTPUT = "tta_dev_affected_emptied"  # the same, from an xdist worker
#: Under xdist: the note a worker wrote (workers collect; the controller prints it once).
_WORKER_NOTE = pytest.StashKey[str]()
_NOTE_OUTPUT = "tta_dev_affected_note"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tta-dev")
    group.addoption(
        "--affected-since",
        metavar="REF",
        default=None,
        help="run only the tests of workspace members affected since REF (git); everything"
        " when a change cannot be attributed",
    )
    group.addoption(
        "--for-member",
        metavar="NAME",
        action="append",
        default=[],
        help="run only the tests of workspace member NAME (repeatable, or comma-separated):"
        " its own, root tests importing it, and tests that import no member (one CI job per"
        " member)",
    )
    group.addoption(
        "--skip-unclaimed",
        action="store_true",
        default=False,
        help="with --for-member: leave out tests that import no member (one job of the"
        " matrix runs them; the others pass this)",
    )
    parser.addini(
        "tta_sync_args",
        type="args",
        default=[],
        help="extra `uv sync` arguments (groups, extras) for ensure_workspace_synced",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests of members that ``--affected-since`` finds unaffected."""
    workspace = config.stash.get(_WORKSPACE, None)
    if workspace is None:
        return  # neither --for-member nor --affected-since (pytest_configure checked both)
    wanted = config.stash[_FOR_MEMBERS]
    if wanted:
        unclaimed = not config.getoption("skip_unclaimed")
        _keep_tests_of(config, items, workspace, wanted, unclaimed=unclaimed)
    ref: str | None = config.getoption("affected_since")
    if not ref:
        return
    from tta_dev._safeio import clip
    from tta_dev.workspace import WorkspaceError, affected_since

    try:
        result = affected_since(workspace, ref)
    except WorkspaceError as exc:
        raise pytest.UsageError(_workspace_error("--affected-since", exc)) from exc
    if result.all:
        config.stash[_AFFECTED_NOTE] = (
            f"--affected-since {clip(ref)}: running every test ({'; '.join(result.why_all)})"
        )
        return
    # Tests that import no member run when some member is affected: CI's first member job
    # runs them then, and with no member affected there is no job. Nothing they can read
    # changed either: any file outside the members makes everything affected.
    dropped = _keep_tests_of(config, items, workspace, result.names, unclaimed=bool(result.names))
    names = ", ".join(sorted(result.names)) or "none"
    config.stash[_AFFECTED_NOTE] = (
        f"--affected-since {clip(ref)}: affected members: {names}; {dropped} tests deselected"
    )


def _keep_tests_of(
    config: pytest.Config,
    items: list[pytest.Item],
    workspace: Workspace,
    names: frozenset[str],
    *,
    unclaimed: bool,
) -> int:
    """Deselect the tests of no member in ``names`` (those of no member: unless
    ``unclaimed``); how many were deselected."""
    from tta_dev.workspace import TestMap, members_for_test

    test_map = TestMap(workspace)
    by_file: dict[Path, frozenset[str] | None] = {}
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        if item.path not in by_file:
            by_file[item.path] = members_for_test(workspace, item.path, test_map)
        members = by_file[item.path]
        (keep if (unclaimed if members is None else bool(members & names)) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config.stash[_EMPTIED] = not keep
    return len(drop)


def _workspace_error(option: str, exc: Exception) -> str:
    # The workspace reader speaks to the tta-dev CLI user ("pass --root"); pytest has no
    # --root: the workspace is found from the rootdir.
    message = str(exc).replace("pass --root", "run pytest inside the workspace (its rootdir)")
    return f"{option}: {message}"


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    note = config.stash.get(_AFFECTED_NOTE, None)
    return [note] if note else []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No affected member means nothing to test: that is a success, not "no tests ran".

    Only when this plugin deselected the last tests: "no tests ran" for another reason
    (``-k``, an empty test folder) stays what pytest says. Under xdist the workers
    collect, so each tells the controller through ``workeroutput``.
    """
    config = session.config
    emptied = config.stash.get(_EMPTIED, False)
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_EMPTIED_OUTPUT] = emptied
        workeroutput[_NOTE_OUTPUT] = config.stash.get(_AFFECTED_NOTE, "")
    if emptied and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist, on the controller: a worker finished; note whether it deselected everything."""
    output: dict[str, Any] = getattr(node, "workeroutput", {})
    if output.get(_EMPTIED_OUTPUT):
        node.config.stash[_EMPTIED] = True
    note = output.get(_NOTE_OUTPUT)
    if isinstance(note, str) and note:
        node.config.stash[_WORKER_NOTE] = note  # every worker selects alike: one is enough


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """xdist, on the controller: what the workers selected (the serial run says it at
    collection), so a mistyped ref that ran everything does not pass unremarked."""
    note = config.stash.get(_WORKER_NOTE, None)
    if note:
        terminalreporter.write_line(note)
