"""Turn instrumentation of every primitive on and off: spans and Prometheus metrics.

``instrument()`` installs the primitives' execute hook (``set_execute_hook``) and the cache
lookup observer; ``uninstrument()`` removes both, after which a primitive pays what it paid
before (a ``None`` check). Nothing happens at import.

One span per execution, made current (OpenTelemetry context) while the primitive runs, so
steps, branches (asyncio tasks copy the context), retry attempts and whatever a primitive
calls nest under it. Our own frame (a context variable) lets a child tell its parent
things the parent cannot see itself: which attempt of a Retry it is, which route a Router
took; the cache observer tells the Cache frame how its lookup went.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider
from prometheus_client import CollectorRegistry, Counter

from tta_dev.primitives import (
    LLM,
    Cache,
    CircuitBreaker,
    CircuitState,
    LLMResponse,
    Primitive,
    Retry,
    Router,
    WorkflowContext,
    get_execute_hook,
    set_execute_hook,
    set_lookup_observer,
)

from ._metrics import PrimitiveMetrics

__all__ = [
    "ATTR_CACHE_RESULT",
    "ATTR_CORRELATION_ID",
    "ATTR_PRIMITIVE_NAME",
    "ATTR_PRIMITIVE_TYPE",
    "ATTR_RETRY_ATTEMPT",
    "ATTR_ROUTE",
    "ATTR_WORKFLOW_ID",
    "Instrumentation",
    "current_instrumentation",
    "instrument",
    "uninstrument",
]

ATTR_PRIMITIVE_NAME = "tta.primitive.name"
ATTR_PRIMITIVE_TYPE = "tta.primitive.type"
ATTR_WORKFLOW_ID = "tta.workflow.id"
ATTR_CORRELATION_ID = "tta.correlation_id"
ATTR_RETRY_ATTEMPT = "tta.retry.attempt"
ATTR_RETRY_ATTEMPTS = "tta.retry.attempts"
ATTR_CACHE_RESULT = "tta.cache.result"
ATTR_ROUTE = "tta.route"
ATTR_CIRCUIT_STATE = "tta.circuit.state"
ATTR_CANCELLED = "tta.cancelled"
ATTR_ERROR_TYPE = "error.type"
ATTR_LLM_COST = "tta.llm.cost_usd"

_SCOPE = "tta_dev.observability"

# What a parent needs to hear from its children (or the cache observer): kinds.
_PLAIN, _RETRY, _ROUTER, _CACHE, _BREAKER, _LLM = range(6)

_CIRCUIT_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


def _kind_of(primitive: Primitive[Any, Any]) -> int:
    if isinstance(primitive, Retry):
        return _RETRY
    if isinstance(primitive, Router):
        return _ROUTER
    if isinstance(primitive, Cache):
        return _CACHE
    if isinstance(primitive, CircuitBreaker):
        return _BREAKER
    if isinstance(primitive, LLM):
        return _LLM
    return _PLAIN


def _error_type(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class _Info:
    """Per (class, name): span name, labels and the metric children, resolved once."""

    __slots__ = (
        "cache",
        "cancelled",
        "circuit",
        "duration",
        "error",
        "kind",
        "name",
        "ok",
        "retry",
        "type",
    )

    def __init__(self, primitive: Primitive[Any, Any], metrics: PrimitiveMetrics) -> None:
        self.name = primitive.name
        self.type = type(primitive).__name__.lstrip("_")
        self.kind = _kind_of(primitive)
        executions = metrics.executions
        self.ok = executions.labels(self.type, self.name, "ok")
        self.error = executions.labels(self.type, self.name, "error")
        self.cancelled = executions.labels(self.type, self.name, "cancelled")
        self.duration = metrics.duration.labels(self.type, self.name)
        self.retry = metrics.retry_attempts.labels(self.name) if self.kind == _RETRY else None
        self.circuit = metrics.circuit_state.labels(self.name) if self.kind == _BREAKER else None
        self.cache = (
            {r: metrics.cache_requests.labels(self.name, r) for r in ("hit", "miss", "error")}
            if self.kind == _CACHE
            else None
        )


class _Frame:
    """One execution in progress: what its children and the cache observer report to."""

    __slots__ = ("children", "info", "primitive", "result", "span", "start_ns")

    def __init__(self, primitive: Primitive[Any, Any], info: _Info, span: Span) -> None:
        self.primitive = primitive
        self.info = info
        self.span = span
        self.children = 0
        self.result: str | None = None  # a Cache's lookup result, a Router's route
        self.start_ns = 0


_frame: ContextVar[_Frame | None] = ContextVar("tta_observability_frame", default=None)


class Instrumentation:
    """The handle ``instrument()`` returns: the tracer, the registry and its metrics.

    ``uninstrument()`` (or leaving a ``with`` block) turns instrumentation off again.
    """

    def __init__(self, tracer: Tracer, metrics: PrimitiveMetrics) -> None:
        self.tracer = tracer
        self.metrics = metrics
        self.registry: CollectorRegistry = metrics.registry
        self._infos: dict[tuple[type[Any], str], _Info] = {}
        self._llm: dict[str, tuple[Counter, Counter, Counter, Counter]] = {}
        self._active = False

    @property
    def active(self) -> bool:
        """Whether this instrumentation is the one installed now."""
        return self._active

    def uninstrument(self) -> None:
        """Remove the hook and the cache observer (no-op when already off)."""
        global _active
        if not self._active:
            return
        set_execute_hook(None)
        set_lookup_observer(None)
        self._active = False
        _active = None

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.uninstrument()

    def _info(self, primitive: Primitive[Any, Any]) -> _Info:
        key = (type(primitive), primitive.name)
        info = self._infos.get(key)
        if info is None:
            info = self._infos[key] = _Info(primitive, self.metrics)
        return info

    async def _traced(
        self,
        primitive: Primitive[Any, Any],
        data: Any,
        context: WorkflowContext,
        run: Callable[[Any, WorkflowContext], Coroutine[Any, Any, Any]],
    ) -> Any:
        """The execute hook: ``run`` inside a current span, with metrics."""
        info = self._infos.get((type(primitive), primitive.name)) or self._info(primitive)
        parent = _frame.get()
        span = self.tracer.start_span(
            info.name,
            attributes={
                ATTR_PRIMITIVE_NAME: info.name,
                ATTR_PRIMITIVE_TYPE: info.type,
                ATTR_WORKFLOW_ID: context.workflow_id,
                ATTR_CORRELATION_ID: context.correlation_id,
            },
        )
        frame = _Frame(primitive, info, span)
        kind = info.kind
        if parent is None or context.trace_id is None:
            span_context = span.get_span_context()
            if span_context.is_valid:
                context.trace_id = format(span_context.trace_id, "032x")
        if parent is not None and parent.info.kind:
            self._child_started(parent, span, context)
        if kind:
            self._started(frame)
        span_token = otel_context.attach(trace.set_span_in_context(span))
        frame_token = _frame.set(frame)
        failed = True
        start = time.perf_counter()
        try:
            result = await run(data, context)
            failed = False
        except asyncio.CancelledError:
            info.cancelled.inc()
            span.set_attribute(ATTR_CANCELLED, True)
            raise
        except BaseException as exc:
            info.error.inc()
            span.set_attribute(ATTR_ERROR_TYPE, _error_type(exc))
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        else:
            info.ok.inc()
            if kind == _LLM and isinstance(result, LLMResponse):
                self._llm_done(span, result)
            return result
        finally:
            info.duration.observe(time.perf_counter() - start)
            _frame.reset(frame_token)
            otel_context.detach(span_token)
            if kind:
                self._finish(frame, failed)
            span.end()

    def _started(self, frame: _Frame) -> None:
        kind = frame.info.kind
        if kind == _CACHE:
            frame.start_ns = time.time_ns()
        elif kind == _BREAKER:
            frame.result = str(cast("CircuitBreaker[Any, Any]", frame.primitive).state)

    def _child_started(self, parent: _Frame, child_span: Span, context: WorkflowContext) -> None:
        kind = parent.info.kind
        parent.children += 1
        if kind == _RETRY:
            child_span.set_attribute(ATTR_RETRY_ATTEMPT, parent.children)
        elif kind == _ROUTER and parent.result is None and context.routes:
            # Router records its decision and then starts the route, with no await between.
            decision = context.routes[-1]
            if decision.router == parent.primitive.name:
                parent.result = decision.route
                parent.span.set_attribute(ATTR_ROUTE, decision.route)

    def _finish(self, frame: _Frame, failed: bool) -> None:
        info = frame.info
        kind = info.kind
        span = frame.span
        if kind == _RETRY:
            span.set_attribute(ATTR_RETRY_ATTEMPTS, frame.children)
            if frame.children > 1 and info.retry is not None:
                info.retry.inc(frame.children - 1)
        elif kind == _CACHE:
            # No miss or error was reported: the lookup hit (a hit cannot fail), unless the
            # call failed before looking anything up (the key function raised): no request.
            if frame.result is None and not failed:
                self._cache_result(frame, "hit")
        elif kind == _BREAKER and info.circuit is not None:
            state = cast("CircuitBreaker[Any, Any]", frame.primitive).state
            info.circuit.set(_CIRCUIT_VALUES[state])
            span.set_attribute(ATTR_CIRCUIT_STATE, str(state))
            if frame.result != str(state):
                span.add_event(
                    "circuit state change", {"from": str(frame.result), "to": str(state)}
                )

    def _cache_result(self, frame: _Frame, result: str) -> None:
        frame.result = result
        info = frame.info
        if info.cache is not None:
            info.cache[result].inc()
        span = frame.span
        span.set_attribute(ATTR_CACHE_RESULT, result)
        if span.is_recording():
            lookup = self.tracer.start_span(
                f"{info.name}.lookup",
                context=trace.set_span_in_context(span),
                attributes={
                    ATTR_PRIMITIVE_NAME: info.name,
                    ATTR_PRIMITIVE_TYPE: "CacheLookup",
                    ATTR_CACHE_RESULT: result,
                },
                start_time=frame.start_ns,
            )
            lookup.end()

    def _lookup_observed(self, cache: Cache[Any, Any], result: str) -> None:
        frame = _frame.get()
        if frame is not None and frame.primitive is cache and frame.result is None:
            self._cache_result(frame, result)

    def _llm_done(self, span: Span, response: LLMResponse) -> None:
        children = self._llm.get(response.model)
        if children is None:
            m = self.metrics
            model = response.model
            children = self._llm[model] = (
                m.llm_tokens.labels(model, "input"),
                m.llm_tokens.labels(model, "output"),
                m.llm_cost.labels(model),
                m.llm_requests.labels(model),
            )
        tokens_in, tokens_out, cost, requests = children
        tokens_in.inc(response.input_tokens)
        tokens_out.inc(response.output_tokens)
        cost.inc(response.cost)
        requests.inc()
        span.set_attributes(
            {
                "gen_ai.response.model": response.model,
                "gen_ai.usage.input_tokens": response.input_tokens,
                "gen_ai.usage.output_tokens": response.output_tokens,
                ATTR_LLM_COST: response.cost,
            }
        )


_active: Instrumentation | None = None


def instrument(
    tracer_provider: TracerProvider | None = None,
    registry: CollectorRegistry | None = None,
) -> Instrumentation:
    """Instrument every primitive: a span and metrics per execution, until ``uninstrument()``.

    ``tracer_provider``: where spans go (default: the global one, which is a no-op until an
    SDK provider is set; this function never sets it). ``registry``: where the metrics are
    registered (default: a new ``CollectorRegistry`` of our own, ``handle.registry``).
    Raises RuntimeError when instrumentation (or another execute hook) is already on.
    """
    global _active
    if _active is not None or get_execute_hook() is not None:
        raise RuntimeError(
            "primitives are already instrumented (an execute hook is installed); "
            "call uninstrument() first"
        )
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    handle = Instrumentation(
        provider.get_tracer(_SCOPE),
        PrimitiveMetrics.create(CollectorRegistry() if registry is None else registry),
    )
    set_execute_hook(handle._traced)  # pyright: ignore[reportPrivateUsage]
    set_lookup_observer(handle._lookup_observed)  # pyright: ignore[reportPrivateUsage]
    handle._active = True  # pyright: ignore[reportPrivateUsage]
    _active = handle
    return handle


def uninstrument() -> bool:
    """Turn instrumentation off; returns whether it was on."""
    handle = _active
    if handle is None:
        return False
    handle.uninstrument()
    return True


def current_instrumentation() -> Instrumentation | None:
    """The instrumentation that is on, or ``None``."""
    return _active
