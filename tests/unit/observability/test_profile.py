"""Profiles: calls, total and self time per primitive; `tta-dev profile`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tta_dev.cli import main as cli_main
from tta_dev.observability import (
    SpanRecord,
    profile_spans,
    records_from_json,
    render_profile,
)

MS = 1_000_000


def rec(
    name: str,
    span: str,
    parent: str | None,
    start_ms: float,
    end_ms: float,
    kind: str = "Step",
    trace: str = "t1",
    error: bool = False,
) -> SpanRecord:
    return SpanRecord(
        name=name,
        trace_id=trace,
        span_id=span,
        parent_id=parent,
        start_ns=int(start_ms * MS),
        end_ns=int(end_ms * MS),
        attributes={"tta.primitive.name": name, "tta.primitive.type": kind},
        error=error,
    )


def test_self_time_subtracts_children_counting_overlaps_once() -> None:
    records = [
        rec("root", "r", None, 0, 100, "Sequential"),
        rec("par", "p", "r", 10, 60, "Parallel"),
        rec("a", "a", "p", 10, 50),  # a and b overlap: 10..55 covered, not 40 + 45
        rec("b", "b", "p", 15, 55, error=True),
        rec("c", "c", "r", 70, 90),
    ]
    profile = profile_spans(records)
    rows = {r.name: r for r in profile.rows}
    assert rows["root"].total_ns == 100 * MS
    assert rows["root"].self_ns == (100 - 50 - 20) * MS
    assert rows["par"].self_ns == (50 - 45) * MS
    assert rows["a"].self_ns == 40 * MS
    assert rows["b"].errors == 1
    assert profile.wall_ns == 100 * MS
    assert profile.spans == 5
    assert profile.traces == 1
    assert [r.name for r in profile.rows][:2] == ["a", "b"]  # largest self time first


def test_calls_aggregate_per_primitive_and_traces_can_be_picked() -> None:
    records = [
        rec("step", "s1", None, 0, 10, trace="t1"),
        rec("step", "s2", None, 20, 30, trace="t1"),
        rec("step", "s3", None, 0, 5, trace="t2"),
    ]
    assert profile_spans(records).rows[0].calls == 3
    only = profile_spans(records, trace_id="0xT2")
    assert only.rows[0].calls == 1
    assert only.traces == 1
    with pytest.raises(ValueError, match="no spans of trace"):
        profile_spans(records, trace_id="nope")


def test_render_text_markdown_json() -> None:
    profile = profile_spans([rec("root", "r", None, 0, 2, "Sequential")])
    text = render_profile(profile)
    assert text.splitlines()[0].split() == [
        "primitive",
        "name",
        "calls",
        "errors",
        "total",
        "ms",
        "self",
        "ms",
        "self",
        "%",
    ]
    assert "Sequential  root" in text
    assert "1 spans in 1 trace(s), wall time 2.000 ms" in text
    assert render_profile(profile, "markdown").startswith("| primitive | name |")
    data = json.loads(render_profile(profile, "json"))
    assert data["rows"][0] == {
        "primitive": "Sequential",
        "name": "root",
        "calls": 1,
        "errors": 0,
        "total_ms": 2.0,
        "self_ms": 2.0,
    }


SPAN_JSON = {
    "name": "root",
    "context": {"trace_id": "0x" + "a" * 32, "span_id": "0x" + "b" * 16},
    "parent_id": None,
    "start_time": "2026-11-25T10:00:00.000000Z",
    "end_time": "2026-11-25T10:00:00.002500Z",
    "status": {"status_code": "ERROR"},
    "attributes": {"tta.primitive.name": "root", "tta.primitive.type": "Sequential"},
}


def test_records_from_concatenated_or_listed_json() -> None:
    text = json.dumps(SPAN_JSON, indent=4) + "\n" + json.dumps(SPAN_JSON)
    records = records_from_json(text)
    assert len(records) == 2
    assert records[0].duration_ns == 2_500_000
    assert records[0].error
    assert records[0].trace_id == "a" * 32
    assert len(records_from_json(json.dumps([SPAN_JSON]))) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no spans found"),
        ("{not json", "not span JSON"),
        ("[1, 2]", "expected an object"),
        ('{"name": "x"}', "has no context object"),
    ],
)
def test_bad_span_json_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        records_from_json(text)


WORKFLOW = """
from tta_dev.primitives import Retry, step

def double(x):
    return x * 2

def explode(x):
    raise RuntimeError("no\\nmore")

workflow = step(double, name="double") >> (step(double, name="left") | step(double, name="right"))
failing = step(double, name="double") >> step(explode, name="explode")
not_a_primitive = 42

def build():
    return Retry(step(double, name="inner"))
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(WORKFLOW, encoding="utf-8")
    return path


def test_cli_profiles_a_run_of_a_file_target(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["profile", f"{flows}:workflow", "--input", "3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    calls = {(r["primitive"], r["name"]): r["calls"] for r in data["rows"]}
    assert calls == {
        ("Sequential", "Sequential"): 1,
        ("Step", "double"): 1,
        ("Parallel", "Parallel"): 1,
        ("Step", "left"): 1,
        ("Step", "right"): 1,
    }
    assert data["traces"] == 1


def test_cli_target_may_be_a_factory_or_a_module(
    flows: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_main(["profile", f"{flows}:build", "--input", "1"]) == 0
    assert "Retry" in capsys.readouterr().out
    monkeypatch.syspath_prepend(str(flows.parent))
    assert cli_main(["profile", "flows:workflow", "--input", "1"]) == 0
    assert "left" in capsys.readouterr().out


def test_cli_failed_run_still_profiles_and_exits_1(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["profile", f"{flows}:failing", "--input", "1"]) == 1
    captured = capsys.readouterr()
    assert "explode" in captured.out
    assert captured.err == "tta-dev profile: the run failed: RuntimeError: no\n"


def test_cli_reads_spans_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spans = tmp_path / "spans.json"
    spans.write_text(json.dumps(SPAN_JSON, indent=4), encoding="utf-8")
    assert cli_main(["profile", "--spans", str(spans), "--format", "markdown"]) == 0
    assert "| Sequential | root | 1 | 1 |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["profile"], "give a TARGET to run or --spans FILE"),
        (["profile", "x:y", "--spans", "f.json"], "give a TARGET to run or --spans FILE"),
        (["profile", "nocolon"], "target must be MODULE:ATTR"),
        (["profile", "no_such_module_xyz:wf"], "cannot import 'no_such_module_xyz'"),
        (["profile", "missing.py:wf"], "missing.py: no such file"),
        (["profile", "FLOWS:nope"], "has no attribute 'nope'"),
        (["profile", "FLOWS:not_a_primitive"], "is not a primitive"),
        (["profile", "FLOWS:workflow", "--input", "{bad"], "--input is not JSON"),
        (["profile", "FLOWS:workflow", "--trace-id", "abc"], "--trace-id goes with --spans"),
        (["profile", "--spans", "missing.json"], "--spans missing.json not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(
    flows: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(flows.parent)
    args = [a.replace("FLOWS", str(flows)) for a in args]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tta-dev: error: ")
    assert message in err
    assert err.count("\n") == 1
