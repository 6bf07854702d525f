"""Reading TOML files into checked, typed values with one-line errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

# tomli's compiled (mypyc) build of the parser the standard library vendors as tomllib:
# the same TOML 1.0 reading, 2-3x faster (docs/benchmarks.md). tomli 2.3 reads TOML 1.1,
# which accepts what tomllib rejects, hence the pin below 2.3 in pyproject.toml.
import tomli

from tta_dev._safeio import InputError, check_toml_text, one_line, read_text
from tta_dev.workspace._errors import WorkspaceError

Table = Mapping[str, Any]
TOMLDecodeError = tomli.TOMLDecodeError


def loads(text: str, where: str = "TOML text") -> dict[str, Any]:
    """TOML text as tomllib reads it (``TOMLDecodeError`` when it is invalid).

    First ``tta_dev._safeio.check_toml_text``: nesting deeper than uv reads (80) or a lone
    carriage return is a ``WorkspaceError`` before the parser sees it (the compiled parser
    recurses on the C stack, and is quadratic in the parts of a dotted key).
    """
    try:
        check_toml_text(text, where)
    except InputError as exc:
        raise WorkspaceError(str(exc)) from exc
    return tomli.loads(text)


def parse_toml(text: str, where: str) -> Table:
    """Parse TOML text, bounded (``loads``); ``where`` names it in errors."""
    try:
        return loads(text.removeprefix("\ufeff"), where)
    except TOMLDecodeError as exc:
        raise WorkspaceError(
            f"{where}: invalid TOML ({one_line(str(exc), 200)}): fix the file"
        ) from exc


def read_toml(path: Path, where: str | None = None) -> Table:
    """Read and parse a TOML file: only a regular file, of bounded size and nesting.

    Missing, not a regular file (a FIFO, a folder), too large, not UTF-8 or invalid: a
    ``WorkspaceError`` (``tta_dev._safeio.read_text``).
    """
    label = where or str(path)
    try:
        text = read_text(path, what=label)
    except InputError as exc:
        raise WorkspaceError(str(exc)) from exc
    return parse_toml(text, label)


def table(data: Table, key: str, where: str) -> Table:
    """``data[key]`` as a table (empty when absent)."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise WorkspaceError(f"{where}: `{key}` must be a table")
    return cast(Table, value)


def string(data: Table, key: str, where: str) -> str | None:
    """``data[key]`` as a string (``None`` when absent)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WorkspaceError(f"{where}: `{key}` must be a string")
    return value


def string_list(data: Table, key: str, where: str) -> tuple[str, ...]:
    """``data[key]`` as a list of strings (empty when absent)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in cast(list[Any], value)):
        raise WorkspaceError(f"{where}: `{key}` must be a list of strings")
    return tuple(cast(list[str], value))


def table_list(data: Table, key: str, where: str) -> tuple[Table, ...]:
    """``data[key]`` as a list of tables (empty when absent)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, Mapping) for v in cast(list[Any], value)
    ):
        raise WorkspaceError(f"{where}: `{key}` must be a list of tables")
    return tuple(cast(list[Table], value))
