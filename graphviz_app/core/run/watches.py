"""Watched tensors: a leaf's ``.grad`` norm or a node's received-gradient norm, named by
a key that survives a new forward (every pass and every training step builds a new
graph with new node ids), so one watch is followed across node steps and training steps.

A leaf is named by its variable name; a node by its module, ``grad_fn`` name and which
occurrence of that pair it is in the graph's node order (and, for a graph captured
without module names, which occurrence of the ``grad_fn`` name).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Iterable

from ..graph.model import LEAF, Graph, Node

LEAF_GRAD = "leaf"  # a leaf's .grad norm
NODE_GRAD = "node"  # the norm of the gradient a node received (all slots)


@dataclass(frozen=True)
class Watch:
    kind: str  # LEAF_GRAD | NODE_GRAD
    key: str
    label: str


def _occurrence(graph: Graph, node: Node, same_module: bool = True) -> int:
    n = 0
    for other in graph.nodes:
        if other is node:
            return n
        if other.name == node.name and (other.module == node.module or not same_module):
            n += 1
    return n


def watch_for(graph: Graph, node_id: str) -> Watch:
    """The watch of a node: a leaf's ``.grad`` norm, else its received-gradient norm."""
    node = graph.node(node_id)
    name = (node.variable or {}).get("name")
    if node.kind == LEAF and name:
        return Watch(LEAF_GRAD, str(name), f"‖{name}.grad‖")
    occ = _occurrence(graph, node)
    where = f"{node.module}." if node.module else ""
    return Watch(NODE_GRAD, f"{node.module or ''}|{node.name}|{occ}|{_occurrence(graph, node, False)}",
                 f"‖grad into {where}{node.name}{f' #{occ + 1}' if occ else ''}‖")


def find(graph: Graph, watch: Watch) -> Node | None:
    """The node ``watch`` follows in ``graph`` (None when the graph has no such node)."""
    if watch.kind == LEAF_GRAD:
        return next((n for n in graph.nodes if n.kind == LEAF and (n.variable or {}).get("name") == watch.key),
                    None)
    module, name, occ, any_occ = watch.key.rsplit("|", 3)
    by_module = [n for n in graph.nodes if n.name == name and (n.module or "") == module]
    if by_module:
        return by_module[int(occ)] if int(occ) < len(by_module) else None
    # A graph captured without module names (a training step's): the same occurrence of the name.
    by_name = [n for n in graph.nodes if n.name == name]
    return by_name[int(any_occ)] if int(any_occ) < len(by_name) else None


def _norm(summaries: Iterable[dict | None] | None) -> float | None:
    norms = [s.get("norm") for s in (summaries or []) if isinstance(s, dict)]
    norms = [float(v) for v in norms if isinstance(v, (int, float))]
    return math.sqrt(sum(v * v for v in norms)) if norms else None


def value(graph: Graph, watch: Watch) -> float | None:
    """The watched norm as ``graph`` shows it now (None: not written / not run yet)."""
    node = find(graph, watch)
    if node is None:
        return None
    if watch.kind == LEAF_GRAD:
        return _norm([node.grad])
    if node.exec_order is None:
        return None
    return _norm(node.grad_outputs)


def dumps(watches: Iterable[Watch]) -> str:
    return json.dumps([asdict(w) for w in watches])


def loads(text: str) -> list[Watch]:
    """Watches saved by :func:`dumps`; anything unreadable is left out."""
    try:
        items = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    out = []
    for d in items if isinstance(items, list) else []:
        try:
            w = Watch(str(d["kind"]), str(d["key"]), str(d["label"]))
        except (KeyError, TypeError):
            continue
        if w.kind in (LEAF_GRAD, NODE_GRAD):
            out.append(w)
    return out
