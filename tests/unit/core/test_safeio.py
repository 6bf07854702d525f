"""tta_dev._safeio: bounded reading of files and text we do not control."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tta_dev._safeio import (
    InputError,
    describe,
    load_json,
    load_toml,
    one_line,
    quote,
    read_bytes,
    read_text,
)
from tta_dev.errors import TtaDevError

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")


def test_input_error_is_ours_and_a_value_error() -> None:
    assert issubclass(InputError, TtaDevError)
    assert issubclass(InputError, ValueError)


def test_messages_are_one_bounded_line() -> None:
    message = str(InputError("a\nb\rc" + "x" * 100_000))
    assert "\n" not in message
    assert "\r" not in message
    assert message.startswith("a\\nb\\rc")
    assert len(message) <= 500


def test_quote_and_describe_bound_what_they_show() -> None:
    assert quote("short") == "'short'"
    shown = quote("y" * 200_000)
    assert len(shown) < 120
    assert "200000 characters" in shown
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    assert len(describe(nested)) <= 80
    assert len(describe({"k" * 1000: "v" * 100_000})) <= 80
    assert one_line("\x00") == "\\x00"


def test_read_text_missing_folder_and_size(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.toml not found$"):
        read_text(tmp_path / "missing.toml", what="missing.toml")
    with pytest.raises(InputError, match="not a regular file"):
        read_text(tmp_path)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_text(big, limit=10)
    assert read_text(big, limit=11) == "x" * 11


def test_read_text_bom_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"\xef\xbb\xbfa = 1\r\n")
    assert read_text(path) == "a = 1\r\n"  # no newline translation either
    path.write_bytes(b"a = \xff")
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 4"):
        read_text(path)


@posix_only
def test_read_text_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is not a regular file \(a FIFO\)"):
        read_text(fifo)


@posix_only
def test_read_text_device_is_not_read() -> None:
    with pytest.raises(InputError, match=r"is not a regular file \(a device\)"):
        read_bytes("/dev/zero")


def test_load_toml_depth_matches_uv() -> None:
    ok = "a = " + "[" * 80 + "]" * 80
    assert load_toml(ok)["a"]
    for deep in (
        "a = " + "[" * 81 + "]" * 81,
        "a = " + "[" * 100_000,
        "a = " + "{b = " * 100_000 + "1" + "}" * 100_000,
    ):
        with pytest.raises(InputError, match="nested deeper than 80 levels"):
            load_toml(deep, "deep.toml")


def test_load_toml_long_dotted_keys_are_refused() -> None:
    assert load_toml(".".join(["a"] * 80) + " = 1")
    with pytest.raises(InputError, match="dotted key of more than 80 parts"):
        load_toml(".".join(["a"] * 100_000) + " = 1")
    with pytest.raises(InputError, match="dotted key"):
        load_toml("[" + ".".join(['"a"'] * 81) + "]")
    # A float array is no dotted key, however long.
    assert len(load_toml("a = [" + ", ".join(["1.5"] * 1000) + "]")["a"]) == 1000


def test_load_toml_brackets_in_strings_and_comments_do_not_count() -> None:
    text = (
        'a = "' + "[" * 200 + '"\n'
        "b = '" + "{" * 200 + "'\n"
        'c = """\n' + "[" * 200 + '\n"""\n'
        "d = '''" + "[" * 200 + "'''\n"
        "# " + "[" * 200 + "\n"
        'e = "\\"[[[[" # ]]]]\n'
    )
    assert load_toml(text)["a"] == "[" * 200


def test_load_toml_rejects_a_lone_carriage_return_and_accepts_crlf_and_bom() -> None:
    assert load_toml("\ufeffa = 1\r\nb = 2\r\n") == {"a": 1, "b": 2}
    with pytest.raises(InputError, match="carriage return alone at line 2"):
        load_toml("a = 1\nb = 2\rc = 3")


def test_load_toml_reads_files_and_reports_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pyproject\.toml: invalid TOML \("):
        load_toml(path)
    path.write_bytes(b"\xef\xbb\xbf[project]\nname = 'x'\n")
    assert load_toml(path) == {"project": {"name": "x"}}


def test_unterminated_strings_scan_in_linear_time() -> None:
    # Each of these would rescan to the end from every quote with a naive pattern.
    for text in ('"\\"' * 50_000, "'''" + "'" * 100_000, '"""' + '\\"""' * 30_000):
        with pytest.raises(InputError):
            load_toml("a = " + text)
    with pytest.raises(InputError):
        load_json('"\\"' * 100_000)


def test_load_json_depth_and_errors() -> None:
    assert load_json("[" * 100 + "]" * 100)
    assert load_json('{"a": "[[[[[[["}') == {"a": "[[[[[[["}
    assert load_json('\ufeff{"a": 1}') == {"a": 1}
    with pytest.raises(InputError, match="nested deeper than 100 levels"):
        load_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match=r"invalid JSON \(Expecting value at line 1, column 1\)"):
        load_json("nope")
    with pytest.raises(InputError, match="invalid JSON"):
        load_json("1" * 5000)


def test_value_at_and_table_at_walk_tables_only() -> None:
    from tta_dev._safeio import table_at, value_at

    data = {"tool": {"uv": {"required-version": ">=0.9"}, "mypy": "not a table"}}
    assert value_at(data, "tool", "uv", "required-version") == ">=0.9"
    assert value_at(data, "tool", "mypy", "files") is None  # a string where a table belongs
    assert value_at(data, "nothing", "here") is None
    assert table_at(data, "tool", "uv") == {"required-version": ">=0.9"}
    assert table_at(data, "tool", "uv", "required-version") == {}
    assert table_at([], "tool") == {}
