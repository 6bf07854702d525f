"""Testing helpers: the pytest plugin (fixtures, markers) and test doubles.

Names load on first use: the ``pytest11`` plugin lives in this package, so anything imported
here would be imported by every pytest run of every project that installs tta-dev.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tta_dev._lazy import lazy_getattr

if TYPE_CHECKING:
    from tta_dev.testing._support import AgenticWorkspace, SyncCheck
    from tta_dev.testing.mock import MockCall, MockPrimitive

__all__ = ["AgenticWorkspace", "MockCall", "MockPrimitive", "SyncCheck"]

_WHERE = {
    "AgenticWorkspace": "_support",
    "SyncCheck": "_support",
    "MockCall": "mock",
    "MockPrimitive": "mock",
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())
