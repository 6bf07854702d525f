"""CODEOWNERS matching: owners of every changed file of a large PR against a long file.

    uv run python benchmarks/codeowners.py
    uv run python benchmarks/codeowners.py --rules 500 --files 3000 --runs 5

The CODEOWNERS file mixes the common pattern kinds in equal parts (anchored folders,
extensions, ``**/name/**``, ``/docs/x/*``) after a ``* @lead`` default, so most files
walk every rule (last match wins: the scan runs from the end). Prints the median time per
file, and one hostile pattern (``*a`` x 30 then ``b`` over a 5,000-character name).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tta_dev.automation import parse_codeowners


def codeowners_text(rules: int) -> str:
    lines = ["* @lead"]
    for i in range(rules):
        kind = i % 4
        if kind == 0:
            lines.append(f"/pkg{i}/ @team{i % 7}")
        elif kind == 1:
            lines.append(f"*.ext{i} @u{i}")
        elif kind == 2:
            lines.append(f"**/mod{i}/** @o/t{i % 5}")
        else:
            lines.append(f"/docs/sec{i}/* @d{i}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="CODEOWNERS matching benchmark")
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    owners = parse_codeowners(codeowners_text(args.rules))
    files = [
        f"pkg{rng.randrange(args.rules)}/sub{j % 9}/mod{rng.randrange(args.rules)}/file{j}.py"
        for j in range(args.files)
    ]
    times: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for path in files:
            owners.owners_of(path)
        times.append(time.perf_counter() - start)
    per_file = statistics.median(times) / len(files) * 1e6
    hostile = parse_codeowners("/" + "*a" * 30 + "*b @x\n")
    start = time.perf_counter()
    hostile.owners_of("a" * 5000)
    hostile_ms = (time.perf_counter() - start) * 1e3
    print(
        f"{len(owners.rules)} rules, {len(files)} files: {per_file:.0f} us per file (median of {args.runs})"
    )
    print(f"hostile pattern over a 5,000-character name: {hostile_ms:.1f} ms")


if __name__ == "__main__":
    main()
