"""The lock reader must read exactly what ``tomllib`` reads, and reject what it rejects.

``slim_lock_text`` swaps uv's sdist and wheel entries for empty values before ``tomllib``
parses the lock. Both views are compared on real locks, on hand-written hostile locks and
on generated ones: the parsed lock minus those values, and whether it is valid TOML at all.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.workspace.builders import lock_toml, member_package, package
from tests.unit.workspace.conftest import sample_lock_packages
from tta_dev.workspace import Lockfile, WorkspaceError, parse_lock
from tta_dev.workspace._lock import lock_from_table, slim_lock_text

ROOT = Path(__file__).resolve().parents[3]
INVALID = "invalid TOML"


def _without_files(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the ``sdist`` and ``wheels`` of each ``[[package]]`` entry."""
    packages = data.get("package")
    if isinstance(packages, list):
        for entry in cast(list[Any], packages):
            if isinstance(entry, dict):
                cast(dict[str, Any], entry).pop("sdist", None)
                cast(dict[str, Any], entry).pop("wheels", None)
    return data


def toml_view(text: str) -> dict[str, Any] | str:
    """What ``tomllib`` makes of ``text`` (files dropped), or that it is invalid."""
    try:
        return _without_files(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return INVALID


def slim_view(text: str) -> dict[str, Any] | str:
    """The same, through ``slim_lock_text``."""
    return toml_view(slim_lock_text(text))


def expected_lock(text: str) -> Lockfile | str:
    """The lock ``tomllib`` alone gives, or the one-line error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return INVALID
    try:
        return lock_from_table(data, "uv.lock")
    except WorkspaceError as exc:
        return str(exc)


def our_lock(text: str) -> Lockfile | str:
    try:
        return parse_lock(text)
    except WorkspaceError as exc:
        return INVALID if INVALID in str(exc) else str(exc)


def assert_reads_like_tomllib(text: str) -> None:
    assert slim_view(text) == toml_view(text)
    assert our_lock(text) == expected_lock(text)


def test_this_projects_lock() -> None:
    text = (ROOT / "uv.lock").read_text(encoding="utf-8")
    slim = slim_lock_text(text)
    assert len(slim) < len(text) / 3  # the wheels and sdists are gone
    assert toml_view(slim) == toml_view(text)
    assert parse_lock(text) == lock_from_table(tomllib.loads(text), "uv.lock")


def test_sample_lock() -> None:
    assert_reads_like_tomllib(
        lock_toml(sample_lock_packages(), members=["my-app", "core", "plugin", "helper"])
    )


UV_LAYOUT = """version = 1
revision = 3
requires-python = ">=3.11"
resolution-markers = [
    "python_full_version >= '3.12'",
    "python_full_version < '3.12'",
]
conflicts = [[
    { package = "a", group = "dev" },
    { package = "b", extra = "x" },
]]

[options]
exclude-newer = "2025-01-01T00:00:00Z" # the head may hold any TOML

[manifest]
members = [
    "a",
    "b",
]

[manifest.dependency-groups]
dev = [{ name = "a", editable = "a" }]

[[package]]
name = "a"
version = "0.1.0"
source = { editable = "a" }
dependencies = [
    { name = "b", extra = ["x", "y"] },
    { name = "c", version = "1.0", source = { registry = "https://pypi.org/simple" }, marker = "sys_platform == 'win32'" },
    { name = "d", marker = "extra == \\"quoted\\"" },
]

[package.optional-dependencies]
"dotted.extra" = [
    { name = "c", version = "1.0", source = { registry = "https://pypi.org/simple" } },
]

[package.metadata]
requires-dist = [
    { name = "b", extras = ["x", "y"], editable = "b" },
]

[package.metadata.requires-dev]
dev = [{ name = "x" }]

[[package]]
name = "c"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/c-1.0.tar.gz", hash = "sha256:00", size = 10, upload-time = "2024-01-01T00:00:00Z" }
wheels = [
    { url = "https://x/c-1.0-py3-none-any.whl", hash = "sha256:11", size = 9, upload-time = "2024-01-01T00:00:00Z" },
    { url = "https://x/c-1.0-py2-none-any.whl", hash = "sha256:22", size = 8 },
]

[[package]]
name = "d"
version = "2.0"
source = { git = "https://github.com/o/d?rev=main#abc" }
sdist = { path = "d-2.0.tar.gz" }
wheels = [{ url = "https://x/d.whl" }]

[[package]]
name = "e"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
wheels = [
]
"""


def test_uv_layout_is_slimmed_and_reads_the_same() -> None:
    slim = slim_lock_text(UV_LAYOUT)
    assert "sha256" not in slim
    assert 'sdist = { path = "d-2.0.tar.gz" }' not in slim
    assert_reads_like_tomllib(UV_LAYOUT)
    crlf = UV_LAYOUT.replace("\n", "\r\n")
    assert "sha256" not in slim_lock_text(crlf)
    assert_reads_like_tomllib(crlf)


def _lock_with(package_a_tail: str, after: str = "") -> str:
    """A valid lock whose first package ends with ``package_a_tail``."""
    return (
        'version = 1\nrevision = 3\n\n[[package]]\nname = "a"\nversion = "1.0"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        f"{package_a_tail}\n{after}"
    )


EVIL = (
    '[[package]]\nname = "evil"\nversion = "6.6.6"\n'
    'source = { registry = "https://pypi.org/simple" }\n'
)
SDIST = 'sdist = { url = "https://x/a.tar.gz", hash = "sha256:00", size = 1 }'
WHEELS = 'wheels = [\n    { url = "https://x/a.whl", hash = "sha256:11", size = 2 },\n]'

HOSTILE = {
    # Multi-line strings holding what looks like packages (valid TOML: no `evil` package).
    "sdist basic multi-line string": _lock_with(f'sdist = """\n{EVIL}sdist = """'),
    "sdist literal multi-line string": _lock_with(f"sdist = '''\n{EVIL}sdist = '''"),
    "wheel item multi-line string": _lock_with(f'wheels = [\n    """\n{EVIL}""",\n]'),
    "metadata multi-line string": _lock_with(f'[package.metadata]\nrequires-dist = """\n{EVIL}"""'),
    "multi-line string closing on a wheels line": _lock_with(f'x = """\n{EVIL}wheels = ["""'),
    # Line separators TOML allows inside strings and comments.
    "U+2028 in a comment": _lock_with("# note\u2028[[package]]", 'name = "x"\n'),
    "U+2028 in a string": _lock_with('[package.metadata]\nx = "\u2028[[package]]"'),
    "NEL in a string": _lock_with('[package.metadata]\nx = "\x85sdist = 1"'),
    "form feed in a string (invalid)": _lock_with('x = "\x0c[[package]]"'),
    # Invalid TOML, which tomllib rejects.
    "JSON-only escape": _lock_with(
        'dependencies = [\n    { name = "b", marker = "x\\/y" },\n]', EVIL
    ),
    "array of tables after a static array": _lock_with(
        'dependencies = [\n    { name = "b" },\n]\n\n[[package.dependencies]]\nname = "c"',
        EVIL,
    ),
    "duplicate sdist": _lock_with(f"{SDIST}\n{SDIST}"),
    "duplicate wheels": _lock_with(f"{WHEELS}\n{WHEELS}"),
    "sdist table after an inline sdist": _lock_with(f"{SDIST}\n\n[package.sdist]\nx = 1"),
    "dotted key into an inline sdist": _lock_with(f"{SDIST}\nsdist.x = 1"),
    "wheels array of tables after a static array": _lock_with(
        f"{WHEELS}\n\n[[package.wheels]]\nurl = 'x'"
    ),
    "sdist inside an array": _lock_with(f"dependencies = [\n{SDIST}\n]"),
    "package header inside an array": _lock_with("x = [\n[[package]]\n]"),
    "metadata header inside an array": _lock_with("x = [\n[package.metadata]\n]", "[1]]\n"),
    "invalid metadata": _lock_with("[package.metadata]\nrequires-dist = [1,,]"),
    "bad sdist value": _lock_with('sdist = { url = "https://x/a.tar.gz", size = 01 }'),
    "bad wheel item": _lock_with('wheels = [\n    { url = "https://x/a.whl", url = "y" },\n]'),
    "unterminated wheels": _lock_with('wheels = [\n    { url = "https://x/a.whl" },'),
    "lone carriage return": _lock_with(f"{SDIST}\r{WHEELS}"),
    # Tables where `sdist` and `wheels` are names we read (an extra, a group).
    "extra named sdist": _lock_with(f"[package.optional-dependencies]\n{SDIST}"),
    "indented extras header": _lock_with(f"  [package.optional-dependencies]\n{SDIST}"),
    "extra named wheels": _lock_with(f"[package.optional-dependencies]\n{WHEELS}"),
    "group named wheels, empty": _lock_with("[package.dev-dependencies]\nwheels = [\n]"),
    "sdist in another array of tables": "version = 1\n[[packages]]\n" + SDIST + "\n",
    # Valid in other spellings.
    "CRLF line ends": _lock_with(f"{SDIST}\n{WHEELS}", EVIL).replace("\n", "\r\n"),
    "comments after files": _lock_with(f"{SDIST} # c\n{WHEELS} # c"),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_locks_read_as_tomllib_reads_them(text: str) -> None:
    assert_reads_like_tomllib(text)


@pytest.mark.parametrize(
    "name", [k for k in HOSTILE if "string" in k or "return" in k or "comment" in k]
)
def test_no_package_hides_in_a_string_or_comment(name: str) -> None:
    lock = our_lock(HOSTILE[name])
    assert not isinstance(lock, Lockfile) or "evil" not in lock.by_name


@pytest.mark.parametrize(
    "name",
    [
        "JSON-only escape",
        "array of tables after a static array",
        "duplicate sdist",
        "duplicate wheels",
        "sdist table after an inline sdist",
        "dotted key into an inline sdist",
        "wheels array of tables after a static array",
        "sdist inside an array",
        "metadata header inside an array",
        "invalid metadata",
        "bad sdist value",
        "bad wheel item",
        "unterminated wheels",
        "lone carriage return",
    ],
)
def test_invalid_toml_is_rejected(name: str) -> None:
    with pytest.raises(WorkspaceError, match="invalid TOML"):
        parse_lock(HOSTILE[name])


FRAGMENTS = [
    "[[package]]",
    "  [[package]]",
    "[package.optional-dependencies]",
    "[package.dev-dependencies]",
    "[package.metadata]",
    "[package.sdist]",
    "[[package.wheels]]",
    "[[package.dependencies]]",
    'name = "evil"',
    'source = { registry = "https://pypi.org/simple" }',
    SDIST,
    'sdist = { path = "x\\/y" }',
    "sdist = {}",
    "sdist.x = 1",
    'sdist = """',
    '"""',
    "sdist = '''",
    "'''",
    "wheels = [",
    '    { url = "https://x/w.whl", hash = "sha256:11", size = 2 },',
    '    { name = "evil" },',
    "]",
    "wheels = []",
    "dependencies = [",
    "x = [",
    "[1],",
    "# comment\u2028[[package]]",
    'x = "\u2028[[package]]"',
    "\r",
    "",
]

BASE: list[str] = [str(line) for line in UV_LAYOUT.split("\n")]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(BASE)), st.sampled_from(FRAGMENTS)),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_generated_locks_read_as_tomllib_reads_them(
    inserts: list[tuple[int, str]], newline: str
) -> None:
    lines: list[str] = list(BASE)
    for index, fragment in inserts:
        lines.insert(index, fragment)
    assert_reads_like_tomllib(newline.join(lines))


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_hostile_strings_read_the_same(names: list[str]) -> None:
    packages = [
        member_package("m", names[0], dependencies=[{"name": "p", "marker": n} for n in names]),
        package("p", names[-1], {"path": names[-1]}),
    ]
    text = lock_toml(packages, members=["m"])
    with_files = "\n".join(
        line + (f"\n{SDIST}\n{WHEELS}" if line.startswith("source = ") else "")
        for line in text.split("\n")
    )
    assert_reads_like_tomllib(text)
    assert_reads_like_tomllib(with_files)


