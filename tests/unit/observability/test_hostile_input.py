"""The efficiency check, the self-check and `tta-dev profile` against hostile input.

Each class of bad input has a corpus here; every case must end in exit 2 (or 1 for a
check or run that failed) with one line on stderr, no traceback, in bounded time, and no
credential from a Prometheus URL ever printed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.observability.fake_prometheus import (
    DRIP_INTERVAL,
    FakePrometheus,
    Respond,
    answer,
    drip,
    raw,
    silent,
    vector,
)
from tta_dev.cli import main as cli_main
from tta_dev.devtools.services import find_free_port
from tta_dev.observability import _selfcheck as selfcheck
from tta_dev.observability.efficiency import (
    PrometheusError,
    load_thresholds,
    prometheus_query,
    query_prometheus,
)

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "validate_llm_efficiency.py"
CONFIG = """\
[tool.tta-dev.llm-efficiency]
min-cache-hit-rate = 0.5
max-cost-per-run-usd = 0.05
min-cheap-model-share = 0.7
cheap-models = ["small"]
"""
SECRET = "hunter2"
# Bounded: every subprocess here ends long before this, or the test fails instead of hanging.
SUBPROCESS_LIMIT = 120


def _script(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=SUBPROCESS_LIMIT,
        env={**os.environ, **(env or {})},
    )


def _one_line_error(
    result: subprocess.CompletedProcess[str] | tuple[int, str], code: int = 2
) -> str:
    returncode, err = (
        (result.returncode, result.stderr) if not isinstance(result, tuple) else result
    )
    assert returncode == code, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


# --- a Prometheus that answers badly --------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_ANSWERS: dict[str, tuple[Respond, str]] = {
    "a JSON list": (answer("[]"), "JSON that is not an object"),
    "null": (answer("null"), "JSON that is not an object"),
    "data null": (answer('{"status": "success", "data": null}'), "'data' is not an object"),
    "a matrix": (
        answer('{"status": "success", "data": {"resultType": "matrix", "result": []}}'),
        "resultType 'matrix'",
    ),
    "result not a list": (
        answer('{"status": "success", "data": {"resultType": "vector", "result": 5}}'),
        "'result' is not a list",
    ),
    "a series without metric": (vector({"value": [0, "1"]}), "no 'metric' object"),
    "labels that are not strings": (
        vector({"metric": {"a": 1}, "value": [0, "1"]}),
        "string labels",
    ),
    "a short value": (vector({"metric": {}, "value": [0]}), "'value' is not"),
    "a value that is no number": (vector({"metric": {}, "value": [0, "many"]}), "is not a number"),
    "a value that is a float": (vector({"metric": {}, "value": [0, 1.5]}), "is not a number"),
    "a series that is a string": (vector("x"), "a series is not an object"),  # type: ignore[arg-type]
    "an error": (
        answer('{"status": "error", "error": "parse error"}', "400 Bad Request"),
        "rejected",
    ),
    "HTML": (answer("<html>bad gateway</html>", "502 Bad Gateway"), "answered HTTP 502"),
    "not UTF-8": (answer(b"\xff\xfe{}"), "not UTF-8"),
    "100,000-deep JSON": (answer(DEEP), "nested deeper than"),
    "a garbage status line": (raw(b"GARBAGE\r\n\r\n"), "cannot query Prometheus"),
    "an empty answer": (raw(b""), "cannot query Prometheus"),
    "150 headers": (
        raw(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n{}"),
        "cannot query Prometheus",
    ),
    "a truncated body": (
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"status": "su'),
        "cannot query Prometheus",
    ),
    "a broken chunk": (
        raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        "cannot query Prometheus",
    ),
    "a body that drips forever": (
        drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"),
        "did not answer within 1s",
    ),
    "headers that drip forever": (drip(b"HTTP/1.1 200 OK\r\n"), "did not answer within 1s"),
    "no answer at all": (silent(), "did not answer within 1s"),
}


@pytest.fixture(params=list(BAD_ANSWERS))
def bad_prometheus(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    respond, message = BAD_ANSWERS[request.param]
    with FakePrometheus(respond) as server:
        yield server.url, message


def test_a_bad_answer_is_one_prometheus_error(bad_prometheus: tuple[str, str]) -> None:
    url, message = bad_prometheus
    with pytest.raises(PrometheusError) as info:
        prometheus_query(url, "up", timeout=1)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert len(text) < 400


def test_the_deadline_covers_the_whole_request_not_each_read() -> None:
    # One byte every DRIP_INTERVAL (0.2 s) never trips a 1 s per-read timeout; the request
    # deadline ends it anyway, after some bytes arrived.
    assert DRIP_INTERVAL < 1
    with FakePrometheus(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")) as server:
        with pytest.raises(PrometheusError, match="did not answer within 1s"):
            prometheus_query(server.url, "up", timeout=1)
        assert len(server.requests) == 1


@pytest.mark.parametrize(
    "case",
    [
        "a JSON list",
        "a series without metric",
        "a body that drips forever",
        "a garbage status line",
    ],
)
def test_script_on_a_bad_prometheus_is_one_line_exit_2(project: Path, case: str) -> None:
    respond, message = BAD_ANSWERS[case]
    with FakePrometheus(respond) as server:
        result = _script("--prometheus", server.url, "--timeout", "1", cwd=project)
    err = _one_line_error(result)
    assert message in err


@pytest.mark.parametrize(
    "case", ["null", "a short value", "a body that drips forever", "150 headers"]
)
def test_selfcheck_on_a_bad_prometheus_is_one_line_exit_2(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    respond, message = BAD_ANSWERS[case]
    with FakePrometheus(respond) as server:
        code = selfcheck.main(
            [
                "--prometheus",
                server.url,
                "--metrics-addr",
                f"127.0.0.1:{find_free_port()}",
                "--timeout",
                "0",
                "--query-timeout",
                "1",
                "--config",
                str(ROOT / "pyproject.toml"),
            ]
        )
    err = _one_line_error((code, capsys.readouterr().err))
    assert message in err


def test_selfcheck_bad_answer_after_the_scrape_is_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The marker query succeeds, every later query gets a series without a value.
    calls: list[int] = []

    def respond(connection: object, stop: object) -> None:
        calls.append(1)
        series = {"metric": {"job": "j", "instance": "i"}}
        if len(calls) == 1:
            series["value"] = [0, "1"]  # type: ignore[assignment]
        vector(series)(connection, stop)  # type: ignore[arg-type]

    with FakePrometheus(respond) as server:
        code = selfcheck.main(
            [
                "--prometheus",
                server.url,
                "--metrics-addr",
                f"127.0.0.1:{find_free_port()}",
                "--query-timeout",
                "1",
                "--config",
                str(ROOT / "pyproject.toml"),
            ]
        )
    err = _one_line_error((code, capsys.readouterr().err))
    assert "'value' is not" in err


def test_a_huge_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tta_dev.observability import _promql

    monkeypatch.setattr(_promql, "MAX_RESPONSE_BYTES", 1000)
    with (
        FakePrometheus(answer(" " * 5000)) as server,
        pytest.raises(PrometheusError, match="more than 1000 bytes"),
    ):
        prometheus_query(server.url, "up", timeout=5)


# --- URLs and timeouts ----------------------------------------------------------------------

BAD_URLS = {
    "http://127.0.0.1:9090/\nX-Injected: 1": "whitespace or control characters",
    "http://127.0.0.1:9090/ x": "whitespace or control characters",
    "http://$(id)/": "does not name a valid host",
    "http://`id`:9090/": "does not name a valid host",
    "http://127.0.0.1:$(id)/": "not a usable Prometheus URL",
    "http://127.0.0.1:99999/": "not a usable Prometheus URL",
    "http://[::1": "not a usable Prometheus URL",
    "http:///api": "names no host",
    "file:///etc/passwd": "needs an http(s) URL",
    "127.0.0.1:9090": "needs an http(s) URL",
}


@pytest.mark.parametrize("url", list(BAD_URLS))
def test_bad_url_is_one_line(url: str, project: Path) -> None:
    with pytest.raises(PrometheusError, match=re.escape(BAD_URLS[url])):
        prometheus_query(url, "up")
    err = _one_line_error(_script("--prometheus", url, cwd=project))
    assert BAD_URLS[url] in err
    assert "X-Injected" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "soon", "1e999"])
def test_script_timeout_must_be_positive_and_finite(value: str, project: Path) -> None:
    err = _one_line_error(
        _script("--prometheus", "http://127.0.0.1:1", "--timeout", value, cwd=project)
    )
    assert "argument --timeout" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "x"])
@pytest.mark.parametrize("option", ["--timeout", "--query-timeout"])
def test_selfcheck_timeouts_must_be_finite(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        selfcheck.main(["--prometheus", "http://127.0.0.1:1", option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"argument {option}" in err


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0, 0.0])
def test_library_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(PrometheusError, match="timeout must be"):
        prometheus_query("http://127.0.0.1:1", "up", timeout=timeout)


def test_usage_errors_are_one_line(project: Path) -> None:
    for args in (["--runs", "0", "--metrics", "x"], ["--runs", "9" * 5000], ["--bogus"], []):
        err = _one_line_error(_script(*args, cwd=project, env={"PROMETHEUS_URL": ""}))
        assert len(err) < 400


# --- credentials ----------------------------------------------------------------------------


def _secret_urls(base: str) -> list[str]:
    host = base.removeprefix("http://")
    return [
        f"http://admin:{SECRET}@{host}/",
        f"http://{host}/?token={SECRET}",
        f"http://admin:{SECRET}@{host}/prom?api-key={SECRET}#{SECRET}",
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.parametrize("case", ["dead", "a JSON list", "a body that drips forever"])
def test_script_never_prints_credentials(project: Path, index: int, how: str, case: str) -> None:
    if case == "dead":
        url = _secret_urls(f"http://127.0.0.1:{find_free_port()}")[index]
        result = _script(
            *(["--prometheus", url] if how == "option" else []),
            "--timeout",
            "1",
            cwd=project,
            env={"PROMETHEUS_URL": url},
        )
    else:
        with FakePrometheus(BAD_ANSWERS[case][0]) as server:
            url = _secret_urls(server.url)[index]
            args = ["--prometheus", url] if how == "option" else []
            result = _script(*args, "--timeout", "1", cwd=project, env={"PROMETHEUS_URL": url})
    err = _one_line_error(result)
    assert SECRET not in err + result.stdout
    assert "127.0.0.1" in err


def test_selfcheck_never_prints_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    for make in (vector, lambda: BAD_ANSWERS["a JSON list"][0]):
        with FakePrometheus(make()) as server:
            for url in _secret_urls(server.url):
                code = selfcheck.main(
                    [
                        "--metrics-addr",
                        f"127.0.0.1:{find_free_port()}",
                        "--timeout",
                        "0",
                        "--query-timeout",
                        "1",
                        "--config",
                        str(ROOT / "pyproject.toml"),
                    ],
                    environ={"PROMETHEUS_URL": url},
                )
                captured = capsys.readouterr()
                assert code in {1, 2}
                assert SECRET not in captured.out + captured.err
                assert "127.0.0.1" in captured.out + captured.err


def test_credentials_in_the_url_are_used_not_shown() -> None:
    with FakePrometheus(vector({"metric": {"model": "small"}, "value": [0, "3"]})) as server:
        host = server.url.removeprefix("http://")
        url = f"http://me:s%40cret@{host}/prefix/?token=abc"
        samples = query_prometheus(url, timeout=5)
        head = server.requests[0].decode()
    assert {s.value for s in samples} == {3.0}
    request_line, *headers = head.split("\r\n")
    assert request_line.startswith("GET /prefix/api/v1/query?token=abc&query=")
    expected = base64.b64encode(b"me:s@cret").decode()
    assert f"Authorization: Basic {expected}" in headers


# --- wrong types, nesting, special files ----------------------------------------------------

BAD_CONFIGS = {
    "[tool.tta-dev]\nllm-efficiency = [[1]]\n": "must be a table",
    "tool = 1\n": "[tool] must be a table",
    '[tool]\ntta-dev = "x"\n': "[tool.tta-dev] must be a table",
    f"[tool.tta-dev.llm-efficiency]\nmax-cost-per-run-usd = {10**400}\n": "is too large",
    f"[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = {10**400}\n": "between 0 and 1",
    "[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = nan\n": "must be a finite number",
    "[tool.tta-dev.llm-efficiency]\nmax-cost-per-run-usd = inf\n": "must be a finite number",
    "[tool.tta-dev.llm-efficiency]\nmax-cost-per-run-usd = 1e400\n": "must be a finite number",
    "[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = -0.5\n": "between 0 and 1",
    "[tool.tta-dev.llm-efficiency]\nmin-cheap-model-share = 2\ncheap-models = ['a']\n": "between 0 and 1",
    "[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = true\n": "must be a number",
    "[tool.tta-dev.llm-efficiency]\ncheap-models = 'small'\n": "list of model names",
    "[tool.tta-dev.llm-efficiency]\ncheap-models = [1]\n": "list of model names",
    "[tool.tta-dev.llm-efficiency]\n" + "x" * 100_000 + " = 1\n": "unknown key(s)",
    "x = " + "[" * 100_000 + "]" * 100_000 + "\n": "nested deeper than",
    "x = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n": "nested deeper than",
}


@pytest.mark.parametrize("config", list(BAD_CONFIGS), ids=range(len(BAD_CONFIGS)))
def test_config_of_the_wrong_shape_is_one_line(config: str, project: Path) -> None:
    path = project / "pyproject.toml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(BAD_CONFIGS[config])):
        load_thresholds(path)
    err = _one_line_error(_script("--prometheus", "http://127.0.0.1:1", cwd=project))
    assert BAD_CONFIGS[config] in err
    assert len(err) < 700


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
@pytest.mark.parametrize("option", ["--config", "--metrics"])
def test_script_special_files_are_not_regular_files(project: Path, kind: str, option: str) -> None:
    path = _special(project, kind)
    args = [option, str(path)] + (
        ["--prometheus", "http://127.0.0.1:1"] if option == "--config" else []
    )
    err = _one_line_error(_script(*args, cwd=project))
    assert "is not a regular file" in err


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_selfcheck_special_config_is_one_line(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _special(tmp_path, kind)
    code = selfcheck.main(["--prometheus", "http://127.0.0.1:1", "--config", str(path)])
    err = _one_line_error((code, capsys.readouterr().err))
    assert "is not a regular file" in err


@pytest.mark.parametrize(
    "snapshot",
    [
        "tta_x 1\n" * 3 + 'tta_y{a="' + "b" * 100_000,
        "x{a=b} 1\n",
        "{} 1\n",
        "x{" + ",".join(f'l{i}="v"' for i in range(5000)) + "} nope\n",
        "\x00\x01\x02",
    ],
    ids=["unterminated label", "unquoted label", "no name", "bad value", "binary"],
)
def test_script_bad_snapshot_is_one_line(project: Path, snapshot: str) -> None:
    (project / "run.prom").write_text(snapshot, encoding="utf-8")
    err = _one_line_error(_script("--metrics", "run.prom", cwd=project))
    assert "not a Prometheus text snapshot" in err
    assert len(err) < 700


SPAN = {
    "name": "x",
    "context": {"trace_id": "0x01", "span_id": "0x02"},
    "parent_id": None,
    "start_time": "2026-11-25T10:00:00.000000Z",
    "end_time": "2026-11-25T10:00:00.001000Z",
    "status": {"status_code": "UNSET"},
    "attributes": {},
}
BAD_SPANS = {
    "status is a number": ({**SPAN, "status": 5}, "has status 5"),
    "status is a string": ({**SPAN, "status": "ERROR"}, "has status 'ERROR'"),
    "attributes is a list": ({**SPAN, "attributes": [1]}, "has attributes [1]"),
    "attributes is a string": ({**SPAN, "attributes": "a"}, "has attributes 'a'"),
    "context is a list": ({**SPAN, "context": [1]}, "no context object"),
    "trace id is an object": (
        {**SPAN, "context": {"trace_id": {}, "span_id": "1"}},
        "no trace_id string",
    ),
    "name is missing": ({k: v for k, v in SPAN.items() if k != "name"}, "no name string"),
    "parent is a list": ({**SPAN, "parent_id": []}, "no parent_id string"),
    "start time is a number": ({**SPAN, "start_time": 5}, "not a usable ISO 8601 time"),
    "start time is year 1": ({**SPAN, "start_time": "0001-01-01T00:00:00"}, "usable ISO 8601"),
    "start time is garbage": ({**SPAN, "start_time": "x" * 1000}, "not a usable ISO 8601 time"),
    "deep": (json.loads("[" * 50 + "]" * 50), "expected an object"),
}


@pytest.mark.parametrize("case", list(BAD_SPANS))
def test_spans_of_the_wrong_shape_are_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    span, message = BAD_SPANS[case]
    path = tmp_path / "spans.json"
    path.write_text(json.dumps(span), encoding="utf-8")
    code = cli_main(["profile", "--spans", str(path)])
    err = _one_line_error((code, capsys.readouterr().err))
    assert message in err
    assert len(err) < 400


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000],
    ids=["arrays", "objects"],
)
def test_deep_span_json_is_one_line(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.json"
    path.write_text(text, encoding="utf-8")
    err = _one_line_error((cli_main(["profile", "--spans", str(path)]), capsys.readouterr().err))
    assert "nested deeper than" in err


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_special_spans_file_is_one_line(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _special(tmp_path, kind)
    err = _one_line_error((cli_main(["profile", "--spans", str(path)]), capsys.readouterr().err))
    assert "is not a regular file" in err


def test_deep_input_json_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flows = tmp_path / "flows.py"
    flows.write_text("from tta_dev.primitives import step\nwf = step(lambda x: x, name='id')\n")
    deep = "[" * 100_000 + "]" * 100_000
    err = _one_line_error(
        (cli_main(["profile", f"{flows}:wf", "--input", deep]), capsys.readouterr().err)
    )
    assert "--input is not JSON" in err


# --- profile targets that do not load -------------------------------------------------------

TARGETS = {
    "needs arguments": ("def build(a, b):\n    return a\n", "build", "needs arguments", 2),
    "a class needing arguments": (
        "from tta_dev.primitives import Retry\nclass R(Retry):\n    pass\n",
        "R",
        "needs arguments",
        2,
    ),
    "a syntax error": ("x = (\n", "wf", "SyntaxError", 2),
    "raises on import": ("raise KeyError('boom')\n", "wf", "KeyError: 'boom'", 2),
    "exits on import": ("import sys\nsys.exit(3)\n", "wf", "sys.exit(3)", 2),
    "exits with a message": ("import sys\nsys.exit('bye')\n", "wf", "sys.exit('bye')", 2),
    "raises in the factory": (
        "def build():\n    raise ValueError('no\\nmore')\n",
        "build",
        "ValueError: no",
        2,
    ),
    "exits in the factory": (
        "import sys\ndef build():\n    sys.exit(4)\n",
        "build",
        "sys.exit(4)",
        2,
    ),
    "exits in the run": (
        "import sys\nfrom tta_dev.primitives import step\n"
        "def stop(x):\n    sys.exit(3)\nwf = step(stop, name='stop')\n",
        "wf",
        "the run failed: sys.exit(3)",
        1,
    ),
}


@pytest.mark.parametrize("case", list(TARGETS))
def test_profile_target_that_does_not_load_is_one_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, attr, message, code = TARGETS[case]
    flows = tmp_path / "flows.py"
    flows.write_text(source, encoding="utf-8")
    result = cli_main(["profile", f"{flows}:{attr}", "--input", "1"])
    err = _one_line_error((result, capsys.readouterr().err), code)
    assert message in err
    if code == 2:
        assert "flows.py" in err  # the message names the target


def test_profile_target_fifo_is_not_a_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = tmp_path / "flows.py"
    os.mkfifo(flows)
    err = _one_line_error((cli_main(["profile", f"{flows}:wf"]), capsys.readouterr().err))
    assert "not a regular file" in err


# --- without the observability extra --------------------------------------------------------

BLOCK = "import sys; sys.modules['prometheus_client'] = None; sys.modules['opentelemetry'] = None; "


def test_script_metrics_without_the_extra_names_the_command(project: Path) -> None:
    (project / "run.prom").write_text("tta_x 1\n", encoding="utf-8")
    code = (
        BLOCK
        + f"import runpy; sys.argv = ['x', '--metrics', 'run.prom']; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=SUBPROCESS_LIMIT,
    )
    err = _one_line_error(result)
    assert "uv run --extra observability" in err


def test_script_prometheus_without_the_extra_works(project: Path) -> None:
    series = [
        {"metric": {"result": "hit"}, "value": [0, "9"]},
        {"metric": {"model": "small"}, "value": [0, "1"]},
    ]
    with FakePrometheus(vector(*series)) as server:
        code = BLOCK + (
            f"import runpy; sys.argv = ['x', '--prometheus', {server.url!r}, '--format', 'json']; "
            f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            timeout=SUBPROCESS_LIMIT,
        )
    assert result.returncode in {0, 1}, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["checks"]


def test_selfcheck_without_the_extra_is_one_line(tmp_path: Path) -> None:
    code = (
        BLOCK
        + "import runpy; sys.argv = ['x', '--prometheus', 'http://127.0.0.1:1']; runpy.run_module('tta_dev.observability._selfcheck', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=SUBPROCESS_LIMIT,
    )
    err = _one_line_error(result)
    assert "the 'observability' extra" in err
