"""What a box says (its name and a line of numbers) and the size it needs for that,
shared by the scene, the SVG export and the layout so that every picture of a graph
sizes a box for the text it draws (widths from :mod:`.text_metrics`).

Geometry of a box: the name in a slot from ``TOP_PAD`` below its top edge, the numbers
in a second slot under it; both centred, ``text_metrics.PAD_X`` clear of either side.
"""

from __future__ import annotations

from ..graph.model import LEAF, Node
from ..graph.summary import MAX_VALUES, format_summary
from . import text_metrics as tm

LINE_H = 16.0  # a slot's height (a 12 px line is 14 high)
TOP_PAD = 4.0
LINE_GAP = 2.0
GROUP_RESERVE = "00000 nodes, 00000 ran"  # the widest a collapsed box's count gets in practice


def node_detail(node: Node) -> str:
    """The second line of a box: the numbers a learner looks for."""
    if node.kind == LEAF:
        if node.grad is not None:
            return f"grad = {format_summary(node.grad)}"
        shape = (node.variable or {}).get("shape", [])
        return "shape " + ("×".join(str(s) for s in shape) if shape else "()")
    if node.kind == "group":
        return ""  # filled by whoever knows its members: group_detail
    if node.exec_order is not None and node.grad_inputs is not None:
        got = ", ".join(format_summary(s) for s in (node.grad_outputs or []))
        sent = ", ".join(format_summary(s) for s in node.grad_inputs)
        return f"in {got} → out {sent}" if sent else f"in {got}"
    return node.module or ""


def group_detail(count: int, ran: int = 0) -> str:
    return f"{count} node{'' if count == 1 else 's'}" + (f", {ran} ran" if ran else "")


def export_detail(node: Node, inside: int | None = None) -> str:
    """The numbers line of SVG and DOT exports: what a node sent on, a leaf's grad."""
    if node.kind == "group":
        return f"module, {inside} node{'' if inside == 1 else 's'}" if inside else "module"
    if node.kind == LEAF:
        return f"grad = {format_summary(node.grad)}" if node.grad is not None else ""
    if node.grad_inputs:
        return "sends " + ", ".join(format_summary(s) for s in node.grad_inputs)
    return node.module or ""


def grad_reserve(node: Node) -> str:
    """The numbers line a leaf's ``.grad`` will likely need, before backward ran: its
    values for a small tensor (up to six shown), else its shape and norm."""
    shape = (node.variable or {}).get("shape") or []
    numel = 1
    for d in shape:
        numel *= int(d)
    if numel <= MAX_VALUES:
        return "grad = [" + ", ".join(["-0.0000"] * min(numel, 6)) + "]"
    return f"grad = [{'×'.join(str(d) for d in shape)}] ‖·‖=0.0000"


WIDE_VALUES = 36  # a line listing this many values ("0, " at least 14 px each) passes MAX_W
SHOWN_PER_DIM = 6


def _surely_too_wide(node: Node) -> bool:
    """Whether a numbers line lists so many values that it will be elided anyway (so
    sizing skips formatting it: that took most of a relayout's sizing after backward)."""
    for s in (node.grad, *(node.grad_inputs or ()), *(node.grad_outputs or ())):
        if s is not None and "values" in s:
            n = 1
            for d in s.get("shape", ()):
                n *= min(int(d), SHOWN_PER_DIM)  # format_summary lists the first six per level
            if n >= WIDE_VALUES:
                return True
    return False


def box_size(node: Node) -> tuple[float, float]:
    """Room for the node's name and its numbers line, the scene's or the exports', and
    for a leaf the gradient it will get (wider lines are elided, the full text is in
    the tool tip and the Inspector)."""
    if node.kind == "group":
        lines = [GROUP_RESERVE]
    elif _surely_too_wide(node):
        return tm.box_width(node.label, "", wide=True), tm.BOX_H
    else:
        lines = [node_detail(node)]
        if node.kind != LEAF and (node.exec_order is None or node.grad_inputs is None):
            lines.append(export_detail(node))  # else "in … → out X" is wider than "sends X"
        if node.kind == LEAF and node.grad is None:
            lines.append(grad_reserve(node))
    detail = max(lines, key=lambda t: tm.text_width(t[: tm.MEASURE_CHARS], tm.DETAIL_PX))
    return tm.box_width(node.label, detail), tm.BOX_H


def slots(w: float, h: float) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]]:
    """(name slot, numbers slot) as (left, top, width, height), relative to the box's centre."""
    left, width = -w / 2 + tm.PAD_X, w - 2 * tm.PAD_X
    top = -h / 2 + TOP_PAD
    return (left, top, width, LINE_H), (left, top + LINE_H + LINE_GAP, width, LINE_H)


def fitted(text: str, w: float, bold: bool, px: float) -> str:
    """``text`` elided to the text width of a box ``w`` wide."""
    return tm.elide(text, px, bold, w - 2 * tm.PAD_X - 1.0)


def fitted_name(name: str, w: float, px: float) -> str:
    """A box's name (bold, ``px``) fitted to a box ``w`` wide; a dotted module path that
    does not fit keeps its last parts ("…0.self_attn"): they tell boxes apart."""
    room = w - 2 * tm.PAD_X - 1.0
    if tm.text_width(name, px, True) <= room or "." not in name:
        return tm.elide(name, px, True, room)
    parts = name.split(".")
    for k in range(1, len(parts)):
        tail = tm.ELLIPSIS + ".".join(parts[k:])
        if tm.text_width(tail, px, True) <= room:
            return tail
    return tm.elide(name, px, True, room)
