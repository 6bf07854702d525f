from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tta_dev.observability.efficiency import (
    EfficiencyThresholds,
    check_efficiency,
    load_thresholds,
    parse_metrics_text,
    render_efficiency,
)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "validate_llm_efficiency.py"

SNAPSHOT = """\
# HELP tta_cache_requests_total Cache lookups by result.
# TYPE tta_cache_requests_total counter
tta_cache_requests_total{name="answers",result="hit"} 6.0
tta_cache_requests_total{name="answers",result="miss"} 3.0
tta_cache_requests_total{name="answers",result="error"} 1.0
# HELP tta_llm_cost_usd_total LLM cost.
# TYPE tta_llm_cost_usd_total counter
tta_llm_cost_usd_total{model="small"} 0.002
tta_llm_cost_usd_total{model="large"} 0.03
# HELP tta_llm_requests_total LLM calls.
# TYPE tta_llm_requests_total counter
tta_llm_requests_total{model="small"} 3.0
tta_llm_requests_total{model="large"} 1.0
"""

CONFIG = """\
[tool.tta-dev.llm-efficiency]
min-cache-hit-rate = 0.5
max-cost-per-run-usd = 0.05
min-cheap-model-share = 0.7
cheap-models = ["small"]
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_values_from_a_known_snapshot(tmp_path: Path) -> None:
    result = check_efficiency(
        parse_metrics_text(SNAPSHOT), load_thresholds(_write(tmp_path, "p.toml", CONFIG))
    )
    by_name = {c.name: c for c in result.checks}
    assert by_name["cache hit rate"].actual == pytest.approx(0.6)
    assert by_name["cost per run (USD)"].actual == pytest.approx(0.032)
    assert by_name["cheap model share"].actual == pytest.approx(0.75)
    assert result.passed


def test_failed_thresholds_are_named(tmp_path: Path) -> None:
    thresholds = EfficiencyThresholds(
        min_cache_hit_rate=0.9,
        max_cost_per_run_usd=0.01,
        min_cheap_model_share=0.5,
        cheap_models=("small",),
    )
    result = check_efficiency(parse_metrics_text(SNAPSHOT), thresholds)
    assert [c.name for c in result.failed] == ["cache hit rate", "cost per run (USD)"]
    table = render_efficiency(result)
    assert "FAIL" in table
    assert table.splitlines()[0].split() == ["threshold", "actual", "limit", "result", "detail"]


def test_cost_is_divided_by_runs() -> None:
    result = check_efficiency(
        parse_metrics_text(SNAPSHOT), EfficiencyThresholds(max_cost_per_run_usd=0.02), runs=2
    )
    assert result.checks[0].actual == pytest.approx(0.016)
    assert result.passed


def test_missing_metric_fails_rather_than_passes() -> None:
    result = check_efficiency(
        [], EfficiencyThresholds(min_cache_hit_rate=0.1, max_cost_per_run_usd=1)
    )
    assert not result.passed
    assert all(c.actual is None for c in result.checks)


def test_json_and_markdown_render() -> None:
    result = check_efficiency(
        parse_metrics_text(SNAPSHOT), EfficiencyThresholds(min_cache_hit_rate=0.5)
    )
    assert json.loads(render_efficiency(result, "json"))["passed"] is True
    assert render_efficiency(result, "markdown").startswith("| threshold |")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.tta-dev.llm-efficiency\n", "invalid TOML"),
        ("[project]\nname = 'x'\n", "no [tool.tta-dev.llm-efficiency] table"),
        ("[tool.tta-dev.llm-efficiency]\nmin-hit = 1\n", "unknown key(s) 'min-hit'"),
        ("[tool.tta-dev.llm-efficiency]\nmin-cache-hit-rate = 'high'\n", "must be a number"),
        ("[tool.tta-dev.llm-efficiency]\nmin-cheap-model-share = 0.5\n", "needs cheap-models"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        load_thresholds(_write(tmp_path, "p.toml", config))


def test_script_passes_and_fails_with_exit_codes(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", CONFIG)
    metrics = _write(tmp_path, "run.prom", SNAPSHOT)
    ok = _run("--metrics", str(metrics), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "cache hit rate" in ok.stdout
    _write(tmp_path, "strict.toml", CONFIG.replace("0.7", "0.9"))
    bad = _run("--metrics", str(metrics), "--config", "strict.toml", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "FAILED: cheap model share"


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["--metrics", "missing.prom"], {"pyproject.toml": CONFIG}, "missing.prom not found"),
        (
            ["--metrics", "run.prom"],
            {"pyproject.toml": "[x\n", "run.prom": SNAPSHOT},
            "invalid TOML",
        ),
        (
            ["--metrics", "run.prom"],
            {"pyproject.toml": CONFIG, "run.prom": 'tta_x{a="$(rm -rf /)\n"} one\n'},
            "not a Prometheus text snapshot",
        ),
        (
            ["--prometheus", "file:///etc/passwd"],
            {"pyproject.toml": CONFIG},
            "needs an http(s) URL",
        ),
        (
            ["--metrics", "run.prom", "--runs", "0"],
            {"pyproject.toml": CONFIG, "run.prom": SNAPSHOT},
            "at least 1",
        ),
    ],
)
def test_script_bad_input_is_one_line_exit_2(
    tmp_path: Path, args: list[str], files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        _write(tmp_path, name, text)
    result = _run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
