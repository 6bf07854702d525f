"""An LLMProvider for OpenAI-compatible chat completion APIs (httpx; extra ``llm``)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._errors import LLMError, transient_status
from ._llm import LLMRequest, LLMResponse

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenAICompatibleProvider", "retry_after_seconds"]


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _shown(url: str) -> str:
    """``url`` fit to show: without ``user:pass@``, query and fragment, which may hold keys."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class _ShownUrls(logging.Filter):
    """Rewrites the URLs in httpx's log records (``HTTP Request: POST <url>``) as ``_shown``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(type(a).__module__.startswith("httpx") for a in args):
            record.args = tuple(
                _shown(str(a)) if type(a).__module__.startswith("httpx") else a for a in args
            )
        return True


def _redact_httpx_logs() -> None:
    """Install ``_ShownUrls`` on the httpx logger once (when a base URL holds secrets)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _ShownUrls) for f in logger.filters):
        logger.addFilter(_ShownUrls())


class OpenAICompatibleProvider:
    """POST ``{base_url}/chat/completions`` the way OpenAI's API (and many others) take it.

    ``base_url`` and ``api_key`` default to ``$OPENAI_BASE_URL`` (else OpenAI's) and
    ``$OPENAI_API_KEY``; without a key no Authorization header is sent (local servers).
    408, 429 and 5xx responses (``transient_status``) and transport errors are retried up to
    ``max_retries`` times, waiting what ``Retry-After`` asks (capped at ``max_wait``) or an
    exponential backoff. The error raised after retrying is marked ``retries_exhausted``,
    so a ``Retry`` around this provider does not retry it again by default (one 5xx would
    otherwise become ``(max_retries + 1) * attempts`` requests); pass ``max_retries=0`` to
    leave retrying to an outer ``Retry``.
    The HTTP client follows the running event loop (a new loop gets a new client);
    ``aclose()`` or ``async with`` closes it, and the next request makes a new one.
    The key is never part of a repr, a log line or an error message, nor are credentials or
    a query in ``base_url`` (``user:pass@``, ``?api-key=``): they are sent, and ``base_url``,
    the repr, errors and httpx's request log show the URL without them.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        trust_env: bool = True,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        parts = urllib.parse.urlsplit(url)
        path = parts.path.rstrip("/")
        # Sent as given (user:pass@ and ?api-key=... included), shown without them.
        self._endpoint = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, path + "/chat/completions", parts.query, "")
        )
        self.base_url = _shown(url)
        if self._endpoint != _shown(self._endpoint):
            _redact_httpx_logs()
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.trust_env = trust_env
        self.retries = 0
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(base_url={self.base_url!r})"

    def _http(self) -> httpx.AsyncClient:
        # Pooled connections belong to the loop that opened them: a new loop (a second
        # asyncio.run) gets a new client instead of "Event loop is closed".
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client, self._loop = None, loop
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), trust_env=self.trust_env
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client's connections; the next request makes a new client."""
        if self._client is not None:
            client, loop = self._client, self._loop
            self._client = self._loop = None
            if loop is asyncio.get_running_loop():  # another loop's connections are gone
                await client.aclose()

    async def __aenter__(self) -> OpenAICompatibleProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def complete(self, request: LLMRequest) -> LLMResponse:
        import httpx

        if request.model is None:
            raise LLMError("the request names no model", retryable=False)
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        payload = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        url = self._endpoint
        shown = _shown(url)
        client = self._http()
        attempt = 0
        while True:
            try:
                response = await client.post(url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise LLMError(
                        f"POST {shown} failed after {attempt + 1} attempt(s): {type(exc).__name__}",
                        retries_exhausted=attempt > 0,
                    ) from None
                wait = self.backoff * 2**attempt
            else:
                status = response.status_code
                if status < 400:
                    return self._parse(response, request.model)
                if not transient_status(status) or attempt >= self.max_retries:
                    raise LLMError(
                        f"POST {shown} returned HTTP {status}: {response.text[:200]}",
                        status_code=status,
                        retries_exhausted=attempt > 0,
                    )
                wait = retry_after_seconds(response.headers.get("retry-after"))
                if wait is None:
                    wait = self.backoff * 2**attempt
            attempt += 1
            self.retries += 1
            await self._sleep(min(wait, self.max_wait))

    @staticmethod
    def _parse(response: httpx.Response, model: str) -> LLMResponse:
        try:
            body: Any = response.json()
            text = body["choices"][0]["message"]["content"] or ""
            usage: Any = body.get("usage") or {}
            return LLMResponse(
                text=str(text),
                model=str(body.get("model") or model),
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(
                f"unexpected response body: {type(exc).__name__}: {exc}", retryable=False
            ) from None
