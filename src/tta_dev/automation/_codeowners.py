"""CODEOWNERS with GitHub's rules, which are not quite gitignore's.

* The file is ``.github/CODEOWNERS``, else ``CODEOWNERS``, else ``docs/CODEOWNERS``: the
  first found is the only one read.
* Each line is a pattern and zero or more owners (``@user``, ``@org/team``, an email).
  The **last** matching line decides, and its owners replace (never join) earlier ones;
  a matching line without owners leaves the file unowned.
* Patterns: a pattern without a ``/`` (other than a trailing one) matches at any depth; a
  leading or inner ``/`` anchors it to the root; a trailing ``/`` matches a folder and
  everything below it; a pattern that names a file or folder also matches what is below
  it, except that a last segment of ``*`` (``/docs/*``) matches direct children only.
  ``*`` and ``?`` stay within one folder, ``**`` crosses folders, ``\\`` escapes a
  character (``\\ `` for a space).
* What GitHub rejects is rejected here too, with the line number, never skipped in
  silence: ``!`` negation, ``[ ]`` ranges, a leading ``\\#``, an inline ``# comment``
  (``#`` is only a comment at the start of a line), anything that is not an owner.
  GitHub ignores those lines and uses the rest; so does :class:`Codeowners`.

Matching walks pattern segments against path segments once, keeping the set of path
positions reached (no backtracking regex), so a hostile pattern costs at most
pattern length x path length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

__all__ = [
    "CODEOWNERS_LOCATIONS",
    "MAX_CODEOWNERS_BYTES",
    "Codeowners",
    "CodeownersError",
    "CodeownersRule",
    "Owner",
    "find_codeowners",
    "load_codeowners",
    "parse_codeowners",
]

#: Where GitHub looks, in order; the first file found is the only one used.
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
#: GitHub does not load a CODEOWNERS file larger than this.
MAX_CODEOWNERS_BYTES = 3 * 1024 * 1024

_USER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s/]+\.[^@\s/]+$")

OwnerKind = Literal["user", "team", "email"]


@dataclass(frozen=True)
class Owner:
    """A code owner as written: ``@user``, ``@org/team`` or an email address."""

    kind: OwnerKind
    text: str

    @property
    def login(self) -> str:
        """The user's login or the team's ``org/slug``, without ``@`` (the email as is)."""
        return self.text[1:] if self.kind != "email" else self.text

    @property
    def team_slug(self) -> str | None:
        """The team's slug (what the reviewers API takes), for a team."""
        return self.text.split("/", 1)[1] if self.kind == "team" else None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class CodeownersError:
    """A line GitHub rejects (and ignores): its number, its text, and why."""

    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


# A pattern segment's pieces: a literal character, "*" or "?".
_Pieces = tuple[tuple[Literal["lit", "star", "any"], str], ...]


@dataclass(frozen=True)
class CodeownersRule:
    """One valid line: its pattern and owners (empty: the file is unowned)."""

    line: int
    pattern: str
    owners: tuple[Owner, ...]

    @cached_property
    def _compiled(self) -> _Compiled:
        return _compile(self.pattern)

    def matches(self, path: str) -> bool:
        """Whether this line's pattern matches repository-relative ``path`` (a file)."""
        return self._compiled.matches(_split_path(path))


@dataclass(frozen=True)
class Codeowners:
    """A parsed CODEOWNERS file: its valid rules in file order, and its invalid lines."""

    source: str | None
    rules: tuple[CodeownersRule, ...]
    errors: tuple[CodeownersError, ...] = ()

    def rule_for(self, path: str) -> CodeownersRule | None:
        """The line that decides ``path``'s owners: the last one that matches."""
        parts = _split_path(path)
        for rule in reversed(self.rules):
            if rule._compiled.matches(parts):  # pyright: ignore[reportPrivateUsage]
                return rule
        return None

    def owners_of(self, path: str) -> tuple[Owner, ...]:
        """``path``'s owners (empty when no line matches or the deciding line names none)."""
        rule = self.rule_for(path)
        return rule.owners if rule is not None else ()