# -- reading one end of a change with the other end's tables (parse_lock(reuse=...)) -----


def reused_lock(text: str, other_text: str) -> Lockfile | str | None:
    """``text`` read with ``other_text``'s tables reused (``None``: the other is unreadable)."""
    try:
        other = parse_lock(other_text)
    except WorkspaceError:
        return None
    try:
        return parse_lock(text, reuse=(other_text, other))
    except WorkspaceError as exc:
        return INVALID if INVALID in str(exc) else str(exc)


def assert_reuse_reads_the_same(text: str, other_text: str) -> None:
    found = reused_lock(text, other_text)
    if found is not None:
        assert found == our_lock(text)


def test_reuse_takes_unchanged_tables_from_the_other_lock() -> None:
    old = UV_LAYOUT
    new = UV_LAYOUT.replace('name = "e"\nversion = "1.0"', 'name = "e"\nversion = "1.1"')
    new_lock = parse_lock(new)
    old_lock = parse_lock(old, reuse=(new, new_lock))
    assert old_lock == parse_lock(old)
    # Identical tables are the very objects of the other lock; the changed one, and the
    # first (always read, with the head), are parsed.
    for before, after in zip(old_lock.packages, new_lock.packages, strict=True):
        assert (before is after) == (before.name not in {"a", "e"})


