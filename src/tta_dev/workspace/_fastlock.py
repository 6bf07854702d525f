"""A fast reader for the layout uv writes ``uv.lock`` in; anything else goes to ``tomllib``.

``tomllib`` is pure Python and a lock is mostly wheel hashes, so reading a lock dominated
the cost of affected-member detection. uv writes locks in one fixed layout: table
headers, ``key = value`` lines, multi-line arrays with one item per line, inline tables
with bare keys and double-quoted strings. This reader drops what the lock reader never
looks at (sdists, wheels, package metadata), recognises the common line shapes with
regular expressions, and converts the rest through ``json``. The moment a line is not
in that layout (comments, literal or multi-line strings, dotted keys, escapes JSON does
not share, duplicate keys) it returns ``None`` and the caller parses with ``tomllib``,
so the result is always what ``tomllib`` would give for the kept parts.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any, cast

# A basic string with no escapes: TOML forbids control characters other than tab in it.
_STR = r'"([^"\\\x00-\x08\x0a-\x1f\x7f]*)"'
_STR_NC = r'"[^"\\\x00-\x08\x0a-\x1f\x7f]*"'
_HEADER = re.compile(r"(\[\[?)([A-Za-z0-9_.-]+)(\]\]?)")
_KEY_VALUE = re.compile(r"([A-Za-z0-9_-]+|" + _STR_NC + r") = (.*)")
_STRING = re.compile(_STR)
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_STRINGS = re.compile(r"\[(?:" + _STR_NC + r"(?:, " + _STR_NC + r")*)?\]")
_STRING_ITEM = re.compile(_STR)
_SOURCE = re.compile(r"\{ ([a-z]+) = " + _STR + r" \}")
_DEPENDENCY = re.compile(
    r"\{ name = "
    + _STR.replace("(", "(?P<name>", 1)
    + r"(?:, version = "
    + _STR.replace("(", "(?P<version>", 1)
    + ")?"
    + r"(?:, source = \{ (?P<kind>[a-z]+) = "
    + _STR.replace("(", "(?P<location>", 1)
    + r" \})?"
    + r"(?:, marker = "
    + _STR.replace("(", "(?P<marker>", 1)
    + ")?"
    + r"(?:, extra = (?P<extra>\[(?:"
    + _STR_NC
    + r"(?:, "
    + _STR_NC
    + r")*)?\]))?"
    + r" \}"
)
# Outside strings, once bare keys are quoted, only these may reach json.
_JSON_SAFE = re.compile(r'[ {}\[\],:"0-9A-Za-z_.+-]*')
_SPLIT_STRINGS = re.compile(
    r'("(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*")'
)
_BARE_KEY = re.compile(r"([A-Za-z0-9_-]+) = ")
_SKIPPED_TABLES = ("[package.metadata", "[[package.metadata")


class _NotUvLayout(Exception):
    """The text is not in uv's layout: parse it with ``tomllib`` instead."""


_FIRST_PACKAGE = "\n[[package]]\n"


def parse_uv_lock(text: str) -> dict[str, Any] | None:
    """The lock as ``tomllib`` would read it, minus sdists, wheels and package metadata.

    The head of the lock (everything before the first ``[[package]]``: options,
    conflicts, the manifest) is small and may hold any TOML, so ``tomllib`` reads it; the
    packages after it go through the fast path. ``None`` when they stray from uv's
    layout; then use ``tomllib`` for everything.
    """
    split = text.find(_FIRST_PACKAGE)
    head, packages = (text, "") if split == -1 else (text[: split + 1], text[split + 1 :])
    try:
        data = tomllib.loads(head)
        if "package" in data:
            return None
        rest = _parse(packages)
    except (_NotUvLayout, ValueError, IndexError, KeyError):
        return None  # tomllib's TOMLDecodeError is a ValueError too
    if set(rest) - {"package"}:
        return None  # only package tables may follow the first package
    if "package" in rest:
        data["package"] = rest["package"]
    return data


