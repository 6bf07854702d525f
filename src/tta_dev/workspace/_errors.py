"""The workspace package's one exception: bad input, reported as one line."""

from __future__ import annotations

from tta_dev.errors import TtaDevError


class WorkspaceError(TtaDevError, ValueError):
    """The workspace, its lock or a request about it is unusable as given.

    The message is one line that says what is wrong and how to fix it; the CLI prints it
    and exits 2. A ``ValueError`` so callers that already treat bad values as bad input
    (the ``tta-dev`` entry point does) need nothing new.
    """
