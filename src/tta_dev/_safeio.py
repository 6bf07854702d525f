"""Reading files and text a user (or an attacker) controls, with bounded cost.

Every entry point that reads a file it did not write goes through here:

- ``read_text`` opens only regular files (a FIFO, folder or ``/dev/zero`` is "not a
  regular file", never a hang or a ``MemoryError``), reads at most ``limit`` bytes and
  decodes strict UTF-8 (a leading BOM is dropped: uv reads such files too). Bytes are read
  as they are: a lone carriage return is not turned into a newline behind the parser's back.
- ``load_toml`` and ``load_json`` scan the text for its nesting depth (and, for TOML, the
  length of dotted keys) before handing it to the standard library parsers, which recurse
  (a ``RecursionError`` at 1,000 levels) or, for dotted keys, take quadratic time.
- ``InputError`` messages are one line, and ``quote``/``describe`` show at most ~80
  characters of any input, so a 200 KB value never becomes a 200 KB error line.

Only the standard library: every package and script may import this without cost.
"""

from __future__ import annotations

import errno
import json
import os
import re
import reprlib
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Callable

from tta_dev.errors import TtaDevError

__all__ = [
    "DEFAULT_LIMIT",
    "JSON_MAX_DEPTH",
    "TOML_MAX_DEPTH",
    "InputError",
    "check_json_depth",
    "check_toml_depth",
    "check_toml_text",
    "clip",
    "describe",
    "load_json",
    "load_toml",
    "quote",
    "read_text",
    "seconds",
]

#: Largest file ``read_text`` reads by default (32 MiB): the biggest real ``uv.lock`` files
#: are a few MB, and ``tomllib`` needs seconds per 10 MB, so more is an attack or a mistake.
DEFAULT_LIMIT = 32 * 1024 * 1024
#: Deepest TOML nesting (arrays and inline tables, and parts of one dotted key): uv's own
#: parser (toml_edit) stops at 80 ("cannot recurse further"), so nothing uv reads is lost.
TOML_MAX_DEPTH = 80
#: Deepest JSON nesting: far above any report or API answer we read, far below the
#: interpreter's recursion limit.
JSON_MAX_DEPTH = 100
#: Longest message an ``InputError`` keeps (after the one-line folding).
MESSAGE_LIMIT = 500
_BOM = "\ufeff"


class InputError(TtaDevError, ValueError):
    """A file or text cannot be used as given; the message is one bounded line.

    Line breaks in the message are shown escaped and it is cut at ``MESSAGE_LIMIT``
    characters, so whatever a caller interpolates, a CLI prints one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` with line breaks escaped, cut to ``limit`` characters."""
    text = "".join(
        c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in message[: limit * 2]
    )
    return text if len(text) <= limit and len(message) <= limit * 2 else text[: limit - 1] + "…"


def quote(text: str, limit: int = 80) -> str:
    """``text`` quoted like ``repr``, at most ``limit`` characters of it (then an ellipsis)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def clip(text: str, limit: int = 80) -> str:
    """``text`` itself when short, else its first ``limit`` characters and an ellipsis."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def describe(value: object, limit: int = 80) -> str:
    """A short ``repr`` of any parsed value: bounded in depth, items and length."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open_error(what: str, exc: OSError) -> InputError:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return InputError(f"{what} not found")
    if exc.errno == errno.EISDIR:
        return InputError(f"{what} is not a regular file (a folder)")
    reason = exc.strerror or type(exc).__name__
    return InputError(f"{what}: cannot read ({reason})")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def read_bytes(path: Path | str, *, what: str | None = None, limit: int = DEFAULT_LIMIT) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO never
    blocks the open and a file swapped for a FIFO after a ``stat`` is still caught.
    """
    label = what or str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _open_error(label, exc) from exc
    except ValueError as exc:  # an embedded NUL byte
        raise InputError(f"{label} is not a usable path ({exc})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{label} is not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise InputError(f"{label} is larger than {limit:,} bytes: is it the right file?")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # the file may grow between fstat and read
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _open_error(label, exc) from exc
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{label} is larger than {limit:,} bytes: is it the right file?")
    return b"".join(chunks)


def decode(data: bytes, what: str) -> str:
    """Strict UTF-8 with an optional leading BOM (dropped), as uv reads its files."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} is not UTF-8 text (byte {exc.start} is invalid): save it as UTF-8"
        ) from exc
    return text.removeprefix(_BOM)


def read_text(path: Path | str, *, what: str | None = None, limit: int = DEFAULT_LIMIT) -> str:
    """The UTF-8 text of the regular file ``path`` (see ``read_bytes`` and ``decode``)."""
    label = what or str(path)
    return decode(read_bytes(path, what=label, limit=limit), label)


# What the depth scans must step over: strings (their brackets and dots are text) and
# comments. Each alternative starts with a different character and has no nested
# quantifier, so the scan is linear.
# An unterminated string runs to the end of its line (or of the text): always a match,
# never a rescan.
# Loops are unrolled (`a*(?:b a*)*`) so that runs of plain characters cost no group each.
_TOML_STRINGS = (
    r'"""[^"\\]*(?:(?:\\[\s\S]?|""?(?!"))[^"\\]*)*(?:"""(?:""?)?|\Z)'  # multi-line basic
    r"|'''[\s\S]*?(?:'''(?:''?)?|\Z)"  # multi-line literal
    r'|"[^"\\\n]*(?:\\[^\n]?[^"\\\n]*)*"?'  # basic
    r"|'[^'\n]*'?"  # literal
)
_TOML_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\n]*')"""


