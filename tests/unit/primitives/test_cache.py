from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any

import pytest

from tta_dev.primitives import (
    Cache,
    CacheKeyError,
    CacheStats,
    LLMRequest,
    MemoryBackend,
    WorkflowContext,
    default_key,
    step,
)
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
    a = Cache(MockPrimitive("a", return_value="A"), backend=backend, namespace="a")
    b = Cache(MockPrimitive("b", return_value="B"), backend=backend, namespace="b")
    assert await a.execute("k") == "A"
    assert await b.execute("k") == "B"


def test_default_key_is_stable_for_equal_data() -> None:
    assert default_key("text") == '"text"'
    assert default_key({"b": 1, "a": [1, 2]}) == default_key({"a": [1, 2], "b": 1})
    assert default_key(1) != default_key("1")
    assert default_key({1, 2}) == default_key({2, 1})
    assert default_key(frozenset({"x", 3})) == default_key(frozenset({3, "x"}))
    assert default_key({1: "a", "b": 2}) == default_key({"b": 2, 1: "a"})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({1: "a"}, {"1": "a"}),
        ({True: 0}, {"true": 0}),
        ({None: 0}, {"null": 0}),
        ({1.5: 0}, {"1.5": 0}),
        ((1, 2), [1, 2]),
        ({1, 2}, [1, 2]),
        (b"ab", "ab"),
        (1, 1.0),
        (True, 1),
        ("[1]", [1]),
    ],
)
def test_default_key_tells_different_types_apart(one: object, other: object) -> None:
    assert default_key(one) != default_key(other)


def test_default_key_encodes_dataclasses_by_type_and_fields() -> None:
    assert default_key(LLMRequest("hi")) == default_key(LLMRequest("hi"))
    assert default_key(LLMRequest("hi")) != default_key(LLMRequest("hi", model="m"))

    @dataclass
    class Other:
        prompt: str
        model: str | None = None
        system: str | None = None
        max_tokens: int = 256
        temperature: float = 0.0

    assert default_key(Other("hi")) != default_key(LLMRequest("hi"))


def test_default_key_refuses_what_it_cannot_encode() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "same"

    with pytest.raises(TypeError, match="Opaque"):
        default_key(Opaque())  # no repr fallback: equal reprs would share a key
    with pytest.raises(TypeError, match="Opaque"):
        default_key({"nested": [Opaque()]})


async def test_a_key_that_cannot_be_made_is_a_loud_programming_error() -> None:
    class Opaque:
        pass

    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner, name="c")
    with pytest.raises(CacheKeyError, match="cache c: the key function raised TypeError") as info:
        await cache.execute(Opaque())
    assert isinstance(info.value.__cause__, TypeError)
    assert isinstance(info.value, TypeError)  # a programming error: Retry does not retry it

    def bad_type(_data: object) -> str:
        return 42  # type: ignore[return-value]  # pyright: ignore[reportReturnType]

    wrong = Cache(inner, key=bad_type, name="w")
    with pytest.raises(CacheKeyError, match="returned int, not str"):
        await wrong.execute("x")
    with pytest.raises(CacheKeyError):
        wrong.key_for("x")
    assert inner.call_count == 0
    # Not a lookup: nothing counted (a pass-through would hide that caching is off).
    assert cache.stats == CacheStats(hits=0, misses=0, errors=0, coalesced=0)
    assert wrong.stats == CacheStats(hits=0, misses=0, errors=0, coalesced=0)

    class Key(str):
        pass

    subclass = Cache(inner, key=lambda d: Key(d), name="s")
    assert await subclass.execute("x") == "v"  # a str subclass is a str
    assert await subclass.execute("x") == "v"
    assert subclass.stats == CacheStats(hits=1, misses=1, errors=0, coalesced=0)


async def test_a_failed_lookup_counts_as_an_error_not_also_a_miss() -> None:
    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner, backend=BrokenBackend(), namespace="t")
    assert await cache.execute("k") == "v"
    # one failed get and one failed set; the get is not also a miss
    assert cache.stats == CacheStats(hits=0, misses=0, errors=2, coalesced=0)


def test_a_cache_given_a_backend_needs_a_namespace() -> None:
    with pytest.raises(ValueError, match="namespace="):
        Cache(MockPrimitive(), backend=MemoryBackend())
    Cache(MockPrimitive(), backend=MemoryBackend(), namespace="n")
    Cache(MockPrimitive())  # the private MemoryBackend needs none


async def test_a_mixed_key_dict_is_cached_by_content() -> None:
    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner)
    assert await cache.execute({1: "a", "b": 2}) == "v"
    assert await cache.execute({"b": 2, 1: "a"}) == "v"
    assert inner.call_count == 1


async def test_inputs_that_json_would_merge_get_their_own_results() -> None:
    def key_type(d: dict[object, str]) -> str:
        return type(next(iter(d))).__name__

    cache = Cache(step(key_type))
    assert await cache.execute({1: "a"}) == "int"
    assert await cache.execute({"1": "a"}) == "str"


async def test_ttl_expires_entries() -> None:
    clock = Clock()
    inner = MockPrimitive("m", side_effect=lambda x: x * 2)
    cache = Cache(inner, ttl=10, backend=MemoryBackend(clock=clock), namespace="t")
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


