"""Primitives benchmarks: what composition, resilience and caching add to plain awaits.

    uv run python benchmarks/primitives.py           # about a minute
    uv run python benchmarks/primitives.py --quick   # rough figures

Every case runs in the same process and event loop, interleaved repeat by repeat, so machine
noise hits all of them alike. Prints one table of medians (µs per call) with ratios against
the baselines (ten direct awaits, asyncio.gather, tenacity, LangChain LCEL, asyncio.timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version

from _table import markdown_table
from langchain_core.runnables import RunnableLambda
from tenacity import retry, stop_after_attempt

from tta_dev.primitives import (
    Cache,
    MemoryBackend,
    Parallel,
    Primitive,
    Retry,
    Sequential,
    Timeout,
    WorkflowContext,
    step,
)

Bench = Callable[[int], Awaitable[None]]


async def noop(x: int) -> int:
    return x


def sync_noop(x: int) -> int:
    return x


class Noop(Primitive[int, int]):
    """The smallest primitive: returns its input."""

    async def _run(self, data: int, context: WorkflowContext) -> int:
        return data


@retry(stop=stop_after_attempt(3))
async def tenacity_noop(x: int) -> int:
    return x


def make_cases() -> dict[str, Bench]:
    ctx = WorkflowContext("bench")
    chain = Sequential(*(Noop() for _ in range(10)))
    steps = Sequential(*(step(noop) for _ in range(10)))
    steps_inline = Sequential(*(step(sync_noop, inline=True) for _ in range(10)))
    steps_thread = Sequential(*(step(sync_noop) for _ in range(10)))
    fan = Parallel(*(Noop() for _ in range(10)))
    prim = Noop()
    retried = Retry(prim)
    timed = Timeout(prim, 60)
    cached = Cache(Noop(), backend=MemoryBackend(), namespace="bench")
    lcel = RunnableLambda(noop)
    for _ in range(9):
        lcel = lcel | RunnableLambda(noop)  # type: ignore[assignment]

    async def ten_awaits(x: int) -> int:
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        x = await noop(x)
        return await noop(x)

    async def direct10(n: int) -> None:
        # the hand-written equivalent of the chain: one coroutine doing ten direct awaits
        for _ in range(n):
            await ten_awaits(1)

    async def direct10_inline(n: int) -> None:
        # stricter: the ten awaits inline in the loop, no call around them
        for _ in range(n):
            x = await noop(1)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)
            x = await noop(x)

    async def chain10(n: int) -> None:
        execute = chain.execute
        for _ in range(n):
            await execute(1, ctx)

    async def step10(n: int) -> None:
        execute = steps.execute
        for _ in range(n):
            await execute(1, ctx)

    async def step10_inline(n: int) -> None:
        execute = steps_inline.execute
        for _ in range(n):
            await execute(1, ctx)

    async def step10_thread(n: int) -> None:
        execute = steps_thread.execute
        for _ in range(n):
            await execute(1, ctx)

    async def to_thread10(n: int) -> None:
        # the hand-written equivalent of the threaded chain: ten awaited asyncio.to_thread
        to_thread = asyncio.to_thread
        for _ in range(n):
            x = 1
            for _ in range(10):
                x = await to_thread(sync_noop, x)

    async def lcel10(n: int) -> None:
        for _ in range(n):
            await lcel.ainvoke(1)

    async def gather10(n: int) -> None:
        gather = asyncio.gather
        for _ in range(n):
            await gather(
                noop(1), noop(1), noop(1), noop(1), noop(1),
                noop(1), noop(1), noop(1), noop(1), noop(1),
            )  # fmt: skip

    async def parallel10(n: int) -> None:
        execute = fan.execute
        for _ in range(n):
            await execute(1, ctx)

    async def direct1(n: int) -> None:
        for _ in range(n):
            await noop(1)

    async def primitive1(n: int) -> None:
        execute = prim.execute
        for _ in range(n):
            await execute(1, ctx)

    async def retry1(n: int) -> None:
        execute = retried.execute
        for _ in range(n):
            await execute(1, ctx)

    async def tenacity1(n: int) -> None:
        for _ in range(n):
            await tenacity_noop(1)

    async def bare_timeout(n: int) -> None:
        timeout = asyncio.timeout
        execute = prim.execute
        for _ in range(n):
            async with timeout(60):
                await execute(1, ctx)

    async def timeout1(n: int) -> None:
        execute = timed.execute
        for _ in range(n):
            await execute(1, ctx)

    async def wait_for1(n: int) -> None:
        execute = prim.execute
        for _ in range(n):
            await asyncio.wait_for(execute(1, ctx), 60)

    async def cache_hit(n: int) -> None:
        execute = cached.execute
        for _ in range(n):
            await execute(7, ctx)

    return {
        "direct10": direct10,
        "direct10_inline": direct10_inline,
        "chain10": chain10,
        "step10": step10,
        "step10_inline": step10_inline,
        "step10_thread": step10_thread,
        "to_thread10": to_thread10,
        "lcel10": lcel10,
        "gather10": gather10,
        "parallel10": parallel10,
        "direct1": direct1,
        "primitive1": primitive1,
        "retry1": retry1,
        "tenacity1": tenacity1,
        "bare_timeout": bare_timeout,
        "timeout1": timeout1,
        "wait_for1": wait_for1,
        "cache_hit": cache_hit,
    }


# Calls per sample: a few milliseconds each by default (--calls scales them down, for a loaded
# machine, where a short sample is less often preempted);
# many samples, in alternating order, and medians.
CALLS = {
    "lcel10": 3,
    "step10_thread": 5,
    "to_thread10": 5,
    "tenacity1": 100,
    "wait_for1": 300,
    "gather10": 50,
    "parallel10": 50,
}
DEFAULT_CALLS = 2_000


def calls_per_sample(name: str, scale: float) -> int:
    return max(1, round(CALLS.get(name, DEFAULT_CALLS) * scale))


async def measure(repeats: int, scale: float = 1.0) -> dict[str, float]:
    cases = make_cases()
    for name, bench in cases.items():  # warm up (and fill the cache)
        await bench(calls_per_sample(name, scale))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    gc.collect()
    gc.freeze()  # what exists now is never scanned again: no collection inside a sample
    gc.disable()
    try:
        for r in range(repeats):
            for name in names if r % 2 == 0 else reversed(names):
                n = calls_per_sample(name, scale)
                start = time.perf_counter_ns()
                await cases[name](n)
                samples[name].append((time.perf_counter_ns() - start) / n / 1_000)
                # Let the loop run once outside the timing: it drops the timer handles that
                # the timeout cases cancelled (they never yield), instead of billing the
                # next case that does yield for that cleanup.
                await asyncio.sleep(0)
            if r % 20 == 19:
                gc.collect()  # between samples, never inside one
    finally:
        gc.enable()
        gc.unfreeze()
    return {name: statistics.median(values) for name, values in samples.items()}


@dataclass(frozen=True)
class Row:
    case: str
    median_us: float
    compared_with: str
    result: str
    target: str
    met: bool | None


def rows(m: dict[str, float]) -> list[Row]:
    chain_ratio = m["chain10"] / m["direct10"]
    step_ratio = m["step10"] / m["direct10"]
    thread_ratio = m["step10_thread"] / m["to_thread10"]
    lcel_speedup = m["lcel10"] / m["chain10"]
    par_ratio = m["parallel10"] / m["gather10"]
    retry_added = m["retry1"] - m["primitive1"]
    tenacity_added = m["tenacity1"] - m["direct1"]
    timeout_added = m["timeout1"] - m["bare_timeout"]
    return [
        Row("ten direct awaits", m["direct10"], "", "1.00x", "", None),
        Row("10-step >> chain", m["chain10"], "ten direct awaits",
            f"{chain_ratio:.2f}x", "<= 1.2x", chain_ratio <= 1.2),
        Row("ten direct awaits, inline", m["direct10_inline"], "",
            "", "", None),
        Row("10-step >> chain", m["chain10"], "ten inline awaits",
            f"{m['chain10'] / m['direct10_inline']:.2f}x", "", None),
        Row("10 step(async fn) chain", m["step10"], "ten direct awaits",
            f"{step_ratio:.2f}x", "<= 1.2x", step_ratio <= 1.2),
        Row("10 step(sync fn, inline=True) chain", m["step10_inline"], "ten direct awaits",
            f"{m['step10_inline'] / m['direct10']:.2f}x", "", None),
        Row("ten awaited asyncio.to_thread", m["to_thread10"], "", "1.00x", "", None),
        Row("10 step(sync fn) chain (threads)", m["step10_thread"], "ten asyncio.to_thread",
            f"{thread_ratio:.2f}x", "report", None),
        Row("10 step(sync fn) chain (threads)", m["step10_thread"], "inline=True chain",
            f"{(m['step10_thread'] - m['step10_inline']) / 10:+.1f} µs per step", "report",
            None),
        Row("LCEL 10-RunnableLambda chain", m["lcel10"], "ten direct awaits",
            f"{m['lcel10'] / m['direct10']:.0f}x", "", None),
        Row("10-step >> chain", m["chain10"], "LCEL chain",
            f"{lcel_speedup:.0f}x faster", ">= 500x faster", lcel_speedup >= 500),
        Row("asyncio.gather of 10", m["gather10"], "", "1.00x", "", None),
        Row("| of 10 branches", m["parallel10"], "asyncio.gather",
            f"{par_ratio:.2f}x", "<= 1.1x", par_ratio <= 1.1),
        Row("one direct await", m["direct1"], "", "", "", None),
        Row("one primitive execute", m["primitive1"], "one direct await",
            f"{m['primitive1'] - m['direct1']:+.3f} µs", "", None),
        Row("Retry (success)", m["retry1"], "primitive execute",
            f"{retry_added:+.3f} µs", "<= +1 µs", retry_added <= 1.0),
        Row("tenacity @retry (success)", m["tenacity1"], "one direct await",
            f"{tenacity_added:+.3f} µs", "", None),
        Row("bare asyncio.timeout", m["bare_timeout"], "", "", "", None),
        Row("Timeout (success)", m["timeout1"], "bare asyncio.timeout",
            f"{timeout_added:+.3f} µs", "<= +0.5 µs", timeout_added <= 0.5),
        Row("asyncio.wait_for", m["wait_for1"], "bare asyncio.timeout",
            f"{m['wait_for1'] - m['bare_timeout']:+.3f} µs", "", None),
        Row("Cache hit (MemoryBackend)", m["cache_hit"], "", "", "report", None),
    ]  # fmt: skip


def render(table: list[Row]) -> str:
    return markdown_table(
        ("case", "median µs", "compared with", "result", "target", "met"),
        [
            (r.case, f"{r.median_us:.3f}", r.compared_with, r.result, r.target,
             "" if r.met is None else ("yes" if r.met else "NO"))
            for r in table
        ],
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="60 repeats")
    parser.add_argument(
        "--calls",
        type=int,
        default=DEFAULT_CALLS,
        help=f"calls per sample of a one-await case (default {DEFAULT_CALLS}; the others "
        "scale with it): fewer, with more --repeats, on a loaded machine, so that most "
        "samples run without being preempted",
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the medians (µs) as JSON (for agentic perf)"
    )
    args = parser.parse_args()
    repeats = 60 if args.quick else args.repeats
    medians = asyncio.run(measure(repeats, args.calls / DEFAULT_CALLS))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"unit": "us", "results": medians}, fh, indent=2, sort_keys=True)
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{repeats} repeats, {args.calls} calls per sample, tenacity {version('tenacity')}, "
        f"langchain-core {version('langchain-core')}, {time.strftime('%Y-%m-%d')}\n"
    )
    table = rows(medians)
    print(render(table))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