TABLES_THAT_ARE_NOT_ALONE = {
    # A top-level table after the packages: it clashes with the head's `[manifest]`.
    "manifest again": UV_LAYOUT.replace(
        '[[package]]\nname = "d"', '[manifest]\nx = 1\n\n[[package]]\nname = "d"'
    ),
    # The same, right after a `[[package]]` line.
    "manifest first": UV_LAYOUT.replace(
        '[[package]]\nname = "d"', '[[package]]\n[manifest]\nx = 1\nname = "d"'
    ),
    # A valid top-level table among the packages, and two packages with no line between.
    "options later": UV_LAYOUT.replace("[options]", "[opts]").replace(
        '[[package]]\nname = "e"', '[options]\nx = 1\n\n[[package]]\nname = "e"'
    ),
    "back to back": UV_LAYOUT.replace(
        '[[package]]\nname = "e"', '[[package]]\n[[package]]\nname = "e"'
    ),
}


@pytest.mark.parametrize(
    "text", TABLES_THAT_ARE_NOT_ALONE.values(), ids=TABLES_THAT_ARE_NOT_ALONE.keys()
)
def test_reuse_reads_tables_that_are_not_alone_as_tomllib_does(text: str) -> None:
    assert text != UV_LAYOUT
    assert_reuse_reads_the_same(text, UV_LAYOUT)
    assert_reuse_reads_the_same(UV_LAYOUT, text)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_reuse_reads_hostile_locks_as_tomllib_reads_them(text: str) -> None:
    assert_reuse_reads_the_same(text, UV_LAYOUT)
    assert_reuse_reads_the_same(UV_LAYOUT, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(BASE)), st.sampled_from(FRAGMENTS)),
        min_size=0,
        max_size=4,
    ),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(BASE)), st.sampled_from(FRAGMENTS)),
        min_size=0,
        max_size=3,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_reuse_on_generated_pairs_reads_as_tomllib_reads(
    inserts: list[tuple[int, str]], other_inserts: list[tuple[int, str]], newline: str
) -> None:
    lines, other_lines = list(BASE), list(BASE)
    for index, fragment in inserts:
        lines.insert(index, fragment)
    for index, fragment in other_inserts:
        other_lines.insert(index, fragment)
    assert_reuse_reads_the_same(newline.join(lines), "\n".join(other_lines))
