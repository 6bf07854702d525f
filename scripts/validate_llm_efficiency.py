"""Check one run's LLM efficiency metrics against [tool.tta-dev.llm-efficiency].

    uv run --extra observability python scripts/validate_llm_efficiency.py --metrics run.prom
    uv run python scripts/validate_llm_efficiency.py --prometheus http://127.0.0.1:9090
    PROMETHEUS_URL=https://user:token@prom.example uv run python scripts/validate_llm_efficiency.py

Reading a saved snapshot (``--metrics``) parses the Prometheus text format with
``prometheus_client`` (the ``observability`` extra); querying a Prometheus needs nothing
beyond the project itself. ``--prometheus`` defaults to ``$PROMETHEUS_URL``; a user and
password in the URL are sent as Basic auth, and no URL is ever printed with them or its
query. ``--timeout`` bounds each query in all (connect, headers, body).

Exit 0 when every configured threshold holds, 1 with a table naming each failed one,
2 on bad input (one line saying what to fix).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from tta_dev._redact import redact_urls
from tta_dev._safeio import seconds
from tta_dev.observability.efficiency import (
    check_efficiency,
    load_thresholds,
    query_prometheus,
    read_metrics_snapshot,
    render_efficiency,
)

PROG = "validate_llm_efficiency"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), bounded in length."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {' '.join(message.split())[:300]}\n")


def _runs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG, description="Check LLM efficiency metrics of a run.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--metrics", type=Path, help="saved Prometheus text snapshot of the run")
    source.add_argument(
        "--prometheus", help="Prometheus base URL to query (PromQL; default $PROMETHEUS_URL)"
    )
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--runs", type=_runs, default=1, help="runs the metrics cover (default 1)")
    parser.add_argument(
        "--timeout", type=seconds(), default=10.0, help="seconds per Prometheus query (default 10)"
    )
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    args = parser.parse_args(argv)
    prometheus: str = args.prometheus or os.environ.get("PROMETHEUS_URL", "")
    if args.metrics is None and not prometheus:
        parser.error("give --metrics FILE or --prometheus URL (or set PROMETHEUS_URL)")
    try:
        thresholds = load_thresholds(args.config)
        if args.metrics is not None:
            samples = read_metrics_snapshot(args.metrics)
        else:
            samples = query_prometheus(prometheus, timeout=args.timeout)
        result = check_efficiency(samples, thresholds, runs=args.runs)
    except (OSError, ValueError) as exc:
        message = " ".join(redact_urls(str(exc) or type(exc).__name__).split())
        print(f"{PROG}: error: {message[:500]}", file=sys.stderr)
        return 2
    print(render_efficiency(result, args.format))
    if not result.passed:
        names = ", ".join(c.name for c in result.failed)
        print(f"FAILED: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
