"""The import packages each workspace member ships (``livekit.plugins.openai``).

Read from the member's folders, not from an installed environment: the module roots its
build backend names (uv_build ``module-root``/``module-name``, hatch wheel ``packages`` and
``only-include``, setuptools ``packages``/``package-dir``/``packages.find``, poetry
``packages``, flit ``module``), else ``src/`` when it exists, else the member folder.
Below a root, a folder with ``__init__.py`` is a package; a folder with no Python file is
a PEP 420 namespace level (``livekit/``, ``opentelemetry/instrumentation/``) and is
descended into; a top-level ``*.py`` file is a module. The walk is bounded (depth and
folder count) so a huge or hostile tree costs little.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tta_dev.workspace._model import PYPROJECT, Member, Workspace
from tta_dev.workspace._toml import Table, read_toml

__all__ = ["ImportPackage", "import_names", "import_packages", "shipped_paths"]

# Top-level folder and module names setuptools' flat-layout discovery leaves out (and
# their kin): they are never what a member ships. Below a namespace level they are.
_NOT_SHIPPED = frozenset(
    {
        "benchmark",
        "benchmarks",
        "bin",
        "build",
        "conftest",
        "dist",
        "doc",
        "docs",
        "example",
        "examples",
        "fabfile",
        "manage",
        "noxfile",
        "node_modules",
        "pavement",
        "scripts",
        "setup",
        "site-packages",
        "tasks",
        "test",
        "tests",
        "toxfile",
        "tools",
        "venv",
    }
)
_MAX_DEPTH = 6  # namespace levels below a root (a.b.c.d.e.f)
_MAX_FOLDERS = 4000  # folders looked at per member


@dataclass(frozen=True, order=True)
class ImportPackage:
    """One importable top package or module of a member.

    ``name`` is the dotted import name (``opentelemetry.instrumentation.requests``);
    ``path`` is its folder (or ``.py`` file), workspace-relative and ``/``-separated.
    """

    name: str
    path: str


def import_packages(workspace: Workspace, member: Member | str) -> tuple[ImportPackage, ...]:
    """The packages ``member`` ships, sorted by name (empty when it ships none)."""
    chosen = workspace.member(member) if isinstance(member, str) else member
    folder = workspace.root / chosen.path if chosen.path != "." else workspace.root
    data = read_toml(folder / PYPROJECT)
    skip = _nested_members(workspace, chosen)
    found: dict[str, str] = {}
    budget = [_MAX_FOLDERS]
    for root, prefix in _module_roots(folder, data):
        for name, path in _walk_root(root, prefix, skip, budget):
            relative = path.relative_to(workspace.root).as_posix()
            found.setdefault(name, relative)
    return tuple(sorted(ImportPackage(n, p) for n, p in found.items()))


def import_names(workspace: Workspace, member: Member | str) -> tuple[str, ...]:
    """The dotted import names ``member`` ships, sorted."""
    return tuple(p.name for p in import_packages(workspace, member))


def shipped_paths(
    workspace: Workspace,
    member: Member | str,
    packages: tuple[ImportPackage, ...] | None = None,
) -> tuple[str, ...] | None:
    """The folders and modules ``member`` ships (workspace-relative), or ``None``: unknown.

    ``None`` when its ``pyproject.toml`` maps other files into the wheel (hatch
    ``force-include``/``shared-data``, setuptools ``data-files``): then any file of the
    member may be what its dependents install, and none can be called its own.
    ``packages``: its ``import_packages``, when the caller has them already.
    """
    chosen = workspace.member(member) if isinstance(member, str) else member
    folder = workspace.root / chosen.path if chosen.path != "." else workspace.root
    tool = _table(read_toml(folder / PYPROJECT).get("tool"))
    if _has_key(_table(_table(tool.get("hatch")).get("build")), _EXTRA_FILES) or (
        "data-files" in _table(tool.get("setuptools"))
    ):
        return None
    found = import_packages(workspace, chosen) if packages is None else packages
    return tuple(p.path for p in found)


_EXTRA_FILES = frozenset({"force-include", "shared-data", "shared-scripts"})


def _has_key(data: Table, keys: frozenset[str], depth: int = 0) -> bool:
    """Whether a table, or one nested in it (hatch targets), holds one of ``keys``."""
    if data and depth > 4:
        return True  # deeper than any hatch layout: assume the worst
    return any(
        key in keys or _has_key(_table(value), keys, depth + 1) for key, value in data.items()
    )


def _nested_members(workspace: Workspace, member: Member) -> frozenset[Path]:
    """Folders of other members inside this member's folder: theirs, not its."""
    # Member paths are normalised workspace-relative strings: a prefix test is enough, where
    # Path.is_relative_to per pair cost 2 s of a 100-commit replay of 83 members.
    inside = f"{member.path}/"
    return frozenset(
        workspace.root / other.path
        for other in workspace.members
        if other.name != member.name
        and other.path != "."
        and (member.path == "." or other.path.startswith(inside))
    )


