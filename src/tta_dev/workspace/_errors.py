"""The workspace package's one exception: bad input, reported as one line."""

from __future__ import annotations

from tta_dev._safeio import InputError


class WorkspaceError(InputError):
    """The workspace, its lock or a request about it is unusable as given.

    The message is one line that says what is wrong and how to fix it; the CLI prints it
    and exits 2. An ``InputError`` (so a ``TtaDevError`` and a ``ValueError``): line
    breaks are escaped and the message is cut at ``tta_dev._safeio.MESSAGE_LIMIT``
    characters, whatever input a message quotes.
    """
