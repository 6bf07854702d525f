"""The CLI imports only what the chosen command uses (issue "Speed").

Each case runs in a fresh interpreter and lists the modules the command added to
``sys.modules`` (what the interpreter and its ``.pth`` files loaded before is left out, so a
coverage run's own imports do not count).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = r"""
import contextlib, io, json, sys
before = set(sys.modules)
from tta_dev.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "out": out.getvalue(), "added": sorted(set(sys.modules) - before)}))
"""

HEAVY = ("asyncio", "importlib.metadata", "tta_dev.observability", "tta_dev.devtools")


def run_cli(*argv: str) -> tuple[int, str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=ROOT
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], report["out"], set(report["added"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "argv",
    [
        ("workspace", "affected", "--help"),
        ("workspace", "--help"),
        ("workspace", "members", "--root", "."),
    ],
)
def test_workspace_commands_import_no_heavy_module(argv: tuple[str, ...]) -> None:
    code, out, added = run_cli(*argv)
    assert code == 0
    assert out
    assert "tta_dev.cli._workspace" in added
    assert heavy_in(added) == []
    if "--help" in argv:  # help needs the format names, not the library
        assert "tta_dev.workspace._affected" not in added
        assert "packaging" not in added


def test_top_level_help_imports_no_command_group() -> None:
    code, out, added = run_cli("--help")
    assert code == 0
    for name in ("drift", "workspace", "profile"):
        assert name in out
    assert heavy_in(added) == []
    assert sorted(m for m in added if m.startswith("tta_dev.cli.")) == []
    assert "tta_dev.workspace" not in added


def test_version_reads_the_installed_version_only_when_asked() -> None:
    from tta_dev import __version__

    code, out, _ = run_cli("--version")
    assert code == 0
    assert out == f"tta-dev {__version__}\n"
    assert __version__ != "0+unknown"


def test_each_group_loads_only_itself() -> None:
    code, out, added = run_cli("drift", "--help")
    assert code == 0
    assert "--root" in out
    assert "tta_dev.cli._devtools" in added
    assert "tta_dev.cli._workspace" not in added
    assert "tta_dev.cli._observability" not in added
    assert "asyncio" not in added
