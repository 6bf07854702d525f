"""What a noxfile needs to run every check from ``uv.lock``: a small public API.

::

    import nox
    from tta_dev.nox import configure, run_pytest, services, session

    configure(default=["lint", "tests"])

    @session(groups=["lint"])
    def lint(s: nox.Session) -> None:
        \"\"\"ruff: formatting and lint rules.\"\"\"
        s.run("ruff", "check", ".")

    @session(groups=["test"], extras=["redis"])
    def integration(s: nox.Session) -> None:
        \"\"\"Tests against a real Redis.\"\"\"
        with services(s, "redis") as urls:
            run_pytest(s, "integration", "-m", "integration", env=service_env(urls))

- ``session`` is ``nox.session`` that first installs exactly the locked groups and extras
  into the session's own venv (``uv sync --locked``), tagged ``ci`` unless told otherwise
  (``aggregate=True`` adds ``aggregate``: a session that runs after the others, on their
  data, like coverage).
- ``services`` finds or starts Redis/Prometheus (environment URL, local binary, installed
  with apt-get where nobody must answer, docker compose), logs how without secrets, stops
  what it started, and turns "not available" into one ``session.error`` line.
- ``run_pytest`` and ``combine_coverage``: the coverage pattern (``coverage run -m pytest``
  per session into ``.coverage.<name>``, combined and enforced once, by an aggregate session).
- ``configure`` sets the options a uv project wants: the uv backend, venv reuse, and
  missing interpreters failing when ``CI`` is set (skipped on a laptop).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import nox

from tta_dev.testing._support import in_ci

if TYPE_CHECKING:
    from tta_dev.devtools.services import ServiceEndpoint

__all__ = [
    "AGGREGATE",
    "CI",
    "ServiceURLs",
    "combine_coverage",
    "configure",
    "install_locked",
    "other_pythons",
    "run_pytest",
    "service_env",
    "services",
    "session",
]

#: The tag of every session CI runs (its matrix is ``nox -l --json -t ci``).
CI = "ci"
#: The tag of sessions that run after the matrix, on its artifacts (coverage).
AGGREGATE = "aggregate"

F = TypeVar("F", bound=Callable[..., Any])


def configure(
    *, default: Sequence[str] | None = None, needs_version: str | None = ">=2026.8"
) -> None:
    """Set the nox options a uv project wants (call once at the top of the noxfile).

    The uv backend (virtualenv where uv is absent), venvs reused between runs, and a Python
    that cannot be found failing the run when ``CI`` is set (skipped otherwise), so a CI
    job cannot pass having run nothing.
    """
    if needs_version:
        nox.needs_version = needs_version
    nox.options.default_venv_backend = "uv|virtualenv"
    nox.options.reuse_venv = "yes"
    nox.options.error_on_missing_interpreters = in_ci()
    if default is not None:
        nox.options.sessions = list(default)


def install_locked(
    session: nox.Session,
    *groups: str,
    extras: Iterable[str] = (),
    all_extras: bool = False,
    all_packages: bool = False,
) -> None:
    """Install exactly what ``uv.lock`` pins for ``groups``/``extras`` into the session venv.

    ``uv sync --locked`` fails (instead of re-locking) when the lock is stale, and
    ``--no-default-groups`` keeps the session to what it names. ``all_packages`` installs
    every workspace member (a workspace whose tests span members).
    """
    args = ["uv", "sync", "--locked", "--no-default-groups", "--quiet"]
    args += [f"--group={g}" for g in groups]
    args += ["--all-extras"] if all_extras else [f"--extra={e}" for e in extras]
    if all_packages:
        args.append("--all-packages")
    session.run_install(
        *args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}, silent=True
    )


def session(
    *,
    groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    all_extras: bool = False,
    all_packages: bool = False,
    install: bool = True,
    ci: bool = True,
    aggregate: bool = False,
    tags: Sequence[str] = (),
    **nox_kwargs: Any,
) -> Callable[[F], F]:
    """``nox.session`` that installs the locked ``groups``/``extras`` before the body runs.

    Tagged ``ci`` unless ``ci=False``; ``aggregate=True`` adds ``aggregate``. Other keyword
    arguments go to ``nox.session`` (``python=``, ``venv_backend=``, ``name=``...). With
    ``venv_backend="none"`` or ``install=False`` nothing is installed.
    """
    all_tags = [*tags, *([CI] if ci else []), *([AGGREGATE] if aggregate else [])]
    no_venv = nox_kwargs.get("venv_backend") == "none" or nox_kwargs.get("python") is False

    def decorate(body: F) -> F:
        @functools.wraps(body)
        def run(s: nox.Session, *args: Any, **kwargs: Any) -> Any:
            if install and not no_venv:
                install_locked(
                    s, *groups, extras=extras, all_extras=all_extras, all_packages=all_packages
                )
            return body(s, *args, **kwargs)

        return cast("F", nox.session(tags=all_tags, **nox_kwargs)(run))

    return decorate


class ServiceURLs(dict[str, str]):
    """``name -> URL`` of the services a session got; ``.endpoints`` says how each came."""

    def __init__(self, endpoints: Mapping[str, ServiceEndpoint]) -> None:
        super().__init__({name: endpoint.url for name, endpoint in endpoints.items()})
        self.endpoints = dict(endpoints)


def service_env(urls: Mapping[str, str]) -> dict[str, str]:
    """``{"REDIS_URL": ..., "PROMETHEUS_URL": ...}`` for the services in ``urls``."""
    from tta_dev.devtools.services import SERVICES

    return {SERVICES[name].env_var: url for name, url in urls.items() if name in SERVICES}


@contextlib.contextmanager
def services(
    session: nox.Session,
    *names: str,
    compose_file: str | Path = "docker-compose.test.yml",
    scrape_targets: Sequence[str] = (),
    timeout: float = 30.0,
) -> Generator[ServiceURLs]:
    """Find or start each named service for the session; yield ``name -> URL``.

    The resolution and clean-up of ``tta_dev.devtools.services.provide_services``: an
    environment URL (``REDIS_URL``), else a local binary on a free loopback port, else the
    Debian package installed with apt-get where no one must answer (``TTA_NO_PROVISION=1``
    opts out), else docker compose. Each way used is logged without passwords or tokens;
    what was started is stopped when the block ends (also on failure and signals). When a
    service cannot be had, the session errors with one line naming the ways.
    """
    from tta_dev.devtools.services import ServiceUnavailableError, provide_services

    stack = contextlib.ExitStack()
    try:
        endpoints = stack.enter_context(
            provide_services(
                list(names),
                compose_file=Path(compose_file),
                scrape_targets=scrape_targets,
                timeout=timeout,
                log=session.log,
            )
        )
    except ServiceUnavailableError as exc:
        session.error(str(exc))
    with stack:
        for endpoint in endpoints.values():
            session.log(endpoint.describe())
        yield ServiceURLs(endpoints)


def run_pytest(
    session: nox.Session,
    name: str,
    *pytest_args: str,
    env: Mapping[str, str] | None = None,
    root: str | Path = ".",
) -> None:
    """``coverage run -m pytest ARGS`` with data in ``.coverage.<name>`` (old data erased).

    ``coverage run`` (not pytest-cov) so pytest plugins and subprocesses are measured (set
    ``patch = ["subprocess"]`` and ``parallel = true`` in ``[tool.coverage.run]``).
    """
    folder = Path(root).resolve()
    for old in folder.glob(f".coverage.{name}*"):
        old.unlink()
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        *pytest_args,
        env={**(env or {}), "COVERAGE_FILE": str(folder / f".coverage.{name}")},
    )


def combine_coverage(session: nox.Session, *report_args: str, root: str | Path = ".") -> None:
    """Combine every ``.coverage.*`` of ``root``, report, enforce ``fail_under``.

    On GitHub Actions the Markdown table is appended to the job summary too.
    """
    folder = Path(root).resolve()
    data = sorted(folder.glob(".coverage.*"))
    if not data:
        session.error("no coverage data: run the test sessions first")
    session.run("coverage", "combine", "--keep", *(str(p) for p in data), silent=True)
    session.run("coverage", "report", *report_args)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        table = session.run("coverage", "report", "--format=markdown", silent=True)
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"## Coverage\n\n{table}\n")


def other_pythons(pyproject: str | Path = "pyproject.toml") -> list[str]:
    """The Pythons the classifiers promise, except the one nox runs with."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    data = nox.project.load_toml(Path(pyproject))
    return [v for v in nox.project.python_versions(data) if v != running]
