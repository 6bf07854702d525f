"""The proof the ``observability`` nox session runs: real telemetry leaves the process.

    uv run --extra observability python -m tta_dev.observability._selfcheck \
        --prometheus URL [--metrics-addr HOST:PORT]

1. Runs a sample workflow (sequence, parallel, retry, cache, router, circuit breaker and an
   LLM on a local fake provider) a few times with instrumentation on, and checks the span
   tree of every run (parents, names, statuses, attributes) from an in-memory exporter.
2. Serves the metrics on ``--metrics-addr`` (default ``TTA_METRICS_ADDR`` or
   ``127.0.0.1:9464``), waits until the Prometheus at ``--prometheus`` has scraped this
   run, and checks through its query API (PromQL) that the execution counters and the
   duration histogram carry the values the run produced.
3. Runs the LLM efficiency check (``[tool.tta-dev.llm-efficiency]``) on the run's metrics
   as Prometheus holds them.

``--prometheus`` defaults to ``$PROMETHEUS_URL``; a user and password in it are sent as
Basic auth and, like its query, never printed. Each query has one deadline for the whole
exchange (``--query-timeout``, default 10 s); a Prometheus that answers badly is bad input.

Exit 0 when everything holds, 1 naming what did not, 2 on bad input (one line), also when
the ``observability`` extra (OpenTelemetry, prometheus_client) is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tta_dev._redact import redact_urls
from tta_dev._safeio import seconds
from tta_dev.primitives import (
    DEFAULT_PRICES,
    LLM,
    Cache,
    CircuitBreaker,
    LLMRequest,
    LLMResponse,
    Parallel,
    Primitive,
    Retry,
    Sequential,
    WorkflowContext,
    cheapest_model,
    estimate_tokens,
    model_router,
    step,
)

from ._exporters import in_memory_tracer_provider, metrics_address, serve_metrics
from ._profile import SpanRecord, records_from_spans
from ._promql import DEFAULT_TIMEOUT, check_prometheus_url
from .efficiency import (
    check_efficiency,
    load_thresholds,
    prometheus_query,
    query_prometheus,
    render_efficiency,
)

if TYPE_CHECKING:
    # The observability extra: imported where used, so that running this module without
    # the extra is one line saying so (not a ModuleNotFoundError traceback).
    from prometheus_client import CollectorRegistry

__all__ = [
    "PROMPTS",
    "FakeProvider",
    "SampleRun",
    "build_sample_workflow",
    "check_prometheus",
    "check_span_trees",
    "expected_executions",
    "expected_outline",
    "main",
    "run_sample",
    "span_outlines",
    "wait_for_scrape",
]

#: One workflow run per prompt. Repeated prompts hit the cache; "explain" needs a capable
#: (expensive) model, the others go to the cheapest one.
PROMPTS = (
    "what is uv?",
    "what is nox?",
    "what is uv?",
    "explain lock-aware affected members",
    "what is nox?",
)
OUTPUT_TOKENS = 24


class FakeProvider:
    """A local LLM provider: answers at once, with predictable token counts."""

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.calls += 1
        model = request.model or "unknown"
        return LLMResponse(
            text=f"[{model}] {request.prompt}",
            model=model,
            input_tokens=estimate_tokens(request.prompt),
            output_tokens=OUTPUT_TOKENS,
        )


def _min_quality(request: LLMRequest) -> int:
    return 3 if request.prompt.startswith("explain") else 1


def build_sample_workflow(provider: FakeProvider) -> Primitive[str, dict[str, str]]:
    """normalize >> (retry(lookup_docs) | to_request >> cache(router >> breaker(llm))) >> combine.

    ``lookup_docs`` fails on the first attempt of every run (``context.state``), so each
    run has one retried attempt.
    """

    def normalize(question: str) -> str:
        return question.strip()

    def lookup_docs(question: str, context: WorkflowContext) -> str:
        attempt = context.state["lookup_attempts"] = context.state.get("lookup_attempts", 0) + 1
        if attempt == 1:
            raise ConnectionError("docs index unreachable (first attempt of every run)")
        return f"docs for {question}"

    def to_request(question: str) -> LLMRequest:
        return LLMRequest(question, max_tokens=OUTPUT_TOKENS)

    def combine(parts: list[Any]) -> dict[str, str]:
        docs, response = parts
        return {"docs": str(docs), "answer": response.text, "model": response.model}

    def prompt_key(request: LLMRequest) -> str:
        return request.prompt

    llm = CircuitBreaker(LLM(provider, name="llm"), failure_threshold=3, name="llm_breaker")
    routed = Sequential[LLMRequest, LLMResponse](
        model_router(DEFAULT_PRICES, min_quality=_min_quality), llm, name="route_and_complete"
    )
    ask = Sequential[str, LLMResponse](
        step(to_request, name="to_request"),
        Cache(routed, key=prompt_key, name="answer_cache"),
        name="ask",
    )
    docs = Retry(
        step(lookup_docs, name="lookup_docs"),
        attempts=3,
        backoff=0.0,
        jitter=0.0,
        retry_on=ConnectionError,
        name="retry_lookup",
    )
    return Sequential(
        step(normalize, name="normalize"),
        Parallel(docs, ask, name="fan_out"),
        step(combine, name="combine"),
        name="sample_workflow",
    )


@dataclass(frozen=True)
class SampleRun:
    """What the sample run left: spans, metrics and each run's trace id (from its context)."""

    prompts: tuple[str, ...]
    records: tuple[SpanRecord, ...]
    registry: CollectorRegistry
    trace_ids: tuple[str | None, ...]
    results: tuple[dict[str, str], ...]


