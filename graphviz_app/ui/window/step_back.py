"""Step Back (Shift+F10): while a backward is paused, show the state just before the
previous node ran, from the recorded per-node results (:mod:`core.run.rewind`).

The shown graph's nodes are set to their earlier states while the worker waits in its
pause, so the scene, the Inspector and the gradient colours all read the same state.
Step (F10) replays forward through the recorded states to the live point first; every
other verb that runs the backward goes back to the live point before it runs.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QBrush, QColor

from ...core.graph.model import LEAF, Graph
from ...core.run.rewind import NodeState, Rewind, apply, capture, unhide


class StepBack(QObject):
    """The rewound view over the paused backward. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.graph: Graph | None = None
        self.initial: dict[str, object] = {}  # leaf id -> .grad summary before the pass
        self.recorded: dict[int, NodeState] = {}  # exec index -> state right after it ran
        self.rewind: Rewind | None = None

    # ------------------------------------------------------------- recording
    @Slot(object, object)
    def on_graph_ready(self, graph: Graph, layout=None) -> None:
        if graph is self.graph:
            return  # the same pass, drawn again
        self.rewind = None
        self.graph = graph
        self.initial = {n.id: n.grad for n in graph.nodes if n.kind == LEAF}
        self.recorded = {}

    def _paused_debugger(self):
        dbg = self.w.controller.debugger
        if dbg is None or dbg.result is not None or dbg.paused_at is None:
            return None
        if dbg.graph is not self.w.scene.graph or dbg.graph is not self.graph:
            return None
        return dbg

    @Slot(str)
    def on_paused(self, node_id: str) -> None:
        """Record the paused node's state (the worker waits, so it is complete)."""
        dbg = self._paused_debugger()
        if dbg is None or not dbg.order or dbg.order[-1] != node_id:
            return
        self.rewind = None  # a new pause is the live point
        self.recorded[len(dbg.order) - 1] = capture(self.graph.node(node_id))

    @Slot(object)
    def on_finished(self, result) -> None:
        """The pass ended while rewound (a verb that bypassed :meth:`live_first`): the
        nodes show their live states again; the end of the pass is shown as usual."""
        rw, graph, self.rewind = self.rewind, self.graph, None
        if rw is None or graph is None:
            return
        hidden = [nid for nid in rw.hidden() if nid in graph]
        for nid, shown in rw.hidden().items():
            if nid in graph:
                unhide(graph.node(nid), shown, rw.live.get(nid, NodeState()))
        self._mark_exec_rows(len(rw.order))
        if graph is self.w.scene.graph:
            self.w.scene.refresh_nodes(hidden)
            self.w.inspector.refresh()

    # --------------------------------------------------------------- moving
    @property
    def rewound(self) -> bool:
        return self.rewind is not None

    @property
    def position(self) -> int | None:
        """How many nodes of the order the shown state has run (None: the live point)."""
        return self.rewind.position if self.rewind is not None else None

    def step_back(self) -> None:
        dbg = self._paused_debugger()
        if dbg is None:
            self.w.show_info("Step Back works while a backward is paused: step it first (F10).")
            return
        if self.rewind is None:
            order = list(dbg.order)
            live = {nid: capture(self.graph.node(nid)) for nid in dict.fromkeys(order)}
            self.rewind = Rewind(order, live, self.initial, self.recorded)
        if self.rewind.position == 0:
            self.w.show_info("At the start of the backward: no node ran before this.")
            return
        self._show(self.rewind.move_to(self.rewind.position - 1))

    def step_forward(self) -> bool:
        """Replay one recorded node; False at the live point (nothing to replay)."""
        if self.rewind is None:
            return False
        if self._paused_debugger() is None:
            self.rewind = None
            return False
        self._show(self.rewind.move_to(self.rewind.position + 1))
        return True

    def step(self) -> None:
        """F10: replay forward while rewound, else step the real backward."""
        if not self.step_forward():
            self.w.controller.step()

    def ensure_live(self) -> None:
        """Back to the live point (before any verb that runs the backward)."""
        if self.rewind is not None:
            self._show(self.rewind.move_to(len(self.rewind.order)))

    def live_first(self, fn):
        """``fn`` run after going back to the live point."""

        def run(*_checked) -> None:
            self.ensure_live()
            fn()

        return run

    def request_values(self, node_id: str, which: str, slot: int = 0) -> None:
        """The Inspector's values view: a rewound node's recorded summary (the tensor
        behind it holds its live value), else the tensor as usual."""
        rw, graph = self.rewind, self.graph
        if rw is not None and graph is not None and node_id in rw.hidden():
            from ..control.summary_values import node_summary, summary_payload

            self.w.inspector.set_values(node_id, which, slot,
                                        summary_payload(node_summary(graph, node_id, which, slot)))
            return
        self.w.controller.request_values(node_id, which, slot)

    # --------------------------------------------------------------- showing
    def _show(self, changes: dict[str, NodeState]) -> None:
        rw, graph = self.rewind, self.graph
        assert rw is not None and graph is not None
        for nid, state in changes.items():
            if nid in graph:
                apply(graph.node(nid), state)
        w = self.w
        w.scene.refresh_nodes([nid for nid in changes if nid in graph])
        self._mark_exec_rows(rw.position)
        if rw.at_live:
            self.rewind = None
            current = rw.order[-1] if rw.order else None
            w.debug_state.setText(f"Back at the live point: paused after {graph.node(current).label} ran. "
                                  "F10: next node · F5: continue." if current else "Back at the live point.")
        else:
            current = rw.order[rw.position]  # the node about to run again
            node = graph.node(current)
            w.debug_state.setText(
                f"Stepped back: showing the state before {node.label} ran (step {rw.position + 1} of "
                f"{len(rw.order)}); {len(rw.order) - rw.position} node step(s) undone. "
                "F10 replays forward · Shift+F10 steps further back.")
        if current is not None:
            w.scene.set_current(current)
            w.view.show_node(current)
            w.inspector.finished = False
            w.inspector.show_node(graph, current)
        if w.scene.color_mode == "flow":
            w.view_options.update_legend()
        w._update_actions()

    def _mark_exec_rows(self, position: int) -> None:
        """Grey the execution list's rows of undone nodes; select the last shown one."""
        lst = self.w.exec_list
        grey = QBrush(QColor("#9e9e9e"))
        for i in range(lst.count()):
            item = lst.item(i)
            item.setForeground(grey if i >= position else QBrush())
        if 0 < position <= lst.count():
            lst.setCurrentRow(position - 1)
        elif position == 0:
            lst.clearSelection()
