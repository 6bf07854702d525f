"""Import names of workspace members, read from their package folders and build config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.workspace import ImportPackage, import_names, import_packages, load_workspace


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _project(name: str, extra: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "1.0"\n{extra}'


ROOT = '[project]\nname = "root"\nversion = "0"\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'


def test_src_layout_flat_layout_and_single_modules(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            "packages/srcpkg/pyproject.toml": _project("src-pkg"),
            "packages/srcpkg/src/src_pkg/__init__.py": "",
            "packages/srcpkg/src/helper_mod.py": "",
            "packages/srcpkg/tests/test_x.py": "",
            "packages/flat/pyproject.toml": _project("flat"),
            "packages/flat/flat_pkg/__init__.py": "",
            "packages/flat/docs/conf.py": "",
            "packages/flat/setup.py": "",
            "packages/flat/tests/__init__.py": "",
        },
    )
    workspace = load_workspace(tmp_path)
    assert import_names(workspace, "src-pkg") == ("helper_mod", "src_pkg")
    assert import_packages(workspace, "flat") == (
        ImportPackage("flat_pkg", "packages/flat/flat_pkg"),
    )


def test_namespace_packages_are_descended(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            # livekit style: hatch names the namespace root, the package sits three levels down
            "packages/openai/pyproject.toml": _project(
                "livekit-plugins-openai",
                '[tool.hatch.build.targets.wheel]\npackages = ["livekit"]\n',
            ),
            "packages/openai/livekit/plugins/openai/__init__.py": "",
            "packages/openai/livekit/plugins/openai/llm.py": "",
            # opentelemetry style: src layout, namespace without any config
            "packages/requests/pyproject.toml": _project("opentelemetry-instrumentation-requests"),
            "packages/requests/src/opentelemetry/instrumentation/requests/__init__.py": "",
        },
    )
    workspace = load_workspace(tmp_path)
    assert import_names(workspace, "livekit-plugins-openai") == ("livekit.plugins.openai",)
    assert import_names(workspace, "opentelemetry-instrumentation-requests") == (
        "opentelemetry.instrumentation.requests",
    )


def test_hatch_src_prefix_and_a_namespace_folder_holding_modules(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            "packages/core/pyproject.toml": _project(
                "otel-core", '[tool.hatch.build.targets.wheel]\npackages = ["src/opentelemetry"]\n'
            ),
            # modules right in a folder without __init__.py: that folder is the package
            "packages/core/src/opentelemetry/instrumentation/instrumentor.py": "",
        },
    )
    workspace = load_workspace(tmp_path)
    assert import_names(workspace, "otel-core") == ("opentelemetry.instrumentation",)


@pytest.mark.parametrize(
    ("config", "files", "expected"),
    [
        (
            '[tool.uv.build-backend]\nmodule-name = "foo.bar"\n',
            {"src/foo/bar/__init__.py": ""},
            ("foo.bar",),
        ),
        (
            '[tool.uv.build-backend]\nmodule-root = ""\n',
            {"thing/__init__.py": ""},
            ("thing",),
        ),
        (
            '[tool.setuptools]\npackages = ["alpha", "alpha.sub"]\n',
            {"alpha/__init__.py": "", "alpha/sub/__init__.py": "", "other/__init__.py": ""},
            ("alpha",),
        ),
        (
            '[tool.setuptools.packages.find]\nwhere = ["lib"]\n',
            {"lib/gamma/__init__.py": ""},
            ("gamma",),
        ),
        (
            '[tool.poetry]\npackages = [{ include = "delta", from = "src" }]\n',
            {"src/delta/__init__.py": ""},
            ("delta",),
        ),
        (
            '[tool.flit.module]\nname = "epsilon"\n',
            {"src/epsilon/__init__.py": ""},
            ("epsilon",),
        ),
    ],
)
def test_build_backend_config_names_the_modules(
    tmp_path: Path, config: str, files: dict[str, str], expected: tuple[str, ...]
) -> None:
    member_files = {f"packages/m/{k}": v for k, v in files.items()}
    _write(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            "packages/m/pyproject.toml": _project("m", config),
            **member_files,
        },
    )
    assert import_names(load_workspace(tmp_path), "m") == expected


def test_nested_members_and_paths_outside_the_member_are_not_its_own(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "root"\nversion = "0"\n'
                '[tool.uv.workspace]\nmembers = ["inner"]\n'
                '[tool.hatch.build.targets.wheel]\npackages = ["../../etc", "root_pkg"]\n'
            ),
            "root_pkg/__init__.py": "",
            "inner/pyproject.toml": _project("inner"),
            "inner/inner_pkg/__init__.py": "",
        },
    )
    workspace = load_workspace(tmp_path)
    assert import_names(workspace, "root") == ("root_pkg",)
    assert import_names(workspace, "inner") == ("inner_pkg",)


def test_a_member_shipping_nothing_has_no_import_names(tmp_path: Path) -> None:
    _write(tmp_path, {"pyproject.toml": ROOT, "packages/meta/pyproject.toml": _project("meta")})
    assert import_names(load_workspace(tmp_path), "meta") == ()


def test_names_excluded_at_the_top_are_shipped_below_a_namespace(tmp_path: Path) -> None:
    # setuptools' flat-layout discovery leaves out top-level `tools`, `tests`, ... only;
    # `openhands.tools` inside the `openhands` namespace is a package like any other.
    _write(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            "packages/tools/pyproject.toml": _project(
                "acme-tools",
                '[tool.setuptools.packages.find]\ninclude = ["acme.tools*"]\nnamespaces = true\n',
            ),
            "packages/tools/acme/tools/__init__.py": "",
            "packages/tools/acme/tools/grep.py": "",
            "packages/docs/pyproject.toml": _project("acme-docs"),
            "packages/docs/src/acme/docs/render.py": "",
        },
    )
    workspace = load_workspace(tmp_path)
    assert import_packages(workspace, "acme-tools") == (
        ImportPackage("acme.tools", "packages/tools/acme/tools"),
    )
    assert import_names(workspace, "acme-docs") == ("acme.docs",)
