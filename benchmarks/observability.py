"""Observability benchmarks: what instrumentation costs a 10-step chain, off and on.

    uv run python benchmarks/observability.py           # about a minute
    uv run python benchmarks/observability.py --quick   # rough figures

- Off: the chain in processes that never import ``tta_dev.observability`` against the chain
  in processes that turned instrumentation on, ran, and turned it off again. Processes
  alternate; each reports the median of its samples; the table shows the median of those.
- On: in one process, interleaved sample by sample, the instrumented chain (SDK tracer
  provider, ``BatchSpanProcessor``, an exporter that drops everything; metrics on) against
  the same SDK making 10 spans by hand (``start_as_current_span`` around each await), and
  11 (the same inside one outer span: the shape the chain's spans have, one per primitive),
  and 11 with the four attributes every primitive's span carries.

Prints one table of medians (µs per chain call) with the ratios against the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from _table import markdown_table

from tta_dev.primitives import Primitive, Sequential, WorkflowContext

Bench = Callable[[int], Coroutine[Any, Any, None]]
ATTRS = {
    "tta.primitive.name": "step",
    "tta.primitive.type": "Noop",
    "tta.workflow.id": "bench",
    "tta.correlation_id": "0123456789abcdef0123456789abcdef",
}


async def noop(x: int) -> int:
    return x


class Noop(Primitive[int, int]):
    """The smallest primitive: returns its input."""

    async def _run(self, data: int, context: WorkflowContext) -> int:
        return data


def chain_bench() -> Bench:
    chain = Sequential(*(Noop(name=f"step{i}") for i in range(10)), name="chain")
    ctx = WorkflowContext("bench")

    async def run(n: int) -> None:
        execute = chain.execute
        for _ in range(n):
            await execute(1, ctx)

    return run


async def sample(cases: dict[str, Bench], calls: dict[str, int], repeats: int) -> dict[str, float]:
    """Median µs per call of each case; samples interleaved, GC out of the timed part."""
    for name, bench in cases.items():  # warm up
        await bench(calls[name])
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for r in range(repeats):
            for name in names if r % 2 == 0 else reversed(names):
                n = calls[name]
                start = time.perf_counter_ns()
                await cases[name](n)
                samples[name].append((time.perf_counter_ns() - start) / n / 1_000)
                await asyncio.sleep(0)
            if r % 20 == 19:
                gc.collect()
    finally:
        gc.enable()
        gc.unfreeze()
    return {name: statistics.median(values) for name, values in samples.items()}


# -- off: one process per measurement ---------------------------------------------------


def child(mode: str, repeats: int) -> float:
    """Median µs of the chain in this process; ``mode`` "off" instruments and turns it off first."""
    if mode == "off":
        from opentelemetry.sdk.trace import TracerProvider

        from tta_dev.observability import instrument

        provider = TracerProvider()
        with instrument(provider):
            asyncio.run(chain_bench()(100))
        provider.shutdown()
    elif "tta_dev.observability" in sys.modules:  # pragma: no cover - a guard, not a case
        raise RuntimeError("the uninstrumented process imported observability")
    bench = chain_bench()
    return asyncio.run(sample({"chain": bench}, {"chain": 2_000}, repeats))["chain"]


def off_medians(processes: int, repeats: int) -> dict[str, float]:
    results: dict[str, list[float]] = {"plain": [], "off": []}
    for i in range(processes):
        for mode in ("plain", "off") if i % 2 == 0 else ("off", "plain"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--repeats", str(repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode].append(float(json.loads(done.stdout)["median_us"]))
    return {mode: statistics.median(values) for mode, values in results.items()}


# -- on: one process, interleaved ---------------------------------------------------------


async def on_medians(repeats: int) -> dict[str, float]:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from tta_dev.observability import instrument

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    tracer = provider.get_tracer("bench")
    span = tracer.start_as_current_span

    async def spans10(n: int) -> None:
        for _ in range(n):
            x = 1
            for _ in range(10):
                with span("step"):
                    x = await noop(x)

    async def spans11(n: int) -> None:
        for _ in range(n):
            x = 1
            with span("chain"):
                for _ in range(10):
                    with span("step"):
                        x = await noop(x)

    async def spans11_attrs(n: int) -> None:
        # as spans11, each span with the four attributes the chain's spans carry
        for _ in range(n):
            x = 1
            with span("chain", attributes=ATTRS):
                for _ in range(10):
                    with span("step", attributes=ATTRS):
                        x = await noop(x)

    instrumented = chain_bench()
    # The span baselines execute no primitives, so the hook can stay on throughout.
    with instrument(provider):
        medians = await sample(
            {
                "spans10": spans10,
                "spans11": spans11,
                "spans11_attrs": spans11_attrs,
                "chain_on": instrumented,
            },
            {"spans10": 20, "spans11": 20, "spans11_attrs": 20, "chain_on": 20},
            repeats,
        )
    provider.shutdown()
    # The hook and the metrics with the API's no-op tracer (no SDK): reported on its own.
    with instrument():
        medians.update(
            await sample({"chain_noop_tracer": chain_bench()}, {"chain_noop_tracer": 50}, repeats)
        )
    return medians


@dataclass(frozen=True)
class Row:
    case: str
    median_us: float
    compared_with: str
    ratio: str
    target: str
    met: bool | None


def rows(off: dict[str, float], on: dict[str, float]) -> list[Row]:
    off_ratio = off["off"] / off["plain"]
    on10 = on["chain_on"] / on["spans10"]
    on11 = on["chain_on"] / on["spans11"]
    return [
        Row("10-step chain, uninstrumented", off["plain"], "", "1.00x", "", None),
        Row("10-step chain, instrumentation off", off["off"], "uninstrumented",
            f"{off_ratio:.3f}x", "<= 1.05x", off_ratio <= 1.05),
        Row("10 SDK spans by hand", on["spans10"], "", "1.00x", "", None),
        Row("11 SDK spans by hand (1 + 10 nested)", on["spans11"], "10 SDK spans",
            f"{on['spans11'] / on['spans10']:.2f}x", "", None),
        Row("10-step chain, instrumented (SDK)", on["chain_on"], "10 SDK spans",
            f"{on10:.2f}x", "<= 1.3x", on10 <= 1.3),
        Row("11 SDK spans by hand, 4 attributes each", on["spans11_attrs"], "10 SDK spans",
            f"{on['spans11_attrs'] / on['spans10']:.2f}x", "", None),
        Row("10-step chain, instrumented (SDK)", on["chain_on"], "11 SDK spans",
            f"{on11:.2f}x", "", None),
        Row("10-step chain, instrumented (SDK)", on["chain_on"], "11 spans, 4 attributes",
            f"{on['chain_on'] / on['spans11_attrs']:.2f}x", "", None),
        Row("10-step chain, instrumented, no-op tracer", on["chain_noop_tracer"],
            "uninstrumented", f"{on['chain_noop_tracer'] / off['plain']:.0f}x", "report", None),
    ]  # fmt: skip


def render(table: list[Row]) -> str:
    return markdown_table(
        ("case", "median µs", "compared with", "ratio", "target", "met"),
        [
            (r.case, f"{r.median_us:.3f}", r.compared_with, r.ratio, r.target,
             "" if r.met is None else ("yes" if r.met else "NO"))
            for r in table
        ],
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer processes and samples")
    parser.add_argument("--child", choices=["plain", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"median_us": child(args.child, args.repeats or 200)}))
        return 0
    processes, off_repeats, on_repeats = (4, 60, 30) if args.quick else (10, 200, 150)
    if args.repeats:
        off_repeats = on_repeats = args.repeats
    off = off_medians(processes, off_repeats)
    on = asyncio.run(on_medians(on_repeats))
    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"opentelemetry-sdk {version('opentelemetry-sdk')}, "
        f"prometheus-client {version('prometheus-client')}, {processes} processes per "
        f"off case, {on_repeats} samples per on case, {time.strftime('%Y-%m-%d')}\n"
    )
    table = rows(off, on)
    print(render(table))
    return 0 if all(r.met is not False for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
