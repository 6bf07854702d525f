"""Builders for synthetic workspaces, locks, wheels and git repositories in temp folders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _string(text: str) -> str:
    """A TOML basic string (JSON's, with DEL escaped too, as TOML requires)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: str) -> str:
    """A bare key when TOML allows one (as uv writes them), else a quoted one."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def toml_value(value: Any) -> str:
    """A TOML inline value (strings as JSON strings, which TOML reads the same)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def project_toml(
    name: str,
    *,
    version: str | None = "0.1.0",
    dependencies: Sequence[str] = (),
    optional: Mapping[str, Sequence[str]] | None = None,
    groups: Mapping[str, Sequence[Any]] | None = None,
    workspace_sources: Sequence[str] = (),
    other_sources: Mapping[str, Mapping[str, Any]] | None = None,
    workspace: Mapping[str, Sequence[str]] | None = None,
    extra: str = "",
) -> str:
    """A member ``pyproject.toml``."""
    lines = ["[project]", f"name = {toml_value(name)}"]
    if version is None:
        lines.append('dynamic = ["version"]')
    else:
        lines.append(f"version = {toml_value(version)}")
    lines.append('requires-python = ">=3.11"')
    lines.append(f"dependencies = {toml_value(list(dependencies))}")
    if optional:
        lines.append("[project.optional-dependencies]")
        lines += [f"{json.dumps(k)} = {toml_value(list(v))}" for k, v in optional.items()]
    if groups:
        lines.append("[dependency-groups]")
        lines += [f"{json.dumps(k)} = {toml_value(list(v))}" for k, v in groups.items()]
    if workspace:
        lines.append("[tool.uv.workspace]")
        lines += [f"{k} = {toml_value(list(v))}" for k, v in workspace.items()]
    sources: dict[str, Any] = {n: {"workspace": True} for n in workspace_sources}
    sources.update(other_sources or {})
    if sources:
        lines.append("[tool.uv.sources]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in sources.items()]
    return "\n".join(lines) + "\n" + extra


def virtual_root_toml(members: Sequence[str], exclude: Sequence[str] = (), extra: str = "") -> str:
    text = f"[tool.uv.workspace]\nmembers = {toml_value(list(members))}\n"
    if exclude:
        text += f"exclude = {toml_value(list(exclude))}\n"
    return text + extra


def package(
    name: str,
    version: str | None = "1.0",
    source: Mapping[str, str] | None = None,
    dependencies: Sequence[Mapping[str, Any]] = (),
    optional: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A lock ``[[package]]`` entry as data (registry source unless given)."""
    return {
        "name": name,
        "version": version,
        "source": source or {"registry": "https://pypi.org/simple"},
        "dependencies": list(dependencies),
        "optional": dict(optional or {}),
        "groups": dict(groups or {}),
    }


def member_package(name: str, path: str, **kwargs: Any) -> dict[str, Any]:
    return package(name, kwargs.pop("version", "0.1.0"), {"editable": path}, **kwargs)


def lock_toml(
    packages: Sequence[Mapping[str, Any]],
    *,
    members: Sequence[str] = (),
    version: int = 1,
    revision: int | None = 3,
) -> str:
    """A ``uv.lock`` in uv's layout."""
    lines = [f"version = {version}"]
    if revision is not None:
        lines.append(f"revision = {revision}")
    lines.append('requires-python = ">=3.11"')
    if members:
        lines += ["", "[manifest]", f"members = {toml_value(sorted(members))}"]
    for pkg in packages:
        lines += ["", "[[package]]", f"name = {toml_value(pkg['name'])}"]
        if pkg["version"] is not None:
            lines.append(f"version = {toml_value(pkg['version'])}")
        lines.append(f"source = {toml_value(pkg['source'])}")
        if pkg["dependencies"]:
            lines.append("dependencies = [")
            lines += [f"    {toml_value(d)}," for d in pkg["dependencies"]]
            lines.append("]")
        for key, tables in (
            ("optional-dependencies", pkg["optional"]),
            ("dev-dependencies", pkg["groups"]),
        ):
            if tables:
                lines += ["", f"[package.{key}]"]
                lines += [f"{json.dumps(k)} = {toml_value(list(v))}" for k, v in tables.items()]
    return "\n".join(lines) + "\n"


def wheel(
    folder: Path, name: str, version: str, requires: Sequence[str] = (), extras: Sequence[str] = ()
) -> Path:
    """A minimal pure-Python wheel, so ``uv lock --offline`` can resolve from ``find-links``."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Provides-Extra: {e}\n" for e in extras)
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{dist}/METADATA", metadata)
        archive.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{dist}/RECORD", "")
    return path


class Repo:
    """A throwaway git repository (never this project's own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")
