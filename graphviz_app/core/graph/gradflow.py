"""Gradient-flow colouring: one number per node (log10 of its gradient norm) and a colour.

Reads the summaries the debugger filled in (no torch): an op's value is the largest
norm it sent on (``grad_inputs``), or what it received when it sent nothing; a leaf's
is its ``.grad`` norm. Norms below :data:`VANISHING` or above :data:`EXPLODING` are
flagged so the picture can make them stand out.
"""

from __future__ import annotations

import math
from typing import Iterable

from .model import LEAF, Graph, Node

VANISHING = 1e-7
EXPLODING = 1e3
LOG_LO = math.log10(VANISHING)  # -7
LOG_HI = math.log10(EXPLODING)  # 3

# Blue (small) → teal → green → yellow → orange (large); stops at t = 0, .25, .5, .75, 1.
_STOPS = [
    (0.00, (49, 54, 149)),
    (0.25, (69, 117, 180)),
    (0.50, (102, 189, 99)),
    (0.75, (254, 224, 139)),
    (1.00, (244, 109, 67)),
]
VANISHING_COLOR = "#7b3294"  # purple: gradient (almost) gone
EXPLODING_COLOR = "#d7191c"  # red: gradient blowing up
NONFINITE_COLOR = "#000000"  # NaN / Inf
NO_GRAD_COLOR = "#d9d9d9"  # nothing flowed (yet)


def _norms(summaries: Iterable[dict | None] | None) -> list[float]:
    out = []
    for s in summaries or ():
        if s is None:
            continue
        if s.get("nonfinite"):
            out.append(float("nan"))
            continue
        n = s.get("norm")
        if isinstance(n, (int, float)):
            out.append(float(n))
    return out


def node_norm(node: Node) -> float | None:
    """The gradient norm the colouring uses for ``node``; None when nothing flowed yet.

    NaN means a non-finite gradient went through the node.
    """
    if node.kind == LEAF:
        vals = _norms([node.grad]) if node.grad is not None else _norms(node.grad_outputs)
    else:
        vals = _norms(node.grad_inputs) or _norms(node.grad_outputs)
    if not vals:
        return None
    if any(math.isnan(v) or math.isinf(v) for v in vals):
        return float("nan")
    return max(vals)


LOG_MID = (LOG_LO + LOG_HI) / 2  # the middle of the colour ramp (1e-2)
GROUP_RULE = "collapsed boxes: worst gradient inside"


def worst_norm(nodes: Iterable[Node]) -> float | None:
    """The colouring's norm for a collapsed box: of its nodes' norms, the worst one,
    the farthest (in log10) from the middle of the ramp; so a vanishing, exploding or
    non-finite gradient anywhere inside shows on the box. None when nothing flowed."""
    worst, far = None, -1.0
    for n in nodes:
        v = node_norm(n)
        if v is None:
            continue
        if math.isnan(v) or math.isinf(v):
            return float("nan")
        d = math.inf if v <= 0 else abs(math.log10(v) - LOG_MID)
        if d > far:
            worst, far = v, d
    return worst


def box_norm(node: Node, members: Iterable[Node] = ()) -> float | None:
    """The norm a drawn box is coloured by: its node's, or for a collapsed module
    (``members``: the nodes it holds) :func:`worst_norm` of them."""
    return worst_norm(members) if members else node_norm(node)


def log_norm(norm: float | None) -> float | None:
    """log10 of a norm (0 maps to -inf); None stays None, NaN stays NaN."""
    if norm is None:
        return None
    if math.isnan(norm):
        return float("nan")
    if norm <= 0:
        return float("-inf")
    return math.log10(norm)


def classify(norm: float | None) -> str:
    """"none", "nonfinite", "vanishing", "exploding" or "normal"."""
    if norm is None:
        return "none"
    if math.isnan(norm) or math.isinf(norm):
        return "nonfinite"
    if norm < VANISHING:
        return "vanishing"
    if norm > EXPLODING:
        return "exploding"
    return "normal"


def ramp(t: float) -> str:
    """The colour at ``t`` in [0, 1] on the blue → orange ramp, as ``#rrggbb``."""
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(_STOPS, _STOPS[1:]):
        if t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = _STOPS[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


def color_for_norm(norm: float | None) -> str:
    """The fill colour for a gradient norm (vanishing / exploding / NaN get their own)."""
    kind = classify(norm)
    if kind == "none":
        return NO_GRAD_COLOR
    if kind == "nonfinite":
        return NONFINITE_COLOR
    if kind == "vanishing":
        return VANISHING_COLOR
    if kind == "exploding":
        return EXPLODING_COLOR
    lg = math.log10(norm) if norm > 0 else LOG_LO
    return ramp((lg - LOG_LO) / (LOG_HI - LOG_LO))


def flow_values(graph: Graph) -> dict[str, float | None]:
    """{node id: norm or None} for every node."""
    return {n.id: node_norm(n) for n in graph.nodes}


def flow_report(graph: Graph) -> dict[str, list[str]]:
    """Node ids grouped by :func:`classify` (what a legend or a test counts)."""
    out: dict[str, list[str]] = {"none": [], "nonfinite": [], "vanishing": [], "exploding": [], "normal": []}
    for n in graph.nodes:
        out[classify(node_norm(n))].append(n.id)
    return out


def legend_ticks() -> list[tuple[float, str]]:
    """(position in [0, 1], label) for the legend bar: 1e-7 … 1e3."""
    ticks = []
    for e in range(int(LOG_LO), int(LOG_HI) + 1, 2):
        ticks.append(((e - LOG_LO) / (LOG_HI - LOG_LO), f"1e{e}"))
    return ticks


def edge_text(summary: dict | None) -> str:
    """Shape and norm of the gradient along an edge: ``4×8 ‖g‖=0.031``."""
    if summary is None:
        return ""
    shape = "×".join(str(d) for d in summary.get("shape", [])) or "scalar"
    n = summary.get("norm")
    if summary.get("nonfinite"):
        return f"{shape} NaN/Inf"
    if not isinstance(n, (int, float)):
        return shape
    return f"{shape} ‖g‖={n:.3g}"
