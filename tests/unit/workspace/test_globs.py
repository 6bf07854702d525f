from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tta_dev.workspace import WorkspaceError
from tta_dev.workspace._globs import (
    _compile,  # pyright: ignore[reportPrivateUsage]
    check_glob,
    compile_glob,
    glob_match,
    has_magic,
    normalise_pattern,
)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("packages/*", "packages/a", True),
        ("packages/*", "packages/a/b", False),
        ("./packages/*/", "packages/a", True),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/deep/x.md", True),
        ("docs/**", "docs/a/b.txt", True),
        ("docs/**", "documents/a", False),
        ("lib?", "lib1", True),
        ("lib?", "lib/", False),
        ("lib[0-9]", "lib7", True),
        ("lib[!0-9]", "lib7", False),
        ("lib[!0-9]", "libx", True),
        ("a+b(c)", "a+b(c)", True),
        ("*.md", "new\nline.md", True),
        (".", ".", True),
        # A class never matches `/`, as `*` and `?` do not.
        ("a[!x]b", "a/b", False),
        ("a[--0]b", "a/b", False),
        ("a[--0]b", "a.b", True),
        # Characters that mean something to `re` are plain characters in a class.
        ("[!]]", "]", False),
        ("[!]]", "x", True),
        ("[]]", "]", True),
        ("[^a]", "^", True),
        ("[^a]", "b", False),
        ("[&&]", "&", True),
        ("[||]", "|", True),
        ("[~~]", "~", True),
        ("[+--]", ",", True),
        ("[\\]", "\\", True),
        ("[[]", "[", True),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_helpers() -> None:
    assert normalise_pattern("././a//") == "a"
    assert normalise_pattern("./") == "."
    assert has_magic("a/*")
    assert not has_magic("a/b")


@pytest.mark.parametrize("pattern", ["[z-a]", "p/[z-a]", "a/[!9-0]/b"])
def test_invalid_glob_is_a_workspace_error(pattern: str) -> None:
    with pytest.raises(WorkspaceError, match=r"invalid glob '.*\[.*': range .* is reversed"):
        glob_match(pattern, "p/x")
    with pytest.raises(WorkspaceError, match=r"^pyproject.toml: invalid glob"):
        check_glob(pattern, "pyproject.toml")


_PIECES = st.sampled_from(["a", "b", "/", "*", "**", "**/", "?", "[ab]", "[!a]", "."])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join), st.text("ab/.", max_size=12))
def test_linear_matcher_agrees_with_the_regex(pattern: str, path: str) -> None:
    """Patterns with several wildcards run on the position-set matcher: same answers."""
    normal = normalise_pattern(pattern)
    if re.search(r"[^/]\*\*|\*\*[^/]", normal):
        with pytest.raises(WorkspaceError, match="single path component"):
            compile_glob(pattern)
        return
    glob = _compile(normal)
    expected = re.match(
        "".join(re.escape(t) if k == 0 else t for k, t in glob.tokens) + r"\Z", path, re.DOTALL
    )
    assert glob.accepts(glob.feed(glob.start, path)) is (expected is not None)
    assert glob.match(path) is (expected is not None)


@pytest.mark.parametrize("pattern", ["a**b", "packages/a**", "**b", "***", "a/***/b"])
def test_globstar_inside_a_component_is_invalid_as_for_uv(pattern: str) -> None:
    with pytest.raises(WorkspaceError, match=r"must form a single path component .*: fix"):
        glob_match(pattern, "ab")


@pytest.mark.parametrize("pattern", ["lib[", "packages/[a", "a[]", "[!]"])
def test_unclosed_class_is_invalid_as_for_uv(pattern: str) -> None:
    with pytest.raises(WorkspaceError, match=r"is never closed: fix the pattern"):
        glob_match(pattern, "lib[")
