"""The noxfile's CI honesty and what its service sessions print (secrets never)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import nox
import nox.registry
import pytest

from tests.unit.devtools.test_services import SECRET, _FakeRedis, _Ready
from tta_dev.devtools.services import ProvisionResult, find_free_port

ROOT = Path(__file__).resolve().parents[3]


def load_noxfile(monkeypatch: pytest.MonkeyPatch, tmp_root: Path | None = None) -> ModuleType:
    """Import noxfile.py afresh; nox's options and registry are restored after the test.

    With ``tmp_root`` the sessions run as if the project were there (the coverage data
    they erase first is not this checkout's), install nothing, and find Chromium and
    Graphviz without installing them.
    """
    monkeypatch.setattr(nox.registry, "_REGISTRY", {})
    for name in ("error_on_missing_interpreters", "sessions", "reuse_venv"):
        monkeypatch.setattr(nox.options, name, getattr(nox.options, name))
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if tmp_root is not None:
        monkeypatch.setattr(module, "ROOT", tmp_root)
        monkeypatch.setattr("tta_dev.nox.install_locked", lambda *a, **k: None)
        monkeypatch.setattr(
            module,
            "provide_tool",
            lambda name, **_k: ProvisionResult(name, name, f"/usr/bin/{name}"),
        )
    return module


@pytest.mark.parametrize(("ci", "expected"), [("true", True), (None, False)])
def test_missing_interpreter_fails_in_ci_only(
    monkeypatch: pytest.MonkeyPatch, ci: str | None, expected: bool
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    load_noxfile(monkeypatch)
    assert nox.options.error_on_missing_interpreters is expected


class SessionError(Exception):
    pass


class FakeSession:
    """Records what a session logs and runs; ``error`` raises as nox's does."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.commands: list[tuple[tuple[str, ...], dict[str, str]]] = []
        self.posargs: list[str] = []
        self.virtualenv = SimpleNamespace(location="/nonexistent/venv")

    def log(self, message: object, *_args: Any) -> None:
        self.logs.append(str(message))

    def run(self, *args: str, env: dict[str, str] | None = None, **_kw: Any) -> None:
        self.commands.append((args, dict(env or {})))

    run_install = run

    def error(self, message: str) -> None:
        self.logs.append(message)
        raise SessionError(message)

    def printed(self) -> str:
        """Everything nox would print: log lines and command lines (never env values)."""
        return "\n".join([*self.logs, *(" ".join(args) for args, _ in self.commands)])


@pytest.fixture
def fake_redis() -> Iterator[_FakeRedis]:
    server = _FakeRedis()
    yield server
    server.close()


@pytest.fixture
def fake_prometheus() -> Iterator[int]:
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_integration_session_prints_no_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_redis: _FakeRedis, fake_prometheus: int
) -> None:
    redis_url = f"redis://:{SECRET}@127.0.0.1:{fake_redis.port}/0"
    prom_url = f"http://admin:{SECRET}@127.0.0.1:{fake_prometheus}?token={SECRET}"
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("PROMETHEUS_URL", prom_url)
    noxfile = load_noxfile(monkeypatch, tmp_path)
    session = FakeSession()
    noxfile.integration(session)
    assert SECRET not in session.printed()
    assert f"redis: redis://127.0.0.1:{fake_redis.port}/0 via environment" in session.logs
    pytest_args, pytest_env = session.commands[-1]
    assert pytest_args[:3] == ("coverage", "run", "-m")
    # pytest still gets the URLs it needs to authenticate.
    assert pytest_env["REDIS_URL"] == redis_url
    assert pytest_env["PROMETHEUS_URL"] == prom_url


def test_observability_session_prints_no_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_prometheus: int
) -> None:
    prom_url = f"http://admin:{SECRET}@127.0.0.1:{fake_prometheus}/?token={SECRET}"
    monkeypatch.setenv("PROMETHEUS_URL", prom_url)
    noxfile = load_noxfile(monkeypatch, tmp_path)
    session = FakeSession()
    noxfile.observability(session)
    assert SECRET not in session.printed()
    args, env = session.commands[-1]
    assert env["PROMETHEUS_URL"] == prom_url.rstrip("/")
    assert args[:2] == ("python", "-c")


def test_selfcheck_command_reads_a_secret_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The `-c` program really hands the URL over (here to a self-check that cannot reach it)."""
    noxfile = load_noxfile(monkeypatch)
    url = f"http://admin:{SECRET}@127.0.0.1:{find_free_port()}"
    plain = f"http://127.0.0.1:{find_free_port()}"
    assert noxfile._selfcheck_command(plain) == [
        "-m",
        "tta_dev.observability._selfcheck",
        "--prometheus",
        plain,
    ]
    command = noxfile._selfcheck_command(url)
    assert SECRET not in " ".join(command)
    done = subprocess.run(
        [sys.executable, *command, "--help"],
        env={**os.environ, "PROMETHEUS_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--prometheus" in done.stdout


def test_unreachable_service_url_error_has_no_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    noxfile = load_noxfile(monkeypatch, tmp_path)
    monkeypatch.setenv("REDIS_URL", f"redis://:{SECRET}@127.0.0.1:{find_free_port()}/0")
    import tta_dev.devtools.services as services

    # tta_dev.nox.services looks provide_services up when it runs.
    monkeypatch.setattr(services, "provide_services", _with_timeout(services.provide_services, 0.2))
    session = FakeSession()
    with pytest.raises(SessionError, match=r"REDIS_URL=redis://127\.0\.0\.1:\d+/0 is set"):
        noxfile.integration(session)
    assert SECRET not in session.printed()


def _with_timeout(provide: Any, timeout: float) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return provide(*args, **{**kwargs, "timeout": timeout})

    return wrapped


# --- integration tests in CI fail where they would skip locally --------------------------


def _run_observability_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """tests/integration/test_observability.py where no Prometheus can be had."""
    venv_bin = str(Path(sys.executable).parent)
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "PROMETHEUS_URL", "PATH"}}
    return subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"),
            str(ROOT / "tests" / "integration" / "test_observability.py"),
        ],
        # No prometheus on PATH, no Docker, no installing: nothing can provide it.
        env={**clean, "PATH": venv_bin, "TTA_NO_PROVISION": "1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_missing_prometheus_skips_locally_with_the_fix() -> None:
    done = _run_observability_tests({})
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout
    assert "PROMETHEUS_URL" in done.stdout


@pytest.mark.slow
def test_missing_prometheus_fails_in_ci() -> None:
    done = _run_observability_tests({"CI": "true"})
    assert done.returncode == 1, done.stdout
    assert "2 errors" in done.stdout
    assert "CI is set, so this is an error, not a skip" in done.stdout


# --- one code path: CI installs no service itself ----------------------------------------


def test_ci_scripts_leave_services_to_the_sessions() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    runs = [
        step.get("run", "") for job in workflow["jobs"].values() for step in job.get("steps", [])
    ]
    assert not [run for run in runs if "apt-get" in run]
    session_runs = [run for run in runs if '-s "$SESSION"' in run]
    assert session_runs == ['uv run nox --download-python always -s "$SESSION"']
    commands = [
        line
        for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    assert not [line for line in commands if "apt-get" in line]
    assert commands[-1] == "uv run nox -t ci"
