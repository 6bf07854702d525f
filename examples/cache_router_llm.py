"""Cache >> Router >> LLM: answer each prompt with the cheapest adequate model, once.

    uv run python examples/cache_router_llm.py           # offline, with a canned provider
    OPENAI_API_KEY=... uv run --extra llm python examples/cache_router_llm.py --live

The cache wraps the router and the LLM, so a repeated prompt costs nothing: a cache must
enclose the steps it lets you skip, which is why the pipeline is written
``Cache(router >> llm)``. The router picks the cheapest model whose quality tier and context
window fit the request, and records each decision on the context.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tta_dev.primitives import (
    LLM,
    Cache,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    MemoryBackend,
    OpenAICompatibleProvider,
    WorkflowContext,
    estimate_tokens,
    model_router,
)


class CannedProvider:
    """Stands in for an API when running offline: answers with the model's name."""

    async def complete(self, request: LLMRequest) -> LLMResponse:
        text = f"[{request.model}] answer to: {request.prompt[:40]}"
        return LLMResponse(text, request.model or "?", estimate_tokens(request.prompt), 40)


def quality_needed(request: LLMRequest) -> int:
    """Proofs and code reviews need the strongest tier; summaries the middle; the rest any."""
    prompt = request.prompt.lower()
    if any(word in prompt for word in ("prove", "review this code")):
        return 3
    if "summarize" in prompt:
        return 2
    return 1


async def run(provider: LLMProvider) -> None:
    llm = LLM(provider)
    workflow = Cache(
        model_router(min_quality=quality_needed) >> llm,
        key=lambda request: f"{request.prompt}|{request.max_tokens}",
        ttl=3600,
        backend=MemoryBackend(max_entries=1000),
        namespace="answers",
    )
    prompts = [
        "What is the capital of France?",
        "Summarize the plot of Hamlet in three sentences.",
        "Prove that there are infinitely many primes.",
        "What is the capital of France?",  # repeated: served by the cache
    ]
    ctx = WorkflowContext("cache-router-llm")
    for prompt in prompts:
        hits_before = workflow.hits
        response = await workflow.execute(LLMRequest(prompt, max_tokens=200), ctx)
        cached = workflow.hits > hits_before
        source, cost = ("cache", 0.0) if cached else (response.model, response.cost)
        print(f"{source:>13}  ${cost:.6f}  {prompt}")
    print(f"\nroutes chosen: {[d.route for d in ctx.routes]}")
    print(f"cache: {workflow.stats}")
    print(f"LLM calls: {llm.calls}, total cost ${llm.cost:.6f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--live",
        action="store_true",
        help="call the OpenAI-compatible API at $OPENAI_BASE_URL with $OPENAI_API_KEY",
    )
    args = parser.parse_args()
    if not args.live:
        asyncio.run(run(CannedProvider()))
        return 0

    async def live() -> None:
        async with OpenAICompatibleProvider() as provider:
            await run(provider)

    asyncio.run(live())
    return 0


if __name__ == "__main__":
    sys.exit(main())
