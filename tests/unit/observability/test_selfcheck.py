"""The self-check's own logic: the sample run, the span-tree check, its failure modes."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tta_dev.devtools.services import find_free_port
from tta_dev.observability import _selfcheck as selfcheck
from tta_dev.primitives import get_execute_hook


@pytest.fixture(scope="module")
def run() -> selfcheck.SampleRun:
    import asyncio

    return asyncio.run(selfcheck.run_sample())


def test_the_sample_run_leaves_the_expected_span_trees(run: selfcheck.SampleRun) -> None:
    assert selfcheck.check_span_trees(run) == []
    assert get_execute_hook() is None  # instrumentation is off again
    assert [r["model"] for r in run.results] == [
        "gpt-4.1-nano",
        "gpt-4.1-nano",
        "gpt-4.1-nano",
        "gpt-4.1",
        "gpt-4.1-nano",
    ]
    assert all(t is not None and len(t) == 32 for t in run.trace_ids)


def test_a_missing_span_is_reported(run: selfcheck.SampleRun) -> None:
    without = tuple(r for r in run.records if r.name != "combine")
    problems = selfcheck.check_span_trees(dataclasses.replace(run, records=without))
    assert len(problems) == len(run.prompts)
    assert "span tree differs" in problems[0]
    assert "  combine [Step]" in problems[0]


def test_a_wrong_trace_id_and_missing_attributes_are_reported(run: selfcheck.SampleRun) -> None:
    first = run.records[0]
    stripped = dataclasses.replace(first, attributes={"tta.primitive.type": "Step"})
    broken = dataclasses.replace(
        run, records=(stripped, *run.records[1:]), trace_ids=(None, *run.trace_ids[1:])
    )
    problems = selfcheck.check_span_trees(broken)
    assert any("names no trace" in p for p in problems)
    assert any("missing attribute(s) tta.workflow.id" in p for p in problems)


def test_expected_executions_match_what_the_registry_counted(run: selfcheck.SampleRun) -> None:
    counted = selfcheck.registry_samples(run.registry, "tta_primitive_executions_total")
    nonzero = {k: v for k, v in counted.items() if v}
    assert nonzero == selfcheck.expected_executions(run.prompts)
    assert nonzero[("Step", "lookup_docs", "error")] == len(run.prompts)
    assert nonzero[("LLM", "llm", "ok")] == 3  # two prompts repeat: cache hits


class FakePrometheus(BaseHTTPRequestHandler):
    """Answers every query with an empty vector (a Prometheus that never scraped us)."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def fake_prometheus() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakePrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_no_scrape_in_time_fails_saying_what_must_scrape_what(
    fake_prometheus: str, capsys: pytest.CaptureFixture[str], project_root: Path
) -> None:
    addr = f"127.0.0.1:{find_free_port()}"
    code = selfcheck.main(
        [
            "--prometheus",
            fake_prometheus,
            "--metrics-addr",
            addr,
            "--timeout",
            "0",
            "--config",
            str(project_root / "pyproject.toml"),
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "span tree: ok" in captured.out
    assert f"did not scrape {addr}" in captured.err
    assert "TTA_METRICS_ADDR" in captured.err


def test_unreachable_prometheus_is_exit_2(
    capsys: pytest.CaptureFixture[str], project_root: Path
) -> None:
    dead = f"http://127.0.0.1:{find_free_port()}"
    code = selfcheck.main(
        [
            "--prometheus",
            dead,
            "--metrics-addr",
            "127.0.0.1:0",
            "--config",
            str(project_root / "pyproject.toml"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"selfcheck: error: cannot query Prometheus at {dead}")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "missing.toml"], "missing.toml"),
        (["--metrics-addr", "nonsense"], "cannot serve metrics on nonsense"),
    ],
)
def test_bad_input_is_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    project_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    config: list[str] = (
        [] if "--config" in args else ["--config", str(project_root / "pyproject.toml")]
    )
    code = selfcheck.main(["--prometheus", "http://127.0.0.1:1", *config, *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_metrics_address_comes_from_the_environment(
    fake_prometheus: str, capsys: pytest.CaptureFixture[str], project_root: Path
) -> None:
    addr = f"127.0.0.1:{find_free_port()}"
    env: dict[str, Any] = {"TTA_METRICS_ADDR": addr}
    code = selfcheck.main(
        [
            "--prometheus",
            fake_prometheus,
            "--timeout",
            "0",
            "--config",
            str(project_root / "pyproject.toml"),
        ],
        environ=env,
    )
    assert code == 1
    assert f"http://{addr}/metrics" in capsys.readouterr().out


class WrongPrometheus(BaseHTTPRequestHandler):
    """Holds the run's executions with one count off, an extra series and no histogram."""

    executions: list[dict[str, Any]]

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(self.path).query)["query"][0]
        result: list[dict[str, Any]] = []
        if "tta_selfcheck_run" in query:
            result = [{"metric": {"job": "j", "instance": "i:1"}, "value": [0, "1"]}]
        elif "tta_primitive_executions_total" in query:
            result = self.executions
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_promql_check_names_every_wrong_value(run: selfcheck.SampleRun) -> None:
    executions: list[dict[str, Any]] = []
    for (primitive, name, status), value in selfcheck.expected_executions(run.prompts).items():
        if name == "combine":
            value += 1
        labels = {"primitive": primitive, "name": name, "status": status}
        executions.append({"metric": labels, "value": [0, str(value)]})
    extra = {"primitive": "Step", "name": "stray", "status": "ok"}
    executions.append({"metric": extra, "value": [0, "1"]})
    handler = type("Handler", (WrongPrometheus,), {"executions": executions})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        selector = selfcheck.wait_for_scrape(url, "any", timeout=5)
        assert selector == '{job="j",instance="i:1"}'
        _report, problems = selfcheck.check_prometheus(url, selector, run)
    finally:
        server.shutdown()
        server.server_close()
    text = "\n".join(problems)
    assert "name='combine',status='ok'}: expected 5, Prometheus has 6.0" in text
    assert "unexpected non-zero executions in Prometheus: [('Step', 'stray', 'ok')]" in text
    assert "differ from what the process's registry holds" in text
    assert "tta_primitive_duration_seconds_count{name='sample_workflow'}: expected 5" in text
    assert 'bucket le="+Inf": expected 5' in text
    assert "duration sum: expected > 0" in text
    assert "median sample_workflow duration: expected a positive number" in text
