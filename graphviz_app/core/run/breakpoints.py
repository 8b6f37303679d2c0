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

