"""Flow primitives: Conditional, Switch, Router and Map."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from ._context import WorkflowContext
from ._core import Primitive, chooser, run_indexed
from ._errors import NoRouteError

__all__ = ["Conditional", "Map", "Router", "Switch"]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K", bound=Hashable)

#: A function of the input, or of the input and the context; sync or async (awaited).
Chooser = (
    Callable[[T], Awaitable[U]]
    | Callable[[T, WorkflowContext], Awaitable[U]]
    | Callable[[T], U]
    | Callable[[T, WorkflowContext], U]
)


class Conditional(Primitive[In, Out]):
    """``then`` when ``predicate`` is true, else ``otherwise`` (or the input unchanged).

    The predicate may be async (it is awaited).
    """

    @overload
    def __init__(
        self: Conditional[T, T],
        predicate: Chooser[T, bool],
        then: Primitive[T, T],
        otherwise: None = None,
        *,
        name: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        predicate: Chooser[In, bool],
        then: Primitive[In, Out],
        otherwise: Primitive[In, Out],
        *,
        name: str | None = None,
    ) -> None: ...
    def __init__(
        self,
        predicate: Chooser[Any, bool],
        then: Primitive[Any, Any],
        otherwise: Primitive[Any, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self._predicate = chooser(predicate)
        self.then = then
        self.otherwise = otherwise

    async def _run(self, data: Any, context: WorkflowContext) -> Any:
        if await self._predicate(data, context):
            return await self.then.execute(data, context)
        if self.otherwise is None:
            return data
        return await self.otherwise.execute(data, context)


class Switch(Primitive[In, Out], Generic[In, Out, K]):
    """Run the case ``selector`` picks; ``default`` when it picks none (else NoRouteError).

    The selector may be async (it is awaited).
    """

    def __init__(
        self,
        selector: Chooser[In, K],
        cases: Mapping[K, Primitive[In, Out]],
        default: Primitive[In, Out] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self._selector = chooser(selector)
        self.cases = dict(cases)
        self.default = default

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        key = await self._selector(data, context)
        case = self.cases.get(key, self.default)
        if case is None:
            raise NoRouteError(self.name, key)
        return await case.execute(data, context)


class Router(Primitive[In, Out]):
    """Pick a named route with ``choose(data[, context])`` (sync or async), run it, record
    the decision.

    Every decision is appended to ``context.routes`` (a ``RouteDecision``) and counted in
    ``self.decisions``. ``default`` names the route taken when ``choose`` returns an unknown
    name; without it that raises NoRouteError.
    """

    def __init__(
        self,
        routes: Mapping[str, Primitive[In, Out]],
        choose: Chooser[In, str],
        *,
        default: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if not routes:
            raise ValueError("Router needs at least one route")
        if default is not None and default not in routes:
            raise ValueError(f"default route {default!r} is not one of {sorted(routes)}")
        self.routes = dict(routes)
        self._choose = chooser(choose)
        self.default = default
        self.decisions: dict[str, int] = dict.fromkeys(self.routes, 0)

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        route = await self._choose(data, context)
        target = self.routes.get(route)
        if target is None:
            if self.default is None:
                raise NoRouteError(self.name, route)
            route = self.default
            target = self.routes[route]
        context.record_route(self.name, route)
        self.decisions[route] += 1
        return await target.execute(data, context)


class Map(Primitive[Sequence[T], list[U]]):
    """Run ``primitive`` on every item; results in item order, at most ``limit`` at once.

    The first failure cancels the items still running and is raised.
    """

    def __init__(
        self, primitive: Primitive[T, U], *, limit: int | None = 10, name: str | None = None
    ) -> None:
        super().__init__(name)
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.primitive = primitive
        self.limit = limit

    async def _run(self, data: Sequence[T], context: WorkflowContext) -> list[U]:
        execute = self.primitive.execute
        return await run_indexed(
            len(data), lambda i: execute(data[i], context), self.limit, return_exceptions=False
        )
