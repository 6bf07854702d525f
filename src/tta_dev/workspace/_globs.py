"""Path globs as uv matches them: ``*`` and ``?`` stay within one folder, ``**`` crosses."""

from __future__ import annotations

import re
from functools import lru_cache


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
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def normalise_pattern(pattern: str) -> str:
    """Drop ``./`` prefixes and trailing slashes so patterns compare like paths."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.rstrip("/") or "."


def glob_match(pattern: str, path: str) -> bool:
    """Whether a ``/``-separated relative ``path`` matches the glob ``pattern``."""
    return _compile(normalise_pattern(pattern)).match(path) is not None


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` contains glob characters."""
    return any(c in pattern for c in "*?[")
