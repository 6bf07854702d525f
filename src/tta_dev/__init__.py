"""tta-dev: one uv workspace as the single source of truth for every workflow a team runs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tta-dev")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
