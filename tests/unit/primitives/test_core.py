from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from tta_dev.primitives import (
    Parallel,
    Primitive,
    Sequential,
    StepTimeout,
    Timeout,
    WorkflowContext,
    get_execute_hook,
    set_execute_hook,
    step,
)
from tta_dev.testing import MockPrimitive


class Add(Primitive[int, int]):
    def __init__(self, n: int) -> None:
        super().__init__(f"add{n}")
        self.n = n

    async def _run(self, data: int, context: WorkflowContext) -> int:
        return data + self.n


class Boom(Exception):
    pass


async def test_execute_runs_and_makes_a_context_when_none_is_given() -> None:
    seen: list[WorkflowContext] = []

    @step
    def record(x: int, ctx: WorkflowContext) -> int:
        seen.append(ctx)
        return x

    assert await record.execute(1) == 1
    assert isinstance(seen[0], WorkflowContext)


async def test_base_primitive_must_implement_run() -> None:
    with pytest.raises(NotImplementedError):
        await Primitive[int, int]().execute(1, WorkflowContext())


async def test_rshift_chains_in_order() -> None:
    ctx = WorkflowContext()

    def times10(x: int) -> int:
        return x * 10

    chain = Add(1) >> step(times10) >> Add(2)
    assert await chain.execute(1, ctx) == 22


def test_rshift_flattens_both_sides() -> None:
    a, b, c, d = Add(1), Add(2), Add(3), Add(4)
    assert ((a >> b) >> (c >> d)).steps == (a, b, c, d)
    assert (a >> (b >> (c >> d))).steps == (a, b, c, d)


def test_named_sequential_stays_a_unit() -> None:
    a, b, c = Add(1), Add(2), Add(3)
    inner = Sequential(a, b, name="inner")
    outer = inner >> c
    assert outer.steps == (inner, c)


def test_sequential_needs_a_step() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Sequential()


async def test_ten_thousand_steps_run_without_recursion() -> None:
    chain: Primitive[int, int] = Add(1)
    for _ in range(9_999):
        chain = chain >> Add(1)
    assert isinstance(chain, Sequential)
    assert len(chain.steps) == 10_000
    assert await chain.execute(0, WorkflowContext()) == 10_000
    built = Sequential(*(Add(1) for _ in range(10_000)))
    assert await built.execute(0) == 10_000
    assert sys.getrecursionlimit() < 10_000  # the default limit really is below the length


async def test_sequential_stops_at_the_first_failure() -> None:
    after = MockPrimitive("after")
    chain = Add(1) >> MockPrimitive("bad", side_effect=Boom("x")) >> after
    with pytest.raises(Boom):
        await chain.execute(1)
    after.assert_not_called()


async def test_parallel_keeps_branch_order_whatever_finishes_first() -> None:
    slow = MockPrimitive("slow", return_value="slow", delay=0.05)
    fast = MockPrimitive("fast", return_value="fast")
    mid = MockPrimitive("mid", return_value="mid", delay=0.01)
    assert await (slow | fast | mid).execute(0) == ["slow", "fast", "mid"]


def test_or_flattens_both_sides_and_keeps_order() -> None:
    a, b, c, d = Add(1), Add(2), Add(3), Add(4)
    assert ((a | b) | (c | d)).branches == (a, b, c, d)
    assert (a | (b | (c | d))).branches == (a, b, c, d)


def test_or_keeps_options_of_a_configured_parallel() -> None:
    a, b, c = Add(1), Add(2), Add(3)
    limited = Parallel(a, b, limit=1)
    wider = limited | c
    assert wider.branches == (a, b, c)
    assert wider.limit == 1
    # a configured parallel on the right is one branch, not flattened
    assert (c | limited).branches == (c, limited)
    named = Parallel(a, b, name="pair")
    assert (c | named).branches == (c, named)


