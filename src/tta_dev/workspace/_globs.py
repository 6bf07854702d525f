"""Path globs as uv matches them: ``*`` and ``?`` stay within one folder, ``**`` crosses.

``[...]`` is a class of characters (``[!...]`` its complement, ``a-z`` a range); like ``*``
and ``?`` it never matches ``/``. A reversed range (``[z-a]``), a ``[`` that is never
closed, or a ``**`` that is not a whole path component (``a**b``) is an invalid glob, as
for uv: a ``WorkspaceError`` naming the pattern.

Matching takes time linear in the path, whatever the pattern: a pattern with at most one
wildcard runs as a regular expression (one quantifier cannot backtrack more than once per
character), any other as a set of positions in the pattern advanced one character at a
time (a Thompson simulation, the positions held as the bits of an int). ``re`` alone would
take exponential time on ``*a*a*a*a*a*a*a*a*a*a*a*a*b`` against a long name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from tta_dev._safeio import quote
from tta_dev.workspace._errors import WorkspaceError

#: Longest glob (characters): no path a system can open is longer (PATH_MAX is 4,096 on
#: Linux), and compiling costs time in proportion.
MAX_GLOB = 4096


class _InvalidGlob(Exception):
    """Why a pattern is not a glob (raised inside ``_compile``)."""


# Token kinds. `**/` is two positions: its entry (which may skip the whole `(?:.*/)?`)
# and its loop (inside `.*`, left only by a `/`); the loop has no text of its own.
_LITERAL, _ONE, _CLASS, _STAR, _GLOBSTAR, _GLOBSTAR_DIR, _GLOBSTAR_DIR_LOOP = range(7)
_WILDCARDS = (_STAR, _GLOBSTAR, _GLOBSTAR_DIR)


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


@dataclass
class Glob:
    """A compiled glob: ``match`` a whole path, or ``feed`` it piece by piece.

    A state is an int whose bit ``i`` says "the text so far can end just before token
    ``i``"; bit ``len(tokens)`` is a complete match, and 0 means no continuation can match.
    """

    tokens: tuple[tuple[int, str], ...]
    regex: re.Pattern[str] | None  # set when the pattern has at most one wildcard
    _skippable: int = 0  # positions a wildcard may leave at once (to the next one)
    _skippable_dir: int = 0  # `**/` entries, which may jump past their loop position
    _steps: dict[str, tuple[int, int, int]] = field(default_factory=dict[str, tuple[int, int, int]])
    _classes: dict[int, re.Pattern[str]] = field(default_factory=dict[int, re.Pattern[str]])

    def __post_init__(self) -> None:
        for i, (kind, text) in enumerate(self.tokens):
            if kind in (_STAR, _GLOBSTAR):
                self._skippable |= 1 << i
            elif kind == _GLOBSTAR_DIR:
                self._skippable_dir |= 1 << i
            elif kind == _CLASS:
                self._classes[i] = re.compile(text)

    @property
    def start(self) -> int:
        """The state before any text."""
        return self._closure(1)

    def accepts(self, state: int) -> bool:
        """Whether the text fed to reach ``state`` matches the whole pattern."""
        return bool(state >> len(self.tokens))

    def match(self, path: str) -> bool:
        """Whether all of ``path`` matches."""
        if self.regex is not None:
            return self.regex.match(path) is not None
        return self.accepts(self.feed(self.start, path))

    def feed(self, state: int, text: str) -> int:
        """The state after ``text`` follows the text that led to ``state``."""
        steps = self._steps
        for char in text:
            if not state:
                return 0
            step = steps.get(char)
            if step is None:
                step = steps[char] = self._step(char)
            advance, jump, stay = step
            state = self._closure((state & stay) | ((state & advance) << 1) | ((state & jump) << 2))
        return state

    def _closure(self, state: int) -> int:
        # A wildcard may match nothing: whoever stands before it also stands after it.
        while True:
            wider = state | ((state & self._skippable) << 1) | ((state & self._skippable_dir) << 2)
            if wider == state:
                return state
            state = wider

    def _step(self, char: str) -> tuple[int, int, int]:
        """Masks of the positions ``char`` moves one on, moves two on, and keeps."""
        advance = jump = stay = 0
        for i, (kind, text) in enumerate(self.tokens):
            bit = 1 << i
            if kind == _LITERAL:
                advance |= bit if char == text else 0
            elif kind == _ONE:
                advance |= bit if char != "/" else 0
            elif kind == _CLASS:
                advance |= bit if self._classes[i].fullmatch(char) else 0
            elif kind == _STAR:
                stay |= bit if char != "/" else 0
            elif kind == _GLOBSTAR:
                stay |= bit
            elif kind == _GLOBSTAR_DIR:  # into the loop; a `/` may also end the group
                advance |= bit
                jump |= bit if char == "/" else 0
            else:  # the loop of `**/`: anything, then a `/` that may end it
                stay |= bit
                advance |= bit if char == "/" else 0
        return advance, jump, stay


def _tokens(pattern: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**", i):
            # uv's glob crate: `**` is a whole path component or an error (`a**b`, `***`).
            alone = (i == 0 or pattern[i - 1] == "/") and pattern[i + 2 : i + 3] in ("", "/")
            if not alone:
                raise _InvalidGlob(
                    f"recursive wildcards must form a single path component (`**` at position {i})"
                )
            i += 2
            if pattern.startswith("/", i):  # `**/` also matches no folder at all
                i += 1
                if not out or out[-1][0] != _GLOBSTAR_DIR_LOOP:  # `**/**/` is `**/`
                    out += [(_GLOBSTAR_DIR, "(?:.*/)?"), (_GLOBSTAR_DIR_LOOP, "")]
            elif not out or out[-1][0] != _GLOBSTAR:
                out.append((_GLOBSTAR, ".*"))
            continue
        if char == "*":
            if not out or out[-1][0] != _STAR:
                out.append((_STAR, "[^/]*"))
        elif char == "?":
            out.append((_ONE, "[^/]"))
        elif char == "[":
            # A `]` right after `[` or `[!` belongs to the class.
            first = i + 3 if pattern.startswith("[!", i) else i + 2
            end = pattern.find("]", first)
            if end == -1:
                raise _InvalidGlob(f"the `[` at position {i} is never closed")
            out.append((_CLASS, _class(pattern[i + 1 : end])))
            i = end
        else:
            out.append((_LITERAL, char))
        i += 1
    return out


@lru_cache(maxsize=512)
def _compile(pattern: str) -> Glob:
    if len(pattern) > MAX_GLOB:
        raise _InvalidGlob(f"longer than {MAX_GLOB:,} characters")
    tokens = _tokens(pattern)
    regex = None
    if sum(kind in _WILDCARDS for kind, _ in tokens) <= 1:
        source = "".join(re.escape(t) if k == _LITERAL else t for k, t in tokens)
        try:
            regex = re.compile(source + r"\Z", re.DOTALL)
        except re.error as exc:  # not expected: every character is escaped
            raise _InvalidGlob(str(exc)) from exc
    return Glob(tuple(tokens), regex)


def compile_glob(pattern: str) -> Glob:
    """The compiled (normalised) ``pattern``; an invalid one is a ``WorkspaceError``."""
    try:
        return _compile(normalise_pattern(pattern))
    except _InvalidGlob as exc:
        raise WorkspaceError(f"invalid glob {quote(pattern)}: {exc}: fix the pattern") from exc


def check_glob(pattern: str, where: str) -> None:
    """Raise a ``WorkspaceError`` naming ``where`` when ``pattern`` is not a valid glob."""
    try:
        compile_glob(pattern)
    except WorkspaceError as exc:
        raise WorkspaceError(f"{where}: {exc}") from exc


def normalise_pattern(pattern: str) -> str:
    """Drop ``./`` prefixes and trailing slashes so patterns compare like paths."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern.rstrip("/") or "."


def glob_match(pattern: str, path: str) -> bool:
    """Whether a ``/``-separated relative ``path`` matches the glob ``pattern``."""
    return compile_glob(pattern).match(path)


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` contains glob characters."""
    return any(c in pattern for c in "*?[")
