"""Real Redis and Prometheus: the URLs the integration session resolved, and the local-binary path."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid

import pytest

from tta_dev.devtools.services import prometheus_ready, provide_services, redis_ready
from tta_dev.testing._support import unavailable


async def test_redis_round_trip(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    key = f"tta-dev:test:{uuid.uuid4()}"
    try:
        assert await client.set(key, 'värde $(x) "quoted"', ex=60)
        assert await client.get(key) == 'värde $(x) "quoted"'.encode()
        assert await client.delete(key) == 1
        assert await client.get(key) is None
    finally:
        await client.aclose()


def _query(prometheus_url: str, promql: str) -> dict[str, object]:
    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback test server
        return json.loads(resp.read())


def test_prometheus_answers_promql(prometheus_url: str) -> None:
    body = _query(prometheus_url, "vector(41) + 1")
    assert body["status"] == "success"
    data = body["data"]
    assert isinstance(data, dict)
    assert data["result"][0]["value"][1] == "42"


def test_environment_path_uses_the_resolved_urls(redis_url: str, prometheus_url: str) -> None:
    env = {"REDIS_URL": redis_url, "PROMETHEUS_URL": prometheus_url}
    with provide_services(["redis", "prometheus"], environ=env) as found:
        assert {e.how for e in found.values()} == {"environment"}


@pytest.mark.parametrize("name", ["redis", "prometheus"])
def test_local_binary_path_starts_and_stops_the_server(name: str) -> None:
    binary = "redis-server" if name == "redis" else "prometheus"
    if shutil.which(binary) is None:
        unavailable(
            f"{binary} is not installed: run `uv run nox -s integration`, which installs it"
        )
    ready = redis_ready if name == "redis" else prometheus_ready
    with provide_services([name], environ={}) as found:
        endpoint = found[name]
        assert endpoint.how == "local-binary"
        assert endpoint.url.startswith(("redis://127.0.0.1:", "http://127.0.0.1:"))
        assert ready(endpoint.url)
    assert not ready(endpoint.url)


_HOLD_SERVICE = """
import sys, time
from tta_dev.devtools.services import provide_services
with provide_services(["redis"], environ={}) as found:
    print(found["redis"].url, flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_started_server_is_stopped_on_interrupt(sig: signal.Signals) -> None:
    if shutil.which("redis-server") is None:
        unavailable(
            "redis-server is not installed: run `uv run nox -s integration`, which installs it"
        )
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_SERVICE], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert redis_ready(url)
            proc.send_signal(sig)
            proc.wait(timeout=30)
            assert proc.returncode != 0
            assert not redis_ready(url)
        finally:
            proc.kill()
