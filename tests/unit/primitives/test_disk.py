from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tta_dev.primitives import Cache, DiskBackend, default_cache_dir
from tta_dev.testing import MockPrimitive


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_default_location_is_the_active_virtual_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/venv")
    assert default_cache_dir() == Path("/somewhere/venv/cache")
    assert DiskBackend().directory == Path("/somewhere/venv/cache")
    monkeypatch.delenv("VIRTUAL_ENV")
    assert default_cache_dir() == Path(".venv/cache")


async def test_the_default_folder_is_fixed_when_the_backend_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    monkeypatch.chdir(tmp_path / "first")
    backend = DiskBackend()
    assert backend.directory == tmp_path / "first" / ".venv" / "cache"
    assert not (tmp_path / "first" / ".venv").exists()  # still made on the first write only
    monkeypatch.chdir(tmp_path / "second")
    await backend.set("k", 1, None)
    assert await backend.get("k") == (True, 1)
    assert backend.path_for("k").parent == tmp_path / "first" / ".venv" / "cache"
    assert not (tmp_path / "second" / ".venv").exists()


async def test_an_expired_read_never_removes_a_fresh_entry_written_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = DiskBackend(tmp_path), DiskBackend(tmp_path)
    now = [1000.0]
    monkeypatch.setattr("tta_dev.primitives._disk.time.time", lambda: now[0])
    await writer.set("k", "old", 5)
    now[0] = 1010.0
    decode = reader._decode  # pyright: ignore[reportPrivateUsage]

    def decode_then_race(raw: bytes, key: str) -> tuple[float | None, object] | None:
        entry = decode(raw, key)
        writer.set_sync(key, "fresh", 60)  # another process writes between read and cleanup
        return entry

    monkeypatch.setattr(reader, "_decode", decode_then_race)
    assert await reader.get("k") == (False, None)  # what it read had expired
    assert await writer.get("k") == (True, "fresh")  # and the fresh entry is still there


async def test_folder_is_made_on_first_write_only(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "cache"
    backend = DiskBackend(folder)
    assert not folder.exists()
    assert await backend.get("k") == (False, None)
    await backend.clear()
    assert not folder.exists()
    await backend.set("k", {"v": [1, None]}, None)
    assert folder.is_dir()
    assert await backend.get("k") == (True, {"v": [1, None]})


async def test_round_trip_delete_clear_and_none(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    await backend.set("a", None, None)
    await backend.set("b", "β", None)
    assert await backend.get("a") == (True, None)
    assert await backend.get("b") == (True, "β")
    await backend.delete("a")
    await backend.delete("a")  # deleting twice is fine
    assert await backend.get("a") == (False, None)
    await backend.clear()
    assert await backend.get("b") == (False, None)
    assert _names(tmp_path) == []


async def test_ttl_uses_wall_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DiskBackend(tmp_path)
    now = [1000.0]
    monkeypatch.setattr("tta_dev.primitives._disk.time.time", lambda: now[0])
    await backend.set("k", 1, 5)
    assert await backend.get("k") == (True, 1)
    now[0] = 1005.0
    assert await backend.get("k") == (False, None)
    assert not backend.path_for("k").exists()  # expired entries are removed


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: b"",  # empty
        lambda raw: b"garbage without a header line",
        lambda raw: raw.replace(b"tta-cache-1", b"other-magic"),
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # one bit flipped in the body
    ],
)
async def test_corrupt_entry_is_a_miss(tmp_path: Path, damage: object) -> None:
    backend = DiskBackend(tmp_path)
    await backend.set("k", {"big": "x" * 100}, None)
    path = backend.path_for("k")
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert await backend.get("k") == (False, None)
    assert backend.corrupt == 1


def _entry(meta: bytes, payload: bytes) -> bytes:
    body = meta + b"\n" + payload
    return b"tta-cache-1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


