"""A fast, typed async workflow runtime: workflows are compositions of small primitives.

    workflow = step(parse) >> (summarize | classify) >> Retry(store, attempts=3)
    result = await workflow.execute(data, WorkflowContext("ingest"))

The core is stdlib-only; ``RedisBackend`` needs the ``redis`` extra and
``OpenAICompatibleProvider`` the ``llm`` extra, imported when first used.
"""

from __future__ import annotations

from ._cache import (
    JSON,
    Cache,
    CacheBackend,
    CacheStats,
    JsonSerializer,
    MemoryBackend,
    Serializer,
    default_key,
    set_lookup_observer,
)
from ._context import Checkpoint, RouteDecision, WorkflowContext
from ._core import (
    ExecuteHook,
    Parallel,
    Primitive,
    Sequential,
    get_execute_hook,
    set_execute_hook,
    step,
)
from ._disk import DiskBackend, default_cache_dir
from ._errors import (
    CacheKeyError,
    CircuitOpenError,
    FallbackExhausted,
    LLMError,
    NoRouteError,
    PrimitiveError,
    RetryExhausted,
    StepTimeout,
)
from ._flow import Conditional, Map, Router, Switch
from ._llm import (
    DEFAULT_PRICES,
    LLM,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    ModelPrice,
    cheapest_model,
    estimate_tokens,
    model_router,
)
from ._openai import OpenAICompatibleProvider
from ._redis import RedisBackend
from ._resilience import CircuitBreaker, CircuitState, Fallback, Retry, Timeout, is_retryable

__all__ = [
    "DEFAULT_PRICES",
    "JSON",
    "LLM",
    "Cache",
    "CacheBackend",
    "CacheKeyError",
    "CacheStats",
    "Checkpoint",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "Conditional",
    "DiskBackend",
    "ExecuteHook",
    "Fallback",
    "FallbackExhausted",
    "JsonSerializer",
    "LLMError",
    "LLMProvider",
    "LLMRequest",
    "LLMResponse",
    "Map",
    "MemoryBackend",
    "ModelPrice",
    "NoRouteError",
    "OpenAICompatibleProvider",
    "Parallel",
    "Primitive",
    "PrimitiveError",
    "RedisBackend",
    "Retry",
    "RetryExhausted",
    "RouteDecision",
    "Router",
    "Sequential",
    "Serializer",
    "StepTimeout",
    "Switch",
    "Timeout",
    "WorkflowContext",
    "cheapest_model",
    "default_cache_dir",
    "default_key",
    "estimate_tokens",
    "get_execute_hook",
    "is_retryable",
    "model_router",
    "set_execute_hook",
    "set_lookup_observer",
    "step",
]
