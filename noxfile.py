"""Every check this project runs, as nox sessions on the uv backend.

`uv run nox` runs the default sessions (lint, typecheck, unit); `uv run nox -t ci` runs
everything CI runs, services included. Each session installs exactly the locked versions
with `uv sync --locked` into its own virtual environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))  # the services helper works without an installed project

from tta_dev._redact import shown_url  # noqa: E402
from tta_dev.devtools.services import (  # noqa: E402
    ServiceUnavailableError,
    find_free_port,
    provide_services,
    provide_tool,
)

nox.needs_version = ">=2026.8"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "unit"]

ALL_EXTRAS = ("observability", "otlp", "redis", "llm", "devtools", "automation", "agentic")
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
# The other Pythons the classifiers promise; `unit` already runs on the one nox runs with.
OTHER_PYTHONS = [v for v in nox.project.python_versions(PYPROJECT) if v != RUNNING]

# A Python that cannot be found (nor installed by uv) is skipped on a laptop but fails in
# CI (`CI` set): a compat job that ran no test must not pass green. nox's own default; said
# here so that nobody turns it off again.
nox.options.error_on_missing_interpreters = "CI" in os.environ


def install_locked(session: nox.Session, *groups: str, extras: tuple[str, ...] = ()) -> None:
    """Install exactly what uv.lock pins for these groups/extras into the session venv."""
    args = ["uv", "sync", "--locked", "--no-default-groups", "--quiet"]
    args += [f"--group={g}" for g in groups]
    args += [f"--extra={e}" for e in extras]
    session.run_install(
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        silent=True,
    )


def _erase_coverage(kind: str) -> None:
    """Drop a session's old coverage data so `coverage` combines this run only."""
    for old in ROOT.glob(f".coverage.{kind}*"):
        old.unlink()


@nox.session(tags=["ci"])
def lint(session: nox.Session) -> None:
    """Formatting, lint rules, workflow security (zizmor), workflow schema, documented commands."""
    install_locked(session, "lint", extras=("agentic", "devtools"))
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("zizmor", "--offline", "--persona=pedantic", ".github")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run("tta-dev", "agentic", "validate")  # commands run through uv run / uvx / nox


@nox.session(tags=["ci"])
def typecheck(session: nox.Session) -> None:
    """pyright: strict on src/, standard on tests, scripts, benchmarks and task files."""
    install_locked(session, "dev", "bench", extras=ALL_EXTRAS)
    python = Path(session.bin) / "python"
    session.run("pyright", "--pythonpath", str(python), *session.posargs)


@nox.session(tags=["ci"])
def unit(session: nox.Session) -> None:
    """Unit tests in parallel (xdist) with coverage; integration tests deselected."""
    install_locked(session, "test", extras=ALL_EXTRAS)
    _erase_coverage("unit")
    # `-n auto` stays with your arguments (`-- --affected-since REF`, `-- -k x`) unless
    # they choose for xdist themselves: `-n 2`, `--numprocesses`, `-p no:xdist`.
    posargs = list(session.posargs)
    own_xdist = any(
        a.startswith(("-n", "--numprocesses", "-pno:xdist")) or a == "no:xdist" for a in posargs
    )
    args = posargs if own_xdist else ["-n", "auto", *posargs]
    # `coverage run` (not pytest-cov) so the pytest11 plugin is measured too; xdist workers
    # are measured through coverage's subprocess patch. fail_under is enforced once, on the
    # combined data, by the `coverage` session.
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "-m",
        "not integration",
        *args,
        env={"COVERAGE_FILE": str(ROOT / ".coverage.unit")},
    )


@nox.session(python=OTHER_PYTHONS, tags=["ci"])
def compat(session: nox.Session) -> None:
    """Unit tests on the other Pythons the classifiers promise (a missing one fails in CI)."""
    install_locked(session, "test", extras=ALL_EXTRAS)
    session.run(
        "pytest", "-m", "not integration and not slow", *(session.posargs or ["-n", "auto"])
    )