async def run_sample(prompts: Sequence[str] = PROMPTS) -> SampleRun:
    """Run the sample workflow once per prompt with instrumentation on (in-memory spans)."""
    from ._instrument import instrument

    provider, exporter = in_memory_tracer_provider()
    workflow = build_sample_workflow(FakeProvider())
    trace_ids: list[str | None] = []
    results: list[dict[str, str]] = []
    with instrument(provider) as obs:
        for i, prompt in enumerate(prompts):
            context = WorkflowContext("sample", correlation_id=f"run-{i + 1}")
            results.append(await workflow.execute(prompt, context))
            trace_ids.append(context.trace_id)
    provider.shutdown()
    return SampleRun(
        tuple(prompts),
        tuple(records_from_spans(exporter.get_finished_spans())),
        obs.registry,
        tuple(trace_ids),
        tuple(results),
    )


def _line(record: SpanRecord) -> str:
    attrs = record.attributes
    parts = [f"{record.name} [{attrs.get('tta.primitive.type', '?')}]"]
    if record.error:
        parts.append(f"ERROR {attrs.get('error.type', '?')}")
    for key, label in (
        ("tta.retry.attempt", "attempt"),
        ("tta.retry.attempts", "attempts"),
        ("tta.cache.result", "cache"),
        ("tta.route", "route"),
        ("tta.circuit.state", "circuit"),
        ("gen_ai.response.model", "model"),
    ):
        if key in attrs:
            parts.append(f"{label}={attrs[key]}")
    return " ".join(parts)


def span_outlines(records: Iterable[SpanRecord]) -> dict[str, list[str]]:
    """One indented outline per trace: a line per span, siblings by name then start."""
    records = list(records)
    by_parent: dict[str | None, list[SpanRecord]] = {}
    ids = {r.span_id for r in records}
    for r in records:
        parent = r.parent_id if r.parent_id in ids else None
        by_parent.setdefault(parent, []).append(r)
    outlines: dict[str, list[str]] = {}

    def walk(record: SpanRecord, depth: int, lines: list[str]) -> None:
        lines.append("  " * depth + _line(record))
        for child in sorted(by_parent.get(record.span_id, []), key=lambda c: (c.name, c.start_ns)):
            walk(child, depth + 1, lines)

    for root in sorted(by_parent.get(None, []), key=lambda r: r.start_ns):
        walk(root, 0, outlines.setdefault(root.trace_id, []))
    return outlines


def _cheapest(prompt: str) -> str:
    """The model the sample's router picks for ``prompt`` (the same function it asks)."""
    request = LLMRequest(prompt, max_tokens=OUTPUT_TOKENS)
    return cheapest_model(DEFAULT_PRICES, request, min_quality=_min_quality(request))


