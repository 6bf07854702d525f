from __future__ import annotations

import pytest

from tta_dev.workspace._globs import glob_match, has_magic, normalise_pattern


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
        ("lib[", "lib[", True),
        ("a+b(c)", "a+b(c)", True),
        ("*.md", "new\nline.md", True),
        (".", ".", True),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_helpers() -> None:
    assert normalise_pattern("././a//") == "a"
    assert normalise_pattern("./") == "."
    assert has_magic("a/*")
    assert not has_magic("a/b")
