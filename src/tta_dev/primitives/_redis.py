"""RedisBackend: entries in Redis (``redis.asyncio``, imported on first use; extra ``redis``)."""

from __future__ import annotations

import os
from typing import Any

from ._cache import JSON, MISS, Serializer

__all__ = ["RedisBackend"]


class RedisBackend:
    """Entries in Redis under ``prefix``, encoded with ``serializer`` (JSON: never pickle).

    ``url`` defaults to ``$REDIS_URL``, else ``redis://127.0.0.1:6379/0``. The client is made
    on first use with short timeouts and no client-side retries, so an unreachable Redis
    fails fast: the Cache counts the error and passes the call through, and the next call
    tries Redis again (a server that comes back is used again). Pass ``client`` to use your
    own ``redis.asyncio.Redis``.
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

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r})"  # the URL may hold a password

    @property
    def client(self) -> Any:
        """The ``redis.asyncio.Redis`` client (made on first use)."""
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
        """Delete every key under this backend's prefix."""
        batch: list[bytes] = []
        async for name in self.client.scan_iter(match=self.prefix + "*", count=500):
            batch.append(name)
            if len(batch) >= 500:
                await self.client.delete(*batch)
                batch.clear()
        if batch:
            await self.client.delete(*batch)

    async def aclose(self) -> None:
        """Close the client's connections (the backend can be used again afterwards)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
