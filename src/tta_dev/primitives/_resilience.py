"""Resilience primitives: Retry, Timeout, Fallback and CircuitBreaker."""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from ._context import WorkflowContext
from ._core import Primitive
from ._errors import (
    CircuitOpenError,
    FallbackExhausted,
    LLMError,
    NoRouteError,
    PrimitiveError,
    RetryExhausted,
    StepTimeout,
)

__all__ = ["CircuitBreaker", "CircuitState", "Fallback", "Retry", "Timeout", "is_retryable"]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)

ErrorTypes = type[BaseException] | tuple[type[BaseException], ...]
#: Exception types, or a predicate over the exception.
ErrorFilter = ErrorTypes | Callable[[BaseException], bool]


def _matcher(spec: ErrorFilter) -> Callable[[BaseException], bool]:
    if isinstance(spec, type | tuple):
        types = cast("ErrorTypes", spec)
        return lambda exc: isinstance(exc, types)
    return spec


#: Errors of the program, not of the moment: the same call fails the same way again.
_BUGS = (
    TypeError,
    AttributeError,
    NameError,
    ImportError,
    AssertionError,
    NotImplementedError,
    SyntaxError,
)


def is_retryable(exc: BaseException) -> bool:
    """``Retry``'s default filter: can another attempt help?

    No for programming errors (TypeError, AttributeError, NameError, ImportError,
    AssertionError, NotImplementedError, SyntaxError), for fail-fast refusals
    (``CircuitOpenError``: the breaker is protecting the service; ``NoRouteError``), for an
    ``LLMError`` that is not ``retryable`` (4xx other than 408/429, configuration), and for
    errors that already ended a retry loop (``retries_exhausted``: an inner ``Retry``'s
    ``RetryExhausted``, a provider's own retries), so that retries do not multiply across
    layers. ``FallbackExhausted`` is retryable when one of its errors is. Yes for everything
    else (an ``Exception``): timeouts, connection errors, other libraries' errors.
    Pass ``retry_on=`` (types or a predicate, which may call this one) to decide otherwise.
    """
    if not isinstance(exc, Exception) or isinstance(exc, _BUGS):
        return False
    if isinstance(exc, PrimitiveError):
        if exc.retries_exhausted or isinstance(exc, CircuitOpenError | NoRouteError):
            return False
        if isinstance(exc, LLMError):
            return exc.retryable
        if isinstance(exc, FallbackExhausted):
            return any(is_retryable(e) for e in exc.errors)
    return True


_timeout = asyncio.timeout  # one global lookup on Timeout's hot path instead of two


class _DeadlinePassed(Exception):
    """Internal: an attempt was cut short by Retry's overall deadline."""

    def __init__(self, timeout: TimeoutError) -> None:
        super().__init__()
        self.timeout = timeout


class Retry(Primitive[In, Out]):
    """Retry ``primitive`` on failure, with exponential backoff and jitter.

    Attempt ``n`` (from 1) that fails is followed by a sleep of
    ``min(max_delay, backoff * multiplier ** (n - 1))``, reduced by a random fraction of up to
    ``jitter`` (0: no jitter, 1: "full jitter"). Only errors matching ``retry_on`` (types or a
    predicate; default ``is_retryable``: not programming errors, an open circuit, a 4xx LLM
    error or an error that already exhausted an inner retry) are retried; others propagate
    at once, and cancellation is never retried.
    ``deadline`` bounds the whole call in seconds: an attempt running at the deadline is
    cancelled and no sleep goes past it. Giving up raises RetryExhausted with ``attempts`` and
    ``last_error``. ``self.retries`` counts the re-attempts made.
    """

    def __init__(
        self,
        primitive: Primitive[In, Out],
        *,
        attempts: int = 3,
        backoff: float = 0.1,
        multiplier: float = 2.0,
        max_delay: float = 10.0,
        jitter: float = 1.0,
        retry_on: ErrorFilter = is_retryable,
        deadline: float | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be between 0 and 1, got {jitter}")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be positive, got {deadline}")
        self.primitive = primitive
        self.attempts = attempts
        self.backoff = backoff
        self.multiplier = multiplier
        self.max_delay = max_delay
        self.jitter = jitter
        self.deadline = deadline
        self.retries = 0
        self._retryable = _matcher(retry_on)
        self._sleep = sleep
        self._rng = rng

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_delay, self.backoff * self.multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * self._rng())

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        if self.deadline is not None:
            deadline_at = asyncio.get_running_loop().time() + self.deadline
            return await self._attempts(data, context, 0, None, deadline_at)
        try:  # the success path: one await, nothing else
            return await self.primitive.execute(data, context)
        except Exception as exc:
            if not self._retryable(exc):
                raise
            error = exc
        return await self._attempts(data, context, 1, error, None)

    async def _attempts(
        self,
        data: In,
        context: WorkflowContext,
        made: int,
        error: Exception | None,
        deadline_at: float | None,
    ) -> Out:
        loop = asyncio.get_running_loop()
        while True:
            if error is not None:
                if made >= self.attempts:
                    raise RetryExhausted(self.name, made, error, "attempts") from error
                pause = self.delay(made)
                if deadline_at is not None and loop.time() + pause >= deadline_at:
                    raise RetryExhausted(self.name, made, error, "deadline") from error
                await self._sleep(pause)
                self.retries += 1
            made += 1
            try:
                return await self._attempt(data, context, deadline_at)
            except _DeadlinePassed as exc:
                last = error if error is not None else exc.timeout
                raise RetryExhausted(self.name, made, last, "deadline") from last
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                error = exc

    async def _attempt(self, data: In, context: WorkflowContext, deadline_at: float | None) -> Out:
        if deadline_at is None:
            return await self.primitive.execute(data, context)
        scope = asyncio.timeout_at(deadline_at)
        try:
            async with scope:
                return await self.primitive.execute(data, context)
        except TimeoutError as exc:
            if scope.expired():
                raise _DeadlinePassed(exc) from exc
            raise


