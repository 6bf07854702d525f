"""tta_dev.nox: the helpers a noxfile uses, against a stand-in Session."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nox
import pytest

import tta_dev.nox as tnox
from tta_dev.devtools.services import ServiceEndpoint, ServiceUnavailableError


class FakeSession:
    """Records what a session was asked to do (the parts of nox.Session the helpers use)."""

    def __init__(self, location: str = "/venvs/s") -> None:
        self.virtualenv = type("Venv", (), {"location": location})()
        self.installs: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.runs: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.logs: list[str] = []

    def run_install(self, *args: str, **kwargs: Any) -> None:
        self.installs.append((args, kwargs))

    def run(self, *args: str, **kwargs: Any) -> str:
        self.runs.append((args, kwargs))
        return "| table |"

    def log(self, message: str) -> None:
        self.logs.append(message)

    def error(self, message: str) -> None:
        raise RuntimeError(f"session error: {message}")


def test_install_locked_syncs_exactly_the_named_groups_into_the_session_venv() -> None:
    s = FakeSession()
    tnox.install_locked(s, "lint", "test", extras=["redis"], all_packages=True)  # type: ignore[arg-type]
    (args, kwargs) = s.installs[0]
    assert args == (
        "uv", "sync", "--locked", "--no-default-groups", "--quiet",
        "--group=lint", "--group=test", "--extra=redis", "--all-packages",
    )  # fmt: skip
    assert kwargs["env"] == {"UV_PROJECT_ENVIRONMENT": "/venvs/s"}
    tnox.install_locked(s, all_extras=True)  # type: ignore[arg-type]
    assert "--all-extras" in s.installs[1][0]


@pytest.fixture
def registry() -> Iterator[None]:
    """Sessions registered by a test are removed again (nox keeps one global registry)."""
    from nox import registry as nox_registry

    saved = dict(nox_registry._REGISTRY)
    try:
        yield
    finally:
        nox_registry._REGISTRY.clear()
        nox_registry._REGISTRY.update(saved)


@pytest.mark.usefixtures("registry")
def test_session_installs_before_the_body_and_tags_ci_and_aggregate() -> None:
    from nox import registry as nox_registry

    seen: list[str] = []

    @tnox.session(groups=["test"], extras=["redis"], aggregate=True, name="cov-demo")
    def cov_demo(s: nox.Session) -> None:
        """Combine things."""
        seen.append(f"body after {len(s.installs)} install(s)")  # type: ignore[attr-defined]

    registered = nox_registry.get()["cov-demo"]
    assert registered.tags == ["ci", "aggregate"]
    assert cov_demo.__doc__ == "Combine things."
    s = FakeSession()
    registered(s)
    assert seen == ["body after 1 install(s)"]
    assert s.installs[0][0][-2:] == ("--group=test", "--extra=redis")

    @tnox.session(venv_backend="none", ci=False, name="no-venv-demo")
    def no_venv(s: nox.Session) -> None:
        """Runs tools from PATH."""

    s2 = FakeSession()
    nox_registry.get()["no-venv-demo"](s2)
    assert s2.installs == []
    assert nox_registry.get()["no-venv-demo"].tags == []


def test_services_yields_urls_logs_without_secrets_and_errors_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[str] = []

    @contextmanager
    def fake_provide(names: Sequence[str], **_kwargs: Any) -> Iterator[dict[str, ServiceEndpoint]]:
        try:
            yield {
                n: ServiceEndpoint(n, f"redis://:pw@127.0.0.1:1/{n}", "local-binary") for n in names
            }
        finally:
            stopped.append(",".join(names))

    monkeypatch.setattr("tta_dev.devtools.services.provide_services", fake_provide)
    s = FakeSession()
    with tnox.services(s, "redis") as urls:  # type: ignore[arg-type]
        assert urls == {"redis": "redis://:pw@127.0.0.1:1/redis"}
        assert urls.endpoints["redis"].how == "local-binary"
        assert tnox.service_env(urls) == {"REDIS_URL": "redis://:pw@127.0.0.1:1/redis"}
        assert stopped == []
    assert stopped == ["redis"]
    assert s.logs == ["redis: redis://127.0.0.1:1/redis via local-binary"]
    with pytest.raises(ValueError, match="boom"), tnox.services(s, "redis"):  # type: ignore[arg-type]
        raise ValueError("boom")
    assert stopped == ["redis", "redis"], "stopped also when the block fails"

    @contextmanager
    def unavailable(names: Sequence[str], **_kwargs: Any) -> Iterator[dict[str, ServiceEndpoint]]:
        raise ServiceUnavailableError("redis is not available. Provide it one of three ways")
        yield {}

    monkeypatch.setattr("tta_dev.devtools.services.provide_services", unavailable)
    with pytest.raises(RuntimeError, match="session error: redis is not available"):  # noqa: SIM117
        with tnox.services(s, "redis"):  # type: ignore[arg-type]
            pass


def test_run_pytest_and_combine_coverage(tmp_path: Path) -> None:
    (tmp_path / ".coverage.unit.old").write_text("stale")
    s = FakeSession()
    tnox.run_pytest(s, "unit", "-m", "not integration", env={"A": "1"}, root=tmp_path)  # type: ignore[arg-type]
    assert not (tmp_path / ".coverage.unit.old").exists(), "old data of the session is erased"
    args, kwargs = s.runs[0]
    assert args == ("coverage", "run", "-m", "pytest", "-m", "not integration")
    assert kwargs["env"] == {"A": "1", "COVERAGE_FILE": str(tmp_path / ".coverage.unit")}
    with pytest.raises(RuntimeError, match="no coverage data"):
        tnox.combine_coverage(s, root=tmp_path)  # type: ignore[arg-type]
    (tmp_path / ".coverage.unit").write_text("data")
    tnox.combine_coverage(s, "--fail-under=1", root=tmp_path)  # type: ignore[arg-type]
    assert s.runs[1][0][:3] == ("coverage", "combine", "--keep")
    assert s.runs[2][0] == ("coverage", "report", "--fail-under=1")


def test_configure_fails_missing_interpreters_only_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = (nox.options.error_on_missing_interpreters, nox.options.sessions)
    try:
        monkeypatch.setenv("CI", "true")
        tnox.configure(default=["lint"], needs_version=None)
        assert nox.options.error_on_missing_interpreters is True
        assert nox.options.sessions == ["lint"]
        monkeypatch.setenv("CI", "")
        tnox.configure(needs_version=None)
        assert nox.options.error_on_missing_interpreters is False
    finally:
        nox.options.error_on_missing_interpreters, nox.options.sessions = saved


def test_other_pythons_reads_the_classifiers(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\nclassifiers = [\n'
        '  "Programming Language :: Python :: 3.10",\n'
        '  "Programming Language :: Python :: 3.11",\n'
        '  "Programming Language :: Python :: 3.12",\n]\n'
    )
    found = tnox.other_pythons(tmp_path / "pyproject.toml")
    import sys

    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running not in found
    assert set(found) | {running} >= {"3.10", "3.12"}
