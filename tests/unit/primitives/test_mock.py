from __future__ import annotations

import asyncio

import pytest

from tta_dev.primitives import WorkflowContext
from tta_dev.testing import MockCall, MockPrimitive


async def test_return_value_and_call_records() -> None:
    mock = MockPrimitive("llm", return_value="response")
    ctx = WorkflowContext()
    assert await mock.execute("prompt", ctx) == "response"
    assert mock.call_count == 1 and mock.called  # noqa: PT018
    assert mock.calls == [MockCall("prompt", ctx)]
    assert mock.call_args == MockCall("prompt", ctx)
    mock.assert_called()
    mock.assert_called_once()
    mock.assert_called_with("prompt")
    mock.assert_called_once_with("prompt", context=ctx)
    mock.assert_any_call("prompt")


async def test_side_effect_exception_class_and_instance() -> None:
    with pytest.raises(KeyError):
        await MockPrimitive(side_effect=KeyError).execute(1)
    err = ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        await MockPrimitive(side_effect=err).execute(1)


async def test_side_effect_callables() -> None:
    assert await MockPrimitive(side_effect=lambda x: x + 1).execute(1) == 2
    assert (
        await MockPrimitive(side_effect=lambda x, ctx: ctx.workflow_id).execute(
            1, WorkflowContext("wf")
        )
        == "wf"
    )

    async def async_effect(x: int) -> int:
        return x * 3

    assert await MockPrimitive(side_effect=async_effect).execute(2) == 6
    assert await MockPrimitive(side_effect=str.upper).execute("a") == "A"


async def test_side_effect_iterable_yields_per_call_then_fails_clearly() -> None:
    mock = MockPrimitive("seq", side_effect=[1, RuntimeError("second"), 3])
    assert await mock.execute(None) == 1
    with pytest.raises(RuntimeError, match="second"):
        await mock.execute(None)
    assert await mock.execute(None) == 3
    with pytest.raises(AssertionError, match="exhausted"):
        await mock.execute(None)
    mock.side_effect = None
    mock.return_value = "plain"
    assert await mock.execute(None) == "plain"
    assert mock.side_effect is None


async def test_delay_is_awaited_and_cancellable() -> None:
    mock = MockPrimitive("slow", return_value=1, delay=10)
    task = asyncio.create_task(mock.execute(0))
    await asyncio.sleep(0.01)
    assert mock.call_count == 1  # recorded when it starts
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_assertion_failures_say_what_happened() -> None:
    mock = MockPrimitive("m")
    mock.assert_not_called()
    with pytest.raises(AssertionError, match="to be called"):
        mock.assert_called()
    with pytest.raises(AssertionError, match="not called"):
        mock.assert_called_with(1)
    await mock.execute(1)
    await mock.execute(2)
    with pytest.raises(AssertionError, match="called 2 times"):
        mock.assert_called_once()
    with pytest.raises(AssertionError, match="not to be called"):
        mock.assert_not_called()
    with pytest.raises(AssertionError, match="expected 1"):
        mock.assert_called_with(1)
    with pytest.raises(AssertionError, match="another context"):
        mock.assert_called_with(2, context=WorkflowContext())
    with pytest.raises(AssertionError, match="never called with 3"):
        mock.assert_any_call(3)
    mock.reset_mock()
    assert mock.call_count == 0
    assert mock.call_args is None


async def test_mocks_compose_like_any_primitive() -> None:
    cache = MockPrimitive("cache", return_value={"cached": False})
    router = MockPrimitive("router", return_value={"model": "small"})
    llm = MockPrimitive("llm", return_value="response")
    workflow = cache >> router >> llm
    assert await workflow.execute("prompt", WorkflowContext("wf")) == "response"
    cache.assert_called_once_with("prompt")
    router.assert_called_once_with({"cached": False})
    llm.assert_called_once_with({"model": "small"})
