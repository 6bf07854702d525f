from __future__ import annotations

import asyncio

import pytest

from tta_dev.primitives import (
    Conditional,
    Map,
    NoRouteError,
    PrimitiveError,
    Router,
    Switch,
    WorkflowContext,
    step,
)
from tta_dev.testing import MockPrimitive


async def test_conditional_picks_then_or_otherwise() -> None:
    then = MockPrimitive("then", return_value="big")
    otherwise = MockPrimitive("otherwise", return_value="small")
    cond = Conditional(lambda x: x > 10, then, otherwise)
    assert await cond.execute(11) == "big"
    assert await cond.execute(1) == "small"
    then.assert_called_once_with(11)
    otherwise.assert_called_once_with(1)


async def test_conditional_without_otherwise_passes_data_through() -> None:
    def twice(x: int) -> int:
        return x * 2

    double = step(twice)
    cond = Conditional(lambda x: x > 0, double)
    assert await cond.execute(3) == 6
    assert await cond.execute(-3) == -3


async def test_conditional_predicate_may_read_the_context() -> None:
    cond = Conditional(
        lambda _x, ctx: ctx.metadata.get("premium", False),
        MockPrimitive("p", return_value="premium"),
        MockPrimitive("f", return_value="free"),
    )
    assert await cond.execute(0, WorkflowContext(metadata={"premium": True})) == "premium"
    assert await cond.execute(0, WorkflowContext()) == "free"


async def test_conditional_branch_failure_propagates() -> None:
    cond = Conditional(lambda _x: True, MockPrimitive("bad", side_effect=ValueError("x")))
    with pytest.raises(ValueError, match="x"):
        await cond.execute(1)


async def test_switch_routes_by_key_and_falls_back_to_default() -> None:
    switch = Switch(
        lambda d: d["kind"],
        {"a": MockPrimitive("a", return_value="A"), "b": MockPrimitive("b", return_value="B")},
        default=MockPrimitive("d", return_value="D"),
    )
    assert await switch.execute({"kind": "a"}) == "A"
    assert await switch.execute({"kind": "b"}) == "B"
    assert await switch.execute({"kind": "z"}) == "D"


async def test_switch_without_default_raises_no_route() -> None:
    switch = Switch(lambda x: x, {1: MockPrimitive("one")}, name="by-number")
    with pytest.raises(NoRouteError) as info:
        await switch.execute(2)
    assert isinstance(info.value, PrimitiveError)
    assert isinstance(info.value, LookupError)
    assert info.value.route == 2
    assert "by-number" in str(info.value)


async def test_router_records_each_decision_on_the_context() -> None:
    cheap = MockPrimitive("cheap", return_value="c")
    strong = MockPrimitive("strong", return_value="s")
    router = Router(
        {"cheap": cheap, "strong": strong},
        lambda text, ctx: "strong" if len(text) > 5 or ctx.tags.get("vip") else "cheap",
        name="model",
    )
    ctx = WorkflowContext()
    assert await router.execute("hi", ctx) == "c"
    assert await router.execute("a long question", ctx) == "s"
    assert await router.execute("hi", WorkflowContext(tags={"vip": "1"})) == "s"
    assert [(d.router, d.route) for d in ctx.routes] == [("model", "cheap"), ("model", "strong")]
    assert router.decisions == {"cheap": 1, "strong": 2}


async def test_router_default_and_unknown_routes() -> None:
    router = Router({"a": MockPrimitive("a", return_value=1)}, lambda _x: "nope", default="a")
    ctx = WorkflowContext()
    assert await router.execute(0, ctx) == 1
    assert ctx.routes[0].route == "a"
    strict = Router({"a": MockPrimitive("a")}, lambda _x: "nope")
    with pytest.raises(NoRouteError):
        await strict.execute(0)


def test_router_validates_arguments() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Router({}, lambda _x: "a")
    with pytest.raises(ValueError, match="default route"):
        Router({"a": MockPrimitive()}, lambda _x: "a", default="b")


async def test_map_preserves_order_and_length() -> None:
    async def jittery(x: int) -> int:
        await asyncio.sleep(0.001 * (x % 3))
        return x * x

    result = await Map(step(jittery), limit=4).execute(list(range(20)))
    assert result == [x * x for x in range(20)]
    assert await Map(step(jittery)).execute([]) == []


async def test_map_bounds_concurrency() -> None:
    running = peak = 0

    async def track(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.002)
        running -= 1
        return x

    assert await Map(step(track), limit=3).execute(list(range(10))) == list(range(10))
    assert peak == 3
    peak = 0
    await Map(step(track), limit=None).execute(list(range(10)))
    assert peak == 10


async def test_map_first_failure_cancels_the_rest() -> None:
    cancelled = 0

    async def item(x: int) -> int:
        nonlocal cancelled
        if x == 2:
            raise ValueError("bad item")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return x  # pragma: no cover

    before = len(asyncio.all_tasks())
    with pytest.raises(ValueError, match="bad item"):
        await Map(step(item), limit=3).execute([0, 1, 2, 3, 4])
    assert cancelled == 2  # items 0 and 1 were running; 3 and 4 never started
    assert len(asyncio.all_tasks()) == before


def test_map_validates_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        Map(step(lambda x: x), limit=0)


# --- async choosers are awaited --------------------------------------------------------------


async def test_conditional_awaits_an_async_predicate() -> None:
    async def is_big(x: int) -> bool:
        await asyncio.sleep(0)
        return x > 10

    async def premium(_x: int, ctx: WorkflowContext) -> bool:
        return bool(ctx.metadata.get("premium"))

    cond = Conditional(
        is_big, MockPrimitive("t", return_value="big"), MockPrimitive("o", return_value="small")
    )
    # A coroutine is truthy: not awaiting it would take `then` every time.
    assert await cond.execute(1) == "small"
    assert await cond.execute(11) == "big"
    by_ctx = Conditional(premium, MockPrimitive("p", return_value="p"))
    assert await by_ctx.execute("x", WorkflowContext(metadata={"premium": False})) == "x"


async def test_switch_and_router_await_async_choosers() -> None:
    async def kind(d: dict[str, str]) -> str:
        return d["kind"]

    switch = Switch(
        kind,
        {"a": MockPrimitive("a", return_value="A"), "b": MockPrimitive("b", return_value="B")},
    )
    assert await switch.execute({"kind": "b"}) == "B"

    async def route(_text: str, ctx: WorkflowContext) -> str:
        return str(ctx.metadata["route"])

    router = Router(
        {
            "fast": MockPrimitive("f", return_value="F"),
            "slow": MockPrimitive("s", return_value="S"),
        },
        route,
    )
    ctx = WorkflowContext(metadata={"route": "slow"})
    assert await router.execute("q", ctx) == "S"
    assert [d.route for d in ctx.routes] == ["slow"]
    assert router.decisions == {"fast": 0, "slow": 1}


async def test_a_sync_chooser_returning_an_awaitable_is_awaited() -> None:
    async def lookup(x: int) -> bool:
        return x < 0

    cond = Conditional(lambda x: lookup(x), MockPrimitive("neg", return_value="negative"))
    assert await cond.execute(5) == 5
    assert await cond.execute(-5) == "negative"


class AsyncChooser:
    async def __call__(self, d: str) -> str:
        return d


async def test_an_object_with_an_async_call_is_an_async_chooser() -> None:
    switch = Switch(AsyncChooser(), {"x": MockPrimitive("x", return_value=1)})
    assert await switch.execute("x") == 1