def _parse(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    target = root
    skip_table = False
    lines = iter(text.splitlines())
    for line in lines:
        if not line:
            continue
        if line[0] == "[":
            skip_table = line.startswith(_SKIPPED_TABLES)
            if not skip_table:
                target = _open_table(root, line)
            continue
        if skip_table:
            continue
        match = _KEY_VALUE.fullmatch(line)
        if match is None:
            raise _NotUvLayout(line)
        key, raw = match.groups()
        if key[0] == '"':
            key = key[1:-1]
        if key in target:
            raise _NotUvLayout(f"duplicate key {key}")
        if raw == "[":
            items: list[Any] = []
            for item in lines:
                if item == "]":
                    break
                if not item.startswith("    ") or not item.endswith(","):
                    raise _NotUvLayout(item)
                if key != "wheels":
                    items.append(_value(item[4:-1]))
            else:
                raise _NotUvLayout("unterminated array")
            if key != "wheels":
                target[key] = items
            continue
        if key in ("sdist", "wheels"):
            continue
        target[key] = _value(raw)
    return root


def _open_table(root: dict[str, Any], line: str) -> dict[str, Any]:
    match = _HEADER.fullmatch(line)
    if match is None or len(match.group(1)) != len(match.group(3)):
        raise _NotUvLayout(line)
    keys = match.group(2).split(".")
    if not all(keys):
        raise _NotUvLayout(line)
    node: dict[str, Any] = root
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if isinstance(child, list):
            child = cast(list[Any], child)[-1]
        if not isinstance(child, dict):
            raise _NotUvLayout(line)
        node = cast(dict[str, Any], child)
    last = keys[-1]
    if match.group(1) == "[[":
        array = node.setdefault(last, [])
        if not isinstance(array, list):
            raise _NotUvLayout(line)
        table: dict[str, Any] = {}
        cast(list[Any], array).append(table)
        return table
    if last in node:
        raise _NotUvLayout(f"table {line} defined twice")
    table = node[last] = {}
    return table


def _value(raw: str) -> Any:
    match = _DEPENDENCY.fullmatch(raw)
    if match is not None:
        found: dict[str, Any] = {"name": match["name"]}
        if match["version"] is not None:
            found["version"] = match["version"]
        if match["kind"] is not None:
            found["source"] = {match["kind"]: match["location"]}
        if match["marker"] is not None:
            found["marker"] = match["marker"]
        if match["extra"] is not None:
            found["extra"] = _STRING_ITEM.findall(match["extra"])
        return found
    match = _STRING.fullmatch(raw)
    if match is not None:
        return match.group(1)
    match = _SOURCE.fullmatch(raw)
    if match is not None:
        return {match.group(1): match.group(2)}
    if _STRINGS.fullmatch(raw):
        return _STRING_ITEM.findall(raw)
    if _INTEGER.fullmatch(raw):
        return int(raw)
    return _json_value(raw)


def _json_value(raw: str) -> Any:
    """Inline tables and arrays: quote the bare keys outside strings, then ``json``."""
    parts = _SPLIT_STRINGS.split(raw)
    for i in range(0, len(parts), 2):  # even parts lie outside strings
        if '"' in parts[i]:
            raise _NotUvLayout(raw)
        parts[i] = _BARE_KEY.sub(r'"\1": ', parts[i])
        if not _JSON_SAFE.fullmatch(parts[i]):
            raise _NotUvLayout(raw)
    converted = "".join(parts)
    if ",]" in converted.replace(" ", "") or ",}" in converted.replace(" ", ""):
        raise _NotUvLayout(raw)
    return json.loads(converted, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise _NotUvLayout(name)  # NaN and Infinity are JSON's, not TOML's


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    table = dict(pairs)
    if len(table) != len(pairs):
        raise _NotUvLayout("duplicate key in an inline table")
    return table