def expected_outline(prompt: str, cached: bool) -> list[str]:
    """The span tree one run must leave (``cached``: its prompt was answered before)."""
    result = "hit" if cached else "miss"
    cache = [
        f"      answer_cache [Cache] cache={result}",
        f"        answer_cache.lookup [CacheLookup] cache={result}",
    ]
    if not cached:
        model = _cheapest(prompt)
        cache += [
            "        route_and_complete [Sequential]",
            "          llm_breaker [CircuitBreaker] circuit=closed",
            f"            llm [LLM] model={model}",
            f"          model_router [Router] route={model}",
            f"            {model} [UseModel]",
        ]
    return [
        "sample_workflow [Sequential]",
        "  combine [Step]",
        "  fan_out [Parallel]",
        "    ask [Sequential]",
        *cache,
        "      to_request [Step]",
        "    retry_lookup [Retry] attempts=2",
        "      lookup_docs [Step] ERROR ConnectionError attempt=1",
        "      lookup_docs [Step] attempt=2",
        "  normalize [Step]",
    ]


def check_span_trees(run: SampleRun) -> list[str]:
    """Problems with the span trees of the run (empty when every run's tree is right)."""
    problems: list[str] = []
    outlines = span_outlines(run.records)
    if len(outlines) != len(run.prompts):
        problems.append(f"expected {len(run.prompts)} traces (one per run), got {len(outlines)}")
    seen: set[str] = set()
    for i, (prompt, trace_id) in enumerate(zip(run.prompts, run.trace_ids, strict=True), 1):
        expected = expected_outline(prompt, prompt in seen)
        seen.add(prompt)
        if trace_id is None or trace_id not in outlines:
            problems.append(f"run {i}: WorkflowContext.trace_id {trace_id!r} names no trace")
            continue
        actual = outlines[trace_id]
        if actual != expected:
            problems.append(
                f"run {i} ({prompt!r}): span tree differs\n  expected:\n    "
                + "\n    ".join(expected)
                + "\n  actual:\n    "
                + "\n    ".join(actual)
            )
    for r in run.records:
        if r.attributes.get("tta.primitive.type") == "CacheLookup":
            continue
        missing = [
            key
            for key in ("tta.workflow.id", "tta.correlation_id", "tta.primitive.name")
            if key not in r.attributes
        ]
        if missing:
            problems.append(f"span {r.name}: missing attribute(s) {', '.join(missing)}")
    return problems


Key = tuple[str, str, str]


def expected_executions(prompts: Sequence[str]) -> dict[Key, float]:
    """``(primitive, name, status) -> count`` the sample run must leave (zeros omitted)."""
    counts: dict[Key, float] = {}

    def add(primitive: str, name: str, status: str = "ok", n: int = 1) -> None:
        counts[(primitive, name, status)] = counts.get((primitive, name, status), 0) + n

    seen: set[str] = set()
    for prompt in prompts:
        for primitive, name in (
            ("Sequential", "sample_workflow"),
            ("Step", "normalize"),
            ("Parallel", "fan_out"),
            ("Retry", "retry_lookup"),
            ("Step", "lookup_docs"),
            ("Sequential", "ask"),
            ("Step", "to_request"),
            ("Cache", "answer_cache"),
            ("Step", "combine"),
        ):
            add(primitive, name)
        add("Step", "lookup_docs", "error")
        if prompt not in seen:
            model = _cheapest(prompt)
            for primitive, name in (
                ("Sequential", "route_and_complete"),
                ("Router", "model_router"),
                ("UseModel", model),
                ("CircuitBreaker", "llm_breaker"),
                ("LLM", "llm"),
            ):
                add(primitive, name)
        seen.add(prompt)
    return counts


def registry_samples(registry: CollectorRegistry, sample_name: str) -> dict[Key, float]:
    """``(primitive, name, status)`` (status ``""`` when absent) -> value, from the registry."""
    out: dict[Key, float] = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name == sample_name:
                key = (
                    s.labels.get("primitive", ""),
                    s.labels.get("name", ""),
                    s.labels.get("status", ""),
                )
                out[key] = float(s.value)
    return out


def _promql_string(value: str) -> str:
    """``value`` as a double-quoted PromQL string (label values come from the server)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def wait_for_scrape(
    prometheus_url: str, run_id: str, timeout: float, query_timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Wait until Prometheus holds this run's marker series; return a selector for its
    target (``{job=..., instance=...}``). Raises TimeoutError when it never arrives, a
    ValueError (``PrometheusError``) when Prometheus cannot be asked or answers badly."""
    deadline = time.monotonic() + timeout
    query = f"tta_selfcheck_run{{run_id={_promql_string(run_id)}}}"
    while True:
        series = prometheus_query(prometheus_url, query, query_timeout)
        if series:
            labels = series[0][0]
            job = _promql_string(labels.get("job", ""))
            instance = _promql_string(labels.get("instance", ""))
            return f"{{job={job},instance={instance}}}"
        if time.monotonic() >= deadline:
            raise TimeoutError(query)
        time.sleep(0.5)


