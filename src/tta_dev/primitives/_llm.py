"""LLM calls as a primitive: request/response data, the provider protocol, prices, routing."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol

from ._context import WorkflowContext
from ._core import Primitive
from ._errors import LLMError, NoRouteError
from ._flow import Router

__all__ = [
    "DEFAULT_PRICES",
    "LLM",
    "LLMProvider",
    "LLMRequest",
    "LLMResponse",
    "ModelPrice",
    "cheapest_model",
    "estimate_tokens",
    "model_router",
]


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One completion request. ``model`` may be left for a router or the LLM primitive."""

    prompt: str
    model: str | None = None
    system: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0

    def with_model(self, model: str) -> LLMRequest:
        return replace(self, model=model)


@dataclass(frozen=True, slots=True)
class LLMResponse:
    """A completion: its text, the model that wrote it, token counts and cost in USD."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: float = 0.0


class LLMProvider(Protocol):
    """Something that completes requests (an HTTP API, a local model, a test double)."""

    async def complete(self, request: LLMRequest) -> LLMResponse: ...


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's price in USD per million tokens, its context window and a quality tier
    (higher is more capable; routers use it to decide what is adequate)."""

    input_per_million: float
    output_per_million: float
    context_window: int = 128_000
    quality: int = 1

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


#: Example list prices (USD per million tokens) of OpenAI models when this table was written.
#: Prices change: pass your own table to ``LLM`` and ``model_router`` for real accounting.
DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(
    {
        "gpt-4.1-nano": ModelPrice(0.10, 0.40, context_window=1_047_576, quality=1),
        "gpt-4o-mini": ModelPrice(0.15, 0.60, context_window=128_000, quality=2),
        "gpt-4.1-mini": ModelPrice(0.40, 1.60, context_window=1_047_576, quality=2),
        "gpt-4.1": ModelPrice(2.00, 8.00, context_window=1_047_576, quality=3),
        "gpt-4o": ModelPrice(2.50, 10.00, context_window=128_000, quality=3),
    }
)


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters per token) for routing decisions."""
    return max(1, math.ceil(len(text) / 4))


def cheapest_model(
    prices: Mapping[str, ModelPrice], request: LLMRequest, *, min_quality: int = 0
) -> str:
    """The model with the lowest estimated cost for ``request`` among those of at least
    ``min_quality`` whose context window fits the prompt plus ``max_tokens``."""
    prompt_tokens = estimate_tokens((request.system or "") + request.prompt)
    needed = prompt_tokens + request.max_tokens
    fitting = [
        (price.cost(prompt_tokens, request.max_tokens), name)
        for name, price in prices.items()
        if price.quality >= min_quality and price.context_window >= needed
    ]
    if not fitting:
        raise NoRouteError("cheapest_model", f"quality>={min_quality}, tokens>={needed}")
    return min(fitting)[1]


class _UseModel(Primitive[LLMRequest, LLMRequest]):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model

    async def _run(self, data: LLMRequest, context: WorkflowContext) -> LLMRequest:
        return data.with_model(self.model)


def model_router(
    prices: Mapping[str, ModelPrice] = DEFAULT_PRICES,
    *,
    min_quality: Callable[[LLMRequest], int] = lambda _request: 0,
    name: str = "model_router",
) -> Router[LLMRequest, LLMRequest]:
    """A Router that sets each request's model to the cheapest adequate one.

    A request that already names a model in ``prices`` keeps it. The decision is recorded
    on the context (``context.routes``) like any Router's.
    """

    def choose(request: LLMRequest) -> str:
        if request.model is not None and request.model in prices:
            return request.model
        return cheapest_model(prices, request, min_quality=min_quality(request))

    return Router({model: _UseModel(model) for model in prices}, choose, name=name)


class LLM(Primitive[LLMRequest, LLMResponse]):
    """Complete a request with ``provider`` and price the result with ``prices``.

    The request's model wins; ``model`` is the default for requests without one. Totals
    across calls are kept in ``calls``, ``input_tokens``, ``output_tokens`` and ``cost``.
    """

    def __init__(
        self,
        provider: LLMProvider,
        *,
        model: str | None = None,
        prices: Mapping[str, ModelPrice] = DEFAULT_PRICES,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.provider = provider
        self.model = model
        self.prices = prices
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = 0.0

    async def _run(self, data: LLMRequest, context: WorkflowContext) -> LLMResponse:
        if data.model is None:
            if self.model is None:
                raise LLMError(
                    f"{self.name}: the request names no model and there is no default",
                    retryable=False,
                )
            data = data.with_model(self.model)
        response = await self.provider.complete(data)
        price = self.prices.get(response.model) or self.prices.get(data.model or "")
        if price is not None:
            response = replace(
                response, cost=price.cost(response.input_tokens, response.output_tokens)
            )
        self.calls += 1
        self.input_tokens += response.input_tokens
        self.output_tokens += response.output_tokens
        self.cost += response.cost
        return response
