"""Check one run's LLM efficiency metrics against [tool.tta-dev.llm-efficiency].

    uv run python scripts/validate_llm_efficiency.py --metrics run.prom
    uv run python scripts/validate_llm_efficiency.py --prometheus http://127.0.0.1:9090

Exit 0 when every configured threshold holds, 1 with a table naming each failed one,
2 on bad input (one line saying what to fix).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tta_dev.observability.efficiency import (
    check_efficiency,
    load_thresholds,
    parse_metrics_text,
    query_prometheus,
    render_efficiency,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check LLM efficiency metrics of a run.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--metrics", type=Path, help="saved Prometheus text snapshot of the run")
    source.add_argument("--prometheus", help="Prometheus base URL to query (PromQL)")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--runs", type=int, default=1, help="runs the metrics cover (default 1)")
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    args = parser.parse_args(argv)
    try:
        thresholds = load_thresholds(args.config)
        if args.metrics is not None:
            samples = parse_metrics_text(args.metrics.read_text(encoding="utf-8"))
        else:
            samples = query_prometheus(args.prometheus)
        result = check_efficiency(samples, thresholds, runs=args.runs)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"validate_llm_efficiency: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(render_efficiency(result, args.format))
    if not result.passed:
        names = ", ".join(c.name for c in result.failed)
        print(f"FAILED: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
