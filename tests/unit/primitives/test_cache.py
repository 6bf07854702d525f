from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tta_dev.primitives import Cache, CacheStats, MemoryBackend, WorkflowContext, default_key, step
from tta_dev.testing import MockPrimitive


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class BrokenBackend:
    """A backend whose every operation fails (like an unreachable server)."""

    async def get(self, key: str) -> tuple[bool, Any]:
        raise ConnectionError("down")

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        raise ConnectionError("down")

    async def delete(self, key: str) -> None:
        raise ConnectionError("down")  # pragma: no cover

    async def clear(self) -> None:
        raise ConnectionError("down")  # pragma: no cover


async def test_second_call_is_a_hit() -> None:
    inner = MockPrimitive("expensive", return_value={"answer": 42})
    cache = Cache(inner)
    assert await cache.execute("q") == {"answer": 42}
    assert await cache.execute("q") == {"answer": 42}
    inner.assert_called_once_with("q")
    assert cache.stats == CacheStats(hits=1, misses=1, errors=0, coalesced=0)
    assert cache.stats.hit_ratio == 0.5


async def test_none_is_cached() -> None:
    inner = MockPrimitive("nothing", return_value=None)
    cache = Cache(inner)
    assert await cache.execute(1) is None
    assert await cache.execute(1) is None
    assert inner.call_count == 1
    assert cache.hits == 1


async def test_key_function_and_namespace() -> None:
    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner, key=lambda d: d["id"], namespace="users")
    await cache.execute({"id": "7", "noise": 1})
    await cache.execute({"id": "7", "noise": 2})
    assert inner.call_count == 1
    assert cache.key_for({"id": "7"}) == "users:7"


async def test_two_caches_on_one_backend_do_not_collide() -> None:
    backend = MemoryBackend()
    a = Cache(MockPrimitive("a", return_value="A"), backend=backend)
    b = Cache(MockPrimitive("b", return_value="B"), backend=backend)
    assert await a.execute("k") == "A"
    assert await b.execute("k") == "B"


def test_default_key_is_stable_for_equal_data() -> None:
    assert default_key("text") == '"text"'
    assert default_key({"b": 1, "a": [1, 2]}) == default_key({"a": [1, 2], "b": 1})
    assert default_key(1) != default_key("1")
    assert default_key({1, 2}) == repr({1, 2}).join(['"', '"'])  # JSON-less data by repr


async def test_ttl_expires_entries() -> None:
    clock = Clock()
    inner = MockPrimitive("m", side_effect=lambda x: x * 2)
    cache = Cache(inner, ttl=10, backend=MemoryBackend(clock=clock))
    await cache.execute(1)
    clock.now = 9.9
    await cache.execute(1)
    assert inner.call_count == 1
    clock.now = 10.0
    await cache.execute(1)
    assert inner.call_count == 2


async def test_memory_backend_is_a_bounded_lru() -> None:
    backend = MemoryBackend(max_entries=2)
    await backend.set("a", 1, None)
    await backend.set("b", 2, None)
    assert await backend.get("a") == (True, 1)  # a is now most recent
    await backend.set("c", 3, None)
    assert len(backend) == 2
    assert await backend.get("b") == (False, None)
    assert await backend.get("a") == (True, 1)
    await backend.delete("a")
    assert await backend.get("a") == (False, None)
    await backend.clear()
    assert len(backend) == 0
    with pytest.raises(ValueError, match="max_entries"):
        MemoryBackend(0)


def test_cache_validates_ttl() -> None:
    with pytest.raises(ValueError, match="ttl"):
        Cache(MockPrimitive(), ttl=0)


async def test_concurrent_misses_compute_once() -> None:
    inner = MockPrimitive("slow", return_value="v", delay=0.02)
    cache = Cache(inner)
    results = await asyncio.gather(*(cache.execute("k") for _ in range(10)))
    assert results == ["v"] * 10
    assert inner.call_count == 1
    assert cache.misses == 10 and cache.coalesced == 9  # noqa: PT018


async def test_concurrent_misses_share_the_failure() -> None:
    inner = MockPrimitive("bad", side_effect=ValueError("nope"), delay=0.01)
    cache = Cache(inner)
    results = await asyncio.gather(*(cache.execute("k") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert inner.call_count == 1
    # a failure is not cached: the next call computes again
    inner.side_effect = None
    inner.return_value = "ok"
    assert await cache.execute("k") == "ok"


async def test_a_lone_failure_is_raised_and_not_cached() -> None:
    inner = MockPrimitive("bad", side_effect=[ValueError("once"), "fine"])
    cache = Cache(inner)
    with pytest.raises(ValueError, match="once"):
        await cache.execute("k")
    assert await cache.execute("k") == "fine"


async def test_cancelled_computation_hands_over_to_a_waiter() -> None:
    started = asyncio.Event()
    never = asyncio.Event()
    calls = 0

    async def compute(x: str) -> str:
        nonlocal calls
        calls += 1
        started.set()
        if calls == 1:
            await never.wait()  # the first computation hangs until cancelled
        return x.upper()

    cache = Cache(step(compute))
    leader = asyncio.create_task(cache.execute("k"))
    await started.wait()
    follower = asyncio.create_task(cache.execute("k"))
    await asyncio.sleep(0)  # the follower runs up to waiting on the leader's result
    assert cache.coalesced == 1
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == "K"
    assert calls == 2


async def test_cancelled_waiter_does_not_disturb_the_computation() -> None:
    gate = asyncio.Event()
    calls = 0

    async def compute(x: str) -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return x

    cache = Cache(step(compute))
    leader = asyncio.create_task(cache.execute("v"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cache.execute("v"))
    await asyncio.sleep(0)
    assert cache.coalesced == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()
    assert await leader == "v"
    assert calls == 1


async def test_broken_backend_degrades_to_pass_through() -> None:
    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner, backend=BrokenBackend())
    ctx = WorkflowContext()
    assert await cache.execute("k", ctx) == "v"
    assert await cache.execute("k", ctx) == "v"
    assert inner.call_count == 2
    assert cache.errors == 4  # a get and a set per call
    assert cache.hits == 0
