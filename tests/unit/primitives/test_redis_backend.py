"""RedisBackend without a Redis server: a fake client, and a loopback port nobody listens on."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tta_dev.devtools.services import find_free_port
from tta_dev.primitives import Cache, RedisBackend
from tta_dev.testing import MockPrimitive


def redis_glob(pattern: str) -> re.Pattern[str]:
    """Redis's glob (stringmatchlen): ``*``, ``?``, ``[...]`` classes, ``\\`` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.index("]", i + 1)
            out.append("[" + re.escape(pattern[i + 1 : end]) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.px: dict[str, int | None] = {}
        self.closed = False

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def set(self, key: str, value: bytes, px: int | None = None) -> None:
        self.data[key] = value
        self.px[key] = px

    async def delete(self, *keys: str | bytes) -> None:
        for key in keys:
            self.data.pop(key.decode() if isinstance(key, bytes) else key, None)

    async def scan_iter(self, match: str, count: int) -> AsyncIterator[bytes]:
        matcher = redis_glob(match)
        for key in list(self.data):
            if matcher.fullmatch(key):
                yield key.encode()

    async def aclose(self) -> None:
        self.closed = True


async def test_round_trip_with_prefix_json_and_ttl() -> None:
    fake = FakeRedis()
    backend = RedisBackend(prefix="app:", client=fake)
    await backend.set("k", {"a": [1, None]}, 1.5)
    await backend.set("none", None, None)
    assert fake.data["app:k"] == b'{"a":[1,null]}'
    assert fake.px == {"app:k": 1500, "app:none": None}
    assert await backend.get("k") == (True, {"a": [1, None]})
    assert await backend.get("none") == (True, None)
    assert await backend.get("missing") == (False, None)
    await backend.delete("k")
    assert await backend.get("k") == (False, None)


async def test_clear_deletes_only_its_prefix_in_batches() -> None:
    fake = FakeRedis()
    fake.data["other:x"] = b"1"
    backend = RedisBackend(prefix="p:", client=fake)
    for i in range(1203):
        await backend.set(str(i), i, None)
    await backend.clear()
    assert fake.data == {"other:x": b"1"}
    await backend.aclose()
    await backend.aclose()  # closing twice is fine


@pytest.mark.parametrize("prefix", ["t[1]:", "t*:", "t?:", "t\\1:", "t[!x]:"])
async def test_clear_treats_glob_characters_in_the_prefix_literally(prefix: str) -> None:
    fake = FakeRedis()
    lookalikes = {"t1:k": b"1", "tx:k": b"1", "t\\:k": b"1", "t:k": b"1", "t[1]x:k": b"1"}
    fake.data.update(lookalikes)
    backend = RedisBackend(prefix=prefix, client=fake)
    await backend.set("a", 1, None)
    await backend.clear()
    assert fake.data == {k: v for k, v in lookalikes.items() if not k.startswith(prefix)}


async def test_aclose_leaves_a_client_passed_in_open_and_in_use() -> None:
    fake = FakeRedis()
    backend = RedisBackend(prefix="p:", client=fake)
    await backend.aclose()
    assert not fake.closed  # the caller's: closing it is the caller's call
    await backend.set("k", 1, None)  # still the caller's client, no new one made quietly
    assert backend.client is fake
    assert fake.data == {"p:k": b"1"}


def test_url_comes_from_the_environment_and_stays_out_of_the_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:secret@10.0.0.1:6379/2")
    backend = RedisBackend()
    assert backend.url == "redis://:secret@10.0.0.1:6379/2"
    assert "secret" not in repr(backend)
    monkeypatch.delenv("REDIS_URL")
    assert RedisBackend().url == "redis://127.0.0.1:6379/0"
    assert RedisBackend("redis://h:1/0").url == "redis://h:1/0"


async def test_unreachable_redis_degrades_to_pass_through() -> None:
    port = find_free_port()  # nothing listens there
    backend = RedisBackend(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5)
    inner = MockPrimitive("m", return_value="computed")
    cache = Cache(inner, backend=backend, namespace="t")
    try:
        assert await cache.execute("k") == "computed"
        assert await cache.execute("k") == "computed"
    finally:
        await backend.aclose()
    assert inner.call_count == 2
    assert cache.errors == 4
    assert cache.hits == 0


async def test_undecodable_value_counts_as_an_error_and_passes_through() -> None:
    fake = FakeRedis()
    backend = RedisBackend(client=fake)
    inner = MockPrimitive("m", return_value=1)
    cache = Cache(inner, backend=backend, namespace="n")
    fake.data["tta:n:" + cache.key_for("x").removeprefix("n:")] = b"\x80not json"
    assert await cache.execute("x") == 1
    assert cache.errors == 1


def test_redis_is_imported_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tta_dev.primitives as p; p.RedisBackend(); p.OpenAICompatibleProvider();"
        "print(sorted(m for m in ('redis', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
