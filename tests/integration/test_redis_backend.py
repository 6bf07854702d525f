"""RedisBackend against real Redis: the shared server, and a private one that goes away."""

from __future__ import annotations

import asyncio
import gc
import shutil
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tta_dev.devtools.services import find_free_port, redis_ready, redis_server_argv, wait_until
from tta_dev.primitives import Cache, Map, RedisBackend, WorkflowContext, step
from tta_dev.testing import MockPrimitive
from tta_dev.testing._support import unavailable


async def test_cache_round_trip_on_shared_redis(redis_url: str) -> None:
    backend = RedisBackend(redis_url, prefix=f"tta-test:{uuid.uuid4().hex}:")
    inner = MockPrimitive("lookup", side_effect=lambda q: {"q": q, "n": None})
    cache = Cache(inner, backend=backend, ttl=60, namespace="lookup")
    try:
        assert await cache.execute("a") == {"q": "a", "n": None}
        assert await cache.execute("a") == {"q": "a", "n": None}
        assert inner.call_count == 1
        assert (cache.hits, cache.misses, cache.errors) == (1, 1, 0)
        none_cache = Cache(
            MockPrimitive("none", return_value=None), backend=backend, namespace="none"
        )
        await none_cache.execute("x")
        await none_cache.execute("x")
        assert none_cache.hits == 1
        ttl = await backend.client.pttl(backend.prefix + cache.key_for("a"))
        assert 0 < ttl <= 60_000
        await backend.clear()
        assert await backend.get(cache.key_for("a")) == (False, None)
    finally:
        await backend.clear()
        await backend.aclose()


async def test_ttl_expires_in_redis(redis_url: str) -> None:
    backend = RedisBackend(redis_url, prefix=f"tta-test:{uuid.uuid4().hex}:")
    try:
        await backend.set("k", [1, 2], 5.0)
        # Read back at once: a 5 s TTL leaves room for a slow machine; Redis holds the TTL.
        assert await backend.get("k") == (True, [1, 2])
        assert 0 < await backend.client.pttl(backend.prefix + "k") <= 5_000
        deadline = time.monotonic() + 15  # past the TTL, bounded
        found: tuple[bool, object] = (True, None)
        for _ in range(60):
            found = await backend.get("k")
            if found == (False, None) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        assert found == (False, None)
    finally:
        await backend.aclose()


async def test_concurrent_misses_compute_once_with_redis(redis_url: str) -> None:
    backend = RedisBackend(redis_url, prefix=f"tta-test:{uuid.uuid4().hex}:")
    inner = MockPrimitive("slow", return_value="v", delay=0.05)
    cache = Cache(inner, backend=backend, namespace="slow")
    try:
        assert await asyncio.gather(*(cache.execute("k") for _ in range(20))) == ["v"] * 20
        assert inner.call_count == 1
    finally:
        await backend.clear()
        await backend.aclose()


# --- a private Redis that stops and starts again ------------------------------------------


