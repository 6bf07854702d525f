"""The Primitive base class, the ``>>`` / ``|`` compositions and ``step``.

Hot path: ``execute`` is a plain method that returns the primitive's ``_run`` coroutine, so a
call costs one coroutine, and ``Sequential`` awaits its (flattened) steps' ``_run`` directly:
in a generated straight-line coroutine for up to 32 steps, in one loop beyond. A ``step``
around an async function has that function as its run (no frame of its own). The single
instrumentation point is the execute hook (``set_execute_hook``): when it is ``None`` (the
default) nothing else runs; when set, every ``execute`` and every step of a ``Sequential``
goes through it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import GeneratorType
from typing import Any, Generic, TypeVar, cast, overload

from ._context import WorkflowContext

__all__ = [
    "ExecuteHook",
    "Parallel",
    "Primitive",
    "Sequential",
    "get_execute_hook",
    "set_execute_hook",
    "step",
]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)
T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E")

RunFn = Callable[[Any, WorkflowContext], Coroutine[Any, Any, Any]]
#: ``hook(primitive, data, context, run) -> coroutine``; ``run(data, context)`` is the
#: primitive's own, uninstrumented execution. The hook must await it and return its result.
ExecuteHook = Callable[
    ["Primitive[Any, Any]", Any, WorkflowContext, RunFn], Coroutine[Any, Any, Any]
]

_hook: ExecuteHook | None = None


def set_execute_hook(hook: ExecuteHook | None) -> ExecuteHook | None:
    """Install the hook every ``execute`` goes through (``None`` removes it); returns the old one.

    This is the one place observability plugs in. With no hook the cost is a ``None`` check.
    """
    global _hook
    previous, _hook = _hook, hook
    return previous


def get_execute_hook() -> ExecuteHook | None:
    """The installed execute hook, or ``None``."""
    return _hook


class Primitive(Generic[In, Out]):
    """An async step of a workflow: ``await primitive.execute(data, context)``.

    Subclasses implement ``async def _run(self, data, context)``. ``a >> b`` is a
    ``Sequential`` (output of ``a`` feeds ``b``), ``a | b`` a ``Parallel`` (both get the same
    input; the result is a list in branch order). Both flatten.
    """

    name: str
    #: A run that takes the data alone, when there is one (``step`` around an async
    #: ``fn(data)``): ``Sequential`` calls it without the context, which saves a call.
    _data_run: Callable[[Any], Coroutine[Any, Any, Any]] | None = None

    def __init__(self, name: str | None = None) -> None:
        self.name = name if name is not None else type(self).__name__
        self._named = name is not None

    def execute(self, data: In, context: WorkflowContext | None = None) -> Coroutine[Any, Any, Out]:
        """Run this primitive on ``data``; returns the coroutine to await."""
        if context is None:
            context = WorkflowContext()
        if _hook is None:
            return self._run(data, context)
        return cast("Coroutine[Any, Any, Out]", _hook(self, data, context, self._run))

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        raise NotImplementedError

    def __rshift__(self, other: Primitive[Out, T]) -> Sequential[In, T]:
        return Sequential(self, other)

    @overload
    def __or__(self, other: Parallel[In, T]) -> Parallel[In, Out | T]: ...
    @overload
    def __or__(self, other: Primitive[In, T]) -> Parallel[In, Out | T]: ...
    def __or__(self, other: Primitive[In, Any]) -> Parallel[In, Any]:
        return Parallel(self, *Parallel.branches_of(other))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Sequential(Primitive[In, Out]):
    """Run steps one after another, each getting the previous one's output.

    Nested unnamed ``Sequential`` steps are flattened into one list, so a chain of any length
    runs in one loop (no recursion, no depth limit). A named one stays a unit.
    """

    def __init__(self, *steps: Primitive[Any, Any], name: str | None = None) -> None:
        super().__init__(name)
        flat: list[Primitive[Any, Any]] = []
        for s in steps:
            if isinstance(s, Sequential) and type(s) is Sequential and not s._named:
                flat.extend(s.steps)
            else:
                flat.append(s)
        if not flat:
            raise ValueError("Sequential needs at least one step")
        self.steps: tuple[Primitive[Any, Any], ...] = tuple(flat)
        # Made on first run, so that building `a >> b >> ...` stays cheap.
        self._runs: tuple[RunFn, ...] | None = None
        self._fast: RunFn | None = None

    def execute(self, data: In, context: WorkflowContext | None = None) -> Coroutine[Any, Any, Out]:
        if context is None:
            context = WorkflowContext()
        if _hook is None:
            fast = self._fast
            if fast is None:
                fast = self._fast = self._compile()
            return cast("Coroutine[Any, Any, Out]", fast(data, context))
        return cast("Coroutine[Any, Any, Out]", _hook(self, data, context, self._run))

    def _compile(self) -> RunFn:
        """The uninstrumented run: unrolled for short chains, the loop otherwise."""
        if len(self.steps) > _UNROLL_MAX:
            return self._run
        data_only = tuple(s._data_run is not None for s in self.steps)
        runs = (s._data_run or s._run for s in self.steps)
        return _unrolled(data_only)(*runs)

    async def _run(self, data: Any, context: WorkflowContext) -> Any:
        if _hook is None:
            runs = self._runs
            if runs is None:
                runs = self._runs = tuple(s._run for s in self.steps)
            for run in runs:
                data = await run(data, context)
        else:
            for s in self.steps:
                data = await s.execute(data, context)
        return data


_UNROLL_MAX = 32


@functools.lru_cache(maxsize=1024)
def _unrolled(data_only: tuple[bool, ...]) -> Callable[..., RunFn]:
    """A factory of ``async def run(data, context)`` awaiting the given steps in order.

    Generated once per shape (like dataclasses generate ``__init__``): the straight-line
    body skips the loop's per-step bookkeeping, which is about a tenth of a no-op chain's
    cost. ``data_only[i]`` says step ``i`` is called with the data alone. Only indices go
    into the source.
    """
    n = len(data_only)
    steps = [f"s{i}" for i in range(n)]
    body = "".join(
        f"        data = await {name}(data{'' if alone else ', context'})\n"
        for name, alone in zip(steps, data_only, strict=True)
    )
    source = (
        f"def factory({', '.join(steps)}):\n"
        f"    async def run(data, context):\n{body}        return data\n"
        f"    return run\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<Sequential of {n}>", "exec"), namespace)  # noqa: S102
    return namespace["factory"]


async def _all_or_cancel(coros: Sequence[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Await all in order; on the first failure cancel the rest, wait for them, re-raise."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        await _cancel_and_wait(tasks)
        raise


async def _cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel the tasks still running and wait until they have finished (no leaks)."""
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending)


