"""Cache: a primitive that remembers another primitive's results in a backend.

Backends implement ``CacheBackend`` (async get/set/delete/clear). ``get`` returns
``(found, value)`` so that ``None`` is a cacheable value. Backend errors never fail the
workflow: the cache counts them and passes the call through. A key function that fails is a
programming error and raises ``CacheKeyError``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import enum
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from ._context import WorkflowContext
from ._core import Primitive
from ._errors import CacheKeyError

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


#: Values handed out as they are: immutable, with nothing mutable inside.
_IMMUTABLE = frozenset({str, int, float, bool, bytes, type(None), complex})


def _private(value: Any) -> Any:
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


class MemoryBackend:
    """In-process LRU cache with optional per-entry TTL, at most ``max_entries`` entries.

    Values are deep-copied on the way in and out (immutable scalars are not), so a caller
    that mutates what it got changes neither the entry nor what the next hit returns, as
    with ``DiskBackend`` and ``RedisBackend``, which return fresh objects. A value that
    cannot be deep-copied fails its ``set`` (counted, passed through). ``copy=False`` keeps
    references instead: faster, for values nobody mutates.
    """

    def __init__(
        self,
        max_entries: int = 1024,
        *,
        copy: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.copy = copy
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
        return True, _private(value) if self.copy else value

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        if self.copy:
            value = _private(value)
        self._data[key] = (None if ttl is None else self._clock() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def clear(self) -> None:
        self._data.clear()


# Made once: json.dumps with non-default options would build an encoder on every call.
_SCALAR = json.JSONEncoder(separators=(",", ":")).encode
_STR = json.encoder.encode_basestring_ascii
_SCALARS = frozenset({str, int, float, bool, type(None)})


def default_key(data: object) -> str:
    """A canonical, type-tagged cache key for ``data``.

    Strings, numbers, booleans and ``None`` are JSON (so ``1``, ``1.0``, ``True`` and ``"1"``
    differ); an enum member (``IntEnum`` and ``StrEnum`` included) is tagged with its class's
    qualified name and its value, so it differs from the plain value; lists are JSON arrays; tuples, sets, bytes and dicts are tagged JSON objects, a
    dict as its ``[key, value]`` pairs sorted by their encoding (keys of any type, never
    stringified; equal dicts match whatever their order), a dataclass instance as its class's
    qualified name and its fields in order. Anything else raises TypeError (no ``repr``
    fallback: different objects can share one):
    pass ``key=`` to cache other inputs.
    """
    if type(data) is str:
        return _STR(data)
    if type(data) is int:
        return int.__repr__(data)
    return _encode(data)


def _encode(obj: object) -> str:
    kind = type(obj)
    if kind in _SCALARS:
        return _SCALAR(obj)
    if isinstance(obj, enum.Enum):  # before str/int: IntEnum and StrEnum members are both
        return (
            '{"enum":'
            + _STR(f"{kind.__module__}.{kind.__qualname__}")
            + ',"value":'
            + _encode(obj.value)
            + "}"
        )
    if isinstance(obj, (str, int, float)):  # subclasses; bool is an int
        return _SCALAR(obj)
    if isinstance(obj, list):
        return "[" + ",".join(map(_encode, cast("list[object]", obj))) + "]"
    if isinstance(obj, dict):
        items = cast("dict[object, object]", obj).items()
        pairs = sorted(f"[{_encode(k)},{_encode(v)}]" for k, v in items)
        return '{"dict":[' + ",".join(pairs) + "]}"
    if isinstance(obj, tuple):
        return '{"tuple":[' + ",".join(map(_encode, cast("tuple[object, ...]", obj))) + "]}"
    if isinstance(obj, (set, frozenset)):
        members = sorted(map(_encode, cast("frozenset[object]", obj)))
        return '{"set":[' + ",".join(members) + "]}"
    if isinstance(obj, (bytes, bytearray)):
        return '{"bytes":"' + bytes(obj).hex() + '"}'
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        kind = type(obj)
        values = ",".join(
            f"[{_STR(f.name)},{_encode(getattr(obj, f.name))}]" for f in dataclasses.fields(obj)
        )
        return (
            '{"dataclass":'
            + _STR(f"{kind.__module__}.{kind.__qualname__}")
            + ',"fields":['
            + values
            + "]}"
        )
    raise TypeError(
        f"default_key cannot encode {type(obj).__qualname__}; pass key= to Cache for such inputs"
    )


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of one Cache.

    Every lookup counts once: a ``hit``, a ``miss`` or an ``error`` (the backend's ``get``
    failed). ``errors`` also counts failed stores (``set``), so a call during an outage
    counts two. ``coalesced`` counts calls that waited for another call's lookup or
    computation (each also counts the hit or miss it got).
    """

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

    ``key(data)`` makes the key (``default_key`` unless given), prefixed with ``namespace``.
    Caches sharing a backend need different namespaces: pass ``namespace=`` with ``backend=``
    (the default, the primitive's name, is the same for every ``Cache(a >> b)`` or lambda
    step; it is meant for the private MemoryBackend). ``ttl`` is in seconds.
    Concurrent calls for one key look up and compute once (single-flight: a call registers
    before its backend lookup, and calls arriving meanwhile wait for its outcome, hit or
    computed value or error; ``coalesced`` counts them). ``None`` is cached like any value.
    A failing backend counts an error and the call passes through to ``primitive``. A key
    function that raises or returns a non-``str`` raises ``CacheKeyError`` (a programming
    error: loud, and not counted as a lookup).
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
        if backend is not None and namespace is None:
            raise ValueError(
                "Cache(backend=...) needs namespace=: caches sharing a backend must not share keys"
            )
        self.primitive = primitive
        self.ttl = ttl
        self.backend: CacheBackend = MemoryBackend() if backend is None else backend
        self._key = key
        self._prefix = f"{primitive.name if namespace is None else namespace}:"
        self._inflight: dict[str, asyncio.Future[tuple[bool, Any]] | None] = {}
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.coalesced = 0

    @property
    def stats(self) -> CacheStats:
        return CacheStats(self.hits, self.misses, self.errors, self.coalesced)

    def key_for(self, data: In) -> str:
        """The backend key ``data`` is cached under (CacheKeyError if it cannot be made)."""
        try:
            key = self._key(data)
        except Exception as exc:
            raise self._key_failed(exc) from exc
        if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise self._key_failed(key)
        return self._prefix + key

    def _key_failed(self, what: object) -> CacheKeyError:
        if isinstance(what, Exception):
            problem = f"the key function raised {type(what).__name__}: {what}"
        else:
            problem = f"the key function returned {type(what).__qualname__}, not str"
        return CacheKeyError(self.name, problem)

    async def _run(self, data: In, context: WorkflowContext) -> Out:
        # A key that cannot be made is a programming error: raised, never counted as a lookup
        # (counting it and passing through would turn the cache off with only a counter).
        # key_for, inlined: this is the hit path.
        try:
            key = self._key(data)
        except Exception as exc:
            raise self._key_failed(exc) from exc
        if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise self._key_failed(key)
        key = self._prefix + key
        inflight = self._inflight
        while key in inflight:
            # Another call is looking this key up or computing it: wait for its outcome.
            pending = inflight[key]
            if pending is None:  # the first to wait makes the future the leader resolves
                pending = inflight[key] = asyncio.get_running_loop().create_future()
            self.coalesced += 1
            try:
                hit, value = await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                continue  # the leading call was cancelled, not this one: take over
            if hit:
                self.hits += 1
            else:
                self.misses += 1
                if _lookup_observer is not None:
                    _lookup_observer(self, "miss")
            return value
        # This call leads: registered before the lookup, so a call arriving while the backend
        # is awaited waits instead of computing again. No future until someone waits.
        inflight[key] = None
        try:
            try:
                found, value = await self.backend.get(key)
            except Exception:
                # A failed lookup is an error, not also a miss: each lookup counts once.
                self.errors += 1
                if _lookup_observer is not None:
                    _lookup_observer(self, "error")
            else:
                if found:
                    self.hits += 1
                    if (waiting := inflight.pop(key)) is not None:
                        waiting.set_result((True, value))
                    return value
                self.misses += 1
                if _lookup_observer is not None:
                    _lookup_observer(self, "miss")
            value = await self.primitive.execute(data, context)
        except BaseException as exc:
            if (waiting := inflight.pop(key, None)) is not None:
                if isinstance(exc, asyncio.CancelledError):
                    waiting.cancel()  # a waiter takes over
                else:
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved: no "never retrieved" log
            raise
        # Resolved now; the key stays registered until the value is stored, so a call
        # arriving meanwhile takes it from the future instead of missing in the backend.
        done = inflight[key]
        if done is None:
            done = inflight[key] = asyncio.get_running_loop().create_future()
        done.set_result((False, value))
        try:
            await self.backend.set(key, value, self.ttl)
        except Exception:
            self.errors += 1
        finally:
            del inflight[key]
        return value