class Timeout(Primitive[In, Out]):
    """Fail with StepTimeout when ``primitive`` takes longer than ``seconds``.

    Uses ``asyncio.timeout``: the inner work is cancelled in place, no extra task is made.
    A TimeoutError the inner primitive raises on its own passes through unchanged.
    """

    def __init__(
        self, primitive: Primitive[In, Out], seconds: float, *, name: str | None = None
    ) -> None:
        super().__init__(name)
        if seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        self.primitive = primitive
        self.seconds = seconds

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        scope = _timeout(self.seconds)
        try:
            async with scope:
                return await self.primitive.execute(data, context)
        except TimeoutError:
            if scope.expired():
                raise StepTimeout(self.name, self.seconds) from None
            raise


class Fallback(Primitive[In, Out]):
    """Try ``primary``, then each alternative in order, until one succeeds.

    Only errors matching ``on`` move on to the next; when all fail, FallbackExhausted holds
    every error in order.
    """

    def __init__(
        self,
        primary: Primitive[In, Out],
        *alternatives: Primitive[In, Out],
        on: ErrorFilter = Exception,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.primitives: tuple[Primitive[In, Out], ...] = (primary, *alternatives)
        self._handles = _matcher(on)

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        errors: list[BaseException] = []
        for p in self.primitives:
            try:
                return await p.execute(data, context)
            except Exception as exc:
                if not self._handles(exc):
                    raise
                errors.append(exc)
        raise FallbackExhausted(self.name, errors) from errors[-1]


class CircuitState(enum.StrEnum):
    """Where a CircuitBreaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker(Primitive[In, Out]):
    """Stop calling ``primitive`` after ``failure_threshold`` consecutive failures.

    Open: calls fail fast with CircuitOpenError for ``recovery_time`` seconds. Then half-open:
    up to ``half_open_max_calls`` probe calls run at once; each probe success counts, and
    that many successes close the circuit, while one probe failure opens it again. Calls
    beyond the probe limit are refused. A probe still running when its half-open window ends
    (the circuit opened again or was reset) neither frees a slot nor counts toward closing a
    later window. State changes happen between awaits, so concurrent
    calls on one event loop see a consistent circuit. Only errors matching ``failure_on``
    count; cancellation never does.
    """

    def __init__(
        self,
        primitive: Primitive[In, Out],
        *,
        failure_threshold: int = 5,
        recovery_time: float = 30.0,
        half_open_max_calls: int = 1,
        failure_on: ErrorFilter = Exception,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if half_open_max_calls < 1:
            raise ValueError(f"half_open_max_calls must be at least 1, got {half_open_max_calls}")
        self.primitive = primitive
        self.failure_threshold = failure_threshold
        self.recovery_time = recovery_time
        self.half_open_max_calls = half_open_max_calls
        self._counts = _matcher(failure_on)
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0
        self._probe_successes = 0
        # Bumped whenever a half-open window ends or begins (open, reset, open -> half-open):
        # a probe changes the probe counters only if its window is still the current one.
        self._epoch = 0
        self.rejected = 0
        self.times_opened = 0

    @property
    def state(self) -> CircuitState:
        """The current state (an open circuit past its recovery time reads half-open)."""
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.recovery_time
        ):
            return CircuitState.HALF_OPEN
        return self._state

    def reset(self) -> None:
        """Close the circuit and forget failures."""
        self._state = CircuitState.CLOSED
        self._failures = self._probes = self._probe_successes = 0
        self._epoch += 1

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        probe = self._admit()
        try:
            result = await self.primitive.execute(data, context)
        except BaseException as exc:
            self._failed(exc, probe)
            raise
        self._succeeded(probe)
        return result

    def _admit(self) -> int | None:
        """Admit a call or raise CircuitOpenError; a probe gets its half-open window's
        epoch, a call through the closed circuit ``None``."""
        if self._state is CircuitState.OPEN:
            waited = self._clock() - self._opened_at
            if waited < self.recovery_time:
                self.rejected += 1
                raise CircuitOpenError(self.name, self.recovery_time - waited)
            self._state = CircuitState.HALF_OPEN
            self._probes = self._probe_successes = 0
            self._epoch += 1
        if self._state is CircuitState.HALF_OPEN:
            if self._probes >= self.half_open_max_calls:
                self.rejected += 1
                raise CircuitOpenError(self.name, 0.0)
            self._probes += 1
            return self._epoch
        return None

    def _open(self) -> None:
        self._state = CircuitState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._epoch += 1
        self.times_opened += 1

    def _failed(self, exc: BaseException, probe: int | None) -> None:
        counts = isinstance(exc, Exception) and self._counts(exc)
        if probe is not None:
            # A probe of an ended window changes nothing: its window's counters are gone.
            if probe == self._epoch:
                self._probes -= 1
                if counts:
                    self._open()
            return
        if counts and self._state is CircuitState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def _succeeded(self, probe: int | None) -> None:
        if probe is not None:
            if probe == self._epoch:
                self._probes -= 1
                self._probe_successes += 1
                if self._probe_successes >= self.half_open_max_calls:
                    self.reset()
        elif self._state is CircuitState.CLOSED:
            self._failures = 0
