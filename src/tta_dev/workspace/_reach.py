"""Reachability for every node of a graph at once, cycles included.

Each node carries ``own`` bits (an ``int`` used as a bitset); ``reach_bits`` gives each
node the union of the bits of every node it reaches, itself included. Strongly connected
components (Tarjan, iterative) are finished successors-first, so each component's union
is computed once from its own bits and its successors' finished unions: linear in nodes
and edges, times the cost of an ``int`` or.
"""

from __future__ import annotations

from collections.abc import Sequence


def reach_bits(successors: Sequence[Sequence[int]], own: Sequence[int]) -> list[int]:
    """For each node, the or of ``own`` over every node reachable from it (itself too)."""
    count = len(successors)
    index = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    done = [False] * count
    result = [0] * count
    stack: list[int] = []
    counter = 0
    for root in range(count):
        if index[root] != -1:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, position = work[-1]
            edges = successors[node]
            if position < len(edges):
                work[-1] = (node, position + 1)
                target = edges[position]
                if index[target] == -1:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack[target] = True
                    work.append((target, 0))
                elif on_stack[target] and index[target] < low[node]:
                    low[node] = index[target]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] != index[node]:
                continue
            component: list[int] = []
            while True:
                member = stack.pop()
                on_stack[member] = False
                component.append(member)
                if member == node:
                    break
            bits = 0
            for member in component:
                bits |= own[member]
                for target in successors[member]:
                    if done[target]:
                        bits |= result[target]
            for member in component:
                result[member] = bits
                done[member] = True
    return result


def bit_positions(bits: int) -> list[int]:
    """The positions of the set bits, lowest first."""
    positions: list[int] = []
    text = bin(bits)[:1:-1]
    start = text.find("1")
    while start != -1:
        positions.append(start)
        start = text.find("1", start + 1)
    return positions