@pytest.mark.parametrize(
    "raw",
    [
        _entry(b'{"key":"other","expires":null}', b"1"),  # a different key's entry
        _entry(b'{"expires":null}', b"1"),  # no key
        _entry(b"not json", b"1"),
        _entry(b'{"key":"k","expires":null}', b"{not json"),
        _entry(b'{"key":"k","expires":"soon"}', b"1"),
        b"tta-cache-1 " + hashlib.sha256(b"no newline").hexdigest().encode() + b"\nno newline",
    ],
)
async def test_well_formed_but_wrong_entries_are_misses(tmp_path: Path, raw: bytes) -> None:
    backend = DiskBackend(tmp_path)
    backend.directory.mkdir(exist_ok=True)
    backend.path_for("k").write_bytes(raw)
    assert await backend.get("k") == (False, None)


async def test_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    with pytest.raises(TypeError):
        await backend.set("k", object(), None)  # JSON cannot encode it
    await backend.set("ok", 1, None)
    (tmp_path / "unrelated.txt").write_text("x")

    def fail_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    mp = pytest.MonkeyPatch()
    mp.setattr("tta_dev.primitives._disk.os.replace", fail_replace)
    try:
        with pytest.raises(OSError, match="disk full"):
            await backend.set("k2", 2, None)
    finally:
        mp.undo()
    assert _names(tmp_path) == sorted([backend.path_for("ok").name, "unrelated.txt"])


async def test_cache_on_disk_survives_a_new_backend_instance(tmp_path: Path) -> None:
    inner = MockPrimitive("m", return_value=[1, 2, 3])
    await Cache(inner, backend=DiskBackend(tmp_path), namespace="n").execute("q")
    again = Cache(inner, backend=DiskBackend(tmp_path), namespace="n")
    assert await again.execute("q") == [1, 2, 3]
    assert inner.call_count == 1
    assert again.hits == 1


# --- many processes, one folder ----------------------------------------------------------

KEYS = [f"key-{i}" for i in range(4)]


def _value(writer: int, n: int) -> dict[str, object]:
    # big enough that a torn write would be visible; self-checking through "digest"
    payload = f"{writer}:{n}:" + "x" * (20_000 + 997 * n % 5000)
    return {
        "writer": writer,
        "n": n,
        "payload": payload,
        "digest": hashlib.sha256(payload.encode()).hexdigest(),
    }


def _hammer(directory: str, writer: int, rounds: int) -> tuple[int, int, list[str]]:
    backend = DiskBackend(directory)
    reads = hits = 0
    problems: list[str] = []
    for n in range(rounds):
        key = KEYS[(writer + n) % len(KEYS)]
        backend.set_sync(key, _value(writer, n), None)
        for other in KEYS:
            found, value = backend.get_sync(other)
            reads += 1
            if not found:
                continue
            hits += 1
            if set(value) != {"writer", "n", "payload", "digest"} or (
                hashlib.sha256(value["payload"].encode()).hexdigest() != value["digest"]
            ):
                problems.append(f"inconsistent value for {other}: {json.dumps(value)[:80]}")
    if backend.corrupt:
        problems.append(f"{backend.corrupt} corrupt reads")
    return reads, hits, problems


@pytest.mark.slow
def test_many_processes_never_read_a_partial_entry(tmp_path: Path) -> None:
    # ProcessPoolExecutor, not Pool: a worker that dies makes it raise BrokenProcessPool,
    # where Pool loses the task and waits forever; the timeout bounds a stuck worker.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        futures = [pool.submit(_hammer, str(tmp_path), w, 150) for w in range(4)]
        results = [f.result(timeout=600) for f in futures]
    reads = sum(r for r, _, _ in results)
    hits = sum(h for _, h, _ in results)
    problems = [p for _, _, ps in results for p in ps]
    assert problems == []
    assert reads == 4 * 150 * len(KEYS)
    assert hits > reads // 2  # the processes really did read each other's entries
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


async def test_disk_backend_from_async_code_under_concurrency(tmp_path: Path) -> None:
    backend = DiskBackend(tmp_path)
    await asyncio.gather(*(backend.set("k", _value(i, i), None) for i in range(10)))
    found, value = await backend.get("k")
    assert found
    assert hashlib.sha256(value["payload"].encode()).hexdigest() == value["digest"]
