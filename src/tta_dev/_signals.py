"""SIGTERM as ``SystemExit``, so ``finally`` blocks and context managers run on ``kill``.

The default SIGTERM action ends the process at once: servers a session started keep
running and temporary folders stay behind. Inside ``sigterm_as_exit`` the signal raises
``SystemExit(128 + SIGTERM)`` in the main thread instead, and everything unwinds.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
from collections.abc import Generator
from pathlib import Path


class _Holding:
    """SIGTERMs that arrived while held: delivered when the last hold ends."""

    depth = 0
    pending: int | None = None


_HOLDING = _Holding()


@contextlib.contextmanager
def sigterm_as_exit() -> Generator[None]:
    """Turn SIGTERM into ``SystemExit`` while the block runs (main thread only)."""

    def handler(signum: int, _frame: object) -> None:
        if _HOLDING.depth:
            _HOLDING.pending = signum
            return
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def temporary_directory(prefix: str) -> Generator[Path]:
    """``tempfile.TemporaryDirectory(prefix=...)`` that a SIGTERM cannot leak.

    Under ``sigterm_as_exit`` a signal landing inside ``TemporaryDirectory()``, after its
    ``mkdtemp`` and before its finaliser exists, raises where nothing can remove the new
    folder. Here the exit waits until the object is made (Python-level: signal masks
    hold a signal for one thread only, and any thread may receive it), and the folder is
    removed before the exit goes on.
    """
    with _made(prefix) as folder:
        yield Path(folder)


def _made(prefix: str) -> tempfile.TemporaryDirectory[str]:
    made: tempfile.TemporaryDirectory[str] | None = None
    try:
        with sigterm_held():
            made = tempfile.TemporaryDirectory(prefix=prefix)
    except BaseException:
        if made is not None:
            made.cleanup()
        raise
    return made


@contextlib.contextmanager
def sigterm_held() -> Generator[None]:
    """Inside, a SIGTERM under ``sigterm_as_exit`` waits; it exits as the block ends.

    For the few steps that make something and hand it to whoever removes it (a folder, a
    started server): an exit between the two would leave it behind.
    """
    _HOLDING.depth += 1
    try:
        yield
    finally:
        _HOLDING.depth -= 1
        if not _HOLDING.depth and _HOLDING.pending is not None:
            signum, _HOLDING.pending = _HOLDING.pending, None
            raise SystemExit(128 + signum)