async def run_indexed(
    count: int,
    call: Callable[[int], Coroutine[Any, Any, Any]],
    limit: int | None,
    return_exceptions: bool,
) -> list[Any]:
    """Run ``call(i)`` for ``i in range(count)``, results in index order.

    At most ``limit`` (>= 1, callers check) at once (``None``: all at once). Unless
    ``return_exceptions``, the first failure cancels everything still running and is raised;
    with it, errors are collected, a CancelledError a call raised itself included (with or
    without ``limit``).
    """
    if limit is None or limit >= count:
        coros = [call(i) for i in range(count)]
        if return_exceptions:
            return list(await asyncio.gather(*coros, return_exceptions=True))
        return await _all_or_cancel(coros)
    results: list[Any] = [None] * count
    indices = iter(range(count))

    async def worker() -> None:
        for i in indices:
            if return_exceptions:
                try:
                    results[i] = await call(i)
                except Exception as exc:
                    results[i] = exc
                except asyncio.CancelledError as exc:
                    # A branch that raised CancelledError itself is collected, as gather does
                    # without a limit; cancelling this call still cancels it.
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    results[i] = exc
            else:
                results[i] = await call(i)

    await _all_or_cancel([worker() for _ in range(limit)])
    return results


class Parallel(Primitive[In, list[E]]):
    """Run branches concurrently on the same input; the result lists outputs in branch order.

    The first failure cancels the other branches and is raised. With
    ``return_exceptions=True`` every branch runs to the end and failures appear in the list
    in place of results. ``limit`` caps how many branches run at once.
    """

    def __init__(
        self,
        *branches: Primitive[In, E],
        return_exceptions: bool = False,
        limit: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if not branches:
            raise ValueError("Parallel needs at least one branch")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.branches: tuple[Primitive[In, E], ...] = branches
        self.return_exceptions = return_exceptions
        self.limit = limit

    def _plain(self) -> bool:
        return not self.return_exceptions and self.limit is None and not self._named

    async def _run(self, data: In, context: WorkflowContext) -> list[E]:
        branches = self.branches
        if self.limit is None and not self.return_exceptions:
            # _all_or_cancel, inlined: this is the hot path of `a | b | ...`
            create_task = asyncio.get_running_loop().create_task
            if _hook is None:
                tasks = [create_task(b._run(data, context)) for b in branches]
            else:
                tasks = [create_task(b.execute(data, context)) for b in branches]
            try:
                return await asyncio.gather(*tasks)
            except BaseException:
                await _cancel_and_wait(tasks)
                raise
        return await run_indexed(
            len(branches),
            lambda i: branches[i].execute(data, context),
            self.limit,
            self.return_exceptions,
        )

    # `|` adds branches: on a Parallel it extends the branch list (keeping its options), so
    # the element type widens instead of nesting. The override's return type differs from
    # Primitive.__or__ on purpose.
    @overload
    def __or__(self, other: Parallel[In, T]) -> Parallel[In, E | T]: ...
    @overload
    def __or__(self, other: Primitive[In, T]) -> Parallel[In, E | T]: ...
    def __or__(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, other: Primitive[In, Any]
    ) -> Parallel[In, Any]:
        return Parallel(
            *self.branches,
            *Parallel.branches_of(other),
            return_exceptions=self.return_exceptions,
            limit=self.limit,
            name=self.name if self._named else None,
        )

    @staticmethod
    def branches_of(p: Primitive[Any, Any]) -> tuple[Primitive[Any, Any], ...]:
        """The branches ``p`` adds to a ``|``: its own if it is an unnamed, option-free Parallel."""
        par = cast("Parallel[Any, Any]", p)
        if type(par) is Parallel and par._plain():
            return par.branches
        return (par,)


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2:
        return False
    second = positional[1]
    # `sum(iterable, start=0)` takes data only; `f(x, ctx=None)` asks for the context by name.
    return second.default is second.empty or second.name in ("context", "ctx")


def with_context(fn: Callable[..., T]) -> Callable[[Any, WorkflowContext], T]:
    """``fn`` as a ``(data, context)`` callable, whether it takes ``(data)`` or ``(data, context)``.

    It takes the context when its second positional parameter is required or is named
    ``context`` or ``ctx``.
    """
    if _takes_context(fn):
        return fn
    return lambda data, _context: fn(data)


def chooser(fn: Callable[..., Any]) -> Callable[[Any, WorkflowContext], Coroutine[Any, Any, Any]]:
    """A decision function (``Conditional``, ``Switch``, ``Router``), sync or async, as one
    ``async (data, context)`` callable: an async one is the callable itself, a sync one is
    called on the loop (decisions are meant to be cheap; make it async if it waits), and a
    sync one that returns an awaitable has it awaited."""
    call = with_context(fn)
    if _is_async(fn):
        return call

    async def decide(data: Any, context: WorkflowContext) -> Any:
        result = call(data, context)
        return await result if _awaitable(result) else result

    return decide


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - an instance with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _data_only(fn: Callable[[Any], Coroutine[Any, Any, Any]]) -> RunFn:
    # A plain function returning fn's coroutine: no second coroutine frame per call.
    return lambda data, _context: fn(data)


def _awaitable(value: object) -> bool:
    """``inspect.isawaitable`` without its slow ABC check: ``__await__``, or a generator-based
    coroutine (``types.coroutine``)."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    return hasattr(kind, "__await__") or (kind is GeneratorType and inspect.isawaitable(value))


_PLAIN = frozenset({int, str, float, bool, bytes, type(None), list, dict, tuple, set})


def _inline_run(fn: Callable[..., Any], takes_context: bool) -> RunFn:
    """Call a sync ``fn`` on the event loop (``step(fn, inline=True)``)."""
    isawaitable = _awaitable
    if takes_context:

        async def run_with_context(data: Any, context: WorkflowContext) -> Any:
            result = fn(data, context)
            return await result if isawaitable(result) else result

        return run_with_context

    async def run(data: Any, context: WorkflowContext) -> Any:
        result = fn(data)
        return await result if isawaitable(result) else result

    return run


def _thread_run(fn: Callable[..., Any], takes_context: bool) -> RunFn:
    """Call a sync ``fn`` in the default executor (``asyncio.to_thread``: context vars, and
    so the current span, go with it), so a blocking call neither stalls the loop nor escapes
    a Timeout, and parallel branches overlap."""
    to_thread = asyncio.to_thread
    isawaitable = _awaitable

    async def run(data: Any, context: WorkflowContext) -> Any:
        if takes_context:
            result = await to_thread(fn, data, context)
        else:
            result = await to_thread(fn, data)
        return await result if isawaitable(result) else result

    return run


class _Step(Primitive[Any, Any]):
    """A primitive around a callable ``(data)`` or ``(data, context)``, sync or async.

    The run is chosen once, here: an async callable *is* the run (or one plain call in
    front of it), so a step costs what a hand-written ``_run`` costs; a sync one runs in a
    worker thread, or on the loop with ``inline=True``.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None, inline: bool) -> None:
        super().__init__(name if name is not None else getattr(fn, "__name__", "step"))
        self.fn = fn
        self.inline = inline
        takes_context = _takes_context(fn)
        run: RunFn
        if _is_async(fn):
            if takes_context:
                run = fn
            else:
                run = _data_only(fn)
                self._data_run = fn
        elif inline:
            run = _inline_run(fn, takes_context)
        else:
            run = _thread_run(fn, takes_context)
        # An instance attribute in front of the method: `execute`, `Sequential` and the
        # execute hook all call `_run`, and now get the chosen run without another frame.
        self._run = run  # pyright: ignore[reportAttributeAccessIssue]