class SlowBackend(MemoryBackend):
    """A MemoryBackend whose get really waits, as a network or disk store does."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def get(self, key: str) -> tuple[bool, Any]:
        await asyncio.sleep(self.delay)
        return await super().get(key)


async def test_single_flight_holds_while_the_backend_lookup_awaits() -> None:
    inner = MockPrimitive("slow", return_value="v", delay=0.001)
    cache = Cache(inner, backend=SlowBackend(0.01), namespace="t")
    first = asyncio.create_task(cache.execute("k"))
    await asyncio.sleep(0.005)  # the first lookup is still waiting on the backend
    second = asyncio.create_task(cache.execute("k"))
    assert await asyncio.gather(first, second) == ["v", "v"]
    assert inner.call_count == 1
    assert cache.stats == CacheStats(hits=0, misses=2, errors=0, coalesced=1)


async def test_a_call_joining_a_lookup_that_hits_counts_a_hit() -> None:
    backend = SlowBackend(0.01)
    await backend.set("t:" + default_key("k"), "stored", None)
    inner = MockPrimitive("never")
    cache = Cache(inner, backend=backend, namespace="t")
    results = await asyncio.gather(*(cache.execute("k") for _ in range(3)))
    assert results == ["stored"] * 3
    assert inner.call_count == 0
    assert cache.stats == CacheStats(hits=3, misses=0, errors=0, coalesced=2)


async def test_a_failing_lookup_leader_still_computes_once_for_all() -> None:
    class SlowBroken(BrokenBackend):
        async def get(self, key: str) -> tuple[bool, Any]:
            await asyncio.sleep(0.01)
            raise ConnectionError("down")

    inner = MockPrimitive("m", return_value="v", delay=0.001)
    cache = Cache(inner, backend=SlowBroken(), namespace="t")
    assert await asyncio.gather(*(cache.execute("k") for _ in range(3))) == ["v"] * 3
    assert inner.call_count == 1
    assert cache.errors == 2  # one get, one set


async def test_waiters_of_a_lookup_share_the_computation_failure() -> None:
    inner = MockPrimitive("bad", side_effect=ValueError("nope"))
    cache = Cache(inner, backend=SlowBackend(0.01), namespace="t")
    results = await asyncio.gather(*(cache.execute("k") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert inner.call_count == 1
    assert not cache._inflight  # pyright: ignore[reportPrivateUsage]


async def test_cancelling_the_leader_during_its_lookup_hands_over_to_a_waiter() -> None:
    inner = MockPrimitive("m", return_value="v")
    cache = Cache(inner, backend=SlowBackend(0.01), namespace="t")
    leader = asyncio.create_task(cache.execute("k"))
    await asyncio.sleep(0)  # the leader waits on the backend
    waiter = asyncio.create_task(cache.execute("k"))
    await asyncio.sleep(0)
    assert cache.coalesced == 1
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await asyncio.wait_for(waiter, 5) == "v"  # took over instead of hanging
    assert inner.call_count == 1
    assert not cache._inflight  # pyright: ignore[reportPrivateUsage]


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
    cache = Cache(inner, backend=BrokenBackend(), namespace="t")
    ctx = WorkflowContext()
    assert await cache.execute("k", ctx) == "v"
    assert await cache.execute("k", ctx) == "v"
    assert inner.call_count == 2
    assert cache.errors == 4  # a get and a set per call
    assert cache.hits == 0


# --- enum keys and private values --------------------------------------------------------


class Level(enum.IntEnum):
    LOW = 1


class Color(enum.StrEnum):
    RED = "red"


class Plain(enum.Enum):
    A = 1


class OtherLevel(enum.IntEnum):
    LOW = 1


def test_default_key_tells_enum_members_from_their_values() -> None:
    assert default_key(Level.LOW) != default_key(1)
    assert default_key(Color.RED) != default_key("red")
    assert default_key(Level.LOW) != default_key(OtherLevel.LOW)
    assert default_key(Plain.A) != default_key(1)  # a plain Enum has a key now too
    assert default_key([Level.LOW]) != default_key([1])
    assert default_key({Color.RED: 1}) != default_key({"red": 1})
    assert default_key(Level.LOW) == default_key(Level(1))
    assert default_key(True) != default_key(1)


async def test_an_enum_input_and_its_value_are_cached_apart() -> None:
    inner = MockPrimitive("m", side_effect=lambda x: type(x).__name__)
    cache = Cache(inner)
    assert await cache.execute(Level.LOW) == "Level"
    assert await cache.execute(1) == "int"


async def test_memory_backend_hands_out_private_copies() -> None:
    backend = MemoryBackend()
    value = {"items": [1, 2]}
    await backend.set("k", value, None)
    value["items"].append(3)  # the caller keeps using what it stored
    found, first = await backend.get("k")
    assert (found, first) == (True, {"items": [1, 2]})
    first["items"].append(4)  # a hit's receiver mutates its result
    assert await backend.get("k") == (True, {"items": [1, 2]})


async def test_a_cache_hit_is_not_the_object_an_earlier_caller_mutated() -> None:
    cache = Cache(MockPrimitive("m", side_effect=lambda _x: {"n": [0]}))
    first = await cache.execute("q")
    first["n"].append(1)
    assert await cache.execute("q") == {"n": [0]}


async def test_memory_backend_can_keep_references() -> None:
    backend = MemoryBackend(copy=False)
    value = [1]
    await backend.set("k", value, None)
    assert (await backend.get("k"))[1] is value
