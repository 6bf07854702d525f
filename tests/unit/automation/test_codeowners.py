from __future__ import annotations

from pathlib import Path

import pytest

from tta_dev.automation import (
    Codeowners,
    Owner,
    find_codeowners,
    load_codeowners,
    parse_codeowners,
)


def owners(text: str, path: str) -> list[str]:
    return [o.text for o in parse_codeowners(text).owners_of(path)]


def test_last_matching_line_wins_and_owners_are_not_merged() -> None:
    text = "* @everyone\n*.py @python\nsrc/ @src-team @lead\n"
    assert owners(text, "README.md") == ["@everyone"]
    assert owners(text, "tools/x.py") == ["@python"]
    assert owners(text, "src/x.py") == ["@src-team", "@lead"]  # not @python, not @everyone


def test_a_line_without_owners_unowns() -> None:
    text = "/apps/ @octocat\n/apps/github\n"
    rules = parse_codeowners(text)
    assert owners(text, "apps/main/index.js") == ["@octocat"]
    assert owners(text, "apps/github/index.js") == []
    rule = rules.rule_for("apps/github/index.js")
    assert rule is not None
    assert rule.line == 2
    assert rules.rule_for("README.md") is None


def test_slash_star_matches_direct_children_only() -> None:
    text = "docs/* @docs\n"
    assert owners(text, "docs/getting-started.md") == ["@docs"]
    assert owners(text, "docs/build-app/troubleshooting.md") == []
    assert owners("/* @root\n", "setup.py") == ["@root"]
    assert owners("/* @root\n", "src/setup.py") == []


def test_trailing_slash_owns_the_whole_tree_anywhere() -> None:
    text = "apps/ @octocat\n"
    assert owners(text, "apps/a.js") == ["@octocat"]
    assert owners(text, "web/apps/deep/er/a.js") == ["@octocat"]
    assert owners(text, "apps") == []  # a file named apps is not the folder
    assert owners("/build/logs/ @octocat\n", "build/logs/x/y.log") == ["@octocat"]
    assert owners("/build/logs/ @octocat\n", "src/build/logs/y.log") == []


def test_unanchored_names_match_at_any_depth_and_below() -> None:
    assert owners("*.js @js\n", "a/b/c.js") == ["@js"]
    assert owners("*.js @js\n", "a/b/c.jsx") == []
    assert owners("docs @d\n", "x/docs/y.md") == ["@d"]
    assert owners("docs @d\n", "docs") == ["@d"]


def test_leading_or_inner_slash_anchors_to_the_root() -> None:
    assert owners("/docs @d\n", "docs/a.md") == ["@d"]
    assert owners("/docs @d\n", "x/docs/a.md") == []
    assert owners("docs/api @d\n", "docs/api/a.md") == ["@d"]
    assert owners("docs/api @d\n", "x/docs/api/a.md") == []


def test_double_star() -> None:
    assert owners("**/logs @l\n", "build/logs/a.log") == ["@l"]
    assert owners("**/logs @l\n", "logs/a.log") == ["@l"]
    assert owners("**/logs @l\n", "deeply/nested/logs/x/a.log") == ["@l"]
    assert owners("docs/** @d\n", "docs/a/b/c.md") == ["@d"]
    assert owners("docs/** @d\n", "src/docs/c.md") == []
    assert owners("a/**/b @x\n", "a/b") == ["@x"]
    assert owners("a/**/b @x\n", "a/1/2/b") == ["@x"]
    assert owners("a/**/b @x\n", "a/1/2/c") == []


def test_star_and_question_mark_stay_in_one_folder() -> None:
    assert owners("/src/*.py @x\n", "src/a.py") == ["@x"]
    assert owners("/src/*.py @x\n", "src/pkg/a.py") == []
    assert owners("/a?c @x\n", "abc") == ["@x"]
    assert owners("/a?c @x\n", "a/c") == []


def test_escaped_space_is_part_of_the_pattern() -> None:
    text = "/my\\ file.txt @x\n"
    assert owners(text, "my file.txt") == ["@x"]
    assert owners(text, "my") == []


def test_patterns_are_case_sensitive() -> None:
    assert owners("/Docs/ @x\n", "docs/a.md") == []


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("!docs/ @x", "negation"),
        ("docs/[ab].md @x", "character ranges"),
        ("\\#notes @x", "escaping a leading #"),
        ("docs/ @x # the docs team", "inline #"),
        ("docs/ x", "not an owner"),
        ("docs/ @x @", "not an owner"),
        ("docs/ @org/", "not an owner"),
        ("docs\\", "trailing"),
        ("/ @x", "names no file"),
    ],
)
def test_invalid_lines_are_reported_with_their_number_and_ignored(line: str, why: str) -> None:
    parsed = parse_codeowners(f"# header\n* @all\n{line}\n")
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert error.line == 3
    assert error.text == line
    assert why in error.message
    assert str(error).startswith("line 3: ")
    assert [r.line for r in parsed.rules] == [2]
    assert owners(f"* @all\n{line}\n", "docs/a.md") == ["@all"]


def test_hash_inside_a_pattern_is_not_a_comment() -> None:
    assert owners("/c#/ @csharp\n", "c#/x.cs") == ["@csharp"]


def test_owner_kinds() -> None:
    parsed = parse_codeowners("* @alice @octo-org/core_team.x docs@example.com\n")
    assert parsed.errors == ()
    assert parsed.rules[0].owners == (
        Owner("user", "@alice"),
        Owner("team", "@octo-org/core_team.x"),
        Owner("email", "docs@example.com"),
    )
    user, team, mail = parsed.rules[0].owners
    assert (user.login, user.team_slug) == ("alice", None)
    assert (team.login, team.team_slug) == ("octo-org/core_team.x", "core_team.x")
    assert mail.login == "docs@example.com"


def test_comments_blank_lines_and_crlf() -> None:
    parsed = parse_codeowners("# c\r\n\r\n   # indented comment\r\n*.md\t@a\r\n")
    assert parsed.errors == ()
    assert [(r.line, r.pattern) for r in parsed.rules] == [(4, "*.md")]
    assert owners("*.md\t@a\r\n", "x.md") == ["@a"]


def test_the_first_location_found_is_the_only_one_read(tmp_path: Path) -> None:
    assert find_codeowners(tmp_path) is None
    assert load_codeowners(tmp_path) == Codeowners(None, ())
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @docs\n")
    assert load_codeowners(tmp_path).source == "docs/CODEOWNERS"
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    assert load_codeowners(tmp_path).owners_of("a") == (Owner("user", "@root"),)
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @gh\n")
    loaded = load_codeowners(tmp_path)
    assert loaded.source == ".github/CODEOWNERS"
    assert loaded.owners_of("a") == (Owner("user", "@gh"),)


def test_a_file_over_3_mb_is_ignored_whole() -> None:
    parsed = parse_codeowners("* @a\n" * 700_000)
    assert parsed.rules == ()
    assert "3 MB" in parsed.errors[0].message


def test_hostile_patterns_match_without_backtracking_blowup() -> None:
    # A backtracking matcher needs about 30^k steps here; ours walks segments once.
    star_heavy = "/" + "*a" * 30 + "*b @x\n"
    assert owners(star_heavy, "a" * 5000) == []
    deep = "/" + "**/" * 200 + "z @x\n"
    assert owners(deep, "/".join(["y"] * 2000)) == []
    assert owners(deep, "/".join(["y"] * 2000) + "/z") == ["@x"]
