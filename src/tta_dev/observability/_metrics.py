"""The Prometheus metrics of instrumented primitives (``prometheus_client``).

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms); the
LLM efficiency check (``tta_dev.observability.efficiency``) reads three of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["DURATION_BUCKETS", "PrimitiveMetrics"]

#: Seconds. Primitives range from microseconds (a cache hit) to minutes (an LLM call).
DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


@dataclass(frozen=True)
class PrimitiveMetrics:
    """The metric families, registered on one registry.

    - ``tta_primitive_executions_total{primitive,name,status}``: status ``ok``, ``error``
      or ``cancelled``; ``primitive`` is the class name, ``name`` the primitive's name.
    - ``tta_primitive_duration_seconds{primitive,name}``: histogram of execution time.
    - ``tta_cache_requests_total{name,result}``: one per ``Cache`` lookup: ``hit``,
      ``miss`` or ``error`` (a failing backend).
    - ``tta_retry_attempts_total{name}``: attempts after the first (what ``Retry.retries``
      counts), so it stays 0 while nothing fails.
    - ``tta_circuit_state{name}``: 0 closed, 1 half-open, 2 open.
    - ``tta_llm_tokens_total{model,direction}``: direction ``input`` or ``output``.
    - ``tta_llm_cost_usd_total{model}`` and ``tta_llm_requests_total{model}``: completed
      LLM calls, by the model that answered.
    """

    registry: CollectorRegistry
    executions: Counter
    duration: Histogram
    cache_requests: Counter
    retry_attempts: Counter
    circuit_state: Gauge
    llm_tokens: Counter
    llm_cost: Counter
    llm_requests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> PrimitiveMetrics:
        """Register the families on ``registry`` (a registry holds them once)."""
        return cls(
            registry=registry,
            executions=Counter(
                "tta_primitive_executions",
                "Primitive executions by outcome.",
                ["primitive", "name", "status"],
                registry=registry,
            ),
            duration=Histogram(
                "tta_primitive_duration_seconds",
                "Time one primitive execution took, in seconds.",
                ["primitive", "name"],
                buckets=DURATION_BUCKETS,
                registry=registry,
            ),
            cache_requests=Counter(
                "tta_cache_requests",
                "Cache lookups by result (hit, miss, error).",
                ["name", "result"],
                registry=registry,
            ),
            retry_attempts=Counter(
                "tta_retry_attempts",
                "Attempts a Retry made after the first one.",
                ["name"],
                registry=registry,
            ),
            circuit_state=Gauge(
                "tta_circuit_state",
                "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                ["name"],
                registry=registry,
            ),
            llm_tokens=Counter(
                "tta_llm_tokens",
                "LLM tokens by model and direction (input, output).",
                ["model", "direction"],
                registry=registry,
            ),
            llm_cost=Counter(
                "tta_llm_cost_usd",
                "LLM cost in US dollars by model.",
                ["model"],
                registry=registry,
            ),
            llm_requests=Counter(
                "tta_llm_requests",
                "Completed LLM calls by the model that answered.",
                ["model"],
                registry=registry,
            ),
        )
