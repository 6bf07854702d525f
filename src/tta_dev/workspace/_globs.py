"""Path globs as uv matches them: ``*`` and ``?`` stay within one folder, ``**`` crosses.

``[...]`` is a class of characters (``[!...]`` its complement, ``a-z`` a range); like ``*``
and ``?`` it never matches ``/``. A reversed range (``[z-a]``) is an invalid glob, as for
uv: a ``WorkspaceError`` naming the pattern.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tta_dev.workspace._errors import WorkspaceError


class _InvalidGlob(Exception):
    """Why a pattern is not a glob (raised inside ``_compile``)."""


def _class(body: str) -> str:
    """The regular expression of a ``[...]`` class body; every character is literal."""
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    items: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low > high:
                raise _InvalidGlob(f"range {low}-{high} is reversed")
            items.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            items.append(re.escape(body[i]))
            i += 1
    return "(?!/)[" + ("^" if negate else "") + "".join(items) + "]"


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # `**/` also matches no folder at all
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            # A `]` right after `[` or `[!` belongs to the class.
            first = i + 3 if pattern.startswith("[!", i) else i + 2
            end = pattern.find("]", first)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append(_class(pattern[i + 1 : end]))
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error as exc:  # not expected: every character is escaped
        raise _InvalidGlob(str(exc)) from exc


def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return _compile(normalise_pattern(pattern))
    except _InvalidGlob as exc:
        raise WorkspaceError(f"invalid glob {pattern!r}: {exc}: fix the pattern") from exc


def check_glob(pattern: str, where: str) -> None:
    """Raise a ``WorkspaceError`` naming ``where`` when ``pattern`` is not a valid glob."""
    try:
        _compiled(pattern)
    except WorkspaceError as exc:
        raise WorkspaceError(f"{where}: {exc}") from exc


def normalise_pattern(pattern: str) -> str:
    """Drop ``./`` prefixes and trailing slashes so patterns compare like paths."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.rstrip("/") or "."


def glob_match(pattern: str, path: str) -> bool:
    """Whether a ``/``-separated relative ``path`` matches the glob ``pattern``."""
    return _compiled(pattern).match(path) is not None


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` contains glob characters."""
    return any(c in pattern for c in "*?[")