def _toml_scanner(max_depth: int) -> re.Pattern[str]:
    # A dotted key (or a float, `1.5`: two parts) of more than `max_depth` parts is its own
    # token; bare words are consumed whole so a failed chain never rescans them.
    chain = rf"{_TOML_PART}(?:[ \t]*\.[ \t]*{_TOML_PART}){{{max_depth},}}"
    return re.compile(
        rf"(?P<chain>{chain})|(?P<text>{_TOML_STRINGS}|#[^\n]*|[A-Za-z0-9_-]+)"
        r"|(?P<open>[\[{]+)|(?P<close>[\]}]+)"
    )


_TOML_SCANNER = _toml_scanner(TOML_MAX_DEPTH)
_JSON_SCANNER = re.compile(
    r'(?P<text>"[^"\\]*(?:\\[\s\S]?[^"\\]*)*"?)|(?P<open>[\[{]+)|(?P<close>[\]}]+)'
)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _scan_depth(text: str, what: str, scanner: re.Pattern[str], max_depth: int) -> None:
    depth = 0
    for match in scanner.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += match.end() - match.start()
            if depth > max_depth:
                raise InputError(
                    f"{what}: nested deeper than {max_depth} levels (line"
                    f" {_line(text, match.start())}): flatten it"
                )
        elif kind == "close":
            depth = max(0, depth - (match.end() - match.start()))
        elif kind == "chain":
            raise InputError(
                f"{what}: a dotted key of more than {max_depth} parts (line"
                f" {_line(text, match.start())}): shorten it"
            )


def check_toml_depth(text: str, what: str, max_depth: int = TOML_MAX_DEPTH) -> None:
    """Raise an ``InputError`` when TOML ``text`` nests deeper than ``max_depth``."""
    scanner = _TOML_SCANNER if max_depth == TOML_MAX_DEPTH else _toml_scanner(max_depth)
    _scan_depth(text, what, scanner, max_depth)


def check_json_depth(text: str, what: str, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Raise an ``InputError`` when JSON ``text`` nests deeper than ``max_depth``."""
    _scan_depth(text, what, _JSON_SCANNER, max_depth)


_LONE_CR = re.compile(r"\r(?!\n)")


def check_toml_text(text: str, what: str, max_depth: int = TOML_MAX_DEPTH) -> None:
    """What any TOML parser should be spared: a lone carriage return (uv rejects it, and a
    text-mode read would have turned it into a newline) and nesting beyond ``max_depth``.

    For a caller with its own parser (tomli's compiled build recurses on the C stack).
    """
    lone = _LONE_CR.search(text)
    if lone is not None:
        raise InputError(
            f"{what}: invalid TOML (a carriage return alone at line {_line(text, lone.start())};"
            " only CRLF or LF end a line): fix the file"
        )
    check_toml_depth(text, what, max_depth)


def load_toml(
    source: Path | str,
    what: str | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    max_depth: int = TOML_MAX_DEPTH,
) -> dict[str, Any]:
    """Parse TOML from a file (a ``Path``) or from text (a ``str``), bounded.

    Errors are ``InputError``: missing, not a regular file, too large, not UTF-8, too
    deep, a carriage return that does not end a line (uv rejects it too), invalid TOML.
    """
    if isinstance(source, Path):
        label = what or str(source)
        text = read_text(source, what=label, limit=limit)
    else:
        label = what or "TOML text"
        text = source.removeprefix(_BOM)
    check_toml_text(text, label, max_depth)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"{label}: invalid TOML ({one_line(str(exc), 200)}): fix the file"
        ) from exc
    except RecursionError as exc:  # not expected after the scan; never a traceback
        raise InputError(f"{label}: nested too deeply: flatten it") from exc


def value_at(data: object, *keys: str) -> object:
    """``data[k1][k2]...`` when every step is a table, else ``None``.

    Parsed TOML is user input: a key holding a string where a table belongs is "no
    value" here, and the caller says what it expected.
    """
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = cast("dict[str, object]", data).get(key)
    return data


def table_at(data: object, *keys: str) -> dict[str, Any]:
    """``value_at`` when it is a table, else ``{}``."""
    found = value_at(data, *keys)
    return cast("dict[str, Any]", found) if isinstance(found, dict) else {}


def load_json(text: str, what: str = "JSON text", *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse JSON text, bounded in depth; errors are ``InputError``."""
    text = text.removeprefix(_BOM)
    check_json_depth(text, what, max_depth)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except (ValueError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        raise InputError(f"{what}: invalid JSON ({one_line(str(exc), 200)})") from exc


def seconds(*, allow_zero: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number of seconds (``nan`` and ``inf`` would wait
    forever); positive unless ``allow_zero``."""

    def parse(text: str) -> float:
        import argparse
        import math

        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text[:40]!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            kind = "non-negative" if allow_zero else "positive"
            raise argparse.ArgumentTypeError(f"must be a {kind} finite number, got {text[:40]!r}")
        return value

    return parse
