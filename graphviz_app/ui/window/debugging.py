"""What the window shows while a forward or backward is stepped: pauses, the execution list, the end of a pass."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Slot

from ...core.graph.model import Graph
from ...core.run.debugger import (
    BackwardResult,
)


class DebugView(QObject):
    """Shows the debugger's pauses and the end of each pass. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def sync_executed(self, refresh: bool = True) -> None:
        """Refresh nodes that ran since the last pause (continue runs several)."""
        dbg = self.w.controller.debugger
        graph = self.w.scene.graph
        if dbg is None or graph is None or dbg.graph is not graph:
            return
        order = dbg.order
        new = order[self.w._seen_order:]
        rows = []
        for nid in new:
            if nid not in graph:
                continue
            rows.append((nid, exec_row(graph.node(nid))))
        if refresh:
            self.w.scene.refresh_nodes(new)
        self.w.debugger_panel.add_executed(rows)
        self.w._seen_order = len(order)

    def show_recorded_order(self, graph) -> None:
        """A recorded graph (a snapshot file, a kept training step): the execution list
        as that backward ran, from each node's recorded execution order."""
        ran = sorted((n for n in graph.nodes if n.exec_order is not None), key=lambda n: n.exec_order)
        self.w.debugger_panel.add_executed([(n.id, exec_row(n)) for n in ran])

    @Slot(str)
    def on_paused(self, node_id: str) -> None:
        graph = self.w.scene.graph
        if graph is None or node_id not in graph:
            return
        dbg = self.w.controller.debugger
        if dbg is not None and dbg.graph is not graph:
            return  # a pause of a graph not on screen yet (a debugged training step): it is repeated once shown
        self.sync_executed()
        self.w.scene.refresh_node(node_id)
        self.w.scene.set_current(node_id)
        self.w.view.show_node(node_id)
        self.w.inspector.finished = False
        self.w.inspector.show_node(graph, node_id)
        self.w.exec_list.setCurrentRow(self.w.exec_list.count() - 1)
        node = graph.node(node_id)
        self.w.debug_state.setText(pause_text(graph, node, self.w.controller.debugging_training))
        if self.w.scene.color_mode == "flow":
            self.w.view_options.update_legend()
        self.w._update_actions()

    @Slot(object)
    def on_finished(self, result: BackwardResult) -> None:
        """The pass ended: the state line now; the graph, lists and plots in the next
        event-loop turns (so a big graph never holds the window for long)."""
        self.w._backward_done = True
        self.finish_status(result)
        graph = self.w.scene.graph
        steps = [lambda: self.sync_executed(refresh=False), self.w.scene.refresh_all,
                 lambda: self.finish_panels(result, graph)]

        def run_next() -> None:
            if graph is not self.w.scene.graph or not steps:
                return
            steps.pop(0)()
            if steps:
                QTimer.singleShot(0, self.w, run_next)

        if graph is not None and len(graph.nodes) <= 300:
            while steps:
                steps.pop(0)()
        else:
            run_next()

    def finish_panels(self, result: BackwardResult, graph) -> None:
        self.w.scene.set_current(None)
        self.w.inspector.finished = True
        self.w.inspector.refresh()
        if result.status == "finished" and graph is not None:
            self.w.problems_view.missing_leaf_notes(graph)
            self.w.problems_view.flag_nonfinite_grads(graph)
            self.w.model_tree.update_grads(graph)
            norms = {(n.variable or {}).get("name"): n.grad.get("norm") for n in graph.leaves()
                     if n.grad is not None and isinstance(n.grad.get("norm"), (int, float))}
            if norms:
                self.w.plots.norms.add_step(int(graph.meta.get("step", 0) or 0), norms)
        if self.w.scene.color_mode == "flow":
            self.w.view_options.update_legend()
        self.w.minimap.schedule()
        self.w._update_actions()

    def finish_status(self, result: BackwardResult) -> None:
        graph = self.w.scene.graph
        if result.status == "finished":
            self.w.debug_state.setText(f"Backward finished: {len(result.order)} nodes ran. F10 starts a new pass.")
            self.w.status_times.setText(f"backward {self.w.controller.last_run_s * 1000:.0f} ms")
        elif result.status == "aborted":
            written = len(result.grads_written)
            self.w.debug_state.setText(f"Backward aborted after {len(result.order)} nodes; {written} leaf .grad written.")
        else:
            where = ""
            if result.failed_node and graph is not None and result.failed_node in graph:
                where = f" while {graph.node(result.failed_node).label} was running"
            self.w.debug_state.setText(f"Backward failed{where}.")
            self.w.show_error(f"Backward failed{where}: {result.error}", result.traceback or "")
        self.w._update_actions()

    @Slot(object, object, object)
    def on_forward_paused(self, stop, graph: Graph, layout) -> None:
        self.w.scene.set_graph(graph, layout, chunked=True)
        outs = [n.id for n in graph.outputs()]
        if outs:
            self.w.scene.set_current(outs[-1])
            self.w.view.show_node(outs[-1])
        shapes = ", ".join("×".join(map(str, o["shape"])) or "scalar" for o in stop.output[:3])
        self.w.debug_state.setText(
            f"Forward paused after {stop.kind} {stop.label} (output {shapes or '—'}); graph so far: "
            f"{len(graph.nodes)} nodes. F8: next module · F11: step into (op by op) · F5: finish the forward.")
        self.w.status_graph.setText(f"{len(graph.nodes)} nodes (partial), {len(graph.edges)} edges")
        self.w._update_actions()

    @Slot(object)
    def on_forward_finished(self, result) -> None:
        if result.ok:
            self.w.show_info(f"Forward finished ({len(result.order)} stops). F10 now steps the backward.")
        elif result.status == "aborted":
            self.w.debug_state.setText("Forward aborted.")
        self.w._update_actions()

    def run_to_selected(self) -> None:
        sel = self.w.scene.selected_ids()
        if not sel:
            self.w.show_info("Select a node first (click it), then Run to Selected Node.")
            return
        self.w.controller.run_to(sel[0])


def exec_row(node) -> str:
    """One line of the execution list: "#4  SqrtBackward0   [fc1]"."""
    order = node.exec_order + 1 if node.exec_order is not None else "?"
    return f"#{order}  {node.label}" + (f"   [{node.module}]" if node.module else "")


def pause_text(graph, node, training: bool) -> str:
    """The state line while paused: which node step (of how many nodes) and, when a
    training step is being debugged, which training step — two different counters."""
    where = f" in {node.module}" if node.module else ""
    step = f" (node step {node.exec_order + 1})" if node.exec_order is not None else ""
    head = ""
    if training:
        t = graph.meta.get("step")
        head = f"Training step {t}: " if t is not None else "Training step: "
    return f"{head}Paused after {node.label}{where} ran{step}. F10: next node · F5: continue."
