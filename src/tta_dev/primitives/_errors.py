"""One exception hierarchy for the primitives: everything raised by us is a PrimitiveError."""

from __future__ import annotations

from collections.abc import Sequence

from tta_dev.errors import TtaDevError

__all__ = [
    "CacheKeyError",
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

    #: True when the error ends retries that already ran and gave up (``RetryExhausted``, an
    #: LLM provider's own retries): ``Retry``'s default filter does not retry it again, so
    #: retries at two layers do not multiply.
    retries_exhausted: bool = False


class StepTimeout(PrimitiveError, TimeoutError):
    """A ``Timeout`` primitive's deadline passed before its inner primitive finished."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(f"{name} did not finish within {seconds:g} s")
        self.name = name
        self.seconds = seconds


class RetryExhausted(PrimitiveError):
    """``Retry`` gave up: every attempt failed, or the overall deadline passed."""

    retries_exhausted = True

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


def transient_status(status: int) -> bool:
    """Whether an HTTP error status is worth another try: 408 (timeout), 429 (rate limit) and
    5xx except 501 and 505 (not implemented, version not supported: they stay)."""
    return status in (408, 429) or (500 <= status <= 599 and status not in (501, 505))


class CacheKeyError(PrimitiveError, TypeError):
    """A ``Cache``'s key function raised or returned something other than a ``str``.

    A programming error, raised rather than counted: a key that cannot be made would
    otherwise turn the cache off for good with only a counter to show it.
    """

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"cache {name}: {problem}; pass key= a function returning a str")
        self.name = name


class LLMError(PrimitiveError):
    """An LLM provider failed: configuration, transport or an HTTP error status.

    ``retryable`` says whether another try can help. It defaults from ``status_code``
    (``transient_status``): 408, 429 and 5xx yes, any other 4xx no (the request itself is
    wrong: a bad key, an unknown model, a too-long prompt), no status yes (a transport
    failure). A provider that already retried passes ``retries_exhausted=True``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool | None = None,
        retries_exhausted: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        if retryable is None:
            retryable = status_code is None or transient_status(status_code)
        self.retryable = retryable
        self.retries_exhausted = retries_exhausted
