"""LLM efficiency check: read a run's metrics and hold them against configured thresholds.

The metrics come from a saved Prometheus text snapshot (what ``/metrics`` served) or from a
Prometheus server's HTTP query API. Thresholds live in ``[tool.tta-dev.llm-efficiency]``::

    [tool.tta-dev.llm-efficiency]
    min-cache-hit-rate = 0.3        # hits / (hits + misses + errors) of tta_cache_requests_total
    max-cost-per-run-usd = 0.05     # tta_llm_cost_usd_total / runs
    min-cheap-model-share = 0.5     # share of tta_llm_requests_total on cheap-models
    cheap-models = ["small"]

A threshold that is not configured is not checked; a configured one whose metric is absent
fails (no data is not a pass). Rates and shares are numbers in [0, 1], the cost a finite
number >= 0.

Everything read is input: the config, a snapshot and Prometheus's answers are bounded in
size and depth and checked for type (:mod:`tta_dev._safeio`, :mod:`._promql`); errors are
``ValueError`` subclasses with one line, URLs shown without credentials. Only reading a
snapshot needs ``prometheus_client`` (the ``observability`` extra).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from tta_dev._safeio import InputError, describe, load_toml, read_text

from ._promql import DEFAULT_TIMEOUT, PrometheusError, prometheus_query

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SNAPSHOT_BYTES",
    "EfficiencyResult",
    "EfficiencyThresholds",
    "MetricsSample",
    "PrometheusError",
    "ThresholdCheck",
    "check_efficiency",
    "load_thresholds",
    "parse_metrics_text",
    "prometheus_query",
    "query_prometheus",
    "read_metrics_snapshot",
    "render_efficiency",
]


#: A pyproject.toml larger than this is refused.
MAX_CONFIG_BYTES = 4 << 20
#: A metrics snapshot larger than this is refused (one run's metrics are a few KiB).
MAX_SNAPSHOT_BYTES = 64 << 20


@dataclass(frozen=True)
class MetricsSample:
    """One sample: metric name (counter names without ``_total`` normalised back), labels."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class EfficiencyThresholds:
    min_cache_hit_rate: float | None = None
    max_cost_per_run_usd: float | None = None
    min_cheap_model_share: float | None = None
    cheap_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThresholdCheck:
    name: str
    actual: float | None
    limit: float
    comparison: str  # ">=" or "<="
    passed: bool
    detail: str


