"""The fast reader must give what tomllib gives, or step aside."""

from __future__ import annotations

import gc
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.workspace.builders import lock_toml, member_package, package
from tests.unit.workspace.conftest import sample_lock_packages
from tta_dev.workspace import parse_lock
from tta_dev.workspace._fastlock import parse_uv_lock
from tta_dev.workspace._gc import collector_paused
from tta_dev.workspace._lock import lock_from_table, slim_lock_text
from tta_dev.workspace._reach import bit_positions, reach_bits

ROOT = Path(__file__).resolve().parents[3]


def reference(text: str) -> dict[str, Any]:
    """tomllib on the whole text, minus what the fast reader drops."""
    data = tomllib.loads(text)
    for entry in data.get("package", []):
        for key in ("sdist", "wheels", "metadata"):
            entry.pop(key, None)
    return data


def test_this_projects_lock() -> None:
    text = (ROOT / "uv.lock").read_text(encoding="utf-8")
    assert parse_uv_lock(text) == reference(text)
    assert tomllib.loads(slim_lock_text(text)) == reference(text)
    assert parse_lock(text) == lock_from_table(tomllib.loads(text), "uv.lock")


def test_sample_locks() -> None:
    text = lock_toml(sample_lock_packages(), members=["my-app", "core", "plugin", "helper"])
    assert parse_uv_lock(text) == reference(text)


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
exclude-newer = "2025-01-01T00:00:00Z" # the head may hold any TOML: tomllib reads it

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
    { url = "https://x/c-1.0-py3-none-any.whl", hash = "sha256:11", size = 9 },
]

[[package]]
name = "d"
version = "2.0"
source = { git = "https://github.com/o/d?rev=main#abc" }
wheels = [{ url = "https://x/d.whl" }]
"""


def test_uv_layout_with_every_shape() -> None:
    fast = parse_uv_lock(UV_LAYOUT)
    assert fast is not None
    assert fast == reference(UV_LAYOUT)


@pytest.mark.parametrize(
    "text",
    [
        "version = 1 # a comment\n",
        "version = 1\nname = 'literal'\n",
        'version = 1\na.b = "dotted"\n',
        'version = 1\nname = "again"\n',
        'version = 1\nx = """multi\nline"""\n',
        'version = 1\nx = "\\U0001F600"\n',
        "version = 1\nx = NaN\n",
        "version = 1\nx = [1, 2,]\n",
        "version = 1\nx = { a = 1, a = 2 }\n",
        "version = 1\nx = 1979-05-27\n",
        'version = 1\nx = { "quoted key" = 1 }\n',
        "version = 1\n[a]\n[a]\n",
        "version = 1\n[ spaced ]\n",
        "version = 1\n[[a]]\n[a]\n",
        "version = 1\n[a]\n[[a]]\n",
        "version = 1\n[a.]\n",
        "version = 1\n[[a]\n",
        "version = 1\nx = [\n    1,\n",
        "version = 1\nx = [\n  1,\n]\n",
        "version = 1\nx = 0x10\n",
        "version = 1\nx = 1 = 2\n",
        "version = 1\nx = [\n    [\n",
        "version = 1\nx = { y = 1 } extra\n",
        'version = 1\nx = "\x7f"\n',
        'version = 1\ndependencies = [\n    { name = "\x01" },\n]\n',
        'version = 1\nx = { y = "\x7f" }\n',
    ],
)
def test_anything_else_steps_aside(text: str) -> None:
    """After the first package, anything outside uv's layout hands over to tomllib."""
    body = text.removeprefix("version = 1").lstrip("\n ")
    assert parse_uv_lock('version = 1\n\n[[package]]\nname = "p"\n' + body) is None


@pytest.mark.parametrize(
    "text",
    [
        "version = [\n\n[[package]]\nname = 'p'\n",  # a broken head
        'version = 1\npackage = []\n\n[[package]]\nname = "p"\n',  # packages in the head
        'version = 1\n\n[[package]]\nname = "p"\n\n[manifest]\nmembers = ["p"]\n',
    ],
)
def test_head_problems_step_aside(text: str) -> None:
    assert parse_uv_lock(text) is None


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
def test_hostile_strings_read_the_same_or_step_aside(names: list[str]) -> None:
    packages = [
        member_package("m", names[0], dependencies=[{"name": "p", "marker": n} for n in names]),
        package("p", names[-1], {"path": names[-1]}),
    ]
    text = lock_toml(packages, members=["m"])
    fast = parse_uv_lock(text)
    if fast is not None:
        assert fast == reference(text)
    assert parse_lock(text) == lock_from_table(tomllib.loads(text), "uv.lock")


def naive_reach(successors: list[list[int]], own: list[int]) -> list[int]:
    out: list[int] = []
    for start in range(len(successors)):
        seen = {start}
        stack = [start]
        while stack:
            for target in successors[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        bits = 0
        for node in seen:
            bits |= own[node]
        out.append(bits)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=14).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(min_value=0, max_value=n - 1), max_size=4), min_size=n, max_size=n
        )
    )
)
def test_reach_bits_matches_a_search_from_every_node(successors: list[list[int]]) -> None:
    own = [1 << i if i % 3 else 0 for i in range(len(successors))]
    assert reach_bits(successors, own) == naive_reach(successors, own)


def test_bit_positions() -> None:
    assert bit_positions(0) == []
    assert bit_positions(0b1011) == [0, 1, 3]
    assert bit_positions(1 << 200) == [200]


def test_collector_paused_restores_state() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
