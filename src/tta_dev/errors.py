"""The one base of every error tta-dev raises on its own account.

Each package keeps its own subclasses (``PrimitiveError``, ``WorkspaceError``,
``ServiceUnavailableError``, the CLI's ``UsageError``); a caller who wants "anything of
ours" catches ``TtaDevError`` in one clause, as httpx users catch ``httpx.HTTPError``.
"""

from __future__ import annotations

__all__ = ["TtaDevError"]


class TtaDevError(Exception):
    """Base class of every exception tta-dev raises itself (never of a library's own)."""
