"""The Problems list: missing .grad explanations, unreached leaves and the NaN hunt."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QListWidgetItem,
)

from ...core.graph import gradflow
from ...core.graph.model import Graph

EXPLAIN_MAX_NAMES = 400  # explain missing .grad automatically for models up to this many tensors


class ProblemsView(QObject):
    """Fills the Problems list and runs the NaN hunt. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def add_problem(self, text: str, node_id: str | None = None) -> None:
        for i in range(self.w.problems.count()):
            if self.w.problems.item(i).text() == text:
                return
        item = QListWidgetItem(text)
        item.setData(Qt.UserRole, node_id)
        item.setToolTip(text)
        self.w.problems.addItem(item)
        self.w.log_line(text)

    def on_problem_clicked(self, item: QListWidgetItem) -> None:
        nid = item.data(Qt.UserRole)
        if nid:
            self.w.goto_node(nid)
            self.w.view.zoom_to([nid])

    def explain_missing(self) -> None:
        self.w.controller.explain_missing()

    def auto_explain(self) -> None:
        """After opening: explain named tensors that will get no gradient (cheap cases only)."""
        c = self.w.controller
        g, session = c.graph, c.session
        if session is None or g is None or not g.live:
            return
        from ...core.graph.explain import watched_tensors

        sc = session.scenario
        try:
            watched = watched_tensors(sc)
        except Exception:
            return
        if len(watched) > EXPLAIN_MAX_NAMES:
            return
        in_graph = {(n.variable or {}).get("name") for n in g.leaves()}
        missing = [k for k in watched if k not in in_graph]
        if missing:
            c.explain_missing(missing)

    @Slot(object)
    def on_explanations(self, reasons) -> None:
        if not reasons:
            self.w.show_info("Every named tensor is reachable from the output: each gets a .grad.")
            return
        for r in reasons:
            self.w.inspector.explanations[r.name] = r.message
            self.add_problem(f"{r.name}: .grad stays None — {r.message}")
        self.w.inspector.refresh()

    def missing_leaf_notes(self, graph: Graph) -> None:
        for n in graph.leaves():
            if n.grad is None and n.exec_order is None:
                self.add_problem(f"{n.label}: .grad stays None — backward did not reach this leaf.", n.id)

    def nan_hunt(self) -> None:
        self.w._nan_node = None
        self.w.debug_state.setText("NaN hunt: running backward until a gradient has NaN or Inf…")
        self.w.controller.nan_hunt()

    @Slot(str)
    def on_nan_cause(self, message: str) -> None:
        """The hunt found the cause before any backward (non-finite state or a forward op)."""
        self.w.debug_state.setText(message)
        self.add_problem(message)
        self.w.show_info(message)

    def flag_nonfinite_grads(self, graph) -> None:
        """As soon as a pass ends: every leaf whose .grad holds NaN or Inf."""
        for n in graph.leaves():
            bad = (n.grad or {}).get("nonfinite")
            if bad:
                self.add_problem(f"{n.label}: .grad has {bad} NaN/Inf value{'s' if bad != 1 else ''}.", n.id)

    @Slot(str)
    def on_nan_found(self, node_id: str) -> None:
        g = self.w.scene.graph
        if not node_id or g is None or node_id not in g:
            self.w.show_info("NaN hunt: no NaN or Inf gradient — backward ran to the end with finite gradients.")
            self.w.debug_state.setText("NaN hunt: all gradients finite.")
            return
        self.w._nan_node = node_id
        node = g.node(node_id)
        inputs = []
        for edge in (e for e in g.edges if e.src == node_id):
            s = node.grad_inputs[edge.slot] if node.grad_inputs and edge.slot < len(node.grad_inputs) else None
            inputs.append(f"{g.node(edge.dst).label} ({gradflow.edge_text(s) or 'no gradient'})")
        where = f" in {node.module}" if node.module else ""
        src = f" Forward source: {node.source}." if node.source else " (forward source line not recorded)"
        text = (f"NaN hunt: first non-finite gradient at {node.label}{where}.{src}"
                + (f" Its inputs: {', '.join(inputs)}." if inputs else ""))
        self.w.debug_state.setText(text)
        self.add_problem(text, node_id)
        self.w.goto_node(node_id)
        self.w.view.zoom_to([node_id])
