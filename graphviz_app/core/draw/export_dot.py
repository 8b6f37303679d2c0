"""DOT export, in torchviz's colours so users recognise the picture.

Leaves (``AccumulateGrad``) are light blue with the variable's name and shape,
outputs dark olive green, other grad_fn nodes light grey boxes. Edges point the
way gradients flow (output at the top with ``rankdir=TB``). Every label is escaped,
so any name (quotes, backslashes, newlines, right-to-left text) stays valid DOT.
"""

from __future__ import annotations

from typing import Iterable

from ..graph.model import LEAF, OUTPUT, Graph, Node
from ..graph.summary import format_summary

GROUP = "group"
FILL = {LEAF: "lightblue", OUTPUT: "darkolivegreen1", GROUP: "lightyellow"}
DEFAULT_FILL = "lightgrey"


def escape(text: str) -> str:
    """Escape ``text`` for a double-quoted DOT string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(ch if ch.isprintable() or ch == "\\" else " " for ch in out)


def node_label(n: Node, with_grads: bool = True, inside: int | None = None) -> str:
    lines = [n.label]
    if n.kind == GROUP:
        if inside:
            lines.append(f"module, {inside} node{'' if inside == 1 else 's'}")
        return "\n".join(lines)
    if n.kind == LEAF and n.variable:
        shape = tuple(n.variable.get("shape", ()))
        lines.append(f"{n.name} {shape if shape else '()'}")
    elif n.module:
        lines.append(n.module)
    if with_grads:
        if n.kind == LEAF and n.grad is not None:
            lines.append(f"grad = {format_summary(n.grad)}")
        elif n.grad_inputs:
            lines.append("sends " + ", ".join(format_summary(s) for s in n.grad_inputs))
    return "\n".join(lines)


def to_dot(graph: Graph, direction: str = "TB", with_grads: bool = True, name: str = "autograd") -> str:
    rankdir = "BT" if direction == "BT" else "TB"
    out = [
        f'digraph "{escape(name)}" {{',
        f'  graph [rankdir={rankdir}, ranksep="0.2", nodesep="0.15"];',
        '  node [shape=box, style="filled,rounded", fontname="monospace", fontsize="10", height="0.2"];',
        '  edge [fontsize="8", fontname="monospace"];',
    ]
    out += list(_nodes(graph, with_grads))
    for e in graph.edges:
        out.append(f'  "{escape(e.src)}" -> "{escape(e.dst)}";')
    out.append("}")
    return "\n".join(out) + "\n"


def _nodes(graph: Graph, with_grads: bool) -> Iterable[str]:
    counts = graph.meta.get("groups") or {}
    for n in graph.nodes:
        fill = FILL.get(n.kind, DEFAULT_FILL)
        extra = ""
        if n.exec_order is not None:
            extra = f', xlabel="#{n.exec_order}"'
        if n.kind == GROUP:  # a collapsed module: a folder-like box, drawn thicker
            extra += ', shape=box3d, style="filled", penwidth="1.5"'
        label = node_label(n, with_grads, counts.get(n.name) if n.kind == GROUP else None)
        yield f'  "{escape(n.id)}" [label="{escape(label)}", fillcolor="{fill}"{extra}];'


def write_dot(graph: Graph, path, direction: str = "TB") -> None:
    from ..system.atomic import atomic_write_text

    atomic_write_text(path, to_dot(graph, direction=direction))
