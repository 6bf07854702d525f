from __future__ import annotations

from tests.unit.workspace.builders import lock_toml, member_package, package
from tests.unit.workspace.conftest import sample_lock_packages
from tta_dev.workspace import (
    LockDiff,
    Lockfile,
    PackageVersion,
    SourceChange,
    VersionChange,
    VersionSetChange,
    diff_locks,
    parse_lock,
)

MEMBERS = ["my-app", "core", "plugin", "helper"]


def test_identical_locks_have_no_diff() -> None:
    old = parse_lock(lock_toml(sample_lock_packages(), members=MEMBERS))
    new = parse_lock(
        lock_toml(
            sample_lock_packages(six_source="https://pypi.org/simple/"), members=MEMBERS, revision=5
        )
    )
    diff = diff_locks(old, new)
    assert diff == LockDiff()
    assert diff.empty


def test_every_kind_of_change_and_the_members_it_reaches() -> None:
    base = sample_lock_packages()
    old = parse_lock(lock_toml([*base, package("gone", "1.0")], members=MEMBERS))
    changed = sample_lock_packages(requests="2.1", six_source="https://mirror.example/simple/")
    for p in changed:
        if p["name"] == "urllib3":
            p["version"] = "0.9"
        if p["name"] == "fork" and p["version"] == "2.0":
            p["version"] = "3.0"
        if p["name"] == "plugin":
            p["optional"] = {
                "fast": [{"name": "speedup"}],
                "slow": [
                    {
                        "name": "fork",
                        "version": "3.0",
                        "source": {"registry": "https://pypi.org/simple"},
                    }
                ],
            }
    new = parse_lock(lock_toml([*changed, package("fresh", "0.1")], members=MEMBERS))
    diff = diff_locks(old, new)
    assert diff.added == (PackageVersion("fresh", "0.1", ()),)
    assert diff.removed == (PackageVersion("gone", "1.0", ()),)
    assert diff.upgraded == (VersionChange("requests", "2.0", "2.1", ("my-app",)),)
    assert diff.downgraded == (VersionChange("urllib3", "1.0", "0.9", ("my-app",)),)
    assert diff.changed == (VersionSetChange("fork", ("1.0", "2.0"), ("1.0", "3.0"), ("plugin",)),)
    assert diff.sources == (
        SourceChange(
            "six",
            "1.0",
            "registry https://pypi.org/simple",
            "registry https://mirror.example/simple",
            ("core", "helper", "my-app"),
        ),
    )
    assert not diff.empty
    assert diff_locks(old, new, reach=False).upgraded == (VersionChange("requests", "2.0", "2.1"),)


def test_versions_compare_by_pep_440_not_text() -> None:
    old = parse_lock(lock_toml([package("a", "1.10")]))
    new = parse_lock(lock_toml([package("a", "1.9")]))
    assert diff_locks(old, new).downgraded == (VersionChange("a", "1.10", "1.9"),)
    legacy = parse_lock(lock_toml([package("a", "not-a-version")]))
    assert diff_locks(old, legacy).changed == (
        VersionSetChange("a", ("1.10",), ("not-a-version",)),
    )


def test_git_commit_change_is_a_source_change_but_rev_spelling_is_not() -> None:
    def git_lock(url: str) -> Lockfile:
        return parse_lock(
            lock_toml(
                [
                    member_package("m", ".", dependencies=[{"name": "g"}]),
                    package("g", "0.3", {"git": url}),
                ],
                members=["m"],
            )
        )

    a = git_lock("https://github.com/o/g?rev=main#aaaa")
    b = git_lock("https://github.com/o/g.git?branch=main#aaaa")
    c = git_lock("https://github.com/o/g?rev=main#bbbb")
    assert diff_locks(a, b).empty
    diff = diff_locks(a, c)
    assert diff.sources == (
        SourceChange(
            "g", "0.3", "git https://github.com/o/g#aaaa", "git https://github.com/o/g#bbbb", ("m",)
        ),
    )


def test_dynamic_member_versions_and_multi_version_add() -> None:
    old = parse_lock(lock_toml([member_package("m", ".", version=None)]))
    new = parse_lock(
        lock_toml(
            [
                member_package(
                    "m",
                    ".",
                    version=None,
                    dependencies=[{"name": "x", "version": "1", "source": {"registry": "r"}}],
                ),
                package("x", "1", {"registry": "r"}),
                package("x", "2", {"registry": "r"}),
            ]
        )
    )
    diff = diff_locks(old, new)
    assert diff.added == (PackageVersion("x", "1", ("m",)), PackageVersion("x", "2", ()))
