"""One exception hierarchy for the primitives: everything raised by us is a PrimitiveError."""

from __future__ import annotations

from collections.abc import Sequence

from tta_dev.errors import TtaDevError

__all__ = [
    "CircuitOpenError",
    "FallbackExhausted",
    "LLMError",
    "NoRouteError",
    "PrimitiveError",
    "RetryExhausted",
    "StepTimeout",
]


class PrimitiveError(TtaDevError):
    """Base class of every error a primitive raises on its own account."""


class StepTimeout(PrimitiveError, TimeoutError):
    """A ``Timeout`` primitive's deadline passed before its inner primitive finished."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(f"{name} did not finish within {seconds:g} s")
        self.name = name
        self.seconds = seconds


class RetryExhausted(PrimitiveError):
    """``Retry`` gave up: every attempt failed, or the overall deadline passed."""

    def __init__(self, name: str, attempts: int, last_error: BaseException, reason: str) -> None:
        super().__init__(
            f"{name} failed after {attempts} attempt(s) ({reason}): "
            f"{type(last_error).__name__}: {last_error}"
        )
        self.name = name
        self.attempts = attempts
        self.last_error = last_error
        self.reason = reason


class CircuitOpenError(PrimitiveError):
    """A ``CircuitBreaker`` refused the call: the circuit is open (or its probes are busy)."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name} is open; retry in {max(retry_after, 0.0):.3g} s")
        self.name = name
        self.retry_after = retry_after


class FallbackExhausted(PrimitiveError):
    """Every primitive of a ``Fallback`` failed; ``errors`` holds their errors in order."""

    def __init__(self, name: str, errors: Sequence[BaseException]) -> None:
        summary = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        super().__init__(f"{name}: all {len(errors)} alternatives failed ({summary})")
        self.name = name
        self.errors = tuple(errors)


class NoRouteError(PrimitiveError, LookupError):
    """A ``Switch`` or ``Router`` chose a route it does not have, and there is no default."""

    def __init__(self, name: str, route: object) -> None:
        super().__init__(f"{name}: no route for {route!r} and no default")
        self.name = name
        self.route = route


class LLMError(PrimitiveError):
    """An LLM provider failed: configuration, transport or an HTTP error status."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