def _module_roots(folder: Path, data: Table) -> list[tuple[Path, str]]:
    """``(folder, dotted prefix)`` pairs to look for packages in, from config first."""
    tool = _table(data.get("tool"))
    roots: list[tuple[Path, str]] = []

    def add(relative: str, prefix: str = "") -> None:
        path = _inside(folder, relative)
        if path is not None:
            roots.append((path, prefix))

    uv_build = _table(_table(tool.get("uv")).get("build-backend"))
    if uv_build:
        module_root = uv_build.get("module-root", "src")
        base = module_root if isinstance(module_root, str) else "src"
        names = uv_build.get("module-name")
        for name in _strings(names):
            # The named module is shipped as is: no guessing below it.
            path = _inside(folder, f"{base}/{name.replace('.', '/')}")
            if path is not None:
                roots.append((path, "=" + name))
        if not _strings(names):
            add(base)
    hatch_wheel = _table(
        _table(_table(_table(tool.get("hatch")).get("build")).get("targets")).get("wheel")
    )
    for entry in (
        *_strings(hatch_wheel.get("packages")),
        *_strings(hatch_wheel.get("only-include")),
    ):
        entry = entry.strip("/")
        parent, _, leaf = entry.rpartition("/")
        path = _inside(folder, entry)
        if path is not None and leaf.isidentifier():
            # hatch ships `src/opentelemetry` as `opentelemetry`: the last part is the name.
            roots.append((_inside(folder, parent) or folder, "?" + leaf))
    setuptools = _table(tool.get("setuptools"))
    package_dir = {
        k: v for k, v in _table(setuptools.get("package-dir")).items() if isinstance(v, str)
    }
    packages = setuptools.get("packages")
    for name in _strings(packages):
        if "." in name and name.rsplit(".", 1)[0] in _strings(packages):
            continue
        top = name.split(".")[0]
        base = package_dir.get(top) or (f"{package_dir.get('', '.')}/{name.replace('.', '/')}")
        path = _inside(folder, base)
        if path is not None:
            roots.append((path, "=" + name))
    find = _table(_table(packages).get("find"))
    for where in _strings(find.get("where")):
        add(where)
    for entry in cast(list[Any], _table(tool.get("poetry")).get("packages") or []):
        spec = _table(entry)
        include = spec.get("include")
        if isinstance(include, str) and include.replace(".", "").replace("_", "a").isalnum():
            base = spec.get("from", ".")
            base = base if isinstance(base, str) else "."
            path = _inside(folder, f"{base}/{include}")
            if path is not None:
                roots.append((path, "=" + include))
    flit_name = _table(_table(tool.get("flit")).get("module")).get("name")
    if isinstance(flit_name, str):
        for candidate in (f"src/{flit_name}", flit_name, f"src/{flit_name}.py", f"{flit_name}.py"):
            path = _inside(folder, candidate)
            if path is not None:
                roots.append((path, "=" + flit_name))
                break
    if not roots:
        src = folder / "src"
        roots.append((src if src.is_dir() else folder, ""))
    return roots


