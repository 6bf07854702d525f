"""The TOML reader reads what the standard library's tomllib reads, and rejects the rest."""

from __future__ import annotations

import tomllib

import pytest

from tta_dev.workspace import WorkspaceError
from tta_dev.workspace._toml import parse_toml

# TOML 1.1 additions: tomllib (TOML 1.0) rejects each, so we must too.
TOML_1_1_ONLY = {
    "newline in an inline table": "a = { b = 1,\n c = 2 }\n",
    "trailing comma in an inline table": "a = { b = 1, }\n",
    "escape \\e": 'a = "\\e"\n',
    "escape \\x": 'a = "\\x41"\n',
    "time without seconds": "a = 07:32\n",
}


@pytest.mark.parametrize("text", TOML_1_1_ONLY.values(), ids=TOML_1_1_ONLY.keys())
def test_toml_1_1_syntax_is_rejected_as_tomllib_rejects_it(text: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(WorkspaceError, match="invalid TOML"):
        parse_toml(text, "x.toml")


def test_values_are_tomllib_values() -> None:
    text = (
        'a = 1\nb = "two"\nc = [1, 2.5, true]\nd = { e = 1979-05-27T07:32:00Z }\n'
        "f = 0x1F\ng = 1e3\nh = nan\n[t]\ni = 'lit'\n"
    )
    ours, theirs = dict(parse_toml(text, "x.toml")), tomllib.loads(text)
    assert repr(ours) == repr(theirs)  # nan != nan, so compare spellings
