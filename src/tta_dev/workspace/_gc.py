"""Pausing the cyclic garbage collector around bulk allocation."""

from __future__ import annotations

import gc
from collections.abc import Generator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Generator[None]:
    """Reading a large lock or workspace allocates many objects and no reference cycles.

    The collector would rescan all of them again and again as they pile up (growth that
    looks quadratic at a thousand members); pausing it for the duration keeps reading
    linear. The previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