@dataclass(frozen=True)
class EfficiencyResult:
    checks: tuple[ThresholdCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[ThresholdCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)


_KEYS = {
    "min-cache-hit-rate": "min_cache_hit_rate",
    "max-cost-per-run-usd": "max_cost_per_run_usd",
    "min-cheap-model-share": "min_cheap_model_share",
    "cheap-models": "cheap_models",
}


_SECTION = "[tool.tta-dev.llm-efficiency]"


def _table(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a table, got {describe(value)}")
    return cast("dict[str, Any]", value)


def _threshold(key: str, raw: object) -> float:
    """A threshold as a float: finite, in [0, 1] for rates and shares, >= 0 for the cost."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InputError(f"{_SECTION} {key} must be a number, got {describe(raw)}")
    upper = None if key == "max-cost-per-run-usd" else 1
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InputError(f"{_SECTION} {key} must be a finite number, got {raw}")
    # Compared before float(): an integer of 400 digits would overflow the conversion.
    if raw < 0 or (upper is not None and raw > upper):
        bounds = "between 0 and 1" if upper is not None else "at least 0"
        raise InputError(f"{_SECTION} {key} must be {bounds}, got {describe(raw)}")
    try:
        return float(raw)
    except OverflowError:
        raise InputError(f"{_SECTION} {key} is too large: {describe(raw)}") from None


def load_thresholds(pyproject: Path) -> EfficiencyThresholds:
    """Read ``[tool.tta-dev.llm-efficiency]``; raise ValueError (``InputError``) with what to
    fix: the file is missing, not a regular file, too large, too deeply nested, not TOML,
    or the table or a value has the wrong type or range."""
    data = load_toml(pyproject, str(pyproject), limit=MAX_CONFIG_BYTES)
    tool = _table(data.get("tool", {}), f"{pyproject}: [tool]")
    ours = _table(tool.get("tta-dev", {}), f"{pyproject}: [tool.tta-dev]")
    section = _table(ours.get("llm-efficiency", {}), f"{pyproject}: {_SECTION}")
    if not section:
        raise InputError(f"{pyproject}: no {_SECTION} table; add thresholds")
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        shown = ", ".join(describe(k, 40) for k in unknown[:5])
        raise InputError(f"{_SECTION}: unknown key(s) {shown}; known: {', '.join(_KEYS)}")
    values: dict[str, Any] = {}
    for key, attr in _KEYS.items():
        if key not in section:
            continue
        raw = section[key]
        if attr == "cheap_models":
            if not isinstance(raw, list) or not all(
                isinstance(m, str) for m in cast("list[Any]", raw)
            ):
                raise InputError(f"{_SECTION} {key} must be a list of model names")
            values[attr] = tuple(cast("list[str]", raw))
        else:
            values[attr] = _threshold(key, raw)
    thresholds = EfficiencyThresholds(**values)
    if thresholds.min_cheap_model_share is not None and not thresholds.cheap_models:
        raise InputError(f"{_SECTION} min-cheap-model-share needs cheap-models")
    return thresholds


def read_metrics_snapshot(path: Path) -> list[MetricsSample]:
    """Read and parse a saved Prometheus text snapshot (a regular file, bounded in size)."""
    return parse_metrics_text(read_text(path, what=str(path), limit=MAX_SNAPSHOT_BYTES))


def parse_metrics_text(text: str) -> list[MetricsSample]:
    """Parse a Prometheus text exposition snapshot (raise ValueError if it is not one).

    Needs ``prometheus_client`` (the ``observability`` extra); without it the ValueError
    names the command that has it.
    """
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise InputError(
            "reading a metrics snapshot needs prometheus_client, the 'observability' extra: "
            "run `uv run --extra observability ...` (or `uv sync --extra observability`)"
        ) from None
    samples: list[MetricsSample] = []
    try:
        for family in text_string_to_metric_families(text):
            samples.extend(
                MetricsSample(s.name, dict(s.labels), float(s.value)) for s in family.samples
            )
    except Exception as exc:  # the parser's errors are not one type; all mean "not a snapshot"
        raise InputError(f"not a Prometheus text snapshot: {type(exc).__name__}: {exc}") from None
    return samples


_QUERIES = {
    "tta_cache_requests_total": "sum by (result) (tta_cache_requests_total{selector})",
    "tta_llm_cost_usd_total": "sum by (model) (tta_llm_cost_usd_total{selector})",
    "tta_llm_requests_total": "sum by (model) (tta_llm_requests_total{selector})",
}


def query_prometheus(
    base_url: str, timeout: float = DEFAULT_TIMEOUT, selector: str = ""
) -> list[MetricsSample]:
    """Fetch the metrics the check needs through Prometheus's query API (PromQL).

    ``selector`` (e.g. ``{job="tta",instance="127.0.0.1:9464"}``) narrows the series to one
    scrape target when the server scrapes others too. ``timeout`` bounds each query in all.
    Raises :class:`PrometheusError` (a ValueError) with one line.
    """
    samples: list[MetricsSample] = []
    for name, promql in _QUERIES.items():
        for labels, value in prometheus_query(
            base_url, promql.replace("{selector}", selector), timeout
        ):
            samples.append(MetricsSample(name, labels, value))
    return samples


def _sum(samples: Iterable[MetricsSample], name: str, **labels: str) -> tuple[float, bool]:
    total = 0.0
    seen = False
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            total += s.value
            seen = True
    return total, seen


def check_efficiency(
    samples: Sequence[MetricsSample], thresholds: EfficiencyThresholds, runs: int = 1
) -> EfficiencyResult:
    """Hold one run's (or ``runs`` runs') metrics against the thresholds."""
    if runs < 1:
        raise InputError(f"runs must be at least 1, got {describe(runs)}")
    checks: list[ThresholdCheck] = []
    if thresholds.min_cache_hit_rate is not None:
        hits, _ = _sum(samples, "tta_cache_requests_total", result="hit")
        misses, _ = _sum(samples, "tta_cache_requests_total", result="miss")
        errors, _ = _sum(samples, "tta_cache_requests_total", result="error")
        total = hits + misses + errors
        rate = hits / total if total else None
        checks.append(
            ThresholdCheck(
                "cache hit rate",
                rate,
                thresholds.min_cache_hit_rate,
                ">=",
                rate is not None and rate >= thresholds.min_cache_hit_rate,
                f"{hits:g} hits of {total:g} cache requests" if total else "no cache requests",
            )
        )
    if thresholds.max_cost_per_run_usd is not None:
        cost, seen = _sum(samples, "tta_llm_cost_usd_total")
        per_run = cost / runs if seen else None
        checks.append(
            ThresholdCheck(
                "cost per run (USD)",
                per_run,
                thresholds.max_cost_per_run_usd,
                "<=",
                per_run is not None and per_run <= thresholds.max_cost_per_run_usd,
                f"{cost:.6g} USD over {runs} run(s)" if seen else "no LLM cost metric",
            )
        )
    if thresholds.min_cheap_model_share is not None:
        total, _ = _sum(samples, "tta_llm_requests_total")
        cheap = sum(
            _sum(samples, "tta_llm_requests_total", model=m)[0] for m in thresholds.cheap_models
        )
        share = cheap / total if total else None
        checks.append(
            ThresholdCheck(
                "cheap model share",
                share,
                thresholds.min_cheap_model_share,
                ">=",
                share is not None and share >= thresholds.min_cheap_model_share,
                f"{cheap:g} of {total:g} LLM calls on {', '.join(thresholds.cheap_models)}"
                if total
                else "no LLM calls",
            )
        )
    return EfficiencyResult(tuple(checks))


def render_efficiency(result: EfficiencyResult, fmt: str = "text") -> str:
    """Render as ``text`` (a table), ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(
            {
                "passed": result.passed,
                "checks": [
                    {
                        "name": c.name,
                        # JSON has no NaN/Infinity: a non-finite value is shown as null.
                        "actual": c.actual
                        if c.actual is not None and math.isfinite(c.actual)
                        else None,
                        "limit": c.limit,
                        "comparison": c.comparison,
                        "passed": c.passed,
                        "detail": c.detail,
                    }
                    for c in result.checks
                ],
            },
            indent=2,
        )
    rows = [
        (
            c.name,
            "n/a" if c.actual is None else f"{c.actual:.4g}",
            f"{c.comparison} {c.limit:g}",
            "ok" if c.passed else "FAIL",
            c.detail,
        )
        for c in result.checks
    ]
    header = ("threshold", "actual", "limit", "result", "detail")
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = [
        "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    if not rows:
        out.append("(no thresholds configured)")
    return "\n".join(out)
