"""Every check this project runs, as nox sessions on the uv backend.

`uv run nox` runs the default sessions (lint, typecheck, unit); `uv run nox -t ci` runs
everything CI runs, services included. Each session installs exactly the locked versions
with `uv sync --locked` into its own virtual environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))  # the services helper works without an installed project

from tta_dev._redact import shown_url  # noqa: E402
from tta_dev.devtools.services import find_free_port, provide_tool  # noqa: E402
from tta_dev.nox import (  # noqa: E402
    combine_coverage,
    configure,
    other_pythons,
    run_pytest,
    service_env,
    services,
    session,
)

# uv backend, venvs reused, and a Python that cannot be found (nor installed by uv) fails
# when CI is set: a compat job that ran no test must not pass green.
configure(default=["lint", "typecheck", "unit"])

ALL_EXTRAS = ("observability", "otlp", "redis", "llm", "devtools", "automation", "agentic")
# The other Pythons the classifiers promise; `unit` already runs on the one nox runs with.
OTHER_PYTHONS = other_pythons(ROOT / "pyproject.toml")


@session(groups=["lint"], extras=["agentic", "devtools"])
def lint(session: nox.Session) -> None:
    """Formatting, lint rules, workflow security (zizmor), workflow schema, documented commands."""
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("zizmor", "--offline", "--persona=pedantic", ".github")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run("tta-dev", "agentic", "validate")  # commands run through uv run / uvx / nox


@session(groups=["dev", "bench"], extras=ALL_EXTRAS)
def typecheck(session: nox.Session) -> None:
    """pyright: strict on src/, standard on tests, scripts, benchmarks and task files."""
    python = Path(session.bin) / "python"
    session.run("pyright", "--pythonpath", str(python), *session.posargs)


@session(groups=["test"], extras=ALL_EXTRAS)
def unit(session: nox.Session) -> None:
    """Unit tests in parallel (xdist) with coverage; integration tests deselected."""
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
    run_pytest(session, "unit", "-m", "not integration", *args, root=ROOT)


@session(python=OTHER_PYTHONS, groups=["test"], extras=ALL_EXTRAS)
def compat(session: nox.Session) -> None:
    """Unit tests on the other Pythons the classifiers promise (a missing one fails in CI)."""
    session.run(
        "pytest", "-m", "not integration and not slow", *(session.posargs or ["-n", "auto"])
    )


@session(groups=["test"], extras=ALL_EXTRAS)
def integration(session: nox.Session) -> None:
    """Integration tests against real Redis and real Prometheus (env URL, local binary or compose)."""
    # The dashboard test renders in headless Chromium and draws with Graphviz: found or
    # installed like the services (apt-get where no one must answer; TTA_NO_PROVISION=1).
    for tool in ("chromium", "graphviz"):
        found = provide_tool(tool, log=session.log)
        session.log(f"{tool}: {found.binary or 'not available: ' + found.reason}")
    compose = ROOT / "docker-compose.test.yml"
    with services(session, "redis", "prometheus", compose_file=compose) as urls:
        # The URLs go to pytest through the environment, which nox does not print.
        run_pytest(
            session,
            "integration",
            "-m",
            "integration",
            *session.posargs,
            env=service_env(urls),
            root=ROOT,
        )


@session(extras=["observability"])
def observability(session: nox.Session) -> None:
    """Sample workflow instrumented: span tree, metrics scraped by a real Prometheus (PromQL), LLM efficiency."""
    # A Prometheus we start scrapes a free port; one from PROMETHEUS_URL or docker compose
    # cannot be told it, so the metrics go to TTA_METRICS_ADDR (default 127.0.0.1:9464).
    local_addr = f"127.0.0.1:{find_free_port()}"
    compose = ROOT / "docker-compose.test.yml"
    with services(session, "prometheus", compose_file=compose, scrape_targets=[local_addr]) as urls:
        url = urls["prometheus"]
        args = ["--config", str(ROOT / "pyproject.toml")]
        if urls.endpoints["prometheus"].how == "local-binary":
            args += ["--metrics-addr", local_addr]
        session.run(
            "python",
            *_selfcheck_command(url),
            *args,
            *session.posargs,
            env={"PROMETHEUS_URL": url},
        )


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


@session(venv_backend="none")
def lock_check(session: nox.Session) -> None:
    """uv.lock matches pyproject.toml (run `uv lock` and commit it when this fails)."""
    try:
        session.run("uv", "lock", "--check", silent=True)
    except CommandFailed:
        session.error("uv.lock is out of date with pyproject.toml: run `uv lock` and commit it")


@session(groups=["test"], aggregate=True)
def coverage(session: nox.Session) -> None:
    """Combine the coverage data of unit and integration, report, enforce fail_under."""
    combine_coverage(session, *session.posargs, root=ROOT)
