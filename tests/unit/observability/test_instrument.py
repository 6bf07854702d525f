"""instrument(): spans nest as compositions run, carry the attributes, metrics count."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY, CollectorRegistry

from tta_dev.observability import current_instrumentation, instrument, uninstrument
from tta_dev.primitives import (
    LLM,
    Cache,
    CacheKeyError,
    CircuitBreaker,
    CircuitOpenError,
    LLMRequest,
    LLMResponse,
    ModelPrice,
    Parallel,
    Retry,
    RetryExhausted,
    Router,
    Sequential,
    WorkflowContext,
    get_execute_hook,
    step,
)
from tta_dev.testing import MockPrimitive

from .conftest import Traced, attrs, parent_of, span_id


def ident(x: Any) -> Any:
    return x


async def test_a_sequence_nests_its_steps_and_a_span_per_execution(traced: Traced) -> None:
    wf = Sequential(step(ident, name="a"), step(ident, name="b"), name="seq")
    ctx = WorkflowContext("wf-1", correlation_id="corr-1")
    assert await wf.execute(5, ctx) == 5
    seq = traced.one("seq")
    assert parent_of(seq) is None
    for name in ("a", "b"):
        child = traced.one(name)
        assert parent_of(child) == span_id(seq)
        assert attrs(child) == {
            "tta.primitive.name": name,
            "tta.primitive.type": "Step",
            "tta.workflow.id": "wf-1",
            "tta.correlation_id": "corr-1",
        }
    assert traced.one("a").start_time <= traced.one("b").start_time  # type: ignore[operator]
    assert attrs(seq)["tta.primitive.type"] == "Sequential"


async def test_parallel_branches_nest_under_the_parallel_across_tasks(traced: Traced) -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    async def branch(x: int) -> int:
        tasks.append(asyncio.current_task())
        await asyncio.sleep(0)
        return x

    inner = Sequential(step(branch, name="inner_a"), step(ident, name="inner_b"), name="deep")
    wf = Parallel(step(branch, name="left"), inner, step(branch, name="right"), name="par")
    assert await wf.execute(1) == [1, 1, 1]
    assert len({id(t) for t in tasks}) == 3  # really three tasks
    par = traced.one("par")
    for name in ("left", "deep", "right"):
        assert parent_of(traced.one(name)) == span_id(par)
    deep = traced.one("deep")
    assert parent_of(traced.one("inner_a")) == span_id(deep)
    assert parent_of(traced.one("inner_b")) == span_id(deep)
    assert {s.context.trace_id for s in traced.spans() if s.context} == {par.context.trace_id}  # type: ignore[union-attr]


async def test_retry_attempts_are_children_numbered_with_the_failures_marked(
    traced: Traced,
) -> None:
    flaky = MockPrimitive("flaky", side_effect=[ConnectionError("1"), ConnectionError("2"), "ok"])
    retry = Retry(flaky, attempts=3, backoff=0, jitter=0, name="retry")
    assert await retry.execute("x") == "ok"
    outer = traced.one("retry")
    attempts = sorted(traced.named("flaky"), key=lambda s: attrs(s)["tta.retry.attempt"])
    assert [attrs(s)["tta.retry.attempt"] for s in attempts] == [1, 2, 3]
    assert all(parent_of(s) == span_id(outer) for s in attempts)
    assert [s.status.status_code for s in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert attrs(attempts[0])["error.type"] == "ConnectionError"
    assert attrs(outer)["tta.retry.attempts"] == 3
    assert outer.status.status_code is StatusCode.UNSET
    assert traced.sample("tta_retry_attempts_total", name="retry") == 2
    assert (
        traced.sample(
            "tta_primitive_executions_total",
            primitive="MockPrimitive",
            name="flaky",
            status="error",
        )
        == 2
    )


async def test_a_failure_marks_the_span_and_its_parents_and_records_the_exception(
    traced: Traced,
) -> None:
    class Boom(Exception):
        pass

    def explode(_x: object) -> None:
        raise Boom("bad input")

    wf = Sequential(step(ident, name="fine"), step(explode, name="explode"), name="wf")
    with pytest.raises(Boom):
        await wf.execute(1)
    failed = traced.one("explode")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "Boom: bad input"
    assert attrs(failed)["error.type"].endswith("Boom")
    assert "." in attrs(failed)["error.type"]  # qualified: not a builtin
    assert [e.name for e in failed.events] == ["exception"]
    assert dict(failed.events[0].attributes or {})["exception.message"] == "bad input"
    assert traced.one("wf").status.status_code is StatusCode.ERROR
    assert traced.one("fine").status.status_code is StatusCode.UNSET
    assert (
        traced.sample(
            "tta_primitive_executions_total", primitive="Step", name="explode", status="error"
        )
        == 1
    )
    assert (
        traced.sample(
            "tta_primitive_executions_total", primitive="Sequential", name="wf", status="error"
        )
        == 1
    )


async def test_cancelled_siblings_are_counted_as_cancelled_not_failed(traced: Traced) -> None:
    started = asyncio.Event()

    async def wait_forever(_x: object) -> None:
        started.set()
        await asyncio.Event().wait()

    async def fail(_x: object) -> None:
        await started.wait()
        raise ValueError("stop")

    with pytest.raises(ValueError, match="stop"):
        await Parallel(step(wait_forever, name="slow"), step(fail, name="fail")).execute(0)
    slow = traced.one("slow")
    assert attrs(slow)["tta.cancelled"] is True
    assert slow.status.status_code is StatusCode.UNSET
    assert (
        traced.sample(
            "tta_primitive_executions_total", primitive="Step", name="slow", status="cancelled"
        )
        == 1
    )


async def test_cache_lookup_span_and_hit_miss_error_counts(traced: Traced) -> None:
    inner = MockPrimitive("compute", return_value=42)
    cache = Cache(inner, name="answers")
    await cache.execute("q")
    await cache.execute("q")
    spans = sorted(traced.named("answers"), key=lambda s: s.start_time or 0)
    assert [attrs(s)["tta.cache.result"] for s in spans] == ["miss", "hit"]
    lookups = sorted(traced.named("answers.lookup"), key=lambda s: s.start_time or 0)
    assert [parent_of(s) for s in lookups] == [span_id(s) for s in spans]
    assert [attrs(s)["tta.cache.result"] for s in lookups] == ["miss", "hit"]
    assert parent_of(traced.one("compute")) == span_id(spans[0])  # computed on the miss only
    assert traced.sample("tta_cache_requests_total", name="answers", result="miss") == 1
    assert traced.sample("tta_cache_requests_total", name="answers", result="hit") == 1
    assert traced.sample("tta_cache_requests_total", name="answers", result="error") == 0


class BrokenBackend:
    async def get(self, key: str) -> tuple[bool, Any]:
        raise ConnectionError("down")

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        raise ConnectionError("down")

    async def delete(self, key: str) -> None:  # pragma: no cover
        raise ConnectionError("down")

    async def clear(self) -> None:  # pragma: no cover
        raise ConnectionError("down")


async def test_a_failing_backend_counts_an_error_request(traced: Traced) -> None:
    cache = Cache(
        MockPrimitive("compute", return_value=1), backend=BrokenBackend(), namespace="c", name="c"
    )
    assert await cache.execute("q") == 1
    assert attrs(traced.one("c"))["tta.cache.result"] == "error"
    assert traced.sample("tta_cache_requests_total", name="c", result="error") == 1
    assert traced.sample("tta_cache_requests_total", name="c", result="miss") == 0


async def test_a_key_function_that_fails_is_an_error_span_and_no_request(
    traced: Traced,
) -> None:
    def bad_key(_data: object) -> str:
        raise TypeError("unhashable here")

    cache = Cache(MockPrimitive("compute", return_value="v"), key=bad_key, name="c")
    with pytest.raises(CacheKeyError):
        await cache.execute("q")
    assert attrs(traced.one("c"))["error.type"] == "tta_dev.primitives._errors.CacheKeyError"
    for result in ("hit", "miss", "error"):
        assert traced.sample("tta_cache_requests_total", name="c", result=result) == 0


async def test_concurrent_waiters_of_one_computation_are_misses(traced: Traced) -> None:
    release = asyncio.Event()

    async def slow(x: str) -> str:
        await release.wait()
        return x

    cache = Cache(step(slow, name="slow"), name="c")
    calls = [asyncio.ensure_future(cache.execute("q")) for _ in range(3)]
    for _ in range(1000):  # loop turns, not time: until both others wait on the first
        if cache.coalesced == 2:
            break
        await asyncio.sleep(0)
    assert cache.coalesced == 2
    release.set()
    assert await asyncio.gather(*calls) == ["q", "q", "q"]
    assert traced.sample("tta_cache_requests_total", name="c", result="miss") == 3
    assert len(traced.named("slow")) == 1


async def test_router_records_the_route_on_its_span(traced: Traced) -> None:
    router = Router(
        {"short": step(ident, name="short_path"), "long": step(ident, name="long_path")},
        lambda text: "long" if len(text) > 3 else "short",
        name="router",
    )
    await router.execute("hi")
    await router.execute("hello")
    spans = sorted(traced.named("router"), key=lambda s: s.start_time or 0)
    assert [attrs(s)["tta.route"] for s in spans] == ["short", "long"]


async def test_circuit_state_gauge_and_state_change_event(traced: Traced) -> None:
    failing = MockPrimitive("dep", side_effect=ConnectionError("down"))
    breaker = CircuitBreaker(failing, failure_threshold=2, recovery_time=60, name="breaker")
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.execute(1)
    assert traced.sample("tta_circuit_state", name="breaker") == 2  # open
    with pytest.raises(CircuitOpenError):
        await breaker.execute(1)
    spans = sorted(traced.named("breaker"), key=lambda s: s.start_time or 0)
    assert [attrs(s)["tta.circuit.state"] for s in spans] == ["closed", "open", "open"]
    changes = [e for s in spans for e in s.events if e.name == "circuit state change"]
    assert [dict(e.attributes or {}) for e in changes] == [{"from": "closed", "to": "open"}]
    breaker.reset()
    failing.side_effect = None
    await breaker.execute(1)
    assert traced.sample("tta_circuit_state", name="breaker") == 0


class Provider:
    async def complete(self, request: LLMRequest) -> LLMResponse:
        return LLMResponse("answer", request.model or "?", input_tokens=100, output_tokens=50)


async def test_llm_tokens_cost_and_requests_per_model(traced: Traced) -> None:
    prices = {"small": ModelPrice(1.0, 2.0), "big": ModelPrice(10.0, 20.0)}
    llm = LLM(Provider(), prices=prices, name="llm")
    await llm.execute(LLMRequest("a", model="small"))
    await llm.execute(LLMRequest("b", model="small"))
    await llm.execute(LLMRequest("c", model="big"))
    assert traced.sample("tta_llm_requests_total", model="small") == 2
    assert traced.sample("tta_llm_requests_total", model="big") == 1
    assert traced.sample("tta_llm_tokens_total", model="small", direction="input") == 200
    assert traced.sample("tta_llm_tokens_total", model="small", direction="output") == 100
    assert traced.sample("tta_llm_cost_usd_total", model="big") == pytest.approx(
        (100 * 10 + 50 * 20) / 1e6
    )
    span = sorted(traced.named("llm"), key=lambda s: s.start_time or 0)[-1]
    assert attrs(span)["gen_ai.response.model"] == "big"
    assert attrs(span)["gen_ai.usage.input_tokens"] == 100


async def test_duration_histogram_counts_every_execution(traced: Traced) -> None:
    wf = Sequential(step(ident, name="a"), step(ident, name="b"), name="wf")
    for _ in range(3):
        await wf.execute(1)
    count = traced.sample("tta_primitive_duration_seconds_count", primitive="Step", name="a")
    assert count == 3
    inf = traced.sample(
        "tta_primitive_duration_seconds_bucket", primitive="Sequential", name="wf", le="+Inf"
    )
    assert inf == 3
    total = traced.sample("tta_primitive_duration_seconds_sum", primitive="Sequential", name="wf")
    assert total is not None
    assert total > 0


async def test_label_children_are_resolved_once_per_primitive(traced: Traced) -> None:
    calls: list[tuple[str, ...]] = []
    executions = traced.obs.metrics.executions
    original = executions.labels

    def counting(*values: str) -> Any:
        calls.append(values)
        return original(*values)

    executions.labels = counting  # type: ignore[method-assign]
    wf = Sequential(step(ident, name="a"), step(ident, name="b"), name="wf")
    for _ in range(5):
        await wf.execute(1)
    # three statuses for each of wf, a, b: resolved on first sight, never again
    assert len(calls) == 9
    assert len(set(calls)) == 9


async def test_trace_id_is_reachable_from_the_context(traced: Traced) -> None:
    seen: list[str | None] = []

    def look(x: int, context: WorkflowContext) -> int:
        seen.append(context.trace_id)
        seen.append(context.child("sub").trace_id)
        return x

    ctx = WorkflowContext("wf")
    assert ctx.trace_id is None
    await Sequential(step(look, name="look"), name="wf").execute(1, ctx)
    root = traced.one("wf")
    assert root.context is not None
    expected = format(root.context.trace_id, "032x")
    assert ctx.trace_id == expected
    assert seen == [expected, expected]
    # a new run with the same context gets the new run's trace
    await step(ident, name="again").execute(1, ctx)
    again = traced.one("again").context
    assert again is not None
    assert ctx.trace_id == format(again.trace_id, "032x") != expected


async def test_spans_nest_under_a_span_the_caller_made(traced: Traced) -> None:
    tracer = traced.provider.get_tracer("caller")
    with tracer.start_as_current_span("request") as outer:
        await step(ident, name="inside").execute(1)
    assert parent_of(traced.one("inside")) == outer.get_span_context().span_id


async def test_code_inside_a_primitive_sees_its_span_as_current(traced: Traced) -> None:
    current: list[int] = []

    def look(x: int) -> int:
        current.append(trace.get_current_span().get_span_context().span_id)
        return x

    await step(look, name="look").execute(1)
    assert current == [span_id(traced.one("look"))]


async def test_metrics_go_to_a_registry_of_our_own_by_default(traced: Traced) -> None:
    await step(ident, name="a").execute(1)
    assert traced.obs.registry is not REGISTRY
    assert (
        REGISTRY.get_sample_value(
            "tta_primitive_executions_total", {"primitive": "Step", "name": "a", "status": "ok"}
        )
        is None
    )


async def test_a_given_registry_gets_the_metrics() -> None:
    registry = CollectorRegistry()
    with instrument(registry=registry) as obs:
        await step(ident, name="a").execute(1)
    assert obs.registry is registry
    assert (
        registry.get_sample_value(
            "tta_primitive_executions_total", {"primitive": "Step", "name": "a", "status": "ok"}
        )
        == 1
    )


async def test_without_an_sdk_provider_metrics_still_count_and_no_trace_id() -> None:
    # The global provider is the API's no-op one: instrument() must not replace it.
    with instrument() as obs:
        ctx = WorkflowContext()
        await step(ident, name="a").execute(1, ctx)
    assert ctx.trace_id is None
    assert (
        obs.registry.get_sample_value(
            "tta_primitive_executions_total", {"primitive": "Step", "name": "a", "status": "ok"}
        )
        == 1
    )


async def test_retry_exhausted_is_an_error_of_the_retry(traced: Traced) -> None:
    retry = Retry(
        MockPrimitive("dep", side_effect=ConnectionError("down")),
        attempts=2,
        backoff=0,
        name="retry",
    )
    with pytest.raises(RetryExhausted):
        await retry.execute(1)
    outer = traced.one("retry")
    assert outer.status.status_code is StatusCode.ERROR
    assert attrs(outer)["error.type"] == "tta_dev.primitives._errors.RetryExhausted"
    assert traced.sample("tta_retry_attempts_total", name="retry") == 1


def test_instrument_twice_is_refused_and_uninstrument_turns_it_off() -> None:
    assert current_instrumentation() is None
    obs = instrument()
    try:
        assert current_instrumentation() is obs
        assert obs.active
        with pytest.raises(RuntimeError, match="already instrumented"):
            instrument()
    finally:
        assert uninstrument() is True
    assert not obs.active
    assert current_instrumentation() is None
    assert uninstrument() is False
    obs.uninstrument()  # idempotent
    assert get_execute_hook() is None
