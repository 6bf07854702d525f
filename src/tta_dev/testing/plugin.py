"""pytest plugin registered through the ``pytest11`` entry point.

Fixtures for the real services that integration tests use. The ``integration`` nox session
resolves the services (environment URL, local binary or docker compose) and passes their
URLs in ``REDIS_URL`` and ``PROMETHEUS_URL``; run outside it, these tests are skipped with
the command that provides them.
"""

from __future__ import annotations

import os

import pytest

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
