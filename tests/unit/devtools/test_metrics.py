"""uv metrics: recording, the JSON-lines file under concurrent writers, the report."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tta_dev.devtools._metrics_render import render_metrics_report
from tta_dev.devtools.metrics import (
    MetricRecord,
    MetricsError,
    append_record,
    metrics_report,
    operation_of,
    parse_history,
    read_history,
    record_command,
)


def _record(operation: str = "uv sync", duration: float = 1.0, exit_code: int = 0) -> MetricRecord:
    return MetricRecord(operation, ("--locked",), duration, exit_code, "uv", "0.13.9", "abc", "t")


@pytest.mark.parametrize(
    ("argv", "operation"),
    [
        (["uv", "sync", "--locked"], "uv sync"),
        (["/usr/bin/uv", "--directory", "x", "lock", "--check"], "uv lock"),
        (["uv", "pip", "install", "-r", "r.txt"], "uv pip install"),
        (["uv", "--python", "3.12", "run", "pytest"], "uv run"),
        (["ruff", "check", "."], "ruff check"),
        (["uv"], "uv"),
        ([], ""),
    ],
)
def test_operation_of(argv: list[str], operation: str) -> None:
    assert operation_of(argv) == operation


def _fake_tool(folder: Path, name: str, exit_code: int) -> Path:
    tool = folder / name
    tool.write_text(
        f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{name} 9.9.9'; exit 0; fi\n"
        f"echo ran; exit {exit_code}\n"
    )
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return tool


def test_record_command_times_records_and_redacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "uv", 3)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    store = tmp_path / "m.jsonl"
    record, completed = record_command(
        ["uv", "pip", "install", "--index-url", "https://user:s3cret@pypi.example/simple", "x"],
        metrics_file=store,
        capture=True,
    )
    assert completed is not None
    assert completed.stdout == "ran\n"
    assert (record.operation, record.exit_code, record.tool_version) == (
        "uv pip install",
        3,
        "9.9.9",
    )
    assert record.duration_s >= 0
    text = store.read_text()
    assert "s3cret" not in text
    assert "https://pypi.example/simple" in text
    assert read_history(store).records == (record,)


def test_record_command_rejects_what_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(MetricsError, match="no command"):
        record_command([], metrics_file=tmp_path / "m.jsonl")
    with pytest.raises(MetricsError, match="not found on PATH"):
        record_command(["no-such-tool-xyz"], metrics_file=tmp_path / "m.jsonl")
    assert not (tmp_path / "m.jsonl").exists()


def _writer(path: str, worker: int, count: int) -> None:
    for i in range(count):
        append_record(Path(path), _record(f"op{worker}", duration=i / 1000))


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    store = tmp_path / "m.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(store), w, 150)) for w in range(4)]
    for process in workers:
        process.start()
    try:
        for process in workers:
            process.join(600)  # generous: a loaded CI machine starts spawned Pythons slowly
            assert process.exitcode == 0
    finally:
        for process in workers:
            if process.is_alive():
                process.kill()
            process.join(10)
    history = read_history(store)
    assert history.skipped_lines == 0
    assert len(history.records) == 600
    assert {r.operation for r in history.records} == {"op0", "op1", "op2", "op3"}
    for w in range(4):  # each writer's own records stay in its order
        mine = [r.duration_s for r in history.records if r.operation == f"op{w}"]
        assert mine == [i / 1000 for i in range(150)]


def test_a_truncated_last_line_is_skipped_and_closed_off(tmp_path: Path) -> None:
    store = tmp_path / "m.jsonl"
    append_record(store, _record(duration=1.0))
    with store.open("a") as handle:
        handle.write('{"operation": "uv sync", "durat')  # a writer killed mid-line
    assert read_history(store).skipped_lines == 1
    append_record(store, _record(duration=2.0))
    history = read_history(store)
    assert [r.duration_s for r in history.records] == [1.0, 2.0]
    assert history.skipped_lines == 1


def test_lines_of_the_wrong_shape_are_skipped_not_fatal() -> None:
    good = json.dumps(_record().to_json())
    lines = [
        good,
        "[1, 2]",
        "null",
        '{"operation": "x"}',
        '{"operation": "x", "duration_s": "nan", "exit_code": 0}',
        '{"operation": "x", "duration_s": 1, "exit_code": true}',
        "[" * 100_000,
        "",
    ]
    history = parse_history(lines)
    assert len(history.records) == 1
    assert history.skipped_lines == 6


def test_read_history_takes_regular_files_only(tmp_path: Path) -> None:
    assert read_history(tmp_path / "missing.jsonl").records == ()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(MetricsError, match="not a regular file"):
        read_history(fifo)
    with pytest.raises(MetricsError, match="not a regular file"):
        read_history(tmp_path)


def test_report_on_a_recorded_history() -> None:
    durations = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    records = [_record("uv sync", d, 0 if i != 3 else 1) for i, d in enumerate(durations)]
    records += [_record("uv lock", 0.5), _record("uv lock", 1.5)]
    report = metrics_report(parse_history(json.dumps(r.to_json()) for r in records), last=50)
    lock, sync = report.operations
    assert (lock.operation, lock.count, lock.p50_s, lock.trend) == ("uv lock", 2, 1.0, "n/a")
    assert sync.count == 8
    assert sync.p50_s == 1.5
    assert sync.p95_s == pytest.approx(2.0)
    assert sync.success_rate == 7 / 8
    assert (sync.trend, sync.trend_ratio) == ("slower", 2.0)
    window = metrics_report(parse_history(json.dumps(r.to_json()) for r in records), last=4)
    assert window.operations[1].durations_s == (2.0, 2.0, 2.0, 2.0)
    with pytest.raises(MetricsError):
        metrics_report(parse_history([]), last=0)


def test_renderers() -> None:
    records = [_record('uv "odd"\nop', 0.25), _record('uv "odd"\nop', 0.75)]
    report = metrics_report(parse_history(json.dumps(r.to_json()) for r in records))
    prom = render_metrics_report(report, "prometheus")
    assert (
        'tta_uv_operation_duration_seconds{operation="uv \\"odd\\"\\nop",quantile="0.5"} 0.5'
        in prom
    )
    assert 'tta_uv_operation_duration_seconds_count{operation="uv \\"odd\\"\\nop"} 2' in prom
    markdown = render_metrics_report(report, "markdown")
    assert "```mermaid\nxychart-beta" in markdown
    assert "line [0.250, 0.750]" in markdown
    assert json.loads(render_metrics_report(report, "json"))["operations"][0]["count"] == 2
    assert "0.500" in render_metrics_report(report, "text")


def test_markdown_shows_hostile_operation_names_as_text() -> None:
    hostile = "uv run <img src=x onerror=alert(1)> | `x` [a](javascript:b) **bold**"
    records = [_record(hostile, 0.25), _record(hostile, 0.75)]
    markdown = render_metrics_report(
        metrics_report(parse_history(json.dumps(r.to_json()) for r in records)), "markdown"
    )
    prose, chart = markdown.split("```mermaid", 1)
    # Outside the chart every Markdown/HTML character of the name is escaped; inside it
    # (a code block) only what would end the title or read as HTML is replaced.
    assert re.search(r"(?<!\\)[<>`\[\]*]", prose) is None
    title = next(line for line in chart.splitlines() if "title" in line)
    assert "<" not in title
    assert title.count('"') == 2
    assert "\\<img src=x onerror=alert(1)\\>" in markdown
    table_row = next(line for line in markdown.splitlines() if "img" in line and line[0] == "|")
    # Only the table's own separators are bare pipes: the name stayed in its cell.
    assert table_row.replace("\\|", "").count("|") == table_row.count(" | ") + 2


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tta_dev.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_run_and_report(tmp_path: Path) -> None:
    (tmp_path / "tool.py").write_text("import sys\nraise SystemExit(int(sys.argv[1]))\n")
    failed = _cli("metrics", "run", "--", sys.executable, "tool.py", "4", cwd=tmp_path)
    assert failed.returncode == 4
    assert "tool.py took" in failed.stderr
    ok = _cli("metrics", "run", "--", sys.executable, "tool.py", "0", cwd=tmp_path)
    assert ok.returncode == 0
    report = _cli("metrics", "report", "--format", "json", cwd=tmp_path)
    data = json.loads(report.stdout)
    assert data["operations"][0]["count"] == 2
    assert data["operations"][0]["success_rate"] == 0.5
    assert (tmp_path / ".tta" / "metrics" / "uv.jsonl").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "run"),
        ("metrics", "report", "--last", "0"),
        ("metrics", "run", "--", "no-such-tool-xyz"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_metrics_file_that_is_not_a_file_is_refused_before_the_command_runs(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "m.jsonl"
    os.mkfifo(fifo)  # appending to it would block forever once the command had run
    marker = tmp_path / "ran"
    with pytest.raises(MetricsError, match="not a regular file"):
        record_command(["touch", str(marker)], metrics_file=fifo)
    with pytest.raises(MetricsError, match="not a regular file"):
        record_command(["touch", str(marker)], metrics_file=tmp_path)
    assert not marker.exists(), "the command must not run when its record cannot be kept"


def test_tool_version_is_a_version_or_the_whole_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "ruff"
    tool.write_text("#!/bin/sh\necho 'ruff (GNU coreutils) 9.1'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record, _ = record_command(["ruff"], metrics_file=tmp_path / "m.jsonl", capture=True)
    assert record.tool_version == "ruff (GNU coreutils) 9.1"


def test_an_unknown_tool_is_run_once_not_asked_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    runs = tmp_path / "runs"
    script = bin_dir / "deploy.sh"
    # Like many project scripts, it ignores its arguments: `--version` would deploy again.
    script.write_text(f"#!/bin/sh\necho run >> {runs}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record, _ = record_command(["deploy.sh"], metrics_file=tmp_path / "m.jsonl", capture=True)
    assert runs.read_text() == "run\n"
    assert record.tool_version == ""


def test_a_file_of_unreadable_lines_says_so() -> None:
    history = parse_history(["not json", '{"operation": "x"}'])
    text = render_metrics_report(metrics_report(history), "text")
    assert "2 unreadable line(s) skipped" in text
    assert "no metrics recorded yet" not in text


def test_secret_option_values_are_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "uv", 0)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    store = tmp_path / "m.jsonl"
    argv = ["uv", "publish", "--token", "pypi-AAA", "--password=hunter2", "-t", "pypi-BBB"]
    record, _ = record_command(argv, metrics_file=store, capture=True)
    text = store.read_text()
    for secret in ("pypi-AAA", "hunter2", "pypi-BBB"):
        assert secret not in text
    assert record.arguments == ("publish", "--token", "***", "--password=***", "-t", "***")
    other, _ = record_command(["uv", "run", "-p", "3.12", "x"], metrics_file=store, capture=True)
    assert other.arguments == ("run", "-p", "3.12", "x"), "-p is --python outside uv publish"
