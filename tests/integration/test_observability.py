"""Metrics of instrumented primitives reach a real Prometheus, which answers PromQL on them.

These tests start their own Prometheus (the local binary, or docker compose) because it
must scrape a port chosen here; a Prometheus from PROMETHEUS_URL cannot be told that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import Gauge

from tta_dev.devtools.services import ServiceUnavailableError, find_free_port, provide_services
from tta_dev.observability import _selfcheck as selfcheck
from tta_dev.observability import serve_metrics
from tta_dev.testing._support import unavailable


@pytest.fixture(scope="module")
def scraping_prometheus() -> Iterator[tuple[str, str]]:
    """(Prometheus URL, metrics address it scrapes every second).

    Locally a missing Prometheus skips with the ways to provide it; in CI it fails.
    """
    addr = f"127.0.0.1:{find_free_port()}"
    with contextlib.ExitStack() as stack:
        try:
            services = provide_services(["prometheus"], environ={}, scrape_targets=[addr])
            endpoints = stack.enter_context(services)
        except ServiceUnavailableError as exc:
            unavailable(str(exc))
        yield endpoints["prometheus"].url, addr


def test_selfcheck_passes_against_a_real_prometheus(
    scraping_prometheus: tuple[str, str], project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, addr = scraping_prometheus
    code = selfcheck.main(
        [
            "--prometheus",
            url,
            "--metrics-addr",
            addr,
            "--config",
            str(project_root / "pyproject.toml"),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "PromQL: ok" in out.out
    assert "observability self-check passed" in out.out


def test_efficiency_script_reads_the_run_through_prometheus(
    scraping_prometheus: tuple[str, str], project_root: Path, tmp_path: Path
) -> None:
    url, addr = scraping_prometheus
    run = asyncio.run(selfcheck.run_sample())
    Gauge("tta_selfcheck_run", "marker", ["run_id"], registry=run.registry).labels("eff").set(1)
    strict = tmp_path / "strict.toml"
    strict.write_text(
        "[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = 0.9\nmax-cost-per-run-usd = 1.0\n",
        encoding="utf-8",
    )
    script = project_root / "scripts" / "validate_llm_efficiency.py"
    with serve_metrics(run.registry, addr):
        selector = selfcheck.wait_for_scrape(url, "eff", timeout=60)
        assert selector == f'{{job="tta",instance="{addr}"}}'
        report, problems = selfcheck.check_prometheus(url, selector, run)
        assert problems == []
        assert any("histogram_quantile" in line for line in report)
        common = [sys.executable, str(script), "--prometheus", url, "--runs", "5"]
        ok = subprocess.run(
            [*common, "--config", str(project_root / "pyproject.toml")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        failing = subprocess.run(
            [*common, "--config", str(strict)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert ok.returncode == 0, ok.stderr
    assert "2 hits of 5 cache requests" in ok.stdout
    assert failing.returncode == 1
    assert "FAILED: cache hit rate" in failing.stderr