def _walk_root(
    root: Path, prefix: str, skip: frozenset[Path], budget: list[int]
) -> Iterator[tuple[str, Path]]:
    """Packages under ``root``. A prefix ``=name`` means root *is* that package or module;
    ``?name`` means the folder ``root/name`` is a package or a namespace level."""
    if prefix.startswith("="):
        yield prefix[1:].removesuffix(".py"), root
        return
    if prefix.startswith("?"):
        leaf = prefix[1:]
        target = root / leaf
        if (target / "__init__.py").is_file() or (root / f"{leaf}.py").is_file():
            yield leaf, target if target.is_dir() else root / f"{leaf}.py"
            return
        yield from _walk_namespace(target, leaf, skip, budget, 1)
        return
    if not root.is_dir() or root in skip:
        return
    for entry in _entries(root, budget):
        name = entry.name
        if entry.is_file() and name.endswith(".py"):
            stem = name[:-3]
            if stem.isidentifier() and stem not in _NOT_SHIPPED and not stem.startswith("_"):
                yield stem, entry
        elif entry.is_dir() and name.isidentifier() and name not in _NOT_SHIPPED:
            if entry in skip or name.startswith(("_", ".")):
                continue
            if (entry / "__init__.py").is_file():
                yield name, entry
            else:
                yield from _walk_namespace(entry, name, skip, budget, 1)


def _walk_namespace(
    folder: Path, dotted: str, skip: frozenset[Path], budget: list[int], depth: int
) -> Iterator[tuple[str, Path]]:
    """Regular packages below a namespace folder (one with no ``__init__.py``)."""
    if depth > _MAX_DEPTH or folder in skip or not folder.is_dir():
        return
    entries = _entries(folder, budget)
    if any(e.is_file() and e.name.endswith(".py") for e in entries):
        # Modules directly in a folder without __init__.py: the folder is the package.
        yield dotted, folder
        return
    for entry in entries:
        name = entry.name
        # No _NOT_SHIPPED here: setuptools leaves those names out at the top level only,
        # and hatch and uv_build ship whatever lies below a namespace (`openhands.tools`).
        if not entry.is_dir() or not name.isidentifier():
            continue
        if name.startswith(("_", ".")) or entry in skip:
            continue
        if (entry / "__init__.py").is_file():
            yield f"{dotted}.{name}", entry
        else:
            yield from _walk_namespace(entry, f"{dotted}.{name}", skip, budget, depth + 1)


def _entries(folder: Path, budget: list[int]) -> list[Path]:
    if budget[0] <= 0:
        return []
    budget[0] -= 1
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it)
    except OSError:
        return []
    return [folder / n for n in names]


def _inside(folder: Path, relative: str) -> Path | None:
    """``folder/relative`` when it exists and stays inside ``folder`` (config is data)."""
    candidate = folder / relative.strip()
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(folder.resolve()) or not candidate.exists():
        return None
    return candidate


def _table(value: object) -> Table:
    return cast(Table, value) if isinstance(value, dict) else {}


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in cast(list[Any], value) if isinstance(v, str))
    return ()


@functools.cache
def _installed_modules() -> Mapping[str, frozenset[str]]:
    """Canonical distribution name → the top-level modules it installs, here."""
    import importlib.metadata

    from packaging.utils import canonicalize_name

    found: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            found.setdefault(canonicalize_name(distribution), set()).add(module)
    return {name: frozenset(modules) for name, modules in found.items()}


def distribution_modules(name: str) -> frozenset[str]:
    """The top-level modules a third-party distribution provides: what it installs in the
    environment tta-dev runs in (``uv run``: the workspace's), and its own name as a module
    (``PyYAML`` → ``yaml`` when installed, ``pyyaml`` always)."""
    from packaging.utils import canonicalize_name

    canonical = canonicalize_name(name)
    return _installed_modules().get(canonical, frozenset()) | {canonical.replace("-", "_")}
