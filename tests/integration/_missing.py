"""What an integration test does when a service or binary it needs is not there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip locally, saying how to fix it; fail in CI (``CI`` set).

    CI must never pass having run nothing: there, a missing service is a broken machine,
    not a reason to skip. ``CI`` counts when set at all, as nox reads it.
    """
    if "CI" in os.environ:
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)
