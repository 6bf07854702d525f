"""SIGTERM as ``SystemExit``, so ``finally`` blocks and context managers run on ``kill``.

The default SIGTERM action ends the process at once: servers a session started keep
running and temporary folders stay behind. Inside ``sigterm_as_exit`` the signal raises
``SystemExit(128 + SIGTERM)`` in the main thread instead, and everything unwinds.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Generator


@contextlib.contextmanager
def sigterm_as_exit() -> Generator[None]:
    """Turn SIGTERM into ``SystemExit`` while the block runs (main thread only)."""

    def handler(signum: int, _frame: object) -> None:
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