def _few(series: Sequence[tuple[dict[str, str], float]]) -> str:
    """A short, one-line rendering of a query result for a problem message."""
    text = " ".join(repr(list(series[:3])).split())
    return text[:200] + ("..." if len(text) > 200 or len(series) > 3 else "")


def _with(selector: str, extra: str) -> str:
    return selector[:-1] + "," + extra + "}"


def check_prometheus(
    prometheus_url: str, selector: str, run: SampleRun, timeout: float = DEFAULT_TIMEOUT
) -> tuple[list[str], list[str]]:
    """PromQL checks of the scraped run: ``(report lines, problems)``."""
    report: list[str] = []
    problems: list[str] = []
    expected = expected_executions(run.prompts)
    local = registry_samples(run.registry, "tta_primitive_executions_total")

    query = f"sum by (primitive, name, status) (tta_primitive_executions_total{selector})"
    got = {
        (labels.get("primitive", ""), labels.get("name", ""), labels.get("status", "")): value
        for labels, value in prometheus_query(prometheus_url, query, timeout)
    }
    report.append(f"{query}: {sum(1 for v in got.values() if v)} non-zero series")
    for key, value in sorted(expected.items()):
        if got.get(key) != value:
            problems.append(
                f"tta_primitive_executions_total{{primitive={key[0]!r},name={key[1]!r},"
                f"status={key[2]!r}}}: expected {value:g}, Prometheus has {got.get(key)}"
            )
    unexpected = sorted(k for k, v in got.items() if v and k not in expected)
    if unexpected:
        shown = " ".join(repr(unexpected[:5]).split())[:300]
        more = f" and {len(unexpected) - 5} more" if len(unexpected) > 5 else ""
        problems.append(f"unexpected non-zero executions in Prometheus: {shown}{more}")
    if got != local:
        problems.append("Prometheus's executions differ from what the process's registry holds")

    per_name: dict[str, float] = {}
    for (_p, name, _s), value in expected.items():
        per_name[name] = per_name.get(name, 0) + value
    query = f"sum by (name) (tta_primitive_duration_seconds_count{selector})"
    counts = {
        labels.get("name", ""): value
        for labels, value in prometheus_query(prometheus_url, query, timeout)
    }
    report.append(f"{query}: {len(counts)} series")
    for name, value in sorted(per_name.items()):
        if counts.get(name) != value:
            problems.append(
                f"tta_primitive_duration_seconds_count{{name={name!r}}}: expected {value:g}, "
                f"Prometheus has {counts.get(name)}"
            )
    runs = float(len(run.prompts))
    root = 'name="sample_workflow"'
    inf_bucket = _with(selector, root + ',le="+Inf"')
    inf = prometheus_query(
        prometheus_url, f"sum(tta_primitive_duration_seconds_bucket{inf_bucket})", timeout
    )
    if not inf or inf[0][1] != runs:
        problems.append(f'sample_workflow bucket le="+Inf": expected {runs:g}, got {_few(inf)}')
    total = prometheus_query(
        prometheus_url, f"sum(tta_primitive_duration_seconds_sum{_with(selector, root)})", timeout
    )
    if not total or not total[0][1] > 0:
        problems.append(f"sample_workflow duration sum: expected > 0, got {_few(total)}")
    query = (
        "histogram_quantile(0.5, sum by (le) "
        f"(tta_primitive_duration_seconds_bucket{_with(selector, root)}))"
    )
    median = prometheus_query(prometheus_url, query, timeout)
    if not median or not (math.isfinite(median[0][1]) and median[0][1] > 0):
        problems.append(
            f"median sample_workflow duration: expected a positive number, got {_few(median)}"
        )
    else:
        report.append(f"{query} = {median[0][1]:.6f} s")
    return report, problems


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), bounded in length."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"selfcheck: error: {' '.join(message.split())[:300]}\n")


