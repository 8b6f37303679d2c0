"""The Watch list in the window: pin a tensor from the graph's context menu or the
Inspector; its value is added at every pause, at the end of a pass and after every
training step. The watches are remembered per model file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QDockWidget, QPushButton

from ...core.graph.model import Graph
from ...core.run.watches import NODE_GRAD, dumps, loads, value, watch_for
from ..watch_panel import WatchPanel


class Watching(QObject):
    """Feeds the Watch dock. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.panel = WatchPanel(window)
        self.graph: Graph | None = None
        self.path: str | None = None

    def install(self) -> None:
        """The dock (next to Plots), its View menu entry, the Inspector's button, the signals."""
        w, c = self.w, self.w.controller
        dock = QDockWidget("Watch", w)
        dock.setObjectName("dock_watch")
        dock.setWidget(self.panel)
        w.addDockWidget(Qt.RightDockWidgetArea, dock)
        w.tabifyDockWidget(w.docks["plots"], dock)
        w.docks["plots"].raise_()
        w.docks["watch"] = dock
        if getattr(w, "view_menu", None) is not None:
            w.view_menu.addAction(dock.toggleViewAction())
        self.inspector_button = QPushButton("Watch", w.inspector)
        self.inspector_button.setObjectName("inspectorWatch")
        self.inspector_button.setToolTip("Pin this node's gradient norm (a leaf: its .grad norm) in the Watch list")
        self.inspector_button.clicked.connect(self.watch_inspected)
        w.inspector.layout().insertWidget(0, self.inspector_button)
        c.graph_ready.connect(self.on_graph_ready)
        c.node_paused.connect(self.on_paused)
        c.backward_finished.connect(self.on_finished)
        c.source_changed.connect(self.on_source_changed)
        c.training_progress.connect(self.on_training_progress)
        self.panel.watches_changed.connect(self.save)

    # ------------------------------------------------------------- pinning
    def watch_node(self, node_id: str) -> None:
        graph = self.w.scene.graph
        if graph is None or node_id not in graph:
            return
        watch = watch_for(graph, node_id)
        if self.panel.add_watch(watch):
            self.w.show_info(f"Watching {watch.label}")
            table = self.panel.node_steps
            if table.rowCount():  # its value now, in the latest row; earlier rows were before it was pinned
                self.panel.set_cell(table, table.verticalHeaderItem(table.rowCount() - 1).text(),
                                    len(self.panel.watches) - 1, value(graph, watch))
            else:
                self.add_step_row("now")
        self.w.docks["watch"].show()
        self.w.docks["watch"].raise_()

    def watch_inspected(self) -> None:
        nid = self.w.inspector.node_id
        if nid is None:
            self.w.show_info("Select a node first, then Watch.")
            return
        self.watch_node(nid)

    # ---------------------------------------------------------------- rows
    def values(self, graph: Graph) -> list[float | None]:
        return [value(graph, watch) for watch in self.panel.watches]

    def add_step_row(self, label: str) -> None:
        graph = self.w.scene.graph
        if graph is not None:
            self.panel.add_row(self.panel.node_steps, label, self.values(graph))

    @Slot(object, object)
    def on_graph_ready(self, graph: Graph, layout=None) -> None:
        if graph is not self.graph and graph.live:
            self.panel.node_steps.setRowCount(0)  # a new pass: its node steps start again
        self.graph = graph

    @Slot(str)
    def on_paused(self, node_id: str) -> None:
        graph = self.w.scene.graph
        dbg = self.w.controller.debugger
        if graph is None or node_id not in graph or (dbg is not None and dbg.graph is not graph):
            return
        node = graph.node(node_id)
        step = f"#{node.exec_order + 1} " if node.exec_order is not None else ""
        self.add_step_row(f"{step}{node.label}")

    @Slot(object)
    def on_finished(self, result) -> None:
        self.add_step_row(f"end ({result.status})")

    @Slot(object)
    def on_training_progress(self, records) -> None:
        trainer = self.w.controller.trainer
        node_watches = any(wt.kind == NODE_GRAD for wt in self.panel.watches)
        for rec in records:
            kept = trainer.store.get(rec.step) if node_watches and rec.snapshot and trainer is not None else None
            vals = []
            for watch in self.panel.watches:
                if watch.kind == NODE_GRAD:
                    vals.append(value(kept, watch) if kept is not None else None)
                else:
                    vals.append(rec.grad_norms.get(watch.key))
            self.panel.add_row(self.panel.train_steps, f"step {rec.step}", vals)

    # ------------------------------------------------------------- settings
    @staticmethod
    def _key(path: str) -> str:
        return "watch/" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16]

    @Slot(str, str)
    def on_source_changed(self, path: str, kind: str) -> None:
        if path == self.path:
            return
        self.path = path
        self.panel.watches_changed.disconnect(self.save)
        self.panel.set_watches(loads(str(self.w.settings.value(self._key(path), "[]") or "[]")))
        self.panel.watches_changed.connect(self.save)

    def save(self) -> None:
        if self.path is not None:
            self.w.settings.setValue(self._key(self.path), dumps(self.panel.watches))
