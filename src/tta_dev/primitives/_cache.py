"""Cache: a primitive that remembers another primitive's results in a backend.

Backends implement ``CacheBackend`` (async get/set/delete/clear). ``get`` returns
``(found, value)`` so that ``None`` is a cacheable value. Backend errors never fail the
workflow: the cache counts them and passes the call through.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ._context import WorkflowContext
from ._core import Primitive

__all__ = [
    "JSON",
    "Cache",
    "CacheBackend",
    "CacheStats",
    "JsonSerializer",
    "MemoryBackend",
    "Serializer",
    "default_key",
    "set_lookup_observer",
]

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)

MISS: tuple[bool, Any] = (False, None)

#: ``observer(cache, result)`` with result ``"miss"`` or ``"error"``, called when a lookup does
#: not hit (observability sets it). A hit calls nothing, so the hit path stays as it was.
LookupObserver = Callable[["Cache[Any, Any]", str], None]
_lookup_observer: LookupObserver | None = None


def set_lookup_observer(observer: LookupObserver | None) -> LookupObserver | None:
    """Install the function told about every cache lookup that misses or fails (``None``
    removes it); returns the old one. A lookup with no such call was a hit."""
    global _lookup_observer
    previous, _lookup_observer = _lookup_observer, observer
    return previous


class CacheBackend(Protocol):
    """Where a Cache keeps entries. ``get`` returns ``(found, value)``."""

    async def get(self, key: str) -> tuple[bool, Any]: ...

    async def set(self, key: str, value: Any, ttl: float | None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def clear(self) -> None: ...


class Serializer(Protocol):
    """Turns values into bytes and back (backends outside the process use one)."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class JsonSerializer:
    """JSON: safe to load from a shared store (unlike pickle); values must be JSON-able."""

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


JSON = JsonSerializer()


class MemoryBackend:
    """In-process LRU cache with optional per-entry TTL, at most ``max_entries`` entries."""

    def __init__(
        self, max_entries: int = 1024, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[str, tuple[float | None, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> tuple[bool, Any]:
        entry = self._data.get(key)
        if entry is None:
            return MISS
        expires, value = entry
        if expires is not None and self._clock() >= expires:
            del self._data[key]
            return MISS
        self._data.move_to_end(key)
        return True, value

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        self._data[key] = (None if ttl is None else self._clock() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def clear(self) -> None:
        self._data.clear()


# Made once: json.dumps with non-default options would build an encoder on every call.
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr)


def default_key(data: object) -> str:
    """A cache key for ``data``: sorted-key JSON, so ``1`` and ``"1"`` differ and equal dicts
    match whatever their order (objects JSON cannot encode count by their ``repr``)."""
    return _KEY_ENCODER.encode(data)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of one Cache: backend hits and misses, backend errors, coalesced misses."""

    hits: int
    misses: int
    errors: int
    coalesced: int

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class Cache(Primitive[In, Out]):
    """Return ``primitive``'s remembered result for the same key, or compute and remember it.

    ``key(data)`` makes the key (``default_key`` unless given), prefixed with ``namespace``
    (the primitive's name by default) so caches can share a backend. ``ttl`` is in seconds.
    Concurrent misses for one key compute once (single-flight). ``None`` is cached like any
    value. A failing backend counts an error and the call passes through to ``primitive``.
    """

    def __init__(
        self,
        primitive: Primitive[In, Out],
        *,
        key: Callable[[In], str] = default_key,
        ttl: float | None = None,
        backend: CacheBackend | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        self.primitive = primitive
        self.ttl = ttl
        self.backend: CacheBackend = MemoryBackend() if backend is None else backend
        self._key = key
        self._prefix = f"{primitive.name if namespace is None else namespace}:"
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.coalesced = 0

    @property
    def stats(self) -> CacheStats:
        return CacheStats(self.hits, self.misses, self.errors, self.coalesced)

    def key_for(self, data: In) -> str:
        """The backend key ``data`` is cached under."""
        return self._prefix + self._key(data)

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        key = self._prefix + self._key(data)
        try:
            found, value = await self.backend.get(key)
        except Exception:
            self.errors += 1
            if _lookup_observer is not None:
                _lookup_observer(self, "error")
        else:
            if found:
                self.hits += 1
                return value
            if _lookup_observer is not None:
                _lookup_observer(self, "miss")
        self.misses += 1
        while (pending := self._inflight.get(key)) is not None:
            self.coalesced += 1
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The computing call was cancelled, not this one: take over.
        return await self._compute(key, data, context)

    async def _compute(self, key: str, data: In, context: WorkflowContext) -> Out:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            try:
                value = await self.primitive.execute(data, context)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" log if nobody waits
                raise
            future.set_result(value)
            try:
                await self.backend.set(key, value, self.ttl)
            except Exception:
                self.errors += 1
            return value
        finally:
            del self._inflight[key]
