"""Values for the inspector's values view from a recorded summary, when no tensor is
behind the slot: a reopened snapshot, a time-travel step, a finished pass whose tensors
were released. Small tensors' summaries hold every value; bigger ones their statistics."""

from __future__ import annotations

from typing import Any

from ...core.graph.summary import summary_values


def node_summary(graph, node_id: str, which: str, slot: int) -> dict | None:
    """The summary the Inspector shows for ``which`` ("in": received, "out": sent,
    "grad": a leaf's .grad) of ``node_id``, or None."""
    from ...core.graph.model import Graph

    if not isinstance(graph, Graph) or node_id not in graph:
        return None
    node = graph.node(node_id)
    if which == "grad":
        return node.grad
    slots = node.grad_outputs if which == "in" else node.grad_inputs
    return slots[slot] if slots is not None and 0 <= slot < len(slots) else None


def summary_payload(s: dict | None) -> dict[str, Any]:
    """A values-view payload (see ``values.tensor_payload``) from a summary: a "table"
    when it kept the values, else "summary" with its statistics."""
    import numpy as np

    if not isinstance(s, dict):
        return {"kind": "none"}
    shape = list(s.get("shape") or [])
    numel = int(np.prod(shape)) if shape else 1
    out: dict[str, Any] = {"shape": shape, "numel": numel, "recorded": True}
    if "values" in s:
        a = np.asarray(summary_values(s), dtype=complex if "values_imag" in s else float)
        out["kind"] = "table"
        out["array"] = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
        return out
    out["kind"] = "summary"
    out["stats"] = {k: s[k] for k in ("norm", "min", "max", "mean", "nonfinite") if k in s}
    return out
