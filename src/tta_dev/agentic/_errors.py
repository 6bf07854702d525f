"""The agentic package's errors: all ``AgenticError`` (a ``TtaDevError``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tta_dev.errors import TtaDevError

if TYPE_CHECKING:
    from tta_dev.agentic._command import CommandResult

__all__ = ["AgenticError", "CommandFailed", "PromptFileError"]


class AgenticError(TtaDevError):
    """Base of the errors the agentic workflows raise on their own account."""


class PromptFileError(AgenticError, ValueError):
    """A prompt file is missing, or a step in it cannot be run; the message names file:line."""


class CommandFailed(AgenticError):
    """A ``Command(check=True)`` exited non-zero or timed out; ``result`` says how."""

    def __init__(self, result: CommandResult) -> None:
        how = "timed out" if result.timed_out else f"exited {result.exit_code}"
        super().__init__(f"{result.name}: {result.display} {how}")
        self.result = result
