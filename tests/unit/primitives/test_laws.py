"""Composition laws, checked with hypothesis: >> is associative and flat, | and Map keep order."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tta_dev.primitives import Map, Parallel, Primitive, Sequential, WorkflowContext, step

# A small algebra of integer functions, as (description, function) pairs.
OPS = st.sampled_from(["+1", "*2", "-3", "neg", "sq%97"])


def _fn(op: str) -> Any:
    return {
        "+1": lambda x: x + 1,
        "*2": lambda x: x * 2,
        "-3": lambda x: x - 3,
        "neg": lambda x: -x,
        "sq%97": lambda x: (x * x) % 97,
    }[op]


class Op(Primitive[int, int]):
    def __init__(self, op: str, yields: int = 0) -> None:
        super().__init__(op)
        self.fn = _fn(op)
        self.yields = yields

    async def _run(self, data: int, context: WorkflowContext) -> int:
        for _ in range(self.yields):
            await asyncio.sleep(0)  # interleave with siblings in different orders
        return self.fn(data)


def _run(p: Primitive[Any, Any], data: Any) -> Any:
    return asyncio.run(p.execute(data, WorkflowContext()))


def _chain(ps: list[Op]) -> Primitive[int, int]:
    out: Primitive[int, int] = ps[0]
    for p in ps[1:]:
        out = out >> p
    return out


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(OPS, min_size=1, max_size=4),
    b=st.lists(OPS, min_size=1, max_size=4),
    c=st.lists(OPS, min_size=1, max_size=4),
    x=st.integers(-1000, 1000),
)
def test_rshift_is_associative_and_flat(a: list[str], b: list[str], c: list[str], x: int) -> None:
    pa, pb, pc = _chain([Op(o) for o in a]), _chain([Op(o) for o in b]), _chain([Op(o) for o in c])
    left = (pa >> pb) >> pc
    right = pa >> (pb >> pc)
    assert isinstance(left, Sequential)
    assert isinstance(right, Sequential)
    assert left.steps == right.steps
    assert len(left.steps) == len(a) + len(b) + len(c)
    assert not any(isinstance(s, Sequential) for s in left.steps)
    expected = x
    for op in a + b + c:
        expected = _fn(op)(expected)
    assert _run(left, x) == _run(right, x) == expected


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(st.tuples(OPS, st.integers(0, 3)), min_size=1, max_size=8),
    split=st.integers(0, 8),
    x=st.integers(-1000, 1000),
)
def test_or_preserves_order_whatever_the_grouping(
    ops: list[tuple[str, int]], split: int, x: int
) -> None:
    branches = [Op(op, yields) for op, yields in ops]
    flat = Parallel(*branches)
    split = min(split, len(branches) - 1) or 1
    grouped: Primitive[int, Any] = branches[0]
    for b in branches[1:split]:
        grouped = grouped | b
    if split < len(branches):
        rest: Primitive[int, Any] = branches[split]
        for b in branches[split + 1 :]:
            rest = rest | b
        grouped = grouped | rest
    expected = [_fn(op)(x) for op, _ in ops]
    if len(branches) > 1:
        assert isinstance(grouped, Parallel)
        assert grouped.branches == flat.branches
    assert _run(flat, x) == expected


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.integers(-100, 100), max_size=30),
    limit=st.one_of(st.none(), st.integers(1, 8)),
)
def test_map_preserves_order_and_length(items: list[int], limit: int | None) -> None:
    async def jitter(x: int) -> int:
        for _ in range(x % 4):
            await asyncio.sleep(0)
        return x * 3

    result = _run(Map(step(jitter), limit=limit), items)
    assert result == [x * 3 for x in items]
