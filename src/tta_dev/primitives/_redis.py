"""RedisBackend: entries in Redis (``redis.asyncio``, imported on first use; extra ``redis``)."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from ._cache import JSON, MISS, Serializer

__all__ = ["RedisBackend"]

# What Redis's glob (SCAN MATCH) treats specially; a backslash escapes the next character.
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """``text`` as a SCAN MATCH pattern that matches exactly ``text``."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class RedisBackend:
    """Entries in Redis under ``prefix``, encoded with ``serializer`` (JSON: never pickle).

    ``url`` defaults to ``$REDIS_URL``, else ``redis://127.0.0.1:6379/0``. The client is made
    on first use with short timeouts and no client-side retries, so an unreachable Redis
    fails fast: the Cache counts the error and passes the call through, and the next call
    tries Redis again (a server that comes back is used again).

    Connections belong to an event loop, so the client this backend makes follows the
    running loop: used from a new loop (a second ``asyncio.run``, a new test) it makes a
    new client. ``aclose()`` (or ``async with backend``) closes it while its loop runs;
    the next use makes a new one (the backend is configuration: URL, prefix, timeouts).
    A client left open when its loop ended is left to the garbage collector (Python's
    ResourceWarning for unclosed connections says so).

    Pass ``client`` to use your own ``redis.asyncio.Redis``: it is yours, used as given on
    whatever loop, and never closed or replaced by the backend.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "tta:",
        serializer: Serializer = JSON,
        connect_timeout: float = 0.5,
        timeout: float = 1.0,
        client: Any = None,
    ) -> None:
        self.url = url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        self.prefix = prefix
        self.serializer = serializer
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._client: Any = client
        self._owns_client = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r})"  # the URL may hold a password

    @property
    def client(self) -> Any:
        """The ``redis.asyncio.Redis`` client: the caller's, or the one made for this loop."""
        if not self._owns_client:
            return self._client
        loop = running_loop()
        if loop is not None:
            if self._loop is not None and self._loop is not loop:
                self._client = None  # made on another (most likely closed) loop
            self._loop = loop
        if self._client is None:
            import redis.asyncio as redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            redis_class: Any = redis.Redis  # from_url's **kwargs are untyped
            self._client = redis_class.from_url(
                self.url,
                socket_connect_timeout=self.connect_timeout,
                socket_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
        return self._client

    async def get(self, key: str) -> tuple[bool, Any]:
        raw: bytes | None = await self.client.get(self.prefix + key)
        if raw is None:
            return MISS
        return True, self.serializer.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        px = None if ttl is None else max(1, round(ttl * 1000))
        await self.client.set(self.prefix + key, self.serializer.dumps(value), px=px)

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def clear(self) -> None:
        """Delete every key under this backend's prefix (and only those: glob characters in
        the prefix are escaped for SCAN MATCH)."""
        batch: list[bytes] = []
        match = glob_escape(self.prefix) + "*"
        async for name in self.client.scan_iter(match=match, count=500):
            batch.append(name)
            if len(batch) >= 500:
                await self.client.delete(*batch)
                batch.clear()
        if batch:
            await self.client.delete(*batch)

    async def aclose(self) -> None:
        """Close the client this backend made (a client passed in is left alone).

        The backend stays usable: the next operation makes a new client.
        """
        if self._owns_client and self._client is not None:
            client, loop = self._client, self._loop
            self._client = self._loop = None
            if loop is None or loop is asyncio.get_running_loop():
                await client.aclose()  # (another loop's connections cannot be closed here)

    async def __aenter__(self) -> RedisBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
