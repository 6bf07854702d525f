from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tta_dev.primitives import (
    DEFAULT_PRICES,
    LLM,
    Cache,
    LLMError,
    LLMRequest,
    LLMResponse,
    ModelPrice,
    NoRouteError,
    OpenAICompatibleProvider,
    Retry,
    WorkflowContext,
    cheapest_model,
    estimate_tokens,
    model_router,
)
from tta_dev.primitives._openai import retry_after_seconds

# --- a fake OpenAI-compatible server on 127.0.0.1 ----------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeServer:
    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]]

    def completion(self, text: str, model: str = "gpt-4o-mini", usage: bool = True) -> Reply:
        body: dict[str, Any] = {"model": model, "choices": [{"message": {"content": text}}]}
        if usage:
            body["usage"] = {"prompt_tokens": 12, "completion_tokens": 30}
        return Reply(body=body)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    replies: list[Reply] = []
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs: clients pool connections

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            requests.append(
                {
                    "path": self.path,
                    "auth": self.headers.get("authorization"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            reply = replies.pop(0) if replies else Reply(500, {"error": "no reply scripted"})
            raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{httpd.server_port}/v1", replies, requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def provider_for(server: FakeServer, **kwargs: Any) -> OpenAICompatibleProvider:
    kwargs.setdefault("api_key", "sk-test-secret")
    kwargs.setdefault("sleep", Sleeps())
    return OpenAICompatibleProvider(base_url=server.url + "/", trust_env=False, **kwargs)


# --- the provider ------------------------------------------------------------------------


async def test_completion_request_and_response(server: FakeServer) -> None:
    server.replies.append(server.completion("hello there"))
    async with provider_for(server) as provider:
        response = await provider.complete(
            LLMRequest("hi", model="gpt-4o-mini", system="be brief", max_tokens=50)
        )
    assert response == LLMResponse("hello there", "gpt-4o-mini", 12, 30)
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test-secret"
    assert request["json"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "max_tokens": 50,
        "temperature": 0.0,
    }


async def test_base_url_and_key_come_from_the_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    server.replies.append(server.completion("ok", usage=False))
    provider = OpenAICompatibleProvider(trust_env=False)
    try:
        response = await provider.complete(LLMRequest("x", model="m"))
    finally:
        await provider.aclose()
    assert server.requests[0]["auth"] == "Bearer sk-from-env"
    assert (response.input_tokens, response.output_tokens) == (0, 0)
    assert "sk-from-env" not in repr(provider)


async def test_no_key_sends_no_authorization(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.replies.append(server.completion("ok"))
    async with OpenAICompatibleProvider(base_url=server.url, trust_env=False) as provider:
        await provider.complete(LLMRequest("x", model="m"))
    assert server.requests[0]["auth"] is None


async def test_429_and_5xx_are_retried_honouring_retry_after(server: FakeServer) -> None:
    sleeps = Sleeps()
    server.replies += [
        Reply(429, {"error": "slow down"}, {"Retry-After": "2"}),
        Reply(503, {"error": "busy"}),
        server.completion("finally"),
    ]
    async with provider_for(server, sleep=sleeps, backoff=0.25) as provider:
        response = await provider.complete(LLMRequest("x", model="m"))
        assert provider.retries == 2
    assert response.text == "finally"
    assert sleeps.delays == [2.0, 0.5]  # Retry-After, then backoff * 2**1
    assert len(server.requests) == 3


async def test_retry_after_is_capped(server: FakeServer) -> None:
    sleeps = Sleeps()
    server.replies += [Reply(429, {}, {"Retry-After": "3600"}), server.completion("ok")]
    async with provider_for(server, sleep=sleeps, max_wait=5) as provider:
        await provider.complete(LLMRequest("x", model="m"))
    assert sleeps.delays == [5]


async def test_gives_up_after_max_retries_without_leaking_the_key(server: FakeServer) -> None:
    server.replies += [Reply(500, {"error": "down"}) for _ in range(3)]
    async with provider_for(server, max_retries=2) as provider:
        with pytest.raises(LLMError) as info:
            await provider.complete(LLMRequest("x", model="m"))
    assert info.value.status_code == 500
    assert "sk-test-secret" not in str(info.value)
    assert len(server.requests) == 3


async def test_secrets_in_the_base_url_stay_out_of_repr_errors_and_logs(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_url = server.url.replace("://", "://user:pw-secret@") + "/?api-key=q-secret"
    server.replies += [Reply(500, {"error": "down"}) for _ in range(2)]
    provider = OpenAICompatibleProvider(
        base_url=secret_url, api_key="sk-secret", max_retries=1, sleep=Sleeps(), trust_env=False
    )
    async with provider:
        with pytest.raises(LLMError) as info:
            await provider.complete(LLMRequest("x", model="m"))
    assert server.requests[0]["path"] == "/v1/chat/completions?api-key=q-secret"  # still sent
    assert provider.base_url == server.url
    shown = [repr(provider), str(provider.base_url), str(info.value), caplog.text]
    for secret in ("pw-secret", "q-secret", "sk-secret"):
        assert not [text for text in shown if secret in text], secret
    assert "HTTP Request: POST" in caplog.text  # httpx did log, without the secrets


async def test_client_errors_are_not_retried(server: FakeServer) -> None:
    server.replies.append(Reply(401, {"error": "bad key"}))
    async with provider_for(server) as provider:
        with pytest.raises(LLMError, match="HTTP 401") as info:
            await provider.complete(LLMRequest("x", model="m"))
    assert info.value.status_code == 401
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "body",
    [b"not json", {"choices": []}, {"choices": [{"nope": 1}]}, {"choices": "x"}],
)
async def test_malformed_bodies_raise_llm_error(server: FakeServer, body: Any) -> None:
    server.replies.append(Reply(200, body))
    async with provider_for(server) as provider:
        with pytest.raises(LLMError, match="unexpected response"):
            await provider.complete(LLMRequest("x", model="m"))


async def test_transport_errors_are_retried_then_reported() -> None:
    from tta_dev.devtools.services import find_free_port

    sleeps = Sleeps()
    provider = OpenAICompatibleProvider(
        base_url=f"http://127.0.0.1:{find_free_port()}/v1",
        api_key="sk-secret",
        max_retries=1,
        sleep=sleeps,
        trust_env=False,
    )
    async with provider:
        with pytest.raises(LLMError, match="failed after 2 attempt") as info:
            await provider.complete(LLMRequest("x", model="m"))
    assert "sk-secret" not in str(info.value)
    assert len(sleeps.delays) == 1


async def test_request_without_model_is_refused() -> None:
    provider = OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(LLMError, match="no model"):
        await provider.complete(LLMRequest("x"))


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(" ") is None
    assert retry_after_seconds("1.5") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("soon") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == pytest.approx(30)


# --- prices, routing and the LLM primitive -----------------------------------------------


class EchoProvider:
    def __init__(self) -> None:
        self.requests: list[LLMRequest] = []

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        assert request.model is not None
        return LLMResponse(f"echo: {request.prompt}", request.model, 1_000, 500)


def test_prices_and_token_estimate() -> None:
    price = ModelPrice(input_per_million=1.0, output_per_million=4.0)
    assert price.cost(1_000_000, 500_000) == pytest.approx(3.0)
    assert estimate_tokens("") == 1
    assert estimate_tokens("x" * 9) == 3


def test_cheapest_model_respects_quality_and_context_window() -> None:
    prices = {
        "tiny": ModelPrice(0.1, 0.1, context_window=1_000, quality=1),
        "mid": ModelPrice(1.0, 1.0, context_window=100_000, quality=2),
        "big": ModelPrice(5.0, 5.0, context_window=100_000, quality=3),
    }
    assert cheapest_model(prices, LLMRequest("hi")) == "tiny"
    assert cheapest_model(prices, LLMRequest("x" * 8_000)) == "mid"  # too long for tiny
    assert cheapest_model(prices, LLMRequest("hi"), min_quality=3) == "big"
    with pytest.raises(NoRouteError):
        cheapest_model(prices, LLMRequest("hi"), min_quality=4)


async def test_llm_prices_the_response_and_keeps_totals() -> None:
    provider = EchoProvider()
    llm = LLM(provider, model="gpt-4o-mini")
    response = await llm.execute(LLMRequest("hello"))
    assert response.model == "gpt-4o-mini"
    expected = DEFAULT_PRICES["gpt-4o-mini"].cost(1_000, 500)
    assert response.cost == pytest.approx(expected)
    await llm.execute(LLMRequest("again", model="unknown-model"))  # no price: cost 0
    assert llm.calls == 2
    assert (llm.input_tokens, llm.output_tokens) == (2_000, 1_000)
    assert llm.cost == pytest.approx(expected)


async def test_llm_needs_a_model() -> None:
    with pytest.raises(LLMError, match="no model"):
        await LLM(EchoProvider()).execute(LLMRequest("x"))


async def test_cache_router_llm_picks_the_cheapest_adequate_model() -> None:
    provider = EchoProvider()
    llm = LLM(provider)
    router = model_router(min_quality=lambda r: 3 if "prove" in r.prompt else 1)
    workflow = Cache(router >> llm, key=lambda r: r.prompt)
    ctx = WorkflowContext("qa")
    easy = await workflow.execute(LLMRequest("what is 2+2?"), ctx)
    hard = await workflow.execute(LLMRequest("prove the theorem"), ctx)
    again = await workflow.execute(LLMRequest("what is 2+2?"), ctx)
    assert easy.model == "gpt-4.1-nano"
    assert hard.model == "gpt-4.1"
    assert again == easy
    assert [d.route for d in ctx.routes] == ["gpt-4.1-nano", "gpt-4.1"]
    assert len(provider.requests) == 2 and workflow.hits == 1  # noqa: PT018
    pinned = await (router >> llm).execute(LLMRequest("hi", model="gpt-4o"))
    assert pinned.model == "gpt-4o"


async def test_llm_over_the_fake_server(server: FakeServer) -> None:
    server.replies.append(server.completion("four", model="gpt-4.1-nano"))
    async with provider_for(server) as provider:
        workflow = model_router() >> LLM(provider)
        response = await workflow.execute(LLMRequest("2+2?"))
    assert response.text == "four"
    assert response.cost == pytest.approx(DEFAULT_PRICES["gpt-4.1-nano"].cost(12, 30))
    assert server.requests[0]["json"]["model"] == "gpt-4.1-nano"


# --- Retry around the provider: one layer of retries -------------------------------------


async def test_retry_around_the_provider_does_not_multiply_its_retries(
    server: FakeServer,
) -> None:
    server.replies += [Reply(503, {"error": "down"}) for _ in range(12)]
    async with provider_for(server, max_retries=3) as provider:
        workflow = Retry(LLM(provider, model="m"), attempts=3, sleep=Sleeps())
        with pytest.raises(LLMError) as info:
            await workflow.execute(LLMRequest("x"))
    assert info.value.retries_exhausted
    assert len(server.requests) == 4  # the provider's 1 + 3, not 3 x 4


async def test_retry_takes_over_when_the_provider_does_not_retry(server: FakeServer) -> None:
    server.replies += [Reply(503, {"error": "down"}), server.completion("ok")]
    async with provider_for(server, max_retries=0) as provider:
        workflow = Retry(LLM(provider, model="m"), attempts=3, sleep=Sleeps())
        assert (await workflow.execute(LLMRequest("x"))).text == "ok"
    assert len(server.requests) == 2


async def test_retry_around_the_provider_never_retries_a_client_error(
    server: FakeServer,
) -> None:
    server.replies += [Reply(401, {"error": "bad key"}) for _ in range(3)]
    async with provider_for(server, max_retries=0) as provider:
        workflow = Retry(LLM(provider, model="m"), attempts=3, sleep=Sleeps())
        with pytest.raises(LLMError, match="HTTP 401"):
            await workflow.execute(LLMRequest("x"))
    assert len(server.requests) == 1


async def test_request_timeout_and_gateway_errors_are_retried_by_the_provider(
    server: FakeServer,
) -> None:
    server.replies += [Reply(408, {}), Reply(520, {}), server.completion("ok")]
    async with provider_for(server) as provider:
        assert (await provider.complete(LLMRequest("x", model="m"))).text == "ok"
    server.replies.append(Reply(501, {"error": "not implemented"}))
    async with provider_for(server) as provider:
        with pytest.raises(LLMError, match="HTTP 501") as info:
            await provider.complete(LLMRequest("x", model="m"))
    assert not info.value.retryable
    assert len(server.requests) == 4


# --- the HTTP client follows the event loop ----------------------------------------------


def test_the_provider_works_in_a_second_event_loop(server: FakeServer) -> None:
    server.replies += [server.completion("one"), server.completion("two")]
    provider = provider_for(server)

    async def ask() -> str:
        return (await provider.complete(LLMRequest("x", model="m"))).text

    async def ask_and_close() -> str:
        async with provider:
            return await ask()

    # The first loop ends with the client's connection still pooled; before, the second
    # loop's request then failed with "RuntimeError: Event loop is closed".
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the first loop's unclosed client
        assert asyncio.run(ask()) == "one"
        assert asyncio.run(ask_and_close()) == "two"
        gc.collect()
    assert len(server.requests) == 2
