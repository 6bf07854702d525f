"""Testing helpers: the pytest plugin (fixtures, markers) and test doubles.

Names load on first use: the ``pytest11`` plugin lives in this package, so anything imported
here would be imported by every pytest run of every project that installs tta-dev.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tta_dev.testing._support import AgenticWorkspace, SyncCheck
    from tta_dev.testing.mock import MockCall, MockPrimitive

__all__ = ["AgenticWorkspace", "MockCall", "MockPrimitive", "SyncCheck"]

_WHERE = {
    "AgenticWorkspace": "tta_dev.testing._support",
    "SyncCheck": "tta_dev.testing._support",
    "MockCall": "tta_dev.testing.mock",
    "MockPrimitive": "tta_dev.testing.mock",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
