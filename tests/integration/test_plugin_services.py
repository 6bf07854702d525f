"""The plugin's service fixtures against the real Redis and Prometheus the session provides."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tta_dev.devtools.services import prometheus_ready


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [project]
        name = "demo"
        version = "0.1.0"

        [tool.pytest.ini_options]
        asyncio_mode = "auto"
        asyncio_default_fixture_loop_scope = "function"
        """
    )


def test_parallel_redis_clients_do_not_see_each_others_keys(
    pytester: pytest.Pytester, redis_url: str
) -> None:
    _project(pytester)
    out = pytester.path / "out"
    out.mkdir()
    marker = uuid.uuid4().hex
    pytester.makepyfile(
        test_redis=f"""
        import asyncio, json, os, pytest

        OUT = {str(out)!r}

        @pytest.mark.parametrize("n", range(4))
        async def test_write_and_scan(redis_client, redis_key_prefix, n):
            await redis_client.set(redis_key_prefix + "k", "{marker}-" + str(n))
            await redis_client.set(redis_key_prefix + "other", "x")
            # Let the other worker's tests write their keys meanwhile.
            await asyncio.sleep(0.05)
            mine = sorted(
                [k.decode() async for k in redis_client.scan_iter(match=redis_key_prefix + "*")]
            )
            assert mine == [redis_key_prefix + "k", redis_key_prefix + "other"]
            assert await redis_client.get(redis_key_prefix + "k") == ("{marker}-" + str(n)).encode()
            with open(os.path.join(OUT, str(n)), "w") as f:
                json.dump({{"prefix": redis_key_prefix,
                           "worker": os.environ.get("PYTEST_XDIST_WORKER")}}, f)
            if n == 3:
                raise AssertionError("teardown must still delete this test's keys")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=3, failed=1)
    seen = [json.loads(p.read_text()) for p in sorted(out.iterdir())]
    prefixes = {s["prefix"] for s in seen}
    assert len(prefixes) == 4
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}

    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        leftover = [k for p in prefixes for k in client.scan_iter(match=p + "*")]
        assert leftover == [], "each test's keys are deleted after it, also after a failure"
    finally:
        client.close()


def test_prometheus_url_fixture_gives_a_ready_server(prometheus_url: str) -> None:
    assert prometheus_ready(prometheus_url)


def test_service_url_fixtures_come_from_the_environment(
    pytester: pytest.Pytester, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester)
    monkeypatch.setenv("REDIS_URL", redis_url)
    record = Path(pytester.path) / "url.txt"
    pytester.makepyfile(
        test_url=f"""
        import pathlib

        def test_url(redis_url):
            pathlib.Path({str(record)!r}).write_text(redis_url)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert record.read_text() == redis_url.rstrip("/")
    assert os.environ["REDIS_URL"] == redis_url
