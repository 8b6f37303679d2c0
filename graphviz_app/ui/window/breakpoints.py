"""Breakpoints as the user sets them: from the selection, the panel and the menus; their marks on the graph."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import (
    QInputDialog,
)

from ...core.run.debugger import (
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_NORM_ABOVE,
    BP_TYPE,
    Breakpoint,
)


class BreakpointActions(QObject):
    """The window's side of breakpoints (the controller holds them). ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def describe_breakpoint(self, bp: Breakpoint) -> str:
        g = self.w.scene.graph
        if bp.kind == BP_NODE and g is not None and bp.value in g:
            n = g.node(bp.value)
            return f"node {n.label} ({bp.value})"
        if bp.kind == BP_TYPE and g is not None and not any(n.name == bp.value for n in g.nodes):
            return f"{bp.describe()} — not in this graph"
        return bp.describe()

    def rebind(self, graph) -> None:
        """A new graph is on screen: node breakpoints follow their stable key (module,
        grad_fn name, occurrence) into it, or are dropped with a line in the log; never
        left on whatever node has the old id."""
        from ...core.run.breakpoints import rebind_node_breakpoints

        c = self.w.controller
        moved, dropped = rebind_node_breakpoints(c.breakpoints, graph)
        for bp in moved:
            self.w.log_line(f"Breakpoint on {bp.label} follows it to {bp.value} (same module and operation)")
        for bp in dropped:
            self.w.log_line(f"Breakpoint on node {bp.label} removed: this graph has no such node "
                            f"(module {bp.key[0] or '—'}, {bp.key[1]} #{bp.key[2] + 1})")
        if dropped:
            self.w.statusBar().showMessage(f"{len(dropped)} node breakpoint(s) removed: not in this graph "
                                           "(see the log)", 8000)
        self.w.debugger_panel.set_breakpoints(c.breakpoints, self.describe_breakpoint)

    def add_breakpoint(self, kind: str, value: str = "") -> Breakpoint | None:
        value = (value or "").strip()
        if kind == BP_NODE:
            if not value:
                sel = self.w.scene.selected_ids()
                if not sel:
                    self.w.show_info("Select a node first, then add a node breakpoint.")
                    return None
                value = sel[0]
            elif self.w.scene.graph is not None and value not in self.w.scene.graph:
                match = [n.id for n in self.w.scene.graph.nodes if n.label == value]
                if not match:
                    self.w.show_info(f"No node called {value!r} in this graph.")
                    return None
                value = match[0]
        elif kind in (BP_TYPE, BP_MODULE) and not value:
            sel = self.w.scene.selected_ids()
            if sel and self.w.scene.graph is not None:
                node = self.w.scene.graph.node(sel[0])
                value = node.name if kind == BP_TYPE else (node.module or "")
            if not value:
                self.w.show_info("Type a grad_fn name (e.g. MulBackward0) or a module path first.")
                return None
        elif kind == BP_NORM_ABOVE:
            try:
                value = float(value or "1000")
            except ValueError:
                self.w.show_info(f"The norm threshold must be a number, not {value!r}.")
                return None
        elif kind == BP_NONFINITE:
            value = None
        bp = self.w.controller.add_breakpoint(kind, value)
        g = self.w.scene.graph
        self.w.log_line(f"Breakpoint: {self.describe_breakpoint(bp)}")
        if kind == BP_TYPE and g is not None and not any(n.name == value for n in g.nodes):
            self.w.show_info(f"Warning: this graph has no {value} node; the breakpoint stays set and "
                             "stops at one when a graph has it.")
        return bp

    def toggle_node_breakpoint(self) -> None:
        sel = self.w.scene.selected_ids()
        if not sel:
            self.w.show_info("Select a node first, then toggle its breakpoint (F9).")
            return
        for bp in self.w.controller.breakpoints:
            if bp.kind == BP_NODE and bp.value == sel[0]:
                self.w.controller.remove_breakpoint(bp)
                return
        self.add_breakpoint(BP_NODE, sel[0])

    @Slot()
    def on_breakpoints_changed(self) -> None:
        self.w.debugger_panel.set_breakpoints(self.w.controller.breakpoints, self.describe_breakpoint)
        self.apply_breakpoint_marks()

    def apply_breakpoint_marks(self) -> None:
        g = self.w.scene.graph
        if g is None:
            return
        marks: set[str] = set()
        for bp in self.w.controller.breakpoints:
            if not bp.enabled:
                continue
            if bp.kind == BP_NODE:
                marks.add(bp.value)
            elif bp.kind == BP_TYPE:
                marks |= {n.id for n in g.nodes if n.name == bp.value}
            elif bp.kind == BP_MODULE:
                marks |= {n.id for n in g.nodes if n.module and (n.module == bp.value or
                                                                 n.module.startswith(f"{bp.value}."))}
        self.w.scene.set_breakpoint_nodes(marks)

    def ask_norm_breakpoint(self) -> None:
        value, ok = QInputDialog.getDouble(self.w, "Break when the gradient norm is above", "Threshold T:",
                                           1000.0, 0.0, 1e30, 3)
        if ok:
            self.add_breakpoint(BP_NORM_ABOVE, str(value))
