"""A CLI in a subprocess, sent SIGTERM once it is mid-way: what it printed, never left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def killed_midway(
    args: Sequence[str], temp: Path, started: Callable[[], bool], *, limit: float = 120
) -> tuple[int, str]:
    """Run ``python args`` with ``TMPDIR=temp``; once ``started()``, SIGTERM it.

    Returns its exit code and stderr. If it ignores SIGTERM for ``limit`` seconds, SIGABRT
    makes it print every thread's stack (faulthandler) and the test fails with them.
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, "TMPDIR": str(temp), "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + limit
        while not started() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started(), f"never got mid-way within {limit:.0f} s"
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            _, stacks = process.communicate(timeout=30)
            pytest.fail(f"SIGTERM ignored for {limit:.0f} s; the stacks:\n{stacks.decode()}")
    finally:
        if process.poll() is None:  # a failed assertion above: never leave it running
            process.kill()
            process.communicate()
    return process.returncode, err.decode("utf-8", "replace")
