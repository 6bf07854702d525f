"""LLM efficiency check: read a run's metrics and hold them against configured thresholds.

The metrics come from a saved Prometheus text snapshot (what ``/metrics`` served) or from a
Prometheus server's HTTP query API. Thresholds live in ``[tool.tta-dev.llm-efficiency]``::

    [tool.tta-dev.llm-efficiency]
    min-cache-hit-rate = 0.3        # hits / (hits + misses + errors) of tta_cache_requests_total
    max-cost-per-run-usd = 0.05     # tta_llm_cost_usd_total / runs
    min-cheap-model-share = 0.5     # share of tta_llm_requests_total on cheap-models
    cheap-models = ["small"]

A threshold that is not configured is not checked; a configured one whose metric is absent
fails (no data is not a pass).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

__all__ = [
    "EfficiencyResult",
    "EfficiencyThresholds",
    "MetricsSample",
    "ThresholdCheck",
    "check_efficiency",
    "load_thresholds",
    "parse_metrics_text",
    "prometheus_query",
    "query_prometheus",
    "render_efficiency",
]


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


def load_thresholds(pyproject: Path) -> EfficiencyThresholds:
    """Read ``[tool.tta-dev.llm-efficiency]``; raise ValueError with what to fix."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{pyproject}: invalid TOML ({exc}); fix the file") from exc
    tool = cast("dict[str, Any]", data.get("tool", {}))
    section = cast(
        "dict[str, Any]", cast("dict[str, Any]", tool.get("tta-dev", {})).get("llm-efficiency", {})
    )
    if not section:
        raise ValueError(f"{pyproject}: no [tool.tta-dev.llm-efficiency] table; add thresholds")
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise ValueError(
            f"[tool.tta-dev.llm-efficiency]: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key, attr in _KEYS.items():
        if key not in section:
            continue
        raw = section[key]
        if attr == "cheap_models":
            if not isinstance(raw, list) or not all(
                isinstance(m, str) for m in cast("list[Any]", raw)
            ):
                raise ValueError(
                    f"[tool.tta-dev.llm-efficiency] {key} must be a list of model names"
                )
            values[attr] = tuple(cast("list[str]", raw))
        else:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ValueError(
                    f"[tool.tta-dev.llm-efficiency] {key} must be a number, got {raw!r}"
                )
            values[attr] = float(raw)
    thresholds = EfficiencyThresholds(**values)
    if thresholds.min_cheap_model_share is not None and not thresholds.cheap_models:
        raise ValueError("[tool.tta-dev.llm-efficiency] min-cheap-model-share needs cheap-models")
    return thresholds


def parse_metrics_text(text: str) -> list[MetricsSample]:
    """Parse a Prometheus text exposition snapshot (raise ValueError if it is not one)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: list[MetricsSample] = []
    try:
        for family in text_string_to_metric_families(text):
            samples.extend(
                MetricsSample(s.name, dict(s.labels), float(s.value)) for s in family.samples
            )
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"not a Prometheus text snapshot: {exc}".splitlines()[0]) from exc
    return samples


_QUERIES = {
    "tta_cache_requests_total": "sum by (result) (tta_cache_requests_total{selector})",
    "tta_llm_cost_usd_total": "sum by (model) (tta_llm_cost_usd_total{selector})",
    "tta_llm_requests_total": "sum by (model) (tta_llm_requests_total{selector})",
}


def prometheus_query(
    base_url: str, promql: str, timeout: float = 10.0
) -> list[tuple[dict[str, str], float]]:
    """Run one instant PromQL query; ``(labels, value)`` per series of the vector result.

    Raises ValueError when the URL is not http(s), Prometheus cannot be reached or rejects
    the query.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    if urllib.parse.urlsplit(base_url).scheme not in {"http", "https"}:
        raise ValueError(f"--prometheus needs an http(s) URL, got {base_url!r}")
    url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            body = cast("dict[str, Any]", json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        try:
            body = cast("dict[str, Any]", json.loads(exc.read()))
        except (OSError, json.JSONDecodeError):
            raise ValueError(f"cannot query Prometheus at {base_url}: {exc}") from exc
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot query Prometheus at {base_url}: {exc}") from exc
    if body.get("status") != "success":
        raise ValueError(f"Prometheus rejected {promql!r}: {body.get('error', 'no reason')}")
    data = cast("dict[str, Any]", body.get("data", {}))
    series: list[tuple[dict[str, str], float]] = []
    for item in cast("list[dict[str, Any]]", data.get("result", [])):
        labels = {str(k): str(v) for k, v in cast("dict[str, Any]", item["metric"]).items()}
        series.append((labels, float(item["value"][1])))
    return series


def query_prometheus(
    base_url: str, timeout: float = 10.0, selector: str = ""
) -> list[MetricsSample]:
    """Fetch the metrics the check needs through Prometheus's query API (PromQL).

    ``selector`` (e.g. ``{job="tta",instance="127.0.0.1:9464"}``) narrows the series to one
    scrape target when the server scrapes others too.
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
        raise ValueError(f"runs must be at least 1, got {runs}")
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
                        "actual": c.actual,
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
