"""Reachability bitsets and the paused garbage collector."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from tta_dev.workspace._gc import collector_paused
from tta_dev.workspace._reach import bit_positions, reach_bits


def naive_reach(successors: list[list[int]], own: list[int]) -> list[int]:
    out: list[int] = []
    for start in range(len(successors)):
        seen = {start}
        stack = [start]
        while stack:
            for target in successors[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        bits = 0
        for node in seen:
            bits |= own[node]
        out.append(bits)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=14).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(min_value=0, max_value=n - 1), max_size=4), min_size=n, max_size=n
        )
    )
)
def test_reach_bits_matches_a_search_from_every_node(successors: list[list[int]]) -> None:
    own = [1 << i if i % 3 else 0 for i in range(len(successors))]
    assert reach_bits(successors, own) == naive_reach(successors, own)


def test_bit_positions() -> None:
    assert bit_positions(0) == []
    assert bit_positions(0b1011) == [0, 1, 3]
    assert bit_positions(1 << 200) == [200]


def test_collector_paused_restores_state() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
