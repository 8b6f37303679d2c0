"""Gradients bound for a leaf: which a hook leaves alone, and how to fill them in later.

Holding a gradient that ``AccumulateGrad`` could otherwise move into ``.grad``
forces a copy; these helpers let the debugger's hooks skip those slots and complete
them from the leaf's own hook.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..graph.model import LEAF, Graph


def leaf_bound_slots(graph: Graph) -> dict[str, dict[int, str]]:
    """{node id: {slot: leaf id}} for gradients a hook should not hold on to.

    A gradient that flows into a leaf with a single incoming edge is moved into the
    leaf's ``.grad`` by ``AccumulateGrad`` when nothing else references it, and copied
    when something does: holding it from the sending node's hook made a plain MLP's
    backward 1.7x slower. The leaf's own hook receives the very same tensor, so the
    sender's entry can be filled in from there afterwards. Not for a leaf with tensor
    hooks: it receives what they return. Needs the live graph.
    """
    leaves = set()
    for n, fn in zip(graph.nodes, graph.fns):
        if n.kind == LEAF and not getattr(getattr(fn, "variable", None), "_backward_hooks", None):
            leaves.add(n.id)
    incoming: dict[str, int] = {}
    for e in graph.edges:
        if e.dst in leaves:
            incoming[e.dst] = incoming.get(e.dst, 0) + 1
    lean: dict[str, dict[int, str]] = {}
    for e in graph.edges:
        if incoming.get(e.dst) == 1:
            lean.setdefault(e.src, {})[e.slot] = e.dst
    return lean


NOT_YET = object()  # with_leaf_grads: the leaf has not run (since the sender did)


def without_slots(grad_inputs: Sequence[Any], slots: Sequence[int]) -> list[Any]:
    """``grad_inputs`` with the given slots left empty (for a hook: see leaf_bound_slots)."""
    held = list(grad_inputs)
    for i in slots:
        held[i] = None
    return held


def with_leaf_grads(gi: Sequence[Any], drop: dict[int, str], received: Callable[[str], Any]) -> tuple[tuple, bool]:
    """``gi`` with each slot of ``drop`` ({slot: leaf id}) filled from what that leaf's
    hook received (``received(leaf)``: its grad_outputs, or ``NOT_YET``); and whether
    every one of them could be filled."""
    filled = list(gi)
    ready = True
    for slot, leaf in drop.items():
        got = received(leaf)
        if got is NOT_YET:
            ready = False
        elif slot < len(filled):
            filled[slot] = got[0] if got else None
    return tuple(filled), ready

