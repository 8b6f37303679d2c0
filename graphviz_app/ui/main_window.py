"""The main window: graph in the middle, debugger, inspector, loss plot and log docked around.

Every action only asks the :class:`Controller`; results come back as queued signals.
Settings (direction, theme, window and dock layout, recent files) live in QSettings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.debugger import BackwardResult
from ..core.graph import Graph
from . import theme
from .controller import Controller
from .graph_scene import GraphScene, GraphView
from .inspector import Inspector
from .loss_plot import LossPlot

MAX_RECENT = 10
OPEN_FILTER = "Scenarios and snapshots (*.py *.json);;Python scenario (*.py);;Snapshot (*.json);;All files (*)"


def make_settings() -> QSettings:
    """The app's QSettings; tests and scripts can redirect it with GRAPHVIZ_APP_SETTINGS."""
    where = os.environ.get("GRAPHVIZ_APP_SETTINGS")
    if where:
        if where == "test":
            import tempfile

            where = os.path.join(tempfile.gettempdir(), f"graphviz_app_test_{os.getpid()}.ini")
        return QSettings(where, QSettings.IniFormat)
    return QSettings("graphviz_app", "graphviz_app")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or make_settings()
        self.setWindowTitle("graphviz_app — autograd debugger")
        self.setWindowIcon(theme.icon("app"))
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.theme_name = str(self.settings.value("view/theme", "light"))
        direction = str(self.settings.value("view/direction", "TB"))
        self.colors = theme.THEMES.get(self.theme_name, theme.LIGHT)
        self.controller = Controller(direction=direction if direction in ("TB", "BT") else "TB", parent=self)
        self.trusted: set[str] = set(self.settings.value("trust/files", []) or [])

        self.scene = GraphScene(self.colors, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self._seen_order = 0
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status()
        self._connect()
        self._restore_layout()
        self._apply_theme(self.theme_name)
        self._update_actions()

    # ------------------------------------------------------------------ UI
    def _build_docks(self) -> None:
        self.loss_plot = LossPlot(self)
        self.inspector = Inspector(self)
        self.exec_list = QListWidget(self)
        self.exec_list.setObjectName("executionList")
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setObjectName("problemsLog")

        debugger = QWidget(self)
        lay = QVBoxLayout(debugger)
        lay.setContentsMargins(4, 4, 4, 4)
        self.debug_state = QLabel("Not running. Press F10 to step backward.", self)
        self.debug_state.setWordWrap(True)
        lay.addWidget(self.debug_state)
        lay.addWidget(QLabel("Execution order (click to inspect):", self))
        lay.addWidget(self.exec_list)

        self.docks: dict[str, QDockWidget] = {}
        for key, title, widget, area in (
            ("debugger", "Debugger", debugger, Qt.LeftDockWidgetArea),
            ("inspector", "Inspector", self.inspector, Qt.RightDockWidgetArea),
            ("loss", "Loss", self.loss_plot, Qt.RightDockWidgetArea),
            ("log", "Problems / log", self.log, Qt.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{key}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self.resizeDocks([self.docks["debugger"]], [240], Qt.Horizontal)
        self.resizeDocks([self.docks["inspector"]], [360], Qt.Horizontal)
        self.resizeDocks([self.docks["log"]], [110], Qt.Vertical)

    def _action(self, text: str, slot, shortcut=None, icon: str | None = None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if icon:
            act.setIcon(theme.icon(icon))
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ApplicationShortcut)
        if tip or shortcut:
            hint = QKeySequence(shortcut).toString() if shortcut else ""
            act.setToolTip(f"{tip or text} ({hint})" if hint else (tip or text))
        act.triggered.connect(slot)
        return act

    def _build_actions(self) -> None:
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence.Open, "open", "Open a scenario or snapshot")
        self.act_export_png = self._action("Export View as &PNG…", self.export_view_dialog, "Ctrl+E", "export")
        self.act_export = self._action("Export &Graph…", self.export_graph_dialog, "Ctrl+Shift+E")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit)
        self.act_rerun = self._action("Run &Forward Again", self.controller.rerun, "Ctrl+R", "forward",
                                      "Run the forward pass again (adds a loss point)")
        self.act_train = self._action("&Train 10 Steps", lambda: self.controller.train(10), "Ctrl+T")
        self.act_step = self._action("Backward &Step", self.controller.step, "F10", "step",
                                     "Run backward one node at a time")
        self.act_continue = self._action("&Continue", self.controller.continue_, "F5", "continue",
                                         "Continue to the next breakpoint or the end")
        self.act_run_end = self._action("Run Backward to &End", self.controller.run_to_end, "Ctrl+F5", "run")
        self.act_run_to = self._action("Run to Selected &Node", self.run_to_selected, "Ctrl+F10")
        self.act_abort = self._action("&Abort", self.controller.abort, "Shift+F5", "abort", "Abort the backward pass")
        self.act_restart = self._action("&Restart", self.controller.restart, "Ctrl+Shift+F5", "restart",
                                        "Abort and run forward again")
        self.act_fit = self._action("&Fit Graph", self.view.fit_all, "Ctrl+0", "fit")
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.zoom(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.zoom(0.8), QKeySequence.ZoomOut)

        self.direction_group = QActionGroup(self)
        self.act_tb = QAction("Output at &Top (top-to-bottom)", self, checkable=True)
        self.act_bt = QAction("Output at &Bottom (bottom-to-top)", self, checkable=True)
        for act, d in ((self.act_tb, "TB"), (self.act_bt, "BT")):
            self.direction_group.addAction(act)
            act.setChecked(self.controller.direction == d)
            act.triggered.connect(lambda checked, d=d: self.set_direction(d))

        self.theme_group = QActionGroup(self)
        self.act_light = QAction("&Light Theme", self, checkable=True)
        self.act_dark = QAction("&Dark Theme", self, checkable=True)
        for act, name in ((self.act_light, "light"), (self.act_dark, "dark")):
            self.theme_group.addAction(act)
            act.setChecked(self.theme_name == name)
            act.triggered.connect(lambda checked, n=name: self._apply_theme(n))

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.act_export_png)
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self._fill_recent()

        run_menu = mb.addMenu("&Run")
        run_menu.addActions([self.act_rerun, self.act_train])

        debug_menu = mb.addMenu("&Debug")
        debug_menu.addActions([self.act_step, self.act_continue, self.act_run_end, self.act_run_to])
        debug_menu.addSeparator()
        debug_menu.addActions([self.act_abort, self.act_restart])

        view_menu = mb.addMenu("&View")
        view_menu.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out])
        view_menu.addSeparator()
        view_menu.addActions([self.act_tb, self.act_bt])
        view_menu.addSeparator()
        view_menu.addActions([self.act_light, self.act_dark])
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())

        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self._action("&About graphviz_app", self.about))

        tb = QToolBar("Debug", self)
        tb.setObjectName("toolbar_debug")
        tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        tb.addActions([self.act_open, self.act_rerun])
        tb.addSeparator()
        tb.addActions([self.act_step, self.act_continue, self.act_run_end, self.act_abort, self.act_restart])
        tb.addSeparator()
        tb.addAction(self.act_fit)
        self.addToolBar(tb)
        self.toolbar = tb

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_graph = QLabel("no graph", self)
        self.status_device = QLabel(f"device: {self.controller.device}", self)
        self.status_times = QLabel("", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(120)
        self.progress.hide()
        for w in (self.status_graph, self.status_device, self.status_times):
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.progress)

    def _connect(self) -> None:
        c = self.controller
        c.graph_ready.connect(self.on_graph_ready)
        c.node_paused.connect(self.on_paused)
        c.backward_finished.connect(self.on_finished)
        c.loss_added.connect(self.loss_plot.add_point)
        c.busy_changed.connect(self.on_busy)
        c.failed.connect(self.show_error)
        c.info.connect(self.show_info)
        c.source_changed.connect(self.on_source_changed)
        self.scene.node_activated.connect(self.on_node_selected)
        self.exec_list.itemClicked.connect(self._on_exec_item)

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
        s.setValue("trust/files", sorted(self.trusted))
        s.sync()

    def recent_files(self) -> list[str]:
        return [str(p) for p in (self.settings.value("files/recent", []) or [])]

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("files/recent", recent[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda checked=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(files))

    def _apply_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        self.theme_name = name
        self.colors = theme.apply_theme(QApplication.instance(), name)
        self.scene.set_colors(self.colors)
        self.loss_plot.set_dark(name == "dark")

    def set_direction(self, direction: str) -> None:
        self.settings.setValue("view/direction", direction)
        self.act_tb.setChecked(direction == "TB")
        self.act_bt.setChecked(direction == "BT")
        self.controller.set_direction(direction)

    # ------------------------------------------------------------- opening
    def open_dialog(self) -> None:
        start = str(Path(self.recent_files()[0]).parent) if self.recent_files() else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario or snapshot", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def ask_trust(self, path: str) -> bool:
        """Python scenarios run the user's code: ask once per file, plainly."""
        if path in self.trusted:
            return True
        answer = QMessageBox.question(
            self,
            "Run this file's code?",
            f"Opening {Path(path).name} runs the Python code in it, with your permissions.\n\n"
            "Only open files you trust. Run it?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        if answer == QMessageBox.Yes:
            self.trusted.add(path)
            self.settings.setValue("trust/files", sorted(self.trusted))
            return True
        return False

    def open_path(self, path: str, trusted: bool = False) -> bool:
        path = str(Path(path).resolve())
        if path.endswith(".py") and not trusted and not self.ask_trust(path):
            self.log_line(f"Not opened (not trusted): {path}")
            return False
        if path.endswith(".py"):
            self.trusted.add(path)
        self.log_line(f"Opening {path}")
        return self.controller.open(path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # ---------------------------------------------------------- core events
    @Slot(str, str)
    def on_source_changed(self, path: str, kind: str) -> None:
        self._add_recent(path)
        label = "snapshot (view only)" if kind == "snapshot" else "scenario"
        self.setWindowTitle(f"{Path(path).name} — {label} — graphviz_app")
        if kind == "snapshot":
            self.loss_plot.clear_points()
        self._update_actions()

    @Slot(object, object)
    def on_graph_ready(self, graph: Graph, layout) -> None:
        t0 = time.perf_counter()
        self.scene.set_graph(graph, layout)
        build_s = time.perf_counter() - t0
        self.exec_list.clear()
        self._seen_order = 0
        self.view.fit_all()
        n_leaves = len(graph.leaves())
        self.status_graph.setText(f"{len(graph.nodes)} nodes ({n_leaves} leaves), {len(graph.edges)} edges")
        self.status_device.setText(f"device: {graph.meta.get('device', self.controller.device)}")
        self.status_times.setText(f"layout {self.controller.last_layout_s * 1000:.0f} ms · scene {build_s * 1000:.0f} ms")
        self.debug_state.setText("Ready. F10 steps backward one node; F5 continues.")
        if self.inspector.node_id is not None and self.inspector.node_id in graph:
            self.inspector.show_node(graph, self.inspector.node_id)
        self._update_actions()

    def _sync_executed(self) -> None:
        """Refresh nodes that ran since the last pause (continue runs several)."""
        dbg = self.controller.debugger
        graph = self.scene.graph
        if dbg is None or graph is None:
            return
        order = dbg.order
        for nid in order[self._seen_order:]:
            if nid not in graph:
                continue
            node = graph.node(nid)
            self.scene.refresh_node(nid)
            item = QListWidgetItem(f"#{node.exec_order + 1 if node.exec_order is not None else '?'}  {node.label}")
            item.setData(Qt.UserRole, nid)
            self.exec_list.addItem(item)
        self._seen_order = len(order)

    @Slot(str)
    def on_paused(self, node_id: str) -> None:
        graph = self.scene.graph
        if graph is None or node_id not in graph:
            return
        self._sync_executed()
        self.scene.refresh_node(node_id)
        self.scene.set_current(node_id)
        self.view.show_node(node_id)
        self.inspector.show_node(graph, node_id)
        self.exec_list.setCurrentRow(self.exec_list.count() - 1)
        node = graph.node(node_id)
        self.debug_state.setText(f"Paused after {node.label} ran (step {node.exec_order + 1}). F10: next node.")
        self._update_actions()

    @Slot(object)
    def on_finished(self, result: BackwardResult) -> None:
        self._sync_executed()
        self.scene.set_current(None)
        self.scene.refresh_all()
        self.inspector.refresh()
        if result.status == "finished":
            self.debug_state.setText(f"Backward finished: {len(result.order)} nodes ran. F10 starts a new pass.")
            self.status_times.setText(f"backward {self.controller.last_run_s * 1000:.0f} ms")
        elif result.status == "aborted":
            written = len(result.grads_written)
            self.debug_state.setText(f"Backward aborted after {len(result.order)} nodes; {written} leaf .grad written.")
        else:
            where = ""
            graph = self.scene.graph
            if result.failed_node and graph is not None and result.failed_node in graph:
                where = f" while {graph.node(result.failed_node).label} was running"
            self.debug_state.setText(f"Backward failed{where}.")
            self.show_error(f"Backward failed{where}: {result.error}", result.traceback or "")
        self._update_actions()

    @Slot(bool, str)
    def on_busy(self, busy: bool, message: str) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.statusBar().showMessage(message)
        else:
            self.statusBar().clearMessage()
        self._update_actions()

    @Slot(str)
    def on_node_selected(self, node_id: str) -> None:
        if self.scene.graph is not None and node_id in self.scene.graph:
            self.inspector.show_node(self.scene.graph, node_id)

    def _on_exec_item(self, item: QListWidgetItem) -> None:
        nid = item.data(Qt.UserRole)
        if nid:
            self.on_node_selected(nid)
            self.view.show_node(nid)

    def run_to_selected(self) -> None:
        sel = [i for i in self.scene.selectedItems() if hasattr(i, "node")]
        if not sel:
            self.show_info("Select a node first (click it), then Run to Selected Node.")
            return
        self.controller.run_to(sel[0].node.id)

    def _update_actions(self) -> None:
        has_model = self.controller.has_model
        for act in (self.act_rerun, self.act_train, self.act_step, self.act_continue, self.act_run_end,
                    self.act_run_to, self.act_restart):
            act.setEnabled(has_model)
        self.act_abort.setEnabled(self.controller.backward_running)
        has_graph = self.scene.graph is not None
        self.act_export.setEnabled(has_graph)
        self.act_export_png.setEnabled(has_graph)

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
    def export_view_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", "graph.png", "PNG image (*.png)")
        if path:
            self.export_view_png(path)

    def export_view_png(self, path: str) -> bool:
        """What is on screen now, as a PNG."""
        ok = self.view.viewport().grab().save(path, "PNG")
        (self.show_info if ok else self.show_error)(f"{'Exported' if ok else 'Could not write'} {path}")
        return ok

    def export_graph_dialog(self) -> None:
        path, selected = QFileDialog.getSaveFileName(
            self, "Export graph", "graph.png",
            "PNG image (*.png);;SVG vector image (*.svg);;Graphviz DOT (*.dot);;Snapshot JSON (*.json)",
        )
        if path:
            self.export_graph(path)

    def export_graph(self, path: str, fmt: str | None = None) -> bool:
        """The whole graph in the format its suffix (or ``fmt``) names."""
        from .render import export_graph

        graph, layout = self.scene.graph, self.scene.layout
        if graph is None:
            self.show_info("Nothing to export yet.")
            return False
        try:
            export_graph(graph, layout, path, fmt=fmt, direction=self.controller.direction, colors=self.colors)
        except Exception as exc:
            self.show_error(f"Could not export {Path(path).name}: {exc}")
            return False
        self.show_info(f"Exported {path}")
        return True

    # ---------------------------------------------------------------- close
    def closeEvent(self, event) -> None:
        self.controller.shutdown()
        self.save_settings()
        super().closeEvent(event)
