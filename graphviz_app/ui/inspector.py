"""The inspector: what the selected node received, computed and sent on."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser

from ..core.graph import LEAF, Graph, Node
from ..core.summary import format_summary


def _summary_html(s: dict | None) -> str:
    if s is None:
        return "<i>None</i>"
    parts = [f"<b>{html.escape(format_summary(s))}</b>"]
    shape = "×".join(str(d) for d in s.get("shape", [])) or "scalar"
    parts.append(f"<span style='color:#666'>{shape} {html.escape(str(s.get('dtype')))} on {s.get('device')}</span>")
    if "values" not in s:
        parts.append(
            f"norm {format_summary({'values': s.get('norm')})}, min {s.get('min')}, max {s.get('max')}, "
            f"mean {s.get('mean')}"
        )
    if s.get("nonfinite"):
        parts.append(f"<span style='color:#d00000'>{s['nonfinite']} non-finite values</span>")
    return "<br>".join(parts)


def node_html(graph: Graph, node: Node) -> str:
    """Inspector text for one node: identity, gradients in/out, the leaf's .grad."""
    rows = [f"<h3>{html.escape(node.label)}</h3>"]
    meta = [f"<b>{html.escape(node.name)}</b> ({node.kind})"]
    if node.module:
        meta.append(f"module <code>{html.escape(node.module)}</code>")
    if node.exec_order is not None:
        meta.append(f"ran as step #{node.exec_order + 1}")
    else:
        meta.append("has not run yet")
    rows.append(" · ".join(meta))
    if node.source:
        rows.append(f"<p>forward source: <code>{html.escape(node.source)}</code></p>")
    if node.kind == LEAF and node.variable:
        v = node.variable
        shape = "×".join(str(d) for d in v.get("shape", [])) or "scalar"
        rows.append(f"<p>variable <b>{html.escape(str(v.get('name')))}</b>: {shape} {v.get('dtype')} on {v.get('device')}</p>")
        rows.append(f"<p><b>.grad</b> = {_summary_html(node.grad) if node.grad else '<i>not written yet</i>'}</p>")
    if node.grad_outputs is not None:
        rows.append("<h4>Gradient received (grad_outputs)</h4>")
        rows += [f"<p>[{i}] {_summary_html(s)}</p>" for i, s in enumerate(node.grad_outputs)]
    if node.grad_inputs:
        targets = {e.slot: e.dst for e in graph.successors(node.id)}
        rows.append("<h4>Gradient sent on (grad_inputs)</h4>")
        for i, s in enumerate(node.grad_inputs):
            dst = targets.get(i)
            to = html.escape(graph.node(dst).label) if dst in graph else "(no input needing grad)"
            rows.append(f"<p>[{i}] → {to}: {_summary_html(s)}</p>")
    if node.saved:
        rows.append("<h4>Saved for backward</h4><ul>")
        for k, v in node.saved.items():
            rows.append(f"<li><code>{html.escape(k)}</code>: {html.escape(str(v))[:200]}</li>")
        rows.append("</ul>")
    return "\n".join(rows)


class Inspector(QTextBrowser):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.graph: Graph | None = None
        self.node_id: str | None = None
        self.setHtml("<p style='color:#666'>Select a node, or step backward (F10).</p>")

    def show_node(self, graph: Graph, node_id: str) -> None:
        self.graph, self.node_id = graph, node_id
        self.setHtml(node_html(graph, graph.node(node_id)))

    def refresh(self) -> None:
        if self.graph is not None and self.node_id in self.graph:
            self.show_node(self.graph, self.node_id)
