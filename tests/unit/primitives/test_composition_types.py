"""Pyright checks this file in CI (`nox -s typecheck`): composed types are inferred.

Each ``assert_type`` is a static check; the test also runs the workflows.
"""

from __future__ import annotations

from typing import assert_type

from tta_dev.primitives import (
    LLM,
    Cache,
    Conditional,
    Fallback,
    LLMRequest,
    LLMResponse,
    Map,
    Parallel,
    Primitive,
    Retry,
    Router,
    Sequential,
    Switch,
    Timeout,
    WorkflowContext,
    model_router,
    step,
)


@step
def parse(text: str) -> int:
    return int(text)


@step
async def double(n: int) -> float:
    return n * 2.0


@step
def describe(x: float, context: WorkflowContext) -> str:
    return f"{context.workflow_id}:{x}"


@step
def is_even(n: int) -> bool:
    return n % 2 == 0


@step
def increment(n: int) -> int:
    return n + 1


class EchoProvider:
    async def complete(self, request: LLMRequest) -> LLMResponse:
        return LLMResponse(request.prompt, request.model or "none", 1, 1)


async def test_composed_types_are_inferred() -> None:
    assert_type(parse, Primitive[str, int])
    assert_type(double, Primitive[int, float])
    assert_type(describe, Primitive[float, str])

    pipeline = parse >> double >> describe
    assert_type(pipeline, Sequential[str, str])

    fan_out = double | is_even
    assert_type(fan_out, Parallel[int, float | bool])
    assert_type(fan_out | (double >> describe), Parallel[int, float | bool | str])

    both = parse >> (double | is_even)
    assert_type(both, Sequential[str, list[float | bool]])

    resilient = Retry(Timeout(double, 1.0), attempts=2)
    assert_type(resilient, Retry[int, float])
    assert_type(Fallback(double, double), Fallback[int, float])
    assert_type(Cache(parse), Cache[str, int])
    assert_type(Map(double), Map[int, float])
    assert_type(Conditional(lambda n: n > 0, double, double), Conditional[int, float])
    assert_type(Conditional(lambda n: n > 0, increment), Conditional[int, int])

    llm = Cache(model_router() >> LLM(EchoProvider()))
    assert_type(llm, Cache[LLMRequest, LLMResponse])

    ctx = WorkflowContext("types")
    assert await pipeline.execute("21", ctx) == "types:42.0"
    assert await both.execute("3") == [6.0, False]
    assert await Map(double).execute([1, 2]) == [2.0, 4.0]
    assert (await llm.execute(LLMRequest("hi"))).model == "gpt-4.1-nano"


async def test_async_choosers_keep_the_types() -> None:
    async def positive(n: int) -> bool:
        return n > 0

    async def kind(n: int) -> str:
        return "even" if n % 2 == 0 else "odd"

    cond = Conditional(positive, double, double)
    assert_type(cond, Conditional[int, float])
    switch = Switch(kind, {"even": double, "odd": double})
    assert_type(switch, Switch[int, float, str])
    router = Router({"even": increment, "odd": increment}, kind)
    assert_type(router, Router[int, int])
    assert await cond.execute(-1) == -2.0
    assert await switch.execute(3) == 6.0
    assert await router.execute(2) == 3