def _missing_extra() -> str | None:
    """The first module of the observability extra that cannot be imported, if any."""
    import importlib.util

    for module in ("prometheus_client", "opentelemetry.sdk"):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return None


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = _Parser(
        prog="python -m tta_dev.observability._selfcheck",
        description="Prove that spans and metrics of a sample workflow reach a real Prometheus.",
    )
    parser.add_argument(
        "--prometheus", help="base URL of the Prometheus to query (default: $PROMETHEUS_URL)"
    )
    parser.add_argument(
        "--metrics-addr",
        help="HOST:PORT to serve /metrics on, which that Prometheus scrapes "
        "(default: TTA_METRICS_ADDR or 127.0.0.1:9464)",
    )
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--timeout",
        type=seconds(allow_zero=True),
        default=60.0,
        help="seconds to wait for the scrape (default 60)",
    )
    parser.add_argument(
        "--query-timeout",
        type=seconds(),
        default=DEFAULT_TIMEOUT,
        help=f"seconds one PromQL query may take in all (default {DEFAULT_TIMEOUT:g})",
    )
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    prometheus: str = args.prometheus or env.get("PROMETHEUS_URL", "")
    if not prometheus:
        parser.error("give --prometheus URL or set PROMETHEUS_URL")
    missing = _missing_extra()
    if missing is not None:
        return _bad_input(
            f"{missing} is not installed: the self-check needs the 'observability' extra "
            "(uv run --extra observability python -m tta_dev.observability._selfcheck ...)"
        )
    address = args.metrics_addr or metrics_address(env)
    try:
        shown = check_prometheus_url(prometheus)
        thresholds = load_thresholds(args.config)
    except (OSError, ValueError) as exc:
        return _bad_input(exc)

    from prometheus_client import Gauge

    run = asyncio.run(run_sample())
    failed: list[str] = []
    print(f"1. span trees of {len(run.prompts)} runs ({len(run.records)} spans)")
    outlines = span_outlines(run.records)
    first = outlines.get(run.trace_ids[0] or "", [])
    print("   first run:\n     " + "\n     ".join(first))
    problems = check_span_trees(run)
    _report(problems, failed, "span tree")

    run_id = os.urandom(8).hex()
    Gauge(
        "tta_selfcheck_run",
        "Marks the metrics of one self-check run.",
        ["run_id"],
        registry=run.registry,
    ).labels(run_id).set(1)
    try:
        server = serve_metrics(run.registry, address)
    except (OSError, ValueError) as exc:
        return _bad_input(f"cannot serve metrics on {address}: {exc}")
    with server:
        print(f"2. metrics on {server.url}; waiting for {shown} to scrape them")
        try:
            selector = wait_for_scrape(prometheus, run_id, args.timeout, args.query_timeout)
        except TimeoutError:
            print(
                f"FAILED: {shown} did not scrape {server.address} within "
                f"{args.timeout:g}s. A Prometheus you provide (PROMETHEUS_URL) must scrape "
                f"that address: set TTA_METRICS_ADDR to one it scrapes (default "
                f"127.0.0.1:9464; with docker compose on Linux use 0.0.0.0:9464).",
                file=sys.stderr,
            )
            return 1
        except ValueError as exc:
            return _bad_input(exc)
        print(f"   scraped as {selector}")
        try:
            report, problems = check_prometheus(prometheus, selector, run, args.query_timeout)
            for line in report:
                print(f"   {line}")
            _report(problems, failed, "PromQL")

            print("3. LLM efficiency check (through Prometheus)")
            samples = query_prometheus(prometheus, args.query_timeout, selector=selector)
        except ValueError as exc:
            return _bad_input(exc)
        result = check_efficiency(samples, thresholds, runs=len(run.prompts))
        print(render_efficiency(result))
        if not result.passed:
            failed.append("LLM efficiency: " + ", ".join(c.name for c in result.failed))
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    print("observability self-check passed")
    return 0


def _report(problems: list[str], failed: list[str], what: str) -> None:
    for problem in problems:
        print(f"   problem: {problem}", file=sys.stderr)
    if problems:
        failed.append(f"{what} ({len(problems)} problem(s))")
    else:
        print(f"   {what}: ok")


def _bad_input(exc: object) -> int:
    message = " ".join(redact_urls(str(exc) or type(exc).__name__).split())
    print(f"selfcheck: error: {message[:500]}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