class _StepDecorator:
    def __init__(self, name: str | None, inline: bool) -> None:
        self._name = name
        self._inline = inline

    @overload
    def __call__(self, fn: Callable[[T, WorkflowContext], Awaitable[U]], /) -> Primitive[T, U]: ...
    @overload
    def __call__(self, fn: Callable[[T], Awaitable[U]], /) -> Primitive[T, U]: ...
    @overload
    def __call__(self, fn: Callable[[T, WorkflowContext], U], /) -> Primitive[T, U]: ...
    @overload
    def __call__(self, fn: Callable[[T], U], /) -> Primitive[T, U]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Primitive[Any, Any]:
        return _Step(fn, self._name, self._inline)


@overload
def step(
    fn: Callable[[T, WorkflowContext], Awaitable[U]],
    /,
    *,
    name: str | None = None,
    inline: bool = False,
) -> Primitive[T, U]: ...
@overload
def step(
    fn: Callable[[T], Awaitable[U]], /, *, name: str | None = None, inline: bool = False
) -> Primitive[T, U]: ...
@overload
def step(
    fn: Callable[[T, WorkflowContext], U], /, *, name: str | None = None, inline: bool = False
) -> Primitive[T, U]: ...
@overload
def step(
    fn: Callable[[T], U], /, *, name: str | None = None, inline: bool = False
) -> Primitive[T, U]: ...
@overload
def step(*, name: str | None = None, inline: bool = False) -> _StepDecorator: ...
def step(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None, inline: bool = False
) -> Primitive[Any, Any] | _StepDecorator:
    """Turn a callable ``(data)`` or ``(data, context)``, sync or async, into a primitive.

    ``step(fn)``, ``@step`` or ``@step(name="...")``. The name defaults to the function's.
    An async callable is awaited on the loop. A sync one runs in the default executor
    (``asyncio.to_thread``) unless ``inline=True``: a blocking call then neither stalls the
    event loop nor outlives a ``Timeout`` unnoticed (the thread itself runs to its end), and
    ``Parallel`` branches overlap. ``inline=True`` calls it on the loop, which suits cheap
    pure functions (a thread hop costs tens of microseconds, ``benchmarks.md``) and code
    that must run on the loop's thread (asyncio calls, thread-bound objects). Context
    variables are copied into the thread. A sync callable that returns an awaitable has it
    awaited on the loop.
    """
    if fn is None:
        return _StepDecorator(name, inline)
    return _Step(fn, name, inline)
