"""The root's dependency groups: a package only they lock, upgraded, must select every member."""

from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.devtools.audit import (
    ROOT_GROUPS,
    audit,
    generate_workspace,
    plan_mutations,
    render_audit,
)
from tta_dev.workspace import load_workspace

# Each runs pytest or git/uv/ruff in subprocesses: seconds apiece, in the unit session
# only (compat runs the same code on other Pythons without them).
pytestmark = pytest.mark.slow

_HELPER_TEST = "tests/deep/test_helper_use.py"


def test_the_plan_breaks_a_package_only_the_root_dev_group_locks(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 4)
    workspace = load_workspace(root)
    mutations, skipped = plan_mutations(workspace, kinds=("dependency",))
    assert [(m.member, m.package) for m in mutations] == [
        ("pkg2", "pyyaml"),
        (ROOT_GROUPS, "mdurl"),  # the root tests' helper imports it; no member locks it
    ]
    shared = mutations[1]
    assert (shared.path, shared.old_version, shared.new_version) == ("uv.lock", "0.1.2", "1.0.0")
    assert shared.imports == ("mdurl",)
    assert not any(s.startswith(ROOT_GROUPS) for s in skipped)
    # Nothing installed to break: the line names the packages only the root's groups lock.
    _, skipped = plan_mutations(workspace, kinds=("dependency",), breakable={})
    assert skipped[-1] == (
        f"{ROOT_GROUPS}: none of the packages only they lock (mdurl) is"
        " installed here, locked once and unneeded by pytest and its plugins"
    )
    # Code mutations alone plan nothing for the root's groups.
    mutations, skipped = plan_mutations(workspace, kinds=("raise",))
    assert ROOT_GROUPS not in {m.member for m in mutations} | {s.split(":")[0] for s in skipped}


def test_a_package_a_member_also_locks_is_left_to_the_member_rule(tmp_path: Path) -> None:
    root = generate_workspace(tmp_path / "gen", 2)
    lock = root / "uv.lock"
    pkg0 = 'source = { editable = "packages/pkg0" }\n'
    text = lock.read_text("utf-8")
    assert text.count(pkg0) == 1
    # pkg0 now locks mdurl itself: no package is the root's alone.
    lock.write_text(
        text.replace(pkg0, pkg0 + 'dependencies = [\n    { name = "mdurl" },\n]\n'),
        "utf-8",
    )
    _, skipped = plan_mutations(load_workspace(root), kinds=("dependency",))
    assert skipped[-1] == (
        f"{ROOT_GROUPS}: every third-party package its groups lock is in a member's closure"
        " too (the member rule selects for it)"
    )
    # Without the root's group nothing is there to break, and the line says so.
    group = '\n[manifest.dependency-groups]\ndev = [{ name = "mdurl", specifier = ">=0.1" }]\n'
    assert group in text
    lock.write_text(text.replace(group, ""), "utf-8")
    _, skipped = plan_mutations(load_workspace(root), kinds=("dependency",))
    assert skipped[-1].startswith(f"{ROOT_GROUPS}: the root locks no dependency groups in uv.lock")


def test_without_the_root_groups_rule_the_upgrade_escapes_and_the_rule_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine before 473942a: the root's groups were in no member's closure. (With the
    # rule, test_audit.py shows the same upgrade selecting every member and caught.)
    monkeypatch.setattr(
        "tta_dev.workspace._affected.root_groups_closure", lambda _lock: frozenset()
    )
    root = generate_workspace(tmp_path / "gen", 2)
    # Alone, the rule that tests run when a package they import changes catches it too:
    # tests/helpers.py imports mdurl, so the test using it runs in pkg0's job.
    alone = audit(root, kinds=("dependency",), plugins=False)
    assert alone.escaped == ()
    (shared,) = [r for r in alone.runs if r.mutation.member == ROOT_GROUPS]
    assert shared.affected == ("pkg0",)
    assert shared.selection_failed == (_HELPER_TEST,)
    # Without that rule either (the engine before it), the upgrade escapes.
    monkeypatch.setattr("tta_dev.workspace._affected._tests_importing_changes", lambda *_args: [])
    report = audit(root, kinds=("dependency",), plugins=False)
    (escape,) = report.escaped
    assert escape.mutation.member == ROOT_GROUPS
    assert escape.affected == ()
    assert escape.missed == (_HELPER_TEST,)
    (rule,) = escape.rules
    assert rule.startswith(f"{_HELPER_TEST} belongs to pkg0 (members_for_test)")
    assert "mdurl is locked only by the root's dependency groups" in rule
    assert "its upgrade to 1.0.0 affected none of them" in rule
    assert f"{ROOT_GROUPS} dependency mdurl" in render_audit(report)
    assert "ESCAPED" in render_audit(report)
