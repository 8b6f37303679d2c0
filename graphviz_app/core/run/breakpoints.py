"""Breakpoints of the backward debugger: their kinds and when one matches a node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

# Breakpoint kinds.
BP_NODE = "node"
BP_TYPE = "type"
BP_MODULE = "module"
BP_NONFINITE = "nonfinite"
BP_NORM_ABOVE = "norm_above"


@dataclass
class Breakpoint:
    """Where a ``continue`` stops. ``value``: node id, grad_fn name, module path or T."""

    kind: str
    value: Any = None
    enabled: bool = True
    key: tuple | None = None  # a node breakpoint's stable key (node_key), set with it
    label: str = ""  # the node's label when it was set

    @property
    def needs_values(self) -> bool:
        return self.kind in (BP_NONFINITE, BP_NORM_ABOVE)

    def describe(self) -> str:
        return {
            BP_NODE: f"node {self.value}",
            BP_TYPE: f"type {self.value}",
            BP_MODULE: f"module {self.value}",
            BP_NONFINITE: "gradient has NaN/Inf",
            BP_NORM_ABOVE: f"gradient norm > {self.value}",
        }.get(self.kind, self.kind)



def node_key(graph, node_id: str) -> tuple[str, str, int]:
    """A node's key that outlives its id: (module path, grad_fn name, occurrence), the
    occurrence counting nodes of the same module and name in capture order. The same
    model gives the same key to the same operation; another model rarely has it."""
    node = graph.node(node_id)
    module = node.module or ""
    nth = 0
    for n in graph.nodes:
        if n.id == node_id:
            break
        if n.name == node.name and (n.module or "") == module:
            nth += 1
    return (module, node.name, nth)


def find_node_key(graph, key: tuple) -> str | None:
    """The id of the node of ``graph`` with ``key`` (see :func:`node_key`), or None."""
    module, name, nth = key
    seen = 0
    for n in graph.nodes:
        if n.name == name and (n.module or "") == module:
            if seen == nth:
                return n.id
            seen += 1
    return None


def rebind_node_breakpoints(breakpoints: list[Breakpoint], graph) -> tuple[list[Breakpoint], list[Breakpoint]]:
    """Node breakpoints follow their key into ``graph`` (a newly opened model, or the
    same one again): returns (moved: their ``value`` is now the new id, dropped: no node
    of ``graph`` has their key; removed from ``breakpoints``). Never moved by id alone."""
    moved, dropped = [], []
    for bp in list(breakpoints):
        if bp.kind != BP_NODE or bp.key is None:
            continue
        nid = find_node_key(graph, bp.key)
        if nid is None:
            breakpoints.remove(bp)
            dropped.append(bp)
        elif nid != bp.value:
            bp.value = nid
            moved.append(bp)
    return moved, dropped


def _grad_tensors(ts: Sequence[Any]) -> list[torch.Tensor]:
    return [t for t in ts if isinstance(t, torch.Tensor)]


def breakpoint_matches(bp: Breakpoint, node, gin, gout) -> bool:
    """Whether ``bp`` stops at ``node`` with these gradients (tensors only read)."""
    if bp.kind == BP_NODE:
        return node.id == bp.value
    if bp.kind == BP_TYPE:
        return node.name == bp.value
    if bp.kind == BP_MODULE:
        m = node.module or ""
        return m == bp.value or m.startswith(f"{bp.value}.")
    ts = _grad_tensors(gin) + _grad_tensors(gout)
    if bp.kind == BP_NONFINITE:
        return any(not bool(torch.isfinite(t.detach().sum())) for t in ts if t.numel())
    if bp.kind == BP_NORM_ABOVE:
        limit = float(bp.value)
        return any(float(t.detach().float().norm()) > limit for t in ts if t.numel())
    return False