# -- parsing ---------------------------------------------------------------------------


def _split_words(line: str) -> list[str] | str:
    """Words split on unescaped whitespace (escapes kept); or why the line is broken."""
    words: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            if i + 1 == len(line):
                return "a trailing \\ escapes nothing"
            current.append(line[i : i + 2])
            i += 2
            continue
        if char in " \t":
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        words.append("".join(current))
    return words


def _owner(word: str) -> Owner | str:
    if word.startswith("#"):
        return (
            f"{word!r}: an inline # is not a comment in CODEOWNERS; put comments on their own line"
        )
    if _TEAM.match(word):
        return Owner("team", word)
    if _USER.match(word):
        return Owner("user", word)
    if _EMAIL.match(word):
        return Owner("email", word)
    return f"{word!r} is not an owner: use @user, @org/team or an email address"


def _pattern_problem(pattern: str) -> str | None:
    if pattern.startswith("\\#"):
        return "escaping a leading # with \\ does not work in CODEOWNERS"
    if pattern.startswith("!"):
        return "! (negation) does not work in CODEOWNERS"
    unescaped = re.sub(r"\\.", "", pattern)
    if "[" in unescaped or "]" in unescaped:
        return "[ ] (character ranges) do not work in CODEOWNERS"
    if unescaped.strip("/") == "" and "\\" not in pattern:
        return f"{pattern!r} names no file"
    return None


def parse_codeowners(text: str, source: str | None = "CODEOWNERS") -> Codeowners:
    """Parse CODEOWNERS ``text``; bad lines go to ``errors`` with their numbers."""
    rules: list[CodeownersRule] = []
    errors: list[CodeownersError] = []
    if len(text.encode("utf-8", "surrogateescape")) > MAX_CODEOWNERS_BYTES:
        error = CodeownersError(0, "", "larger than 3 MB: GitHub ignores the whole file")
        return Codeowners(source, (), (error,))
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r").strip()
        if not line or line.startswith("#"):
            continue
        words = _split_words(line)
        if isinstance(words, str):
            errors.append(CodeownersError(number, raw, words))
            continue
        pattern, rest = words[0], words[1:]
        problem = _pattern_problem(pattern)
        owners: list[Owner] = []
        for word in rest:
            if problem is not None:
                break
            owner = _owner(word)
            if isinstance(owner, str):
                problem = owner
            else:
                owners.append(owner)
        if problem is not None:
            errors.append(CodeownersError(number, raw, problem))
            continue
        rules.append(CodeownersRule(number, pattern, tuple(owners)))
    return Codeowners(source, tuple(rules), tuple(errors))


def find_codeowners(root: Path) -> Path | None:
    """The CODEOWNERS file GitHub uses in the repository at ``root``, if any."""
    for location in CODEOWNERS_LOCATIONS:
        candidate = root / location
        if candidate.is_file():
            return candidate
    return None


def load_codeowners(root: Path) -> Codeowners:
    """The repository's CODEOWNERS (an empty one, ``source`` ``None``, when there is none)."""
    path = find_codeowners(root)
    if path is None:
        return Codeowners(None, ())
    text = path.read_bytes().decode("utf-8", "replace")
    return parse_codeowners(text, path.relative_to(root).as_posix())


# -- matching --------------------------------------------------------------------------

_SegmentTest = Callable[[str], bool]


def _split_path(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split("/") if p)


def _anything(_name: str) -> bool:
    return True