@nox.session(tags=["ci"])
def integration(session: nox.Session) -> None:
    """Integration tests against real Redis and real Prometheus (env URL, local binary or compose)."""
    install_locked(session, "test", extras=ALL_EXTRAS)
    _erase_coverage("integration")
    # The dashboard test renders in headless Chromium and draws with Graphviz: found or
    # installed like the services (apt-get where no one must answer; TTA_NO_PROVISION=1).
    for tool in ("chromium", "graphviz"):
        found = provide_tool(tool, log=session.log)
        session.log(f"{tool}: {found.binary or 'not available: ' + found.reason}")
    try:
        with provide_services(
            ["redis", "prometheus"],
            compose_file=ROOT / "docker-compose.test.yml",
            log=session.log,
        ) as endpoints:
            for endpoint in endpoints.values():
                session.log(endpoint.describe())  # the URL without password or token
            # The URLs go to pytest through the environment, which nox does not print.
            session.run(
                "coverage",
                "run",
                "-m",
                "pytest",
                "-m",
                "integration",
                *session.posargs,
                env={
                    "REDIS_URL": endpoints["redis"].url,
                    "PROMETHEUS_URL": endpoints["prometheus"].url,
                    "COVERAGE_FILE": str(ROOT / ".coverage.integration"),
                },
            )
    except ServiceUnavailableError as exc:
        session.error(str(exc))


@nox.session(tags=["ci"])
def observability(session: nox.Session) -> None:
    """Sample workflow instrumented: span tree, metrics scraped by a real Prometheus (PromQL), LLM efficiency."""
    install_locked(session, extras=("observability",))
    # A Prometheus we start scrapes a free port; one from PROMETHEUS_URL or docker compose
    # cannot be told it, so the metrics go to TTA_METRICS_ADDR (default 127.0.0.1:9464).
    local_addr = f"127.0.0.1:{find_free_port()}"
    try:
        with provide_services(
            ["prometheus"],
            compose_file=ROOT / "docker-compose.test.yml",
            scrape_targets=[local_addr],
            log=session.log,
        ) as endpoints:
            prometheus = endpoints["prometheus"]
            session.log(prometheus.describe())
            args = ["--config", str(ROOT / "pyproject.toml")]
            if prometheus.how == "local-binary":
                args += ["--metrics-addr", local_addr]
            session.run(
                "python",
                *_selfcheck_command(prometheus.url),
                *args,
                *session.posargs,
                env={"PROMETHEUS_URL": prometheus.url},
            )
    except ServiceUnavailableError as exc:
        session.error(str(exc))


# nox prints every command it runs (and again when it fails), so a Prometheus URL with a
# password or token in it reaches the self-check through the environment instead.
_SELFCHECK_URL_FROM_ENV = (
    "import os, sys; from tta_dev.observability._selfcheck import main; "
    "sys.exit(main(['--prometheus', os.environ['PROMETHEUS_URL'], *sys.argv[1:]]))"
)


def _selfcheck_command(url: str) -> list[str]:
    """``python`` arguments that run the self-check against ``url``, printing no secret."""
    if shown_url(url) == url:
        return ["-m", "tta_dev.observability._selfcheck", "--prometheus", url]
    return ["-c", _SELFCHECK_URL_FROM_ENV]


@nox.session(venv_backend="none", tags=["ci"])
def lock_check(session: nox.Session) -> None:
    """uv.lock matches pyproject.toml (run `uv lock` and commit it when this fails)."""
    try:
        session.run("uv", "lock", "--check", silent=True)
    except CommandFailed:
        session.error("uv.lock is out of date with pyproject.toml: run `uv lock` and commit it")


@nox.session(tags=["ci", "aggregate"])
def coverage(session: nox.Session) -> None:
    """Combine the coverage data of unit and integration, report, enforce fail_under."""
    install_locked(session, "test")
    data = sorted(ROOT.glob(".coverage.*"))
    if not data:
        session.error("no coverage data: run the unit and integration sessions first")
    session.run("coverage", "combine", "--keep", *(str(p) for p in data), silent=True)
    session.run("coverage", "report", *session.posargs)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        table = session.run("coverage", "report", "--format=markdown", silent=True)
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(f"## Coverage\n\n{table}\n")
