"""``dependency`` mutations: a breaking upgrade in uv.lock, selected by the lock-aware engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tta_dev.devtools import audit as audit_module
from tta_dev.devtools.audit import (
    audit,
    break_lock,
    breakable_packages,
    generate_workspace,
    plan_mutations,
    render_audit,
)
from tta_dev.testing._support import unavailable
from tta_dev.workspace import (
    LockChange,
    affected_members,
    build_graph,
    diff_locks,
    load_workspace,
    parse_lock,
)

# Each runs pytest or git/uv/ruff in subprocesses: seconds apiece, in the unit session
# only (compat runs the same code on other Pythons without them).
pytestmark = pytest.mark.slow


def test_pytest_and_its_dependencies_are_never_broken() -> None:
    breakable = breakable_packages()
    # pytest's own closure, computed from its metadata: breaking it breaks the runner.
    assert not {"pytest", "pluggy", "iniconfig", "packaging", "pygments"} & breakable.keys()
    assert "yaml" in breakable["pyyaml"]
    # The workspace's own members are the code under test, never "a package to break".
    assert "pyyaml" not in breakable_packages(members=["PyYAML"])


def test_the_plan_breaks_pyyaml_for_its_one_direct_user(tmp_path: Path) -> None:
    workspace = load_workspace(generate_workspace(tmp_path / "gen", 4))
    mutations, skipped = plan_mutations(workspace, kinds=("dependency",))
    mutation, _root_groups = mutations  # the root's dev group: test_audit_root_groups.py
    assert (mutation.member, mutation.kind, mutation.path, mutation.package) == (
        "pkg2",
        "dependency",
        "uv.lock",
        "pyyaml",
    )
    assert (mutation.old_version, mutation.new_version) == ("6.0.4", "7.0.0")
    assert "yaml" in mutation.imports
    # pkg3 reaches PyYAML only through pkg2: nothing of its own to break.
    assert skipped == [
        f"{m}: no third-party dependency in uv.lock to break" for m in ("pkg0", "pkg1", "pkg3")
    ]
    _, skipped = plan_mutations(workspace, kinds=("dependency",), breakable={})
    assert "pkg2: none of its third-party dependencies (pyyaml) is installed here" in skipped[2]


def test_the_broken_lock_parses_and_reaches_the_users_only(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 6)
    text = (root / "uv.lock").read_text("utf-8")
    broken = break_lock(text, "pyyaml", "7.0.0")
    old, new = parse_lock(text), parse_lock(broken)
    (change,) = diff_locks(old, new).upgraded
    assert (change.name, change.old, change.new) == ("pyyaml", "6.0.4", "7.0.0")
    assert "pyyaml-7.0.0.tar.gz" in broken
    assert "pyyaml-6.0.4" not in broken
    workspace = load_workspace(root)
    result = affected_members(
        build_graph(workspace, old), ["uv.lock"], lock_change=LockChange(old, new)
    )
    # pkg3 through pkg2; pkg0, pkg1, pkg4, pkg5 hold no PyYAML and are not selected.
    assert sorted(result.names) == ["pkg2", "pkg3"]
    with pytest.raises(ValueError, match="locked 0 times"):
        break_lock(text, "requests", "3.0.0")


def test_uv_accepts_the_generated_lock_offline(tmp_path: Path) -> None:
    if shutil.which("uv") is None:
        unavailable("uv is not on PATH: pip install uv")
    root = generate_workspace(tmp_path / "gen", 4)
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    checked = subprocess.run(
        ["uv", "lock", "--check", "--offline"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr


def test_a_broken_pyyaml_is_caught_by_the_selection(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 4)
    report = audit(root, kinds=("dependency",), plugins=False)
    run, _root_groups = report.runs
    assert run.mutation.package == "pyyaml"
    assert run.affected == ("pkg2", "pkg3")
    assert not {"tests/test_pkg0.py", "tests/test_pkg1.py"} & set(run.selected)
    # pkg3 fails too: it imports pkg2, which imports the broken yaml.
    assert {"tests/test_pkg3.py", "packages/pkg3/tests/test_own_pkg3.py"} <= set(run.full_failed)
    assert run.selection_failed == run.full_failed
    assert report.escaped == ()


def test_an_engine_blind_to_the_lock_lets_the_upgrade_escape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = audit_module.affected_members

    def lock_blind(graph, paths, *, lock_change=None, **kwargs):  # type: ignore[no-untyped-def]
        # A selector that does not read uv.lock: a lock-only change affects no member.
        paths = [p for p in paths if p != "uv.lock"] if lock_change is not None else paths
        return real(graph, paths, **kwargs)

    monkeypatch.setattr(audit_module, "affected_members", lock_blind)
    root = generate_workspace(tmp_path / "gen", 4)
    report = audit(root, kinds=("dependency",), plugins=False)
    # Both upgrades escape: PyYAML's (pkg2's) and mdurl's (the root's dev group).
    escape, root_groups = report.escaped
    assert (escape.mutation.package, root_groups.mutation.package) == ("pyyaml", "mdurl")
    assert escape.affected == ()
    assert "tests/test_pkg3.py" in escape.missed
    assert any(
        rule.startswith("tests/test_pkg3.py belongs to pkg3") and "does not hold pyyaml" in rule
        for rule in escape.rules
    )
    assert "ESCAPED" in render_audit(report)


def test_a_dependency_members_dev_group_is_not_followed_and_the_audit_says_what_it_missed(
    tmp_path: Path,
) -> None:
    root = generate_workspace(tmp_path / "gen", 4)
    lock = root / "uv.lock"
    runtime = (
        'source = { editable = "packages/pkg2" }\ndependencies = [\n    { name = "pyyaml" },\n]\n'
    )
    dev_only = (
        'source = { editable = "packages/pkg2" }\n\n'
        '[package.dev-dependencies]\ndev = [\n    { name = "pyyaml" },\n]\n'
    )
    assert runtime in lock.read_text("utf-8")
    # pkg2 imports yaml at run time but locks it in its dev group only (a packaging bug):
    # pkg2's own tests install its groups, pkg3's do not, so the engine selects pkg2 only.
    lock.write_text(lock.read_text("utf-8").replace(runtime, dev_only), "utf-8")
    report = audit(root, kinds=("dependency",), plugins=False)
    run, _root_groups = report.runs
    assert run.affected == ("pkg2",)
    assert not run.escaped  # pkg2's tests fail: the selection catches the upgrade
    assert {"tests/test_pkg3.py", "packages/pkg3/tests/test_own_pkg3.py"} <= set(run.missed)
    assert any("tests/test_pkg3.py belongs to pkg3" in rule for rule in run.rules)
    assert "missed 3" in render_audit(report)
    assert "1 of them missing some failing files" in render_audit(report)


def _fake_distribution(site: Path, name: str, files: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"  # as wheels name it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", "utf-8")
    record = [*files, f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("".join(f"{f.split(',')[0]},,\n" for f in record), "utf-8")
    for path, text in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text, "utf-8")


def test_a_shared_namespace_is_broken_below_it_for_one_distribution_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # graphrag's shape: azure-core and azure-identity share `azure` (PEP 420, no
    # __init__). Breaking `azure` for an azure-identity upgrade broke azure.core too.
    site = tmp_path / "site"
    _fake_distribution(site, "nsaudit-core", {"nsaudit/core/__init__.py": "VALUE = 1\n"})
    _fake_distribution(
        site,
        "nsaudit-identity",
        {"nsaudit/identity/__init__.py": "VALUE = 2\n", "nsaudit/tool.py": "VALUE = 3\n"},
    )
    monkeypatch.syspath_prepend(str(site))
    breakable = breakable_packages()
    assert breakable["nsaudit-core"] == ("nsaudit.core",)
    assert breakable["nsaudit-identity"] == ("nsaudit.identity", "nsaudit.tool")
    shadow = tmp_path / "shadow"
    mutation = audit_module.Mutation(
        "m", "dependency", "uv.lock", "nsaudit-identity", "1.0", "2.0.0",
        breakable["nsaudit-identity"],
    )  # fmt: skip
    audit_module._shadow(shadow, mutation)  # pyright: ignore[reportPrivateUsage]
    check = (
        "import importlib\n"
        "import nsaudit.core\n"
        "for name in ('nsaudit.identity', 'nsaudit.tool'):\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except ImportError as e:\n        print(name, 'broken', 'tta-dev audit' in str(e))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), str(site)])}
    result = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
    )
    # The other distribution's part of the namespace still imports; this one's is broken.
    assert result.stdout.split("\n")[:2] == [
        "nsaudit.identity broken True",
        "nsaudit.tool broken True",
    ]
