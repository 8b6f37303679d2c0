"""The main window: graph in the middle; Debugger, Inspector, Plots, Model and Problems docked around.

Every action only asks the :class:`Controller`; results come back as queued signals.
Settings (direction, theme, window and dock layout, recent files) live in QSettings.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.graph.model import LEAF, Graph
from . import theme
from .controller import Controller
from .graph_scene import GraphScene, GraphView
from .overlays import FlowLegend, Minimap, SearchBar
from .settings import make_settings
from .window import actions, docks, menus
from .window.breakpoints import BreakpointActions
from .window.context_menu import ContextMenus
from .window.debugging import DebugView
from .window.exporting import Exporter
from .window.grouping import Grouping
from .window.opening import Opening
from .window.problems import ProblemsView
from .window.search import Search
from .window.step_back import StepBack
from .window.training import TrainingView
from .window.view_options import ViewOptions
from .window.watching import Watching


class _Overlay(QObject):
    """Keeps the minimap (bottom right) and legend (top right) placed over the view."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Resize:
            self.w._place_overlays()
        return False


def freeze_startup_objects(collect: bool = True) -> None:
    """Move everything allocated so far (torch, Qt, numpy modules) out of the cyclic
    GC's reach: a full collection then scans only new objects. Without it a gen-2
    collection over torch's objects holds the GIL for 100-200 ms, freezing the window.
    Garbage frozen earlier (a previous window's) is collected first (core.memory).

    ``collect=False`` (a file is opened right away, as from the command line) skips
    that full collection (about 0.2 s with torch loaded): the load runs with the
    collector off and freezes what is alive when it ends (``memory.keep``), and the
    next load reclaims the garbage (``memory.maybe_reclaim``)."""
    import sys

    from ..core.system import memory

    if collect:
        memory.reclaim()
    # Workers hold the GIL in Python stretches (hooks, summaries): let the GUI thread
    # take it back after 2 ms instead of the default 5 ms.
    sys.setswitchinterval(0.002)


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, *, opening: bool = False) -> None:
        """``opening``: a file is opened as soon as the window shows (the command line)."""
        super().__init__()
        freeze_startup_objects(collect=not opening)
        self.settings = settings or make_settings()
        self.setWindowTitle("graphviz_app — autograd debugger")
        self.setWindowIcon(theme.icon("app"))
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.theme_name = str(self.settings.value("view/theme", "light"))
        direction = str(self.settings.value("view/direction", "TB"))
        self.colors = theme.THEMES.get(self.theme_name, theme.LIGHT)
        self.controller = Controller(direction=direction if direction in ("TB", "BT") else "TB", parent=self)
        device = str(self.settings.value("run/device", "cpu"))
        self.controller.device = device
        self.trusted: set[str] = set(self.settings.value("trust/files", []) or [])
        self.last_error = ""
        self.time_travel_step: int | None = None
        self._explain_pending = False
        self._nan_node: str | None = None
        self._backward_done = False

        self.scene = GraphScene(self.colors, self)
        self.view = GraphView(self.scene, self)
        central = QWidget(self)
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        self.search_bar = SearchBar(central)
        self.search_bar.hide()
        cl.addWidget(self.search_bar)
        cl.addWidget(self.view, 1)
        self.setCentralWidget(central)
        self.minimap = Minimap(self.view, self.view)
        self._overlay_timer = QTimer(self)
        self._overlay_timer.setSingleShot(True)
        self._overlay_timer.setInterval(0)
        self._overlay_timer.timeout.connect(self._place_overlays)
        self.view.view_changed.connect(self._overlay_timer.start)
        self.legend = FlowLegend(self.view)
        self.legend.hide()
        self._overlay = _Overlay(self)
        # Placed again when the view, its viewport (a scroll bar appears) or an overlay resizes.
        for w in (self.view, self.view.viewport(), self.minimap, self.legend):
            w.installEventFilter(self._overlay)
        self._seen_order = 0
        self._add_features()
        docks.build_docks(self)
        actions.build_actions(self)
        menus.build_menus_and_toolbar(self)
        menus.build_status(self)
        self._connect()
        self._restore_layout()
        self.view_options.apply_theme(self.theme_name)
        self._update_actions()
        QTimer.singleShot(0, self, self.view_options.fill_devices)

    def _add_features(self) -> None:
        """One object per feature; actions, menus and signals connect to them."""
        self.opening = Opening(self)
        self.breakpoint_actions = BreakpointActions(self)
        self.context_menus = ContextMenus(self)
        self.problems_view = ProblemsView(self)
        self.debug_view = DebugView(self)
        self.step_back = StepBack(self)
        self.watching = Watching(self)
        self.training_view = TrainingView(self)
        self.search = Search(self)
        self.grouping = Grouping(self)
        self.exporter = Exporter(self)
        self.view_options = ViewOptions(self)

    def open_path(self, path: str, trusted: bool = False) -> bool:
        """Open a scenario, model, program, checkpoint, snapshot or run directory."""
        return self.opening.open_path(path, trusted)

    # ------------------------------------------------------------------ UI








    def _connect(self) -> None:
        c = self.controller
        c.graph_ready.connect(self.on_graph_ready)
        c.node_paused.connect(self.debug_view.on_paused)
        c.backward_finished.connect(self.debug_view.on_finished)
        c.graph_ready.connect(self.step_back.on_graph_ready)
        c.node_paused.connect(self.step_back.on_paused)
        c.backward_finished.connect(self.step_back.on_finished)
        self.watching.install()
        c.loss_added.connect(self.loss_plot.add_point)
        c.busy_changed.connect(self.on_busy)
        c.failed.connect(self.show_error)
        c.info.connect(self.show_info)
        c.needs_model_choice.connect(self.opening.ask_model_choice)
        c.needs_input_shape.connect(self.opening.ask_input_shape)
        c.needs_trust.connect(self.opening.ask_trust_code)
        c.source_changed.connect(self.on_source_changed)
        c.breakpoints_changed.connect(self.breakpoint_actions.on_breakpoints_changed)
        c.nan_found.connect(self.problems_view.on_nan_found)
        c.nan_cause.connect(self.problems_view.on_nan_cause)
        c.explanations.connect(self.problems_view.on_explanations)
        c.values_ready.connect(self.inspector.set_values)
        c.forward_paused.connect(self.debug_view.on_forward_paused)
        c.forward_finished.connect(self.debug_view.on_forward_finished)
        c.training_progress.connect(self.training_view.on_training_progress)
        c.training_state.connect(self.training_view.on_training_state)
        c.training_finished.connect(self.training_view.on_training_finished)
        c.snapshot_shown.connect(self.training_view.on_snapshot_shown)
        c.device_changed.connect(lambda d: self.status_device.setText(f"device: {d}"))
        self.scene.node_activated.connect(self.on_node_selected)
        self.scene.context_requested.connect(self.context_menus.on_context_menu)
        self.scene.built.connect(self.on_scene_built)
        self.scene.group_activated.connect(self.grouping.expand_module)
        self.controller.relayout_ready.connect(self.grouping.on_relayout)
        self.scene.build_progress.connect(self.on_build_progress)
        self.debugger_panel.exec_clicked.connect(self.goto_node)
        self.debugger_panel.add_requested.connect(self.breakpoint_actions.add_breakpoint)
        self.debugger_panel.toggle_requested.connect(c.set_breakpoint_enabled)
        self.debugger_panel.remove_requested.connect(c.remove_breakpoint)
        self.inspector.values_requested.connect(self.step_back.request_values)
        self.model_tree.module_selected.connect(self.grouping.select_module)
        self.model_tree.collapse_requested.connect(self.grouping.collapse_module)
        self.model_tree.expand_requested.connect(self.grouping.expand_module)
        self.loss_plot.point_clicked.connect(self.training_view.on_loss_point)
        self.search_bar.changed.connect(self.search.on_search)
        self.search_bar.next_requested.connect(self.search.search_next)
        self.search_bar.closed.connect(self.search.search_closed)
        self.problems.itemClicked.connect(self.problems_view.on_problem_clicked)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self._place_overlays)

    def _place_overlays(self) -> None:
        vp = self.view.viewport().geometry()
        srect = self.scene.sceneRect()
        fits = self.view.visible_scene_rect().contains(srect) or self.scene.graph is None
        self.minimap.setVisible(self.act_minimap.isChecked() and not fits)
        self.minimap.move(vp.right() - self.minimap.width() - 8, vp.bottom() - self.minimap.height() - 8)
        self.legend.move(vp.right() - self.legend.width() - 8, vp.top() + 8)

    # ------------------------------------------------------------ settings
    def _restore_layout(self) -> None:
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geo, (QByteArray, bytes)):
            self.restoreGeometry(geo)
        if isinstance(state, (QByteArray, bytes)):
            self.restoreState(state)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/direction", self.controller.direction)
        s.setValue("view/theme", self.theme_name)
        s.setValue("view/minimap", "true" if self.act_minimap.isChecked() else "false")
        s.setValue("run/device", self.controller.device)
        s.setValue("run/train_steps", self.steps_spin.value())
        s.setValue("trust/files", sorted(self.trusted))
        s.sync()
















    # ------------------------------------------------------------- opening







    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.opening.open_path(urls[0])

    # ---------------------------------------------------------- core events
    @Slot(str, str)
    def on_source_changed(self, path: str, kind: str) -> None:
        self.opening.add_recent(path)
        label = "snapshot (view only)" if kind == "snapshot" else "scenario"
        self.setWindowTitle(f"{Path(path).name} — {label} — graphviz_app")
        self.loss_plot.clear_points()
        self.plots.norms.clear_series()
        self.plots.hint.setText("")  # the previous model's step, loss and timing
        self.status_times.setText("")
        self.problems.clear()
        self.inspector.explanations = {}
        self.time_travel_step = None
        session = self.controller.session
        if kind == "scenario" and session is not None:
            sc = session.scenario
            self.loss_plot.add_points(sc.loss_history[:-1], [-1] * max(0, len(sc.loss_history) - 1))
            self._explain_pending = sc.data is None
        self.model_tree.set_scenario(session.scenario if session is not None else None, None)
        self._update_actions()

    @Slot(object, object)
    def on_graph_ready(self, graph: Graph, layout) -> None:
        t0 = time.perf_counter()
        self._build_t0 = t0
        self._backward_done = False
        self._relayout_focus = None
        self.breakpoint_actions.rebind(graph)
        self.scene.set_graph(graph, layout, chunked=True)
        self.breakpoint_actions.apply_breakpoint_marks()
        self.debugger_panel.clear_executed()
        self._seen_order = 0
        if not graph.live:  # a snapshot or a kept step: what ran is recorded, nothing runs here
            self._backward_done = True
            self.debug_view.show_recorded_order(graph)
        self.search.hits = []
        if self.search_bar.isVisible() and self.search_bar.edit.text():
            self.search.on_search(self.search_bar.edit.text())
        n_leaves = sum(1 for n in graph.nodes if n.kind == LEAF)
        drawn = len(layout.node_index)
        self.status_graph.setText(f"{len(graph.nodes)} nodes ({n_leaves} leaves), {len(graph.edges)} edges"
                                  + (f"; {drawn} boxes, modules collapsed" if getattr(layout, "box_of", None)
                                     else ""))
        self.status_device.setText(f"device: {graph.meta.get('device', self.controller.device)}")
        if graph.meta.get("time_travel") is None:
            self.time_travel_step = None
            ran = sum(1 for n in graph.nodes if n.exec_order is not None)
            self.debug_state.setText(
                "Ready. F10 steps backward one node; F5 continues; F8 steps the forward." if graph.live else
                f"Snapshot (view only): {ran} nodes ran, in the order listed; values as recorded.")
        if self.inspector.node_id is not None and self.inspector.node_id in graph:
            self.inspector.finished = self._backward_done
            self.inspector.show_node(graph, self.inspector.node_id)
        elif self.inspector.node_id is not None:
            self.inspector.clear()
        session = self.controller.session
        self.model_tree.set_scenario(session.scenario if session is not None else None, graph)
        self._update_actions()

    @Slot()
    def on_scene_built(self) -> None:
        build_s = time.perf_counter() - getattr(self, "_build_t0", time.perf_counter())
        self.progress.hide() if not self.controller.busy else None
        self._place_overlays()
        focus, self._relayout_focus = getattr(self, "_relayout_focus", None), None
        if focus is None:
            self.view.initial_view()
        else:  # a module was collapsed or expanded: keep it in view, keep the debugger's place
            dbg = self.controller.debugger
            if dbg is not None and dbg.paused_at is not None:
                self.scene.set_current(dbg.paused_at)
            ids = self.grouping.module_box_ids(focus)
            if not (ids and self.view.zoom_to(ids)):
                self.view.initial_view()
        c = self.controller
        engine = " (dot)" if getattr(self.scene.layout, "engine", "") == "dot" else ""
        times = [f"layout{engine} {c.last_layout_s * 1000:.0f} ms", f"scene {build_s * 1000:.0f} ms"]
        if c.last_forward_s:
            times.insert(0, f"forward {c.last_forward_s * 1000:.0f} ms")
        self.status_times.setText(" · ".join(times))
        self.view_options.update_legend()
        if self.minimap.isVisible():
            self.minimap.schedule()

    @Slot(int, int)
    def on_build_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)







    @Slot(bool, str)
    def on_busy(self, busy: bool, message: str) -> None:
        busy = busy or self.controller.busy
        self.progress.setRange(0, 0)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy and self.controller.cancellable)
        if busy:
            self.statusBar().showMessage(message)
        else:
            self.statusBar().clearMessage()
            if self._explain_pending:
                self._explain_pending = False
                self.problems_view.auto_explain()
        self._update_actions()

    @Slot(str)
    def on_node_selected(self, node_id: str) -> None:
        from ..core.graph.grouping import GROUP_PREFIX

        if node_id.startswith(GROUP_PREFIX):
            self.grouping.show_group(node_id)
            return
        if self.scene.graph is not None and node_id in self.scene.graph:
            self.inspector.finished = self._backward_done
            self.inspector.show_node(self.scene.graph, node_id)
            self._update_actions()

    def goto_node(self, nid: str) -> None:
        """Select, show and inspect a node (execution list, problems, search)."""
        if self.scene.graph is None or nid not in self.scene.graph:
            return
        self.scene.select_node(nid)
        self.view.show_node(nid)


    def zoom_to_selection(self) -> None:
        sel = self.scene.selected_ids()
        if not sel:
            self.show_info("Select a node first (click it, or find it with Ctrl+F).")
            return
        self.view.zoom_to(sel)

    def _update_actions(self) -> None:
        c = self.controller
        has_model = c.has_model
        training = c.training
        for act in (self.act_rerun, self.act_train, self.act_step, self.act_continue, self.act_run_end,
                    self.act_run_to, self.act_restart, self.act_forward_step, self.act_step_into,
                    self.act_nan_hunt, self.act_explain):
            act.setEnabled(has_model and not training)
        if c.debugging_training:  # a training step's backward is paused in the debugger
            for act in (self.act_step, self.act_continue, self.act_run_end, self.act_run_to, self.act_step_into):
                act.setEnabled(True)
        self.act_debug_train.setEnabled(training and not c.debugging_training)
        self.act_cancel.setEnabled(c.cancellable)
        self.act_abort.setEnabled(c.backward_running or c.forward_stepping)
        state = c.trainer.state if c.trainer is not None else "idle"
        self.act_pause_train.setEnabled(training and state == "running")
        self.act_resume_train.setEnabled(training and state == "paused")
        self.act_stop_train.setEnabled(training)
        has_graph = self.scene.graph is not None
        self.act_export.setEnabled(has_graph)
        self.act_export_png.setEnabled(has_graph)

    # ------------------------------------------------------------ breakpoints





    # ------------------------------------------------------------ context menu



    # ------------------------------------------------------------ problems





    # --------------------------------------------------------------- NaN hunt


    # ------------------------------------------------------- forward stepping


    # ------------------------------------------------------------- training






    # ---------------------------------------------------------------- search





    # ---------------------------------------------------------------- model


    def cancel_work(self) -> None:
        if self.controller.cancel():
            self.statusBar().showMessage("Cancelling…")

    # ------------------------------------------------------------- messages
    def log_line(self, text: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    @Slot(str, str)
    def show_error(self, message: str, details: str = "") -> None:
        """A plain sentence on top; the traceback only under 'Show Details'."""
        self.log_line(f"ERROR: {message}")
        if details:
            self.log.appendPlainText(details.rstrip())
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Warning, "graphviz_app", message, QMessageBox.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setObjectName("errorBox")
        box.open()  # non-blocking
        self.last_error = message

    @Slot(str)
    def show_info(self, message: str) -> None:
        self.log_line(message)
        self.statusBar().showMessage(message, 6000)

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About graphviz_app",
            f"<b>graphviz_app {__version__}</b><br>A debugger for PyTorch autograd: step backward node by "
            "node and watch the gradients flow.",
        )

    # --------------------------------------------------------------- export




    # ---------------------------------------------------------------- close
    def closeEvent(self, event) -> None:
        self.controller.shutdown()
        self.save_settings()
        super().closeEvent(event)
