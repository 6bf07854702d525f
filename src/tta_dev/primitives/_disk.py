"""DiskBackend: one file per entry, written atomically, readable by many processes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ._cache import JSON, MISS, Serializer

__all__ = ["DiskBackend", "default_cache_dir"]

_MAGIC = b"tta-cache-1 "
_SUFFIX = ".entry"


def default_cache_dir() -> Path:
    """``$VIRTUAL_ENV/cache`` when a virtual environment is active, else ``.venv/cache``."""
    venv = os.environ.get("VIRTUAL_ENV", "").strip()
    return Path(venv or ".venv") / "cache"


class DiskBackend:
    """Entries as files under ``directory`` (``default_cache_dir()`` unless given).

    Each write goes to a temporary file in the same folder and is renamed into place, so a
    reader in any process sees a whole old entry or a whole new one. Every entry carries a
    SHA-256 of its body and its key; an entry that fails either check (or cannot be decoded)
    is a miss and is counted in ``corrupt``. An expired entry is removed when read, unless
    it was replaced after the read. The folder (made absolute when the backend is made) is
    created on the first write. File
    work runs in a thread so the event loop never blocks on the disk.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, serializer: Serializer = JSON
    ) -> None:
        # Absolute now: a relative folder means the one under the cwd at construction, not
        # whatever the cwd is at each later call. Nothing is created until the first write.
        self.directory = (
            Path(directory) if directory is not None else default_cache_dir()
        ).absolute()
        self.serializer = serializer
        self.corrupt = 0

    def path_for(self, key: str) -> Path:
        """The file that holds ``key``'s entry."""
        return self.directory / (hashlib.sha256(key.encode()).hexdigest() + _SUFFIX)

    async def get(self, key: str) -> tuple[bool, Any]:
        return await asyncio.to_thread(self.get_sync, key)

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        await asyncio.to_thread(self.set_sync, key, value, ttl)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._unlink, self.path_for(key))

    async def clear(self) -> None:
        await asyncio.to_thread(self.clear_sync)

    def get_sync(self, key: str) -> tuple[bool, Any]:
        """Blocking ``get`` (for threads and other processes)."""
        path = self.path_for(key)
        try:
            with path.open("rb") as fh:
                raw = fh.read()
                read = os.fstat(fh.fileno())
        except FileNotFoundError:
            return MISS
        entry = self._decode(raw, key)
        if entry is None:
            self.corrupt += 1
            return MISS
        expires, value = entry
        if expires is not None and time.time() >= expires:
            self._unlink_if_unchanged(path, read)
            return MISS
        return True, value

    def set_sync(self, key: str, value: Any, ttl: float | None) -> None:
        """Blocking ``set``: temporary file + ``os.replace``."""
        meta = json.dumps(
            {"key": key, "expires": None if ttl is None else time.time() + ttl},
            separators=(",", ":"),
        ).encode()
        body = meta + b"\n" + self.serializer.dumps(value)
        raw = _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, self.path_for(key))
        except BaseException:
            self._unlink(Path(tmp))
            raise

    def clear_sync(self) -> None:
        """Blocking ``clear``: removes every entry file (not the folder)."""
        if self.directory.is_dir():
            for path in self.directory.glob("*" + _SUFFIX):
                if not path.name.startswith(".tmp-"):
                    self._unlink(path)

    def _decode(self, raw: bytes, key: str) -> tuple[float | None, Any] | None:
        header, sep, body = raw.partition(b"\n")
        if not sep or not header.startswith(_MAGIC):
            return None
        if header[len(_MAGIC) :] != hashlib.sha256(body).hexdigest().encode():
            return None
        meta, sep, payload = body.partition(b"\n")
        if not sep:
            return None
        try:
            entry = json.loads(meta)
            if entry["key"] != key:
                return None
            expires = entry["expires"]
            value = self.serializer.loads(payload)
            return (None if expires is None else float(expires)), value
        except (ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _unlink_if_unchanged(path: Path, read: os.stat_result) -> None:
        """Remove the expired file just read, unless another writer has replaced it since
        (every write renames a new file into place, so a replaced entry is another file)."""
        try:
            now = os.stat(path)
        except FileNotFoundError:
            return
        same = (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns)
        if same == (read.st_dev, read.st_ino, read.st_size, read.st_mtime_ns):
            DiskBackend._unlink(path)

    @staticmethod
    def _unlink(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
