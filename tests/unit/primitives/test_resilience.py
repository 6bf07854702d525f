from __future__ import annotations

import asyncio

import pytest

from tta_dev.primitives import (
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    Fallback,
    FallbackExhausted,
    LLMError,
    NoRouteError,
    PrimitiveError,
    Retry,
    RetryExhausted,
    StepTimeout,
    Timeout,
    is_retryable,
    step,
)
from tta_dev.testing import MockPrimitive


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


class Sleeps:
    """A fake sleep that records delays without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# --- Retry -------------------------------------------------------------------------------


async def test_retry_success_needs_one_attempt() -> None:
    inner = MockPrimitive("ok", return_value=1)
    retry = Retry(inner)
    assert await retry.execute(0) == 1
    assert inner.call_count == 1
    assert retry.retries == 0


async def test_retry_recovers_after_failures_with_exponential_backoff() -> None:
    sleeps = Sleeps()
    inner = MockPrimitive("flaky", side_effect=[Flaky("1"), Flaky("2"), "done"])
    retry = Retry(inner, attempts=3, backoff=0.1, multiplier=3, jitter=0, sleep=sleeps)
    assert await retry.execute(0) == "done"
    assert inner.call_count == 3
    assert retry.retries == 2
    assert sleeps.delays == pytest.approx([0.1, 0.3])


async def test_retry_caps_delay_and_applies_jitter() -> None:
    retry = Retry(
        MockPrimitive(), backoff=1, multiplier=10, max_delay=5, jitter=0.5, rng=lambda: 1.0
    )
    assert retry.delay(1) == pytest.approx(0.5)
    assert retry.delay(3) == pytest.approx(2.5)  # capped at 5, then half jitter
    full = Retry(MockPrimitive(), backoff=1, jitter=1.0, rng=lambda: 0.25)
    assert full.delay(1) == pytest.approx(0.75)


async def test_retry_exhausted_carries_attempts_and_last_error() -> None:
    last = Flaky("third")
    inner = MockPrimitive("flaky", side_effect=[Flaky("1"), Flaky("2"), last])
    retry = Retry(inner, attempts=3, sleep=Sleeps(), name="fetch")
    with pytest.raises(RetryExhausted) as info:
        await retry.execute(0)
    assert info.value.attempts == 3
    assert info.value.last_error is last
    assert info.value.__cause__ is last
    assert info.value.reason == "attempts"
    assert "fetch" in str(info.value)
    assert isinstance(info.value, PrimitiveError)


async def test_retry_does_not_retry_errors_outside_retry_on() -> None:
    inner = MockPrimitive("fatal", side_effect=Fatal("no"))
    with pytest.raises(Fatal):
        await Retry(inner, retry_on=Flaky, sleep=Sleeps()).execute(0)
    assert inner.call_count == 1
    later = MockPrimitive("later", side_effect=[Flaky("a"), Fatal("b")])
    with pytest.raises(Fatal):
        await Retry(later, retry_on=(Flaky,), sleep=Sleeps()).execute(0)
    assert later.call_count == 2


async def test_retry_on_predicate() -> None:
    inner = MockPrimitive("x", side_effect=[Flaky("retry me"), Flaky("stop"), "never"])
    retry = Retry(inner, retry_on=lambda e: "retry" in str(e), sleep=Sleeps(), attempts=5)
    with pytest.raises(Flaky, match="stop"):
        await retry.execute(0)
    assert inner.call_count == 2


async def test_retry_deadline_stops_before_a_sleep_past_it() -> None:
    inner = MockPrimitive("flaky", side_effect=Flaky("x"))
    retry = Retry(inner, attempts=10, backoff=5, jitter=0, deadline=0.5)
    with pytest.raises(RetryExhausted) as info:
        await retry.execute(0)
    assert info.value.reason == "deadline"
    assert info.value.attempts == 1
    assert inner.call_count == 1


async def test_retry_deadline_cancels_a_running_attempt() -> None:
    inner = MockPrimitive("slow", return_value=1, delay=10)
    retry = Retry(inner, attempts=3, deadline=0.05)
    with pytest.raises(RetryExhausted) as info:
        await retry.execute(0)
    assert info.value.reason == "deadline"
    assert isinstance(info.value.last_error, TimeoutError)


async def test_retry_deadline_success_and_retry_paths() -> None:
    inner = MockPrimitive("f", side_effect=[Flaky("1"), "ok"])
    retry = Retry(inner, attempts=3, backoff=0.001, deadline=5)
    assert await retry.execute(0) == "ok"
    # a TimeoutError of the inner primitive itself is an ordinary (retryable) error
    own = MockPrimitive("own", side_effect=[TimeoutError("inner"), "ok"])
    assert await Retry(own, backoff=0, deadline=5).execute(0) == "ok"
    assert own.call_count == 2


async def test_cancelling_during_backoff_stops_retrying() -> None:
    attempted = asyncio.Event()
    calls = 0

    async def flaky(_: int) -> int:
        nonlocal calls
        calls += 1
        attempted.set()
        raise Flaky("x")

    retry = Retry(step(flaky), attempts=5, backoff=10, jitter=0)
    task = asyncio.create_task(retry.execute(0))
    await attempted.wait()
    await asyncio.sleep(0.01)  # now in the backoff sleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == 1


async def test_cancellation_is_never_retried() -> None:
    inner = MockPrimitive("cancelled", side_effect=asyncio.CancelledError)
    with pytest.raises(asyncio.CancelledError):
        await Retry(inner, retry_on=BaseException, sleep=Sleeps()).execute(0)
    assert inner.call_count == 1


def test_retry_validates_arguments() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Retry(MockPrimitive(), attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        Retry(MockPrimitive(), jitter=2)
    with pytest.raises(ValueError, match="deadline"):
        Retry(MockPrimitive(), deadline=0)


# --- Timeout -----------------------------------------------------------------------------


async def test_timeout_passes_results_through() -> None:
    assert await Timeout(MockPrimitive("m", return_value=5), 5).execute(0) == 5


async def test_timeout_raises_step_timeout_and_leaves_no_task() -> None:
    cancelled = asyncio.Event()

    async def slow(_: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0  # pragma: no cover

    before = len(asyncio.all_tasks())
    with pytest.raises(StepTimeout) as info:
        await Timeout(step(slow), 0.02, name="slow-call").execute(0)
    assert cancelled.is_set()
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, PrimitiveError)
    assert info.value.seconds == 0.02
    assert "slow-call" in str(info.value)
    assert len(asyncio.all_tasks()) == before


async def test_timeout_lets_an_inner_timeout_error_through() -> None:
    inner = MockPrimitive("own", side_effect=TimeoutError("mine"))
    with pytest.raises(TimeoutError, match="mine") as info:
        await Timeout(inner, 5).execute(0)
    assert not isinstance(info.value, StepTimeout)


async def test_cancelling_outside_a_timeout_is_a_cancellation() -> None:
    started = asyncio.Event()

    async def slow(_: int) -> int:
        started.set()
        await asyncio.sleep(10)
        return 0  # pragma: no cover

    task = asyncio.create_task(Timeout(step(slow), 5).execute(0))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_timeout_validates_seconds() -> None:
    with pytest.raises(ValueError, match="positive"):
        Timeout(MockPrimitive(), 0)


# --- Fallback ----------------------------------------------------------------------------


async def test_fallback_uses_the_first_that_succeeds() -> None:
    primary = MockPrimitive("primary", side_effect=Flaky("down"))
    second = MockPrimitive("second", return_value="from second")
    third = MockPrimitive("third")
    assert await Fallback(primary, second, third).execute(1) == "from second"
    primary.assert_called_once_with(1)
    third.assert_not_called()


async def test_fallback_exhausted_lists_every_error() -> None:
    e1, e2 = Flaky("a"), Flaky("b")
    fb = Fallback(MockPrimitive("a", side_effect=e1), MockPrimitive("b", side_effect=e2))
    with pytest.raises(FallbackExhausted) as info:
        await fb.execute(0)
    assert info.value.errors == (e1, e2)


async def test_fallback_only_catches_matching_errors() -> None:
    other = MockPrimitive("other")
    with pytest.raises(Fatal):
        await Fallback(MockPrimitive("p", side_effect=Fatal), other, on=Flaky).execute(0)
    other.assert_not_called()


# --- CircuitBreaker ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _fail(cb: CircuitBreaker[int, object], times: int) -> None:
    for _ in range(times):
        with pytest.raises(Flaky):
            await cb.execute(0)


async def test_circuit_opens_after_threshold_and_fails_fast() -> None:
    clock = Clock()
    inner = MockPrimitive("svc", side_effect=Flaky("down"))
    cb = CircuitBreaker(inner, failure_threshold=3, recovery_time=10, clock=clock)
    await _fail(cb, 3)
    assert cb.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as info:
        await cb.execute(0)
    assert info.value.retry_after == pytest.approx(10)
    assert inner.call_count == 3
    assert cb.rejected == 1
    assert cb.times_opened == 1


async def test_success_resets_the_failure_count() -> None:
    inner = MockPrimitive("svc", side_effect=[Flaky(), Flaky(), "ok", Flaky(), Flaky()])
    cb = CircuitBreaker(inner, failure_threshold=3, clock=Clock())
    await _fail(cb, 2)
    assert await cb.execute(0) == "ok"
    await _fail(cb, 2)
    assert cb.state is CircuitState.CLOSED


async def test_half_open_probe_success_closes_the_circuit() -> None:
    clock = Clock()
    inner = MockPrimitive("svc", side_effect=[Flaky(), Flaky(), "ok", "ok"])
    cb = CircuitBreaker(inner, failure_threshold=2, recovery_time=5, clock=clock)
    await _fail(cb, 2)
    clock.now += 5
    assert cb.state is CircuitState.HALF_OPEN
    assert await cb.execute(0) == "ok"
    assert cb.state is CircuitState.CLOSED
    assert await cb.execute(0) == "ok"


async def test_half_open_probe_failure_reopens() -> None:
    clock = Clock()
    inner = MockPrimitive("svc", side_effect=Flaky("still down"))
    cb = CircuitBreaker(inner, failure_threshold=1, recovery_time=5, clock=clock)
    await _fail(cb, 1)
    clock.now += 6
    await _fail(cb, 1)  # the probe
    assert cb.state is CircuitState.OPEN
    assert cb.times_opened == 2
    with pytest.raises(CircuitOpenError):
        await cb.execute(0)


async def test_half_open_admits_only_the_probe_calls_concurrently() -> None:
    clock = Clock()
    gate = asyncio.Event()
    calls = 0

    async def service(x: int) -> int:
        nonlocal calls
        calls += 1
        if x < 0:
            raise Flaky("down")
        await gate.wait()
        return x

    cb = CircuitBreaker(
        step(service), failure_threshold=1, recovery_time=1, half_open_max_calls=2, clock=clock
    )
    with pytest.raises(Flaky):
        await cb.execute(-1)
    clock.now += 1
    tasks = [asyncio.create_task(cb.execute(i)) for i in range(5)]
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(r for r in results if isinstance(r, int)) == [0, 1]
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 3
    assert calls == 3  # the failure plus two probes
    assert cb.state is CircuitState.CLOSED  # two probe successes close it


async def test_a_probe_from_an_earlier_half_open_window_neither_frees_a_slot_nor_counts() -> None:
    clock = Clock()
    gates = {name: asyncio.Event() for name in "ABCD"}

    async def service(name: str) -> str:
        if name == "fail":
            raise Flaky("down")
        await gates[name].wait()
        return name

    cb = CircuitBreaker(
        step(service), failure_threshold=1, recovery_time=1, half_open_max_calls=2, clock=clock
    )
    with pytest.raises(Flaky):
        await cb.execute("fail")
    clock.now += 1
    a = asyncio.create_task(cb.execute("A"))  # probe of the first half-open window, slow
    await asyncio.sleep(0)
    with pytest.raises(Flaky):
        await cb.execute("fail")  # the second probe fails: open again
    assert cb.state is CircuitState.OPEN
    clock.now += 1
    b = asyncio.create_task(cb.execute("B"))  # first probe of the new window
    await asyncio.sleep(0)
    gates["A"].set()
    assert await a == "A"  # the stale probe ends: it must not free B's window slot ...
    assert cb.state is CircuitState.HALF_OPEN  # ... nor count toward closing it
    c = asyncio.create_task(cb.execute("C"))
    d = asyncio.create_task(cb.execute("D"))
    await asyncio.sleep(0)
    assert d.done()
    with pytest.raises(CircuitOpenError):
        await d  # B and C are the two probes allowed
    gates["B"].set()
    assert await b == "B"
    assert cb.state is CircuitState.HALF_OPEN  # one success of two
    gates["C"].set()
    assert await c == "C"
    assert cb.state is CircuitState.CLOSED


async def test_concurrent_failures_open_the_circuit_once() -> None:
    inner = MockPrimitive("svc", side_effect=Flaky("down"), delay=0.001)
    cb = CircuitBreaker(inner, failure_threshold=3, clock=Clock())
    results = await asyncio.gather(*(cb.execute(i) for i in range(10)), return_exceptions=True)
    assert all(isinstance(r, Flaky) for r in results)  # all were admitted while closed
    assert cb.state is CircuitState.OPEN
    assert cb.times_opened == 1


async def test_errors_outside_failure_on_and_cancellation_do_not_count() -> None:
    clock = Clock()
    inner = MockPrimitive("svc", side_effect=Fatal("not a failure"))
    cb = CircuitBreaker(inner, failure_threshold=1, failure_on=Flaky, clock=clock)
    with pytest.raises(Fatal):
        await cb.execute(0)
    assert cb.state is CircuitState.CLOSED
    # a cancelled probe frees its slot without reopening or closing
    cb2 = CircuitBreaker(
        MockPrimitive("s", side_effect=[Flaky(), asyncio.CancelledError(), "ok"]),
        failure_threshold=1,
        recovery_time=1,
        clock=clock,
    )
    await _fail(cb2, 1)
    clock.now += 1
    with pytest.raises(asyncio.CancelledError):
        await cb2.execute(0)
    assert cb2.state is CircuitState.HALF_OPEN
    assert await cb2.execute(0) == "ok"
    assert cb2.state is CircuitState.CLOSED


async def test_reset_closes_the_circuit() -> None:
    cb = CircuitBreaker(MockPrimitive("s", side_effect=Flaky()), failure_threshold=1, clock=Clock())
    await _fail(cb, 1)
    cb.reset()
    assert cb.state is CircuitState.CLOSED


def test_circuit_breaker_validates_arguments() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(MockPrimitive(), failure_threshold=0)
    with pytest.raises(ValueError, match="half_open_max_calls"):
        CircuitBreaker(MockPrimitive(), half_open_max_calls=0)


# --- Retry's default filter: transient errors only, once per layer --------------------------


@pytest.mark.parametrize(
    "error",
    [
        CircuitOpenError("breaker", 5.0),
        LLMError("bad key", status_code=401),
        LLMError("unknown model", status_code=404),
        LLMError("too long", status_code=400),
        LLMError("no model", retryable=False),
        TypeError("bug"),
        AttributeError("bug"),
        NameError("bug"),
        NotImplementedError(),
        AssertionError(),
        NoRouteError("r", "x"),
        RetryExhausted("inner", 3, Flaky(), "attempts"),
        LLMError("503 after the provider's own retries", status_code=503, retries_exhausted=True),
        FallbackExhausted("fb", [CircuitOpenError("a", 1.0), TypeError("b")]),
    ],
    ids=repr,
)
async def test_retry_does_not_retry_fail_fast_errors_by_default(error: Exception) -> None:
    inner = MockPrimitive("inner", side_effect=error)
    with pytest.raises(type(error)):
        await Retry(inner, attempts=3, sleep=Sleeps()).execute(0)
    assert inner.call_count == 1
    assert not is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        Flaky("transient"),
        ConnectionError("reset"),
        TimeoutError(),
        StepTimeout("t", 1.0),
        ValueError("bad response"),
        LLMError("rate limited", status_code=429),
        LLMError("request timeout", status_code=408),
        LLMError("unavailable", status_code=503),
        LLMError("transport"),
        FallbackExhausted("fb", [CircuitOpenError("a", 1.0), ConnectionError("b")]),
    ],
    ids=repr,
)
async def test_retry_retries_transient_errors_by_default(error: Exception) -> None:
    inner = MockPrimitive("inner", side_effect=error)
    with pytest.raises(RetryExhausted):
        await Retry(inner, attempts=3, sleep=Sleeps()).execute(0)
    assert inner.call_count == 3
    assert is_retryable(error)


async def test_an_explicit_retry_on_retries_what_it_names() -> None:
    inner = MockPrimitive("inner", side_effect=CircuitOpenError("breaker", 0.0))
    with pytest.raises(RetryExhausted):
        await Retry(inner, attempts=2, retry_on=CircuitOpenError, sleep=Sleeps()).execute(0)
    assert inner.call_count == 2
    buggy = MockPrimitive("buggy", side_effect=TypeError("x"))
    with pytest.raises(RetryExhausted):
        await Retry(buggy, attempts=2, retry_on=Exception, sleep=Sleeps()).execute(0)
    assert buggy.call_count == 2


async def test_nested_retries_do_not_multiply() -> None:
    inner = MockPrimitive("inner", side_effect=Flaky("down"))
    nested = Retry(Retry(inner, attempts=3, sleep=Sleeps()), attempts=3, sleep=Sleeps())
    with pytest.raises(RetryExhausted) as caught:
        await nested.execute(0)
    assert inner.call_count == 3  # not 9
    assert isinstance(caught.value.last_error, Flaky)


async def test_retry_around_a_circuit_breaker_fails_fast_once_it_opens() -> None:
    inner = MockPrimitive("svc", side_effect=Flaky("down"))
    breaker = CircuitBreaker(inner, failure_threshold=2, recovery_time=60)
    retry = Retry(breaker, attempts=5, sleep=Sleeps())
    with pytest.raises(CircuitOpenError):
        await retry.execute(0)
    assert inner.call_count == 2  # two failures open it; the third attempt is refused
    assert breaker.rejected == 1
