"""Public names that load on first use (PEP 562), shared by the packages' ``__init__``.

A package whose public names live in heavy submodules (asyncio, OpenTelemetry, Graphviz,
httpx) lists them as ``name -> submodule`` and gets a module ``__getattr__``: importing the
package costs nothing, and the first access imports the one submodule that defines the name
(kept in the package's namespace afterwards, so the lookup happens once).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` loading ``name`` from ``package.<where[name]>``.

    ``where`` values are submodule names relative to ``package`` (``"_render"``).
    """

    def load(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return load