def _segment_test(pieces: _Pieces) -> _SegmentTest:
    """The cheapest test for one segment: equality, prefix, suffix, substring, or the walk."""
    kinds = "".join("*" if k == "star" else "?" if k == "any" else "l" for k, _ in pieces)
    text = "".join(c for k, c in pieces if k == "lit")
    if "?" not in kinds and kinds.count("*") <= 2:
        core = kinds.strip("*")
        if "*" not in core:  # at most a leading and a trailing star around literals
            if kinds == "*":
                return _anything
            if not kinds.startswith("*") and not kinds.endswith("*"):
                return text.__eq__
            if not kinds.startswith("*"):
                return lambda name: name.startswith(text)
            if not kinds.endswith("*"):
                return lambda name: name.endswith(text)
            return lambda name: text in name
    return lambda name: _segment_match(pieces, name)


@dataclass(frozen=True)
class _Compiled:
    tests: tuple[_SegmentTest | None, ...]  # None stands for "**"
    literals: tuple[str, ...] | None  # anchored, no wildcard at all: the segments
    folder_only: bool  # trailing "/": only what is below a matching folder
    children_only: bool  # last segment "*": the match must be the whole path

    def matches(self, parts: tuple[str, ...]) -> bool:
        n = len(parts)
        if self.literals is not None:  # `/docs/api/`, `/setup.py`: compare a prefix
            k = len(self.literals)
            return parts[:k] == self.literals and (n > k if self.folder_only else n >= k)
        tests = self.tests
        if len(tests) == 2 and tests[0] is None and tests[1] is not None:
            test = tests[1]  # `*.py`, `docs/`, `apps`: any one folder or file name
            if self.children_only:
                return n > 0
            candidates = parts[:-1] if self.folder_only else parts
            return any(test(part) for part in candidates)
        reached: set[int] = {0}
        for test in tests:
            if not reached:
                return False
            if test is None:
                reached = set(range(min(reached), n + 1))
            else:
                reached = {j + 1 for j in reached if j < n and test(parts[j])}
        if self.folder_only:
            return any(0 < end < n for end in reached)
        if self.children_only:
            return n in reached
        return any(end > 0 for end in reached)


def _pieces(segment: str) -> _Pieces:
    out: list[tuple[Literal["lit", "star", "any"], str]] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(("lit", segment[i + 1]))
            i += 2
            continue
        if char == "*":
            if not out or out[-1][0] != "star":  # runs of * are one *
                out.append(("star", ""))
        elif char == "?":
            out.append(("any", ""))
        else:
            out.append(("lit", char))
        i += 1
    return tuple(out)


def _compile(pattern: str) -> _Compiled:
    folder_only = pattern.endswith("/") and not pattern.endswith("\\/")
    body = pattern[:-1] if folder_only else pattern
    anchored = "/" in body.rstrip("/")
    raw_segments = [s for s in body.split("/") if s]
    segments: list[_Pieces | None] = [None] if not anchored else []
    for raw in raw_segments:
        if raw == "**":
            if not segments or segments[-1] is not None:
                segments.append(None)
        else:
            segments.append(_pieces(raw))
    children_only = not folder_only and bool(raw_segments) and raw_segments[-1] == "*"
    literals = None
    if all(s is not None and all(k == "lit" for k, _ in s) for s in segments):
        literals = tuple("".join(c for _, c in s or ()) for s in segments)
    tests = tuple(None if s is None else _segment_test(s) for s in segments)
    return _Compiled(tests, literals, folder_only, children_only)


def _segment_match(pieces: _Pieces, name: str) -> bool:
    """Wildcard match of one segment: greedy, resuming after the last ``*`` (no recursion)."""
    p = i = 0
    star_p = star_i = -1
    while i < len(name):
        if p < len(pieces):
            kind, char = pieces[p]
            if kind == "star":
                star_p, star_i = p, i
                p += 1
                continue
            if kind == "any" or char == name[i]:
                p += 1
                i += 1
                continue
        if star_p >= 0:
            star_i += 1
            p, i = star_p + 1, star_i
            continue
        return False
    return all(kind == "star" for kind, _ in pieces[p:])
