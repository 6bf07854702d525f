"""pytest plugin registered through the ``pytest11`` entry point.

Fixtures for the real services that integration tests use. The ``integration`` nox session
resolves the services (environment URL, local binary or docker compose) and passes their
URLs in ``REDIS_URL`` and ``PROMETHEUS_URL``; run outside it, these tests are skipped with
the command that provides them.

``--affected-since REF`` runs only the tests of the workspace members affected since the
merge base with REF (``tta_dev.workspace.affected_since``, work tree included). A test
belongs to a member by the convention of ``tta_dev.workspace.member_for_test``: inside the
member's folder, under ``tests/<member>/`` or ``tests/<kind>/<member>/``, else the root
project. Tests no member claims always run, and when a change cannot be attributed (an
unknown base, a shallow clone, a file no rule or member claims) everything runs.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tta_dev.workspace import WorkspaceError, affected_since, load_workspace, member_for_test

_HOW = "run `uv run nox -s integration`, which finds or starts the services"


def _service_url(var: str) -> str:
    url = os.environ.get(var, "").strip()
    if not url:
        pytest.skip(f"{var} is not set: {_HOW}")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a real Redis server (from ``REDIS_URL``)."""
    return _service_url("REDIS_URL")


@pytest.fixture(scope="session")
def prometheus_url() -> str:
    """Base URL of a real Prometheus server (from ``PROMETHEUS_URL``)."""
    return _service_url("PROMETHEUS_URL")


_AFFECTED_NOTE = pytest.StashKey[str]()
#: Set when ``--affected-since`` deselected every test that was left.
_EMPTIED = pytest.StashKey[bool]()
_EMPTIED_OUTPUT = "tta_dev_affected_emptied"  # the same, from an xdist worker


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tta-dev")
    group.addoption(
        "--affected-since",
        metavar="REF",
        default=None,
        help="run only the tests of workspace members affected since REF (git); everything"
        " when a change cannot be attributed",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests of members that ``--affected-since`` finds unaffected."""
    ref: str | None = config.getoption("affected_since")
    if not ref:
        return
    try:
        workspace = load_workspace(config.rootpath)
        result = affected_since(workspace, ref)
    except WorkspaceError as exc:
        raise pytest.UsageError(f"--affected-since: {exc}") from exc
    if result.all:
        config.stash[_AFFECTED_NOTE] = (
            f"--affected-since {ref}: running every test ({'; '.join(result.why_all)})"
        )
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        member = member_for_test(workspace, item.path)
        (keep if member is None or member.name in result.names else drop).append(item)
    names = ", ".join(sorted(result.names)) or "none"
    config.stash[_AFFECTED_NOTE] = (
        f"--affected-since {ref}: affected members: {names}; {len(drop)} tests deselected"
    )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config.stash[_EMPTIED] = not keep


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
    if emptied and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist, on the controller: a worker finished; note whether it deselected everything."""
    output: dict[str, Any] = getattr(node, "workeroutput", {})
    if output.get(_EMPTIED_OUTPUT):
        node.config.stash[_EMPTIED] = True
