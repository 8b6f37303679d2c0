"""Reading a finished (or failed) backward run: which node was next, NaN/Inf, leaf grads."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..graph.model import Graph


def next_to_run(graph: Graph, order: Sequence[str]) -> str | None:
    """The node a plain ``backward()`` over a live ``graph`` runs after ``order``.

    Which node raised, when only post-hooks were installed: the engine runs, among the
    nodes whose every incoming gradient has arrived, the one with the highest autograd
    sequence number (``AccumulateGrad`` has the highest of all); of equals, the one
    that became ready first. Needs the live graph and one thread (the debugger's).
    """
    done = set(order)
    when = {nid: i for i, nid in enumerate(order)}
    senders: dict[str, set[str]] = {}
    for e in graph.edges:
        senders.setdefault(e.dst, set()).add(e.src)
    best: tuple | None = None
    best_id = None
    for node, fn in zip(graph.nodes, graph.fns):
        nid = node.id
        if nid in done or fn is None:
            continue
        into = senders.get(nid, set())
        if not into <= done:
            continue
        ready_at = max((when[s] for s in into), default=-1)
        key = (fn._sequence_nr(), -ready_at)
        if best is None or key > best:
            best, best_id = key, nid
    return best_id


def first_nonfinite(graph: Graph, order: Sequence[str] | None = None) -> str | None:
    """The first node (in execution order) that received or sent a NaN/Inf gradient.

    Reads summaries, so call it after they are filled; ``None`` if all were finite.
    """
    if order is None:
        order = [n.id for n in graph.executed()]
    for nid in order:
        n = graph.node(nid)
        for ss in (n.grad_outputs, n.grad_inputs):
            for s in ss or ():
                if s is not None and s.get("nonfinite"):
                    return nid
    return None


def leaf_grad_values(graph: Graph) -> dict[str, Any]:
    """{leaf name: .grad values or norm} from summaries, for quick checks and CLIs."""
    out: dict[str, Any] = {}
    for n in graph.leaves():
        name = (n.variable or {}).get("name", n.id)
        if n.grad is None:
            out[name] = None
        else:
            out[name] = n.grad.get("values", n.grad.get("norm"))
    return out


def is_finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
