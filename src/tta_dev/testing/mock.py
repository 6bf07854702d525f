"""MockPrimitive: a test double that records its calls and answers as told."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from tta_dev.primitives import Primitive, WorkflowContext

__all__ = ["MockCall", "MockPrimitive"]

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class MockCall:
    """One call of a MockPrimitive: the data and the context it got."""

    data: Any
    context: WorkflowContext


class MockPrimitive(Primitive[Any, Any]):
    """A primitive for tests, in the spirit of ``unittest.mock``.

    ``side_effect`` decides what a call does: an exception (class or instance) is raised; a
    callable ``(data)`` or ``(data, context)``, sync or async, gives the result; an iterable
    gives one item per call (exceptions among them are raised). Without it each call returns
    ``return_value``. ``delay`` seconds pass (``asyncio.sleep``) before answering; the call is
    recorded when it starts.
    """

    def __init__(
        self,
        name: str = "mock",
        return_value: Any = None,
        side_effect: Any = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(name)
        self.return_value = return_value
        self.delay = delay
        self.calls: list[MockCall] = []
        self.side_effect = side_effect

    @property
    def side_effect(self) -> Any:
        return self._side_effect

    @side_effect.setter
    def side_effect(self, effect: Any) -> None:
        self._side_effect = effect
        self._effects: Iterator[Any] | None = None
        if effect is not None and not _is_error(effect) and not callable(effect):
            self._effects = iter(cast("Iterable[Any]", effect))

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def call_args(self) -> MockCall | None:
        """The last call, or ``None``."""
        return self.calls[-1] if self.calls else None

    async def _run(self, data: Any, context: WorkflowContext) -> Any:
        self.calls.append(MockCall(data, context))
        if self.delay:
            await asyncio.sleep(self.delay)
        effect = self._side_effect
        if effect is None:
            return self.return_value
        if self._effects is not None:
            try:
                effect = next(self._effects)
            except StopIteration:
                raise AssertionError(f"{self.name}: side_effect is exhausted") from None
            if _is_error(effect):
                raise effect
            return effect
        if _is_error(effect):
            raise effect
        fn = cast("Callable[..., Any]", effect)
        result = fn(data, context) if _takes_two(fn) else fn(data)
        if inspect.isawaitable(result):
            result = await result
        return result

    def reset_mock(self) -> None:
        """Forget the calls (answers stay as configured)."""
        self.calls.clear()

    def assert_called(self) -> None:
        if not self.calls:
            raise AssertionError(f"expected {self.name} to be called; it was not")

    def assert_not_called(self) -> None:
        if self.calls:
            raise AssertionError(
                f"expected {self.name} not to be called; it was called {self.call_count} times"
            )

    def assert_called_once(self) -> None:
        if self.call_count != 1:
            raise AssertionError(
                f"expected {self.name} to be called once; it was called {self.call_count} times"
            )

    def assert_called_with(self, data: Any = _UNSET, *, context: Any = _UNSET) -> None:
        """The last call got ``data`` (and ``context``, when given)."""
        if not self.calls:
            raise AssertionError(f"expected {self.name} to be called with {data!r}; not called")
        self._check(self.calls[-1], data, context)

    def assert_called_once_with(self, data: Any = _UNSET, *, context: Any = _UNSET) -> None:
        self.assert_called_once()
        self._check(self.calls[0], data, context)

    def assert_any_call(self, data: Any) -> None:
        if not any(call.data == data for call in self.calls):
            seen = [call.data for call in self.calls]
            raise AssertionError(f"{self.name} was never called with {data!r}; calls: {seen!r}")

    def _check(self, call: MockCall, data: Any, context: Any) -> None:
        if data is not _UNSET and call.data != data:
            raise AssertionError(f"{self.name} called with {call.data!r}, expected {data!r}")
        if context is not _UNSET and call.context is not context:
            raise AssertionError(f"{self.name} called with another context than expected")


def _is_error(value: object) -> bool:
    return isinstance(value, BaseException) or (
        isinstance(value, type) and issubclass(value, BaseException)
    )


def _takes_two(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2:
        return False
    # the same rule as `step`: a required second parameter, or one named context/ctx
    return positional[1].default is inspect.Parameter.empty or positional[1].name in (
        "context",
        "ctx",
    )
