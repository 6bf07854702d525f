"""Foundation benchmarks: what nox adds on top of the tools it runs, and the CI wall time.

    uv run python benchmarks/foundation.py            # session overhead (warm, -R)
    uv run python benchmarks/foundation.py --ci       # also `uv run nox -t ci` wall time

Prints one table of medians. Run on a quiet machine; quote medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_BIN = ROOT / ".nox" / "lint" / "bin"


def _time(argv: list[str] | str, runs: int) -> list[float]:
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            cwd=ROOT,
            shell=isinstance(argv, str),
            capture_output=True,
            check=False,
        )
        samples.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"benchmark command failed ({argv!r}): {result.stderr.decode()[-300:]}")
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--ci", action="store_true", help="also time `uv run nox -t ci` (slow)")
    args = parser.parse_args()

    if not LINT_BIN.is_dir():
        subprocess.run(["uv", "run", "nox", "-s", "lint"], cwd=ROOT, check=True)
    workflows = " ".join(str(p) for p in sorted((ROOT / ".github" / "workflows").glob("*.yml")))
    bare_lint = (
        f"{LINT_BIN}/ruff format --check . && {LINT_BIN}/ruff check . && "
        f"{LINT_BIN}/zizmor --offline --persona=pedantic .github && "
        f"{LINT_BIN}/check-jsonschema --builtin-schema vendor.github-workflows {workflows}"
    )
    rows: list[tuple[str, float]] = []
    rows.append(
        (
            "uv run ruff check .",
            statistics.median(_time(["uv", "run", "ruff", "check", "."], args.runs)),
        )
    )
    rows.append(("lint's four tools, bare", statistics.median(_time(bare_lint, args.runs))))
    rows.append(
        (
            "uv run nox -R -s lint",
            statistics.median(_time(["uv", "run", "nox", "-R", "-s", "lint"], args.runs)),
        )
    )
    if args.ci:
        rows.append(
            (
                "uv run nox -t ci (warm)",
                statistics.median(_time(["uv", "run", "nox", "-t", "ci"], 3)),
            )
        )

    width = max(len(name) for name, _ in rows)
    print(f"{'command':<{width}}  median s")
    for name, median in rows:
        print(f"{name:<{width}}  {median:8.3f}")
    overhead = rows[2][1] - rows[1][1]
    print(f"\nnox session overhead over the bare tools: {overhead:+.3f} s (target <= 0.4 s)")
    print(f"nox -R -s lint vs bare `uv run ruff check .`: {rows[2][1] - rows[0][1]:+.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