class PrivateRedis:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            redis_server_argv(binary, self.port, self.workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        process = self.process
        ok = wait_until(
            lambda: redis_ready(self.url), timeout=15, alive=lambda: process.poll() is None
        )
        assert ok, f"redis-server on port {self.port} did not become ready"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        unavailable(
            "needs the redis-server binary: run `uv run nox -s integration`, which installs it"
            " where it can, or `apt-get install -y redis-server`"
        )
    server = PrivateRedis(find_free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_going_away_and_coming_back(private_redis: PrivateRedis) -> None:
    backend = RedisBackend(private_redis.url, prefix="t:", connect_timeout=0.5, timeout=1.0)
    computed: list[int] = []

    def square(x: int) -> int:
        computed.append(x)
        return x * x

    cache = Cache(step(square), backend=backend, namespace="square")
    workflow = Map(cache, limit=4)
    ctx = WorkflowContext("redis-outage")
    try:
        # 1. Redis up: the first run computes and stores, the second is all hits.
        assert await workflow.execute([1, 2, 3], ctx) == [1, 4, 9]
        assert await workflow.execute([1, 2, 3], ctx) == [1, 4, 9]
        assert (cache.hits, cache.errors, sorted(computed)) == (3, 0, [1, 2, 3])

        # 2. Redis goes away mid-run: the workflow still completes, each failure is counted.
        gate = asyncio.Event()
        both_computing = asyncio.Event()
        computing = 0

        async def slow_square(x: int) -> int:
            nonlocal computing
            computing += 1
            if computing == 2:
                both_computing.set()
            await gate.wait()
            return square(x)

        slow_cache = Cache(step(slow_square), backend=backend, namespace="slow")
        run = asyncio.create_task(Map(slow_cache, limit=4).execute([4, 5], ctx))
        await both_computing.wait()  # both items missed in Redis and are computing
        await asyncio.to_thread(private_redis.stop)
        gate.set()
        assert await run == [16, 25]
        assert slow_cache.errors == 2  # the two writes after the outage began

        computed.clear()
        assert await workflow.execute([1, 2, 6], ctx) == [1, 4, 36]
        assert sorted(computed) == [1, 2, 6]  # pass-through: everything recomputed
        errors_during_outage = cache.errors
        assert errors_during_outage == 6  # a failed get and a failed set per item

        # 3. Redis comes back on the same port (empty): the cache works again.
        await asyncio.to_thread(private_redis.start)
        computed.clear()
        assert await workflow.execute([1, 2], ctx) == [1, 4]
        assert await workflow.execute([1, 2], ctx) == [1, 4]
        assert sorted(computed) == [1, 2]
        assert cache.errors == errors_during_outage
        assert cache.hits == 5
    finally:
        await backend.aclose()


# --- prefixes, client ownership and event loops against the real server --------------------


async def test_clear_escapes_glob_characters_in_the_prefix(redis_url: str) -> None:
    base = f"tta-test:{uuid.uuid4().hex}:"
    globby = RedisBackend(redis_url, prefix=base + "t[1]:")
    plain = RedisBackend(redis_url, prefix=base + "t1:")
    try:
        await globby.set("k", "mine", None)
        await plain.set("k", "theirs", None)
        await globby.clear()
        assert await globby.get("k") == (False, None)
        assert await plain.get("k") == (True, "theirs")  # `t[1]:*` would have matched it
    finally:
        await plain.clear()
        await globby.aclose()
        await plain.aclose()


async def test_aclose_leaves_the_callers_client_open(redis_url: str) -> None:
    import redis.asyncio as redis

    client: Any = redis.Redis.from_url(redis_url)
    backend = RedisBackend(prefix=f"tta-test:{uuid.uuid4().hex}:", client=client)
    try:
        await backend.set("k", 1, 60)
        await backend.aclose()
        assert await client.ping()
        assert await backend.get("k") == (True, 1)  # still the caller's client
        assert backend.client is client
        await backend.clear()
    finally:
        await client.aclose()


def test_the_backend_works_in_a_second_event_loop(redis_url: str) -> None:
    backend = RedisBackend(redis_url, prefix=f"tta-test:{uuid.uuid4().hex}:")
    cache = Cache(MockPrimitive("m", return_value="v"), backend=backend, namespace="n")

    async def run() -> str:
        return await cache.execute("q")

    async def run_and_close() -> str:
        async with backend:
            result = await run()
            await backend.clear()
            return result

    # The first loop ends with a pooled connection; before, the second loop's lookup failed
    # ("Event loop is closed") and the Cache quietly counted errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the first loop's unclosed client
        assert asyncio.run(run()) == "v"
        assert asyncio.run(run_and_close()) == "v"
        gc.collect()
    assert (cache.hits, cache.misses, cache.errors) == (1, 1, 0)
    # aclose() is not the end: the next use makes a new client (documented re-open).
    assert asyncio.run(run_and_close()) == "v"
    assert (cache.hits, cache.misses, cache.errors) == (1, 2, 0)  # cleared above: a miss
