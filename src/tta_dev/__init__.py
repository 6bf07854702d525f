"""tta-dev: one uv workspace as the single source of truth for every workflow a team runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    __version__: str

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Read lazily: importlib.metadata costs ~0.1 s at import, and most imports of tta_dev
    # (the noxfile, the primitives' hot paths) never ask for the version.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tta-dev")
        except PackageNotFoundError:  # pragma: no cover - only from an uninstalled tree
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