def test_parallel_validates_arguments() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Parallel()
    with pytest.raises(ValueError, match="limit"):
        Parallel(Add(1), limit=0)


async def test_parallel_first_failure_cancels_siblings_and_raises() -> None:
    cancelled = asyncio.Event()
    started = asyncio.Event()

    async def forever(_: int) -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0  # pragma: no cover

    async def fail(_: int) -> int:
        await started.wait()
        raise Boom("first")

    before = len(asyncio.all_tasks())
    with pytest.raises(Boom, match="first"):
        await (step(forever) | step(fail)).execute(0)
    assert cancelled.is_set()
    assert len(asyncio.all_tasks()) == before


async def test_parallel_return_exceptions_collects_everything() -> None:
    err = Boom("b")
    p = Parallel(
        MockPrimitive("a", return_value=1),
        MockPrimitive("b", side_effect=err),
        MockPrimitive("c", return_value=3, delay=0.01),
        return_exceptions=True,
    )
    assert await p.execute(0) == [1, err, 3]


async def test_parallel_limit_bounds_concurrency() -> None:
    running = 0
    peak = 0

    async def track(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        return x

    p = Parallel(*(step(track) for _ in range(8)), limit=3)
    assert await p.execute(7) == [7] * 8
    assert peak == 3


async def test_parallel_limit_with_return_exceptions() -> None:
    err = Boom("no")
    p = Parallel(
        MockPrimitive("a", return_value=1),
        MockPrimitive("b", side_effect=err),
        MockPrimitive("c", return_value=3),
        limit=2,
        return_exceptions=True,
    )
    assert await p.execute(0) == [1, err, 3]


@pytest.mark.parametrize("limit", [None, 2])
async def test_a_branch_raising_cancelled_error_is_collected_with_or_without_limit(
    limit: int | None,
) -> None:
    async def cancels(x: int) -> int:
        raise asyncio.CancelledError

    p = Parallel(
        MockPrimitive("a", return_value=1),
        step(cancels),
        MockPrimitive("c", return_value=3, delay=0.001),
        limit=limit,
        return_exceptions=True,
    )
    results = await p.execute(0)
    assert results[0] == 1 and results[2] == 3  # noqa: PT018
    assert isinstance(results[1], asyncio.CancelledError)


@pytest.mark.parametrize("limit", [None, 2])
async def test_cancelling_a_collecting_parallel_still_cancels_it(limit: int | None) -> None:
    started = asyncio.Event()

    async def forever(x: int) -> int:
        started.set()
        await asyncio.Event().wait()
        return x

    p = Parallel(step(forever), step(forever), step(forever), limit=limit, return_exceptions=True)
    task = asyncio.create_task(p.execute(0))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_parallel_limit_failure_cancels_running_branches() -> None:
    cancelled: list[int] = []

    async def slow(x: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x  # pragma: no cover

    p = Parallel(step(slow), MockPrimitive("bad", side_effect=Boom), step(slow), limit=2)
    with pytest.raises(Boom):
        await p.execute(1)
    assert cancelled == [1]


async def test_cancelling_a_workflow_cancels_its_parallel_branches() -> None:
    started = 0
    cancelled = 0
    all_started = asyncio.Event()

    async def branch(_: int) -> None:
        nonlocal started, cancelled
        started += 1
        if started == 3:
            all_started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    workflow = Add(1) >> (step(branch) | step(branch) | step(branch))
    before = len(asyncio.all_tasks())
    task = asyncio.create_task(workflow.execute(0))
    await all_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == 3
    assert len(asyncio.all_tasks()) == before


async def test_step_adapts_every_callable_shape() -> None:
    ctx = WorkflowContext(metadata={"k": 5})

    def sync1(x: int) -> int:
        return x + 1

    def sync2(x: int, c: WorkflowContext) -> int:
        return x + c.metadata["k"]

    async def async1(x: int) -> int:
        return x * 2

    async def async2(x: int, c: WorkflowContext) -> int:
        return x * c.metadata["k"]

    class Callable1:
        async def __call__(self, x: int) -> int:
            return x - 1

    def returns_awaitable(x: int) -> Coroutine[Any, Any, int]:
        return async1(x)

    def varargs(*args: Any) -> int:
        return len(args)

    assert await step(sync1).execute(1, ctx) == 2
    assert await step(sync2).execute(1, ctx) == 6
    assert await step(async1).execute(3, ctx) == 6
    assert await step(async2).execute(3, ctx) == 15
    assert await step(Callable1()).execute(3, ctx) == 2
    assert await step(returns_awaitable).execute(4, ctx) == 8
    assert await step(varargs).execute(4, ctx) == 1
    assert await step(str.upper).execute("a", ctx) == "A"
    assert await step(sum).execute([1, 2], ctx) == 3

    def optional_ctx(x: int, ctx: WorkflowContext | None = None) -> bool:
        return ctx is not None

    assert await step(optional_ctx).execute(1, ctx) is True


def test_step_names() -> None:
    def parse(x: str) -> str:
        return x

    assert step(parse).name == "parse"
    assert step(parse, name="p").name == "p"

    @step(name="decorated")
    async def other(x: int) -> int:
        return x

    assert other.name == "decorated"
    assert "decorated" in repr(other)


async def test_execute_hook_sees_every_primitive_and_can_be_removed() -> None:
    seen: list[str] = []

    async def hook(
        primitive: Primitive[Any, Any], data: Any, context: WorkflowContext, run: Any
    ) -> Any:
        seen.append(primitive.name)
        return await run(data, context)

    def total(xs: list[int]) -> int:
        return sum(xs)

    workflow = Add(1) >> (Add(2) | Add(3)) >> step(total, name="sum")
    previous = set_execute_hook(hook)
    try:
        assert get_execute_hook() is hook
        assert await workflow.execute(0) == 7
    finally:
        assert set_execute_hook(previous) is hook
    assert get_execute_hook() is None
    assert seen[0] == "Sequential"
    assert sorted(seen[1:]) == sorted(["add1", "Parallel", "add2", "add3", "sum"])
    # Parallel with options goes through the hook too
    seen.clear()
    set_execute_hook(hook)
    try:
        assert await Parallel(Add(1), Add(2), limit=1).execute(0) == [1, 2]
    finally:
        set_execute_hook(None)
    assert seen == ["Parallel", "add1", "add2"]


@pytest.mark.parametrize("length", [1, 2, 31, 32, 33, 100])
async def test_every_chain_length_gives_the_same_result(length: int) -> None:
    chain = Sequential(*(Add(i) for i in range(length)))
    expected = sum(range(length))
    assert await chain.execute(0) == expected  # short chains: generated straight-line code
    assert await chain.execute(0) == expected  # and again, from the cached runner
    outer = Sequential(chain, Add(0), name="outer")  # nested: the loop over bound _runs
    assert await outer.execute(0) == expected


async def test_a_failure_inside_a_short_chain_propagates_and_stops_it() -> None:
    after = MockPrimitive("after")
    chain = Sequential(Add(1), MockPrimitive("bad", side_effect=Boom("mid")), after)
    with pytest.raises(Boom, match="mid"):
        await chain.execute(0)
    after.assert_not_called()


# --- the generated straight-line run and the plain loop behave alike ----------------------


class _Boom(Exception):
    pass


def _chain_for(
    plain_loop: bool, monkeypatch: pytest.MonkeyPatch, *steps: Any
) -> Sequential[Any, Any]:
    if plain_loop:
        monkeypatch.setattr("tta_dev.primitives._core._UNROLL_MAX", 0)
    chain = Sequential(*steps)
    return chain


@pytest.mark.parametrize("plain_loop", [False, True])
async def test_generated_and_loop_runs_give_the_same_results(
    plain_loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def record(x: int, context: WorkflowContext) -> int:
        seen.append(context.workflow_id)
        return x + 1

    chain = _chain_for(plain_loop, monkeypatch, *(step(record) for _ in range(5)))
    ctx = WorkflowContext("w")
    assert await chain.execute(0, ctx) == 5
    assert seen == ["w"] * 5
    fast = chain._fast  # pyright: ignore[reportPrivateUsage]
    assert (fast == chain._run) is plain_loop  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("plain_loop", [False, True])
async def test_generated_and_loop_runs_raise_alike_and_stop(
    plain_loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    after = MockPrimitive("after")
    err = _Boom("third")
    chain = _chain_for(
        plain_loop,
        monkeypatch,
        MockPrimitive("a", return_value=1),
        MockPrimitive("b", return_value=2),
        MockPrimitive("c", side_effect=err),
        after,
    )
    with pytest.raises(_Boom) as info:
        await chain.execute(0)
    assert info.value is err
    assert after.call_count == 0


@pytest.mark.parametrize("plain_loop", [False, True])
async def test_generated_and_loop_runs_cancel_alike(
    plain_loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()
    cleaned = asyncio.Event()

    async def hang(x: int) -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()
        return x

    after = MockPrimitive("after")
    chain = _chain_for(
        plain_loop, monkeypatch, MockPrimitive("a", return_value=1), step(hang), after
    )
    task = asyncio.create_task(chain.execute(0))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()
    assert after.call_count == 0


# --- sync callables run off the loop; async ones are the run itself --------------------------


async def test_a_blocking_step_runs_off_the_loop_so_timeout_fires() -> None:
    release = threading.Event()

    def blocking(x: int) -> int:
        # Bounded, so that a step run on the loop (the old behaviour) fails instead of hanging.
        release.wait(10)
        return x

    try:
        with pytest.raises(StepTimeout):
            await Timeout(step(blocking), 0.05).execute(1)
    finally:
        release.set()


async def test_parallel_blocking_steps_overlap() -> None:
    barrier = threading.Barrier(3, timeout=10)

    def meet(x: int) -> int:
        barrier.wait()  # passes only when all three run at once
        return x

    fan = step(meet) | step(meet) | step(meet)
    assert await fan.execute(7) == [7, 7, 7]


async def test_sync_steps_get_context_vars_and_the_context_in_their_thread() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")
    loop_thread = threading.get_ident()

    def probe(_x: int, ctx: WorkflowContext) -> tuple[str, bool, str]:
        return var.get(), threading.get_ident() == loop_thread, ctx.workflow_id

    def cheap(x: int) -> bool:
        return threading.get_ident() == loop_thread

    ctx = WorkflowContext("wf")
    assert await step(probe).execute(1, ctx) == ("caller", False, "wf")
    assert await step(cheap, inline=True).execute(1, ctx) is True
    assert await step(cheap).execute(1, ctx) is False

    @step(inline=True, name="on_loop")
    def decorated(x: int) -> bool:
        return threading.get_ident() == loop_thread

    assert decorated.name == "on_loop"
    assert await decorated.execute(1, ctx) is True


async def test_a_step_around_an_async_function_adds_no_frame() -> None:
    callers: list[str] = []

    async def probe(x: int) -> int:
        callers.append(sys._getframe(1).f_code.co_name)  # the awaiting frame
        return x

    async def probe_ctx(x: int, _ctx: WorkflowContext) -> int:
        callers.append(sys._getframe(1).f_code.co_name)
        return x

    async def direct() -> int:
        return await step(probe).execute(1) + await step(probe_ctx).execute(1)

    assert await direct() == 2
    chain = step(probe) >> step(probe_ctx) >> step(probe)
    assert await chain.execute(1) == 1
    # Awaited straight from the caller / the chain's own run, never from a wrapper `_run`.
    assert callers == ["direct", "direct", "run", "run", "run"]
