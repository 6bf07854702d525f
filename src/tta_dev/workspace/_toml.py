"""Reading TOML files into checked, typed values with one-line errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

# tomli's compiled (mypyc) build of the parser the standard library vendors as tomllib:
# the same TOML 1.0 reading, 2-3x faster (docs/benchmarks.md). tomli 2.3 reads TOML 1.1,
# which accepts what tomllib rejects, hence the pin below 2.3 in pyproject.toml.
import tomli

from tta_dev.workspace._errors import WorkspaceError

Table = Mapping[str, Any]
TOMLDecodeError = tomli.TOMLDecodeError


def loads(text: str) -> dict[str, Any]:
    """TOML text as tomllib reads it (``TOMLDecodeError`` when it is invalid)."""
    return tomli.loads(text)


def parse_toml(text: str, where: str) -> Table:
    """Parse TOML text; ``where`` names the file in the error message."""
    try:
        return loads(text)
    except TOMLDecodeError as exc:
        raise WorkspaceError(f"{where}: invalid TOML ({exc}): fix the file") from exc


def read_toml(path: Path, where: str | None = None) -> Table:
    """Read and parse a TOML file; a missing or unreadable file is a ``WorkspaceError``."""
    label = where or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise WorkspaceError(f"{label} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{label}: cannot read ({exc})") from exc
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
