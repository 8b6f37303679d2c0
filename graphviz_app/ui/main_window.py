"""The main window: graph in the middle; Debugger, Inspector, Plots, Model and Problems docked around.

Every action only asks the :class:`Controller`; results come back as queued signals.
Settings (direction, theme, window and dock layout, recent files) live in QSettings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.graph import gradflow
from ..core.graph.model import LEAF, Graph
from ..core.run.debugger import (
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_NORM_ABOVE,
    BP_TYPE,
    BackwardResult,
    Breakpoint,
)
from . import theme
from .controller import Controller
from .debugger_panel import DebuggerPanel
from .graph_scene import GraphScene, GraphView
from .inspector import Inspector
from .loss_plot import PlotsPanel
from .model_tree import ModelTree
from .overlays import FlowLegend, Minimap, SearchBar
from .settings import make_settings

MAX_RECENT = 10
OPEN_FILTER = (
    "Models, scenarios and snapshots (*.py *.json *.pt *.pt2 *.pth *.ckpt);;Python scenario or model (*.py);;"
    "TorchScript / torch.export program (*.pt *.pt2);;Checkpoint (*.pt *.pth *.ckpt);;Snapshot (*.json);;All files (*)"
)
EXPLAIN_MAX_NAMES = 400  # explain missing .grad automatically for models up to this many tensors


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
        self._search_hits: list[str] = []
        self._search_pos = -1
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
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status()
        self._connect()
        self._restore_layout()
        self._apply_theme(self.theme_name)
        self._update_actions()
        QTimer.singleShot(0, self, self._fill_devices)

    # ------------------------------------------------------------------ UI
    def _build_docks(self) -> None:
        self.plots = PlotsPanel(self)
        self.loss_plot = self.plots.loss
        self.inspector = Inspector(self)
        self.model_tree = ModelTree(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setObjectName("problemsLog")
        self.problems = QListWidget(self)
        self.problems.setObjectName("problemsList")
        self.problems.setWordWrap(True)
        problems = QSplitter(Qt.Horizontal, self)
        problems.addWidget(self.problems)
        problems.addWidget(self.log)
        problems.setSizes([600, 500])
        self.debugger_panel = DebuggerPanel((), self)  # buttons are added once the actions exist
        self.exec_list = self.debugger_panel.exec_list
        self.debug_state = self.debugger_panel.state

        self.docks: dict[str, QDockWidget] = {}
        for key, title, widget, area in (
            ("debugger", "Debugger", self.debugger_panel, Qt.LeftDockWidgetArea),
            ("model", "Model", self.model_tree, Qt.LeftDockWidgetArea),
            ("inspector", "Inspector", self.inspector, Qt.RightDockWidgetArea),
            ("plots", "Plots", self.plots, Qt.RightDockWidgetArea),
            ("log", "Problems / log", problems, Qt.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{key}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        self.docks["loss"] = self.docks["plots"]  # the foundation's name
        self._build_run_dock()
        self.tabifyDockWidget(self.docks["debugger"], self.docks["model"])
        self.docks["debugger"].raise_()
        self.resizeDocks([self.docks["debugger"]], [270], Qt.Horizontal)
        self.resizeDocks([self.docks["inspector"]], [380], Qt.Horizontal)
        self.resizeDocks([self.docks["inspector"], self.docks["plots"]], [520, 300], Qt.Vertical)
        self.resizeDocks([self.docks["log"]], [110], Qt.Vertical)

    def _build_run_dock(self) -> None:
        """A recorder's run directory: live loss curve and snapshots (hidden until opened)."""
        from .run_dir_view import RunDirView

        self.run_view = RunDirView(self)
        dock = QDockWidget("Run", self)
        dock.setObjectName("dock_run")
        dock.setWidget(self.run_view)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.docks["plots"], dock)
        self.docks["plots"].raise_()
        dock.hide()
        self.docks["run"] = dock
        # Time travel: snapshots are .json (view only), so no trust prompt is needed.
        self.run_view.snapshot_selected.connect(lambda path: self.open_path(path))

    def open_run_dialog(self) -> None:
        start = str(self.settings.value("files/last_run_dir", str(Path.cwd())))
        path = QFileDialog.getExistingDirectory(self, "Open run directory", start)
        if path:
            self.open_run_dir(path)

    def open_run_dir(self, path: str) -> bool:
        """Follow a recorder's run directory live (File → Open Run Directory)."""
        from .run_dir_view import RunDirError

        try:
            self.run_view.open(path)
        except RunDirError as exc:
            self.show_error(f"Cannot open the run directory {path}: {exc}")
            return False
        self.settings.setValue("files/last_run_dir", path)
        dock = self.docks["run"]
        dock.show()
        dock.raise_()
        self.log_line(f"Following run directory {path}")
        return True

    def _action(self, text: str, slot, shortcut=None, icon: str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        act = QAction(text, self)
        act.setCheckable(checkable)
        if icon:
            act.setIcon(theme.icon(icon))
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ApplicationShortcut)
        if tip or shortcut:
            hint = QKeySequence(shortcut).toString() if shortcut else ""
            act.setToolTip(f"{tip or text} ({hint})" if hint else (tip or text))
        act.setStatusTip(tip or text.replace("&", ""))
        (act.toggled if checkable else act.triggered).connect(slot)
        return act

    def _build_actions(self) -> None:
        c = self.controller
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence.Open, "open", "Open a scenario or snapshot")
        self.act_builder = self._action("&Build a Model…", self.open_builder, "Ctrl+B", None,
                                        "Stack layers, pick a data set, and run it")
        self.act_export_png = self._action("Export View as &PNG…", self.export_view_dialog, "Ctrl+E", "export")
        self.act_export = self._action("Export &Graph…", self.export_graph_dialog, "Ctrl+Shift+E")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit)
        self.act_rerun = self._action("Run &Forward Again", c.rerun, "Ctrl+R", "forward",
                                      "Run the forward pass again (adds a loss point)")
        self.act_forward_step = self._action("Forward S&tep", c.forward_step, "F8", None,
                                             "Step the forward pass one module at a time")
        self.act_train = self._action("&Train N Steps", self.train_clicked, "Ctrl+T", "run",
                                      "Train the number of steps set in the toolbar, with live plots")
        self.act_pause_train = self._action("&Pause Training", c.pause_training, "Ctrl+Shift+P", None,
                                            "Pause after the current step")
        self.act_resume_train = self._action("Res&ume Training", c.resume_training, "Ctrl+Shift+R", None)
        self.act_stop_train = self._action("St&op Training", c.stop_training, "Ctrl+Shift+T", None,
                                           "Stop after the current step")
        self.act_keep = self._action("Keep &History of Last Steps…", self.ask_keep_snapshots, None, None,
                                     "How many recent training steps keep their graph for time travel")
        try:
            self.controller.keep_snapshots = max(0, int(self.settings.value("training/keep_snapshots", 20)))
        except (TypeError, ValueError):
            self.controller.keep_snapshots = 20
        self.act_cancel = self._action("&Cancel Loading", self.cancel_work, "Ctrl+Shift+X", None,
                                       "Stop the load or layout in progress; the current graph stays")
        self.act_debug_train = self._action("&Debug Next Training Step", c.debug_training_step, "Ctrl+Shift+D",
                                            None, "Run the next training step's backward node by node; "
                                            "training pauses after it")
        self.act_step = self._action("Backward &Step", c.step, "F10", "step", "Run backward one node at a time")
        self.act_step_into = self._action("Step &Into Module", c.step_into, "F11", None,
                                          "Forward stepping: one op. Backward: run to the next module")
        self.act_continue = self._action("&Continue", c.continue_, "F5", "continue",
                                         "Continue to the next breakpoint or the end")
        self.act_run_end = self._action("Run Backward to &End", c.run_to_end, "Ctrl+F5", "run")
        self.act_run_to = self._action("Run to Selected &Node", self.run_to_selected, "Ctrl+F10")
        self.act_abort = self._action("&Abort", c.abort, "Shift+F5", "abort", "Abort the backward pass")
        self.act_restart = self._action("&Restart", c.restart, "Ctrl+Shift+F5", "restart",
                                        "Abort and run forward again")
        self.act_toggle_bp = self._action("Toggle &Breakpoint at Selected Node", self.toggle_node_breakpoint, "F9")
        self.act_break_nan = self._action("Break on NaN/Inf &Gradient", lambda: self.add_breakpoint(BP_NONFINITE, ""))
        self.act_nan_hunt = self._action("&NaN Hunt", self.nan_hunt, "Ctrl+Shift+N", None,
                                         "Run backward to the first NaN/Inf gradient and show where it came from")
        self.act_explain = self._action("&Why Is .grad None?", self.explain_missing, None, None,
                                        "Explain every named tensor that gets no gradient")
        self.act_fit = self._action("&Fit Graph", self.view.fit_all, "Ctrl+0", "fit")
        self.act_zoom_sel = self._action("Zoom to &Selection", self.zoom_to_selection, "Ctrl+.")
        self.act_zoom_in = self._action("Zoom &In", lambda: self.view.zoom(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.view.zoom(0.8), QKeySequence.ZoomOut)
        self.act_find = self._action("&Find Node…", self.open_search, QKeySequence.Find, None,
                                     "Find nodes by name, module or leaf name")
        self.act_flow = self._action("&Gradient-Flow Colouring", self.set_flow_mode, "Ctrl+G", None,
                                     "Colour nodes and edges by log10 of their gradient norm", checkable=True)
        self.act_edge_norms = self._action("Edges Show Shape and &Norm", self.set_edge_norms, "Ctrl+L", None,
                                           "Label edges with the gradient's shape and norm", checkable=True)
        self.act_collapse = self._action("&Collapse Module", self.collapse_selected, "Ctrl+[", None,
                                         "Draw the selected node's module as one box")
        self.act_expand = self._action("&Expand Module", self.expand_selected, "Ctrl+]", None,
                                       "Open the selected module box one level")
        self.act_expand_all = self._action("Expand &All Modules", lambda: self.controller.set_collapsed(()))
        self.act_overview = self._action("Collapse to &Overview", self.collapse_overview, None, None,
                                         "Collapse modules to a depth that shows at most about 300 boxes")
        self.act_auto_collapse = self._action("Open Large Models &Collapsed", self.set_auto_collapse, None, None,
                                              "A model with more than 300 nodes opens with its modules "
                                              "collapsed", checkable=True)
        self.act_auto_collapse.blockSignals(True)
        self.act_auto_collapse.setChecked(str(self.settings.value("view/auto_collapse", "true")) == "true")
        self.act_auto_collapse.blockSignals(False)
        self.controller.auto_collapse = self.act_auto_collapse.isChecked()
        self.act_minimap = self._action("&Minimap", self.set_minimap, "Ctrl+M", None, checkable=True)
        self.act_minimap.blockSignals(True)
        self.act_minimap.setChecked(str(self.settings.value("view/minimap", "true")) == "true")
        self.act_minimap.blockSignals(False)
        self.act_sources = self._action("Record Forward &Source Lines", self.set_record_sources, None, None,
                                        "Run the forward under anomaly mode to know each node's source line "
                                        "(slower)", checkable=True)

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

        from ..core.draw.dot_layout import dot_available

        self.engine_group = QActionGroup(self)
        self.act_engine_embedded = QAction("&Embedded Layout (fast)", self, checkable=True)
        self.act_engine_dot = QAction("Graphviz &dot Layout", self, checkable=True)
        has_dot = dot_available() is not None
        self.act_engine_dot.setEnabled(has_dot)
        self.act_engine_dot.setStatusTip("Lay the graph out with Graphviz dot (slow on big graphs; cancellable)"
                                         if has_dot else "Graphviz dot is not installed (not on PATH)")
        engine = str(self.settings.value("view/layout_engine", "embedded"))
        engine = engine if engine == "dot" and has_dot else "embedded"
        self.controller.layout_engine = engine
        for act, name in ((self.act_engine_embedded, "embedded"), (self.act_engine_dot, "dot")):
            self.engine_group.addAction(act)
            act.setChecked(engine == name)
            act.triggered.connect(lambda checked, n=name: self.set_layout_engine(n))

        self.leaves_group = QActionGroup(self)
        self.act_leaves_auto = QAction("Shared Leaves: &Automatic (one copy per use on big graphs)", self,
                                       checkable=True)
        self.act_leaves_split = QAction("Shared Leaves: One &Copy per Use", self, checkable=True)
        self.act_leaves_once = QAction("Shared Leaves: &One Box", self, checkable=True)
        choice = str(self.settings.value("view/shared_leaves", "auto"))
        modes = ((self.act_leaves_auto, "auto", None), (self.act_leaves_split, "split", True),
                 (self.act_leaves_once, "once", False))
        for act, name, value in modes:
            self.leaves_group.addAction(act)
            act.setChecked(choice == name)
            if choice == name:
                self.controller.split_leaves = value
            act.triggered.connect(lambda checked, n=name, v=value: self.set_shared_leaves(n, v))
        if not self.leaves_group.checkedAction():
            self.act_leaves_auto.setChecked(True)

        # The Debugger dock's buttons.
        panel = self.debugger_panel
        from PySide6.QtWidgets import QHBoxLayout, QToolButton

        row = QHBoxLayout()
        row.setSpacing(2)
        short = {self.act_forward_step: "Fwd", self.act_step: "Step", self.act_step_into: "Into",
                 self.act_continue: "Cont", self.act_run_end: "End", self.act_run_to: "To sel",
                 self.act_abort: "Abort", self.act_restart: "Restart", self.act_nan_hunt: "NaN hunt"}
        for act, text in short.items():
            b = QToolButton(panel)
            b.setText(text)
            b.setToolTip(act.toolTip())
            b.setAutoRaise(True)
            b.clicked.connect(act.trigger)
            act.changed.connect(lambda b=b, act=act: b.setEnabled(act.isEnabled()))
            panel.buttons[act.text().replace("&", "")] = b
            row.addWidget(b)
        row.addStretch(1)
        panel.layout().insertLayout(1, row)

    def _build_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addAction(self.act_builder)
        self.act_open_run = self._action("Open R&un Directory…", self.open_run_dialog, "Ctrl+Shift+O", None,
                                         "Follow a training script's recorder output live")
        file_menu.addAction(self.act_open_run)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export_png)
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self._fill_recent()

        run_menu = mb.addMenu("&Run")
        run_menu.addActions([self.act_rerun, self.act_forward_step])
        run_menu.addSeparator()
        run_menu.addActions([self.act_train, self.act_pause_train, self.act_resume_train, self.act_stop_train,
                             self.act_debug_train])
        run_menu.addAction(self.act_keep)
        run_menu.addSeparator()
        run_menu.addAction(self.act_cancel)
        run_menu.addSeparator()
        self.device_menu = run_menu.addMenu("&Device")
        run_menu.addAction(self.act_sources)

        debug_menu = mb.addMenu("&Debug")
        debug_menu.addActions([self.act_step, self.act_step_into, self.act_continue, self.act_run_end,
                               self.act_run_to])
        debug_menu.addSeparator()
        debug_menu.addActions([self.act_abort, self.act_restart])
        debug_menu.addSeparator()
        debug_menu.addActions([self.act_toggle_bp, self.act_break_nan, self.act_nan_hunt, self.act_explain])

        view_menu = mb.addMenu("&View")
        view_menu.addActions([self.act_find, self.act_fit, self.act_zoom_sel, self.act_zoom_in, self.act_zoom_out,
                              self.act_minimap])
        view_menu.addSeparator()
        view_menu.addActions([self.act_collapse, self.act_expand, self.act_expand_all, self.act_overview,
                              self.act_auto_collapse])
        view_menu.addSeparator()
        view_menu.addActions([self.act_flow, self.act_edge_norms])
        view_menu.addSeparator()
        view_menu.addActions([self.act_tb, self.act_bt])
        engine_menu = view_menu.addMenu("Layout &Engine")
        engine_menu.addActions([self.act_engine_embedded, self.act_engine_dot])
        engine_menu.addSeparator()
        engine_menu.addActions([self.act_leaves_auto, self.act_leaves_split, self.act_leaves_once])
        view_menu.addSeparator()
        view_menu.addActions([self.act_light, self.act_dark])
        view_menu.addSeparator()
        for key, dock in self.docks.items():
            if key != "loss":
                view_menu.addAction(dock.toggleViewAction())
        self.view_menu = view_menu

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

        ttb = QToolBar("Training", self)
        ttb.setObjectName("toolbar_training")
        ttb.addWidget(QLabel(" Steps: ", ttb))
        self.steps_spin = QSpinBox(ttb)
        self.steps_spin.setObjectName("trainSteps")
        self.steps_spin.setRange(1, 1_000_000)
        self.steps_spin.setValue(int(self.settings.value("run/train_steps", 100)))
        ttb.addWidget(self.steps_spin)
        ttb.addActions([self.act_train, self.act_pause_train, self.act_resume_train, self.act_stop_train,
                        self.act_debug_train])
        ttb.addSeparator()
        ttb.addWidget(QLabel(" Device: ", ttb))
        self.device_combo = QComboBox(ttb)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.addItem(self.controller.device)
        self.device_combo.activated.connect(self._device_chosen)
        ttb.addWidget(self.device_combo)
        ttb.addSeparator()
        ttb.addAction(self.act_flow)
        self.addToolBar(ttb)
        self.train_toolbar = ttb

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
        from PySide6.QtWidgets import QToolButton

        self.cancel_button = QToolButton(self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setDefaultAction(self.act_cancel)
        self.cancel_button.hide()
        sb.addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        c = self.controller
        c.graph_ready.connect(self.on_graph_ready)
        c.node_paused.connect(self.on_paused)
        c.backward_finished.connect(self.on_finished)
        c.loss_added.connect(self.loss_plot.add_point)
        c.busy_changed.connect(self.on_busy)
        c.failed.connect(self.show_error)
        c.info.connect(self.show_info)
        c.needs_model_choice.connect(self.ask_model_choice)
        c.needs_input_shape.connect(self.ask_input_shape)
        c.source_changed.connect(self.on_source_changed)
        c.breakpoints_changed.connect(self.on_breakpoints_changed)
        c.nan_found.connect(self.on_nan_found)
        c.explanations.connect(self.on_explanations)
        c.values_ready.connect(self.inspector.set_values)
        c.forward_paused.connect(self.on_forward_paused)
        c.forward_finished.connect(self.on_forward_finished)
        c.training_progress.connect(self.on_training_progress)
        c.training_state.connect(self.on_training_state)
        c.training_finished.connect(self.on_training_finished)
        c.snapshot_shown.connect(self.on_snapshot_shown)
        c.device_changed.connect(lambda d: self.status_device.setText(f"device: {d}"))
        self.scene.node_activated.connect(self.on_node_selected)
        self.scene.context_requested.connect(self.on_context_menu)
        self.scene.built.connect(self.on_scene_built)
        self.scene.group_activated.connect(self.expand_module)
        self.controller.relayout_ready.connect(self.on_relayout)
        self.scene.build_progress.connect(self.on_build_progress)
        self.debugger_panel.exec_clicked.connect(self.goto_node)
        self.debugger_panel.add_requested.connect(self.add_breakpoint)
        self.debugger_panel.toggle_requested.connect(c.set_breakpoint_enabled)
        self.debugger_panel.remove_requested.connect(c.remove_breakpoint)
        self.inspector.values_requested.connect(c.request_values)
        self.model_tree.module_selected.connect(self.select_module)
        self.loss_plot.point_clicked.connect(self.on_loss_point)
        self.search_bar.changed.connect(self.on_search)
        self.search_bar.next_requested.connect(self.search_next)
        self.search_bar.closed.connect(self._search_closed)
        self.problems.itemClicked.connect(self._on_problem_clicked)

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

    def recent_files(self) -> list[str]:
        return [str(p) for p in (self.settings.value("files/recent", []) or [])]

    def _add_recent(self, path: str) -> None:
        if not os.path.exists(path):
            return
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
        self.plots.set_dark(name == "dark")
        self.run_view.set_dark(name == "dark")
        self.minimap.schedule()

    def set_shared_leaves(self, name: str, value: bool | None) -> None:
        """One drawn copy of a shared leaf (a weight used by every RNN step) per use, one
        box, or automatic; remembered."""
        self.settings.setValue("view/shared_leaves", name)
        self._relayout_focus = ""
        self.controller.set_split_leaves(value)

    def set_layout_engine(self, engine: str) -> None:
        self.settings.setValue("view/layout_engine", engine)
        self.act_engine_embedded.setChecked(engine != "dot")
        self.act_engine_dot.setChecked(engine == "dot")
        self.controller.set_layout_engine(engine)

    def set_direction(self, direction: str) -> None:
        self.settings.setValue("view/direction", direction)
        self.act_tb.setChecked(direction == "TB")
        self.act_bt.setChecked(direction == "BT")
        self.controller.set_direction(direction)

    def _fill_devices(self) -> None:
        from ..core.system.devices import list_devices

        try:
            devices = list_devices()
        except Exception:
            devices = []
        self.device_combo.clear()
        self.device_menu.clear()
        group = QActionGroup(self)
        for d in devices:
            self.device_combo.addItem(f"{d.name}", d.name)
            self.device_combo.setItemData(self.device_combo.count() - 1, d.description, Qt.ToolTipRole)
            act = QAction(f"{d.name} — {d.description}", self, checkable=True)
            act.setChecked(d.name == self.controller.device)
            act.triggered.connect(lambda checked=False, n=d.name: self.set_device(n))
            group.addAction(act)
            self.device_menu.addAction(act)
        i = self.device_combo.findData(self.controller.device)
        if i < 0:
            self.device_combo.addItem(self.controller.device, self.controller.device)
            i = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(i)

    def _device_chosen(self, index: int) -> None:
        name = self.device_combo.itemData(index)
        if name and name != self.controller.device:
            self.set_device(name)

    def set_device(self, name: str) -> None:
        """Switch device; the open scenario runs again there."""
        if self.controller.set_device(name):
            self.settings.setValue("run/device", name)
            self.log_line(f"Device: {name}")
            self.plots.norms.clear_series()
        i = self.device_combo.findData(self.controller.device)
        if i >= 0:
            self.device_combo.setCurrentIndex(i)
        for act in self.device_menu.actions():
            act.setChecked(act.text().split(" ")[0] == self.controller.device)

    def set_flow_mode(self, on: bool) -> None:
        self.scene.set_color_mode("flow" if on else "kind")
        self.legend.setVisible(on)
        self._place_overlays()
        self._update_legend()
        self.minimap.schedule()

    def set_edge_norms(self, on: bool) -> None:
        self.scene.set_edge_label_mode("shape_norm" if on else "value")

    def set_minimap(self, on: bool) -> None:
        self._place_overlays()
        if on:
            self.minimap.rerender()

    def set_record_sources(self, on: bool) -> None:
        self.controller.record_sources = on

    def _update_legend(self) -> None:
        if self.scene.graph is None or not self.legend.isVisible():
            return
        rep = gradflow.flow_report(self.scene.graph)
        self.legend.set_counts({k: len(v) for k, v in rep.items()})

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
        if Path(path).is_dir():  # a recorder's run directory
            return self.open_run_dir(path)
        if path.endswith(".py") and not trusted and not self.ask_trust(path):
            self.log_line(f"Not opened (not trusted): {path}")
            return False
        if path.endswith(".py"):
            self.trusted.add(path)
        self.log_line(f"Opening {path}")
        return self.controller.open(path)

    @Slot(str, object)
    def ask_model_choice(self, path: str, classes) -> None:
        """A plain .py with nn.Module classes: let the user pick one (remembered per file)."""
        import json

        from .model_picker import ModelPickerDialog, load_memo, memo_key

        dlg = ModelPickerDialog(path, classes, load_memo(self.settings, path), self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)

        def accepted() -> None:
            self.settings.setValue(memo_key(path), json.dumps(dlg.memo()))
            self.controller.open_model(path, dlg.choice())

        dlg.accepted.connect(accepted)
        self.model_picker = dlg
        dlg.open()

    @Slot(str)
    def ask_input_shape(self, path: str) -> None:
        """A .pt/.pt2 program without stored example inputs: ask for an input shape."""
        from PySide6.QtWidgets import QInputDialog

        key = "programs/" + path.replace("/", "|")
        shape, ok = QInputDialog.getText(
            self, "Input shape",
            f"{Path(path).name} stores no example inputs.\nShape of a random input batch (e.g. 8, 3):",
            text=str(self.settings.value(key, "8, 4")),
        )
        if ok and shape.strip():
            self.settings.setValue(key, shape)
            self.controller.open_program(path, shape)

    def open_builder(self) -> None:
        from .builder_dialog import BuilderDialog

        dlg = BuilderDialog(self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.run_requested.connect(self._run_built)
        dlg.saved.connect(lambda p: self.log_line(f"Saved scenario {p}"))
        self.builder = dlg
        dlg.open()

    def _run_built(self, spec) -> None:
        from ..core.files.builder import build_scenario

        self.log_line(f"Building {spec.name} from the builder")
        self.controller.open_scenario(lambda device: build_scenario(spec, device=device),
                                      source=f"builder: {spec.name}")

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
        self.loss_plot.clear_points()
        self.plots.norms.clear_series()
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
        self.scene.set_graph(graph, layout, chunked=True)
        self._apply_breakpoint_marks()
        self.debugger_panel.clear_executed()
        self._seen_order = 0
        self._search_hits = []
        if self.search_bar.isVisible() and self.search_bar.edit.text():
            self.on_search(self.search_bar.edit.text())
        n_leaves = sum(1 for n in graph.nodes if n.kind == LEAF)
        drawn = len(layout.node_index)
        self.status_graph.setText(f"{len(graph.nodes)} nodes ({n_leaves} leaves), {len(graph.edges)} edges"
                                  + (f"; {drawn} boxes, modules collapsed" if getattr(layout, "box_of", None)
                                     else ""))
        self.status_device.setText(f"device: {graph.meta.get('device', self.controller.device)}")
        if graph.meta.get("time_travel") is None:
            self.time_travel_step = None
            self.debug_state.setText("Ready. F10 steps backward one node; F5 continues; F8 steps the forward.")
        if self.inspector.node_id is not None and self.inspector.node_id in graph:
            self.inspector.finished = False
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
            ids = self._module_box_ids(focus)
            if not (ids and self.view.zoom_to(ids)):
                self.view.initial_view()
        c = self.controller
        engine = " (dot)" if getattr(self.scene.layout, "engine", "") == "dot" else ""
        times = [f"layout{engine} {c.last_layout_s * 1000:.0f} ms", f"scene {build_s * 1000:.0f} ms"]
        if c.last_forward_s:
            times.insert(0, f"forward {c.last_forward_s * 1000:.0f} ms")
        self.status_times.setText(" · ".join(times))
        self._update_legend()
        if self.minimap.isVisible():
            self.minimap.schedule()

    @Slot(int, int)
    def on_build_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def _sync_executed(self, refresh: bool = True) -> None:
        """Refresh nodes that ran since the last pause (continue runs several)."""
        dbg = self.controller.debugger
        graph = self.scene.graph
        if dbg is None or graph is None or dbg.graph is not graph:
            return
        order = dbg.order
        new = order[self._seen_order:]
        rows = []
        for nid in new:
            if nid not in graph:
                continue
            node = graph.node(nid)
            rows.append((nid, f"#{node.exec_order + 1 if node.exec_order is not None else '?'}  {node.label}"
                              + (f"   [{node.module}]" if node.module else "")))
        if refresh:
            self.scene.refresh_nodes(new)
        self.debugger_panel.add_executed(rows)
        self._seen_order = len(order)

    @Slot(str)
    def on_paused(self, node_id: str) -> None:
        graph = self.scene.graph
        if graph is None or node_id not in graph:
            return
        dbg = self.controller.debugger
        if dbg is not None and dbg.graph is not graph:
            return  # a pause of a graph not on screen yet (a debugged training step): it is repeated once shown
        self._sync_executed()
        self.scene.refresh_node(node_id)
        self.scene.set_current(node_id)
        self.view.show_node(node_id)
        self.inspector.finished = False
        self.inspector.show_node(graph, node_id)
        self.exec_list.setCurrentRow(self.exec_list.count() - 1)
        node = graph.node(node_id)
        where = f" in {node.module}" if node.module else ""
        step = f" (step {node.exec_order + 1})" if node.exec_order is not None else ""
        self.debug_state.setText(f"Paused after {node.label}{where} ran{step}. F10: next node · F5: continue.")
        if self.scene.color_mode == "flow":
            self._update_legend()
        self._update_actions()

    @Slot(object)
    def on_finished(self, result: BackwardResult) -> None:
        """The pass ended: the state line now; the graph, lists and plots in the next
        event-loop turns (so a big graph never holds the window for long)."""
        self._backward_done = True
        self._finish_status(result)
        graph = self.scene.graph
        steps = [lambda: self._sync_executed(refresh=False), self.scene.refresh_all,
                 lambda: self._finish_panels(result, graph)]

        def run_next() -> None:
            if graph is not self.scene.graph or not steps:
                return
            steps.pop(0)()
            if steps:
                QTimer.singleShot(0, self, run_next)

        if graph is not None and len(graph.nodes) <= 300:
            while steps:
                steps.pop(0)()
        else:
            run_next()

    def _finish_panels(self, result: BackwardResult, graph) -> None:
        self.scene.set_current(None)
        self.inspector.finished = True
        self.inspector.refresh()
        if result.status == "finished" and graph is not None:
            self._missing_leaf_notes(graph)
            self.model_tree.update_grads(graph)
            norms = {(n.variable or {}).get("name"): n.grad.get("norm") for n in graph.leaves()
                     if n.grad is not None and isinstance(n.grad.get("norm"), (int, float))}
            if norms:
                self.plots.norms.add_step(int(graph.meta.get("step", 0) or 0), norms)
        if self.scene.color_mode == "flow":
            self._update_legend()
        self.minimap.schedule()
        self._update_actions()

    def _finish_status(self, result: BackwardResult) -> None:
        graph = self.scene.graph
        if result.status == "finished":
            self.debug_state.setText(f"Backward finished: {len(result.order)} nodes ran. F10 starts a new pass.")
            self.status_times.setText(f"backward {self.controller.last_run_s * 1000:.0f} ms")
        elif result.status == "aborted":
            written = len(result.grads_written)
            self.debug_state.setText(f"Backward aborted after {len(result.order)} nodes; {written} leaf .grad written.")
        else:
            where = ""
            if result.failed_node and graph is not None and result.failed_node in graph:
                where = f" while {graph.node(result.failed_node).label} was running"
            self.debug_state.setText(f"Backward failed{where}.")
            self.show_error(f"Backward failed{where}: {result.error}", result.traceback or "")
        self._update_actions()

    def _missing_leaf_notes(self, graph: Graph) -> None:
        for n in graph.leaves():
            if n.grad is None and n.exec_order is None:
                self.add_problem(f"{n.label}: .grad stays None — backward did not reach this leaf.", n.id)

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
                self._auto_explain()
        self._update_actions()

    @Slot(str)
    def on_node_selected(self, node_id: str) -> None:
        from ..core.graph.grouping import GROUP_PREFIX

        if node_id.startswith(GROUP_PREFIX):
            self._show_group(node_id)
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

    def run_to_selected(self) -> None:
        sel = self.scene.selected_ids()
        if not sel:
            self.show_info("Select a node first (click it), then Run to Selected Node.")
            return
        self.controller.run_to(sel[0])

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
    def describe_breakpoint(self, bp: Breakpoint) -> str:
        g = self.scene.graph
        if bp.kind == BP_NODE and g is not None and bp.value in g:
            n = g.node(bp.value)
            return f"node {n.label} ({bp.value})"
        return bp.describe()

    def add_breakpoint(self, kind: str, value: str = "") -> Breakpoint | None:
        value = (value or "").strip()
        if kind == BP_NODE:
            if not value:
                sel = self.scene.selected_ids()
                if not sel:
                    self.show_info("Select a node first, then add a node breakpoint.")
                    return None
                value = sel[0]
            elif self.scene.graph is not None and value not in self.scene.graph:
                match = [n.id for n in self.scene.graph.nodes if n.label == value]
                if not match:
                    self.show_info(f"No node called {value!r} in this graph.")
                    return None
                value = match[0]
        elif kind in (BP_TYPE, BP_MODULE) and not value:
            sel = self.scene.selected_ids()
            if sel and self.scene.graph is not None:
                node = self.scene.graph.node(sel[0])
                value = node.name if kind == BP_TYPE else (node.module or "")
            if not value:
                self.show_info("Type a grad_fn name (e.g. MulBackward0) or a module path first.")
                return None
        elif kind == BP_NORM_ABOVE:
            try:
                value = float(value or "1000")
            except ValueError:
                self.show_info(f"The norm threshold must be a number, not {value!r}.")
                return None
        elif kind == BP_NONFINITE:
            value = None
        bp = self.controller.add_breakpoint(kind, value)
        self.log_line(f"Breakpoint: {self.describe_breakpoint(bp)}")
        return bp

    def toggle_node_breakpoint(self) -> None:
        sel = self.scene.selected_ids()
        if not sel:
            self.show_info("Select a node first, then toggle its breakpoint (F9).")
            return
        for bp in self.controller.breakpoints:
            if bp.kind == BP_NODE and bp.value == sel[0]:
                self.controller.remove_breakpoint(bp)
                return
        self.add_breakpoint(BP_NODE, sel[0])

    @Slot()
    def on_breakpoints_changed(self) -> None:
        self.debugger_panel.set_breakpoints(self.controller.breakpoints, self.describe_breakpoint)
        self._apply_breakpoint_marks()

    def _apply_breakpoint_marks(self) -> None:
        g = self.scene.graph
        if g is None:
            return
        marks: set[str] = set()
        for bp in self.controller.breakpoints:
            if not bp.enabled:
                continue
            if bp.kind == BP_NODE:
                marks.add(bp.value)
            elif bp.kind == BP_TYPE:
                marks |= {n.id for n in g.nodes if n.name == bp.value}
            elif bp.kind == BP_MODULE:
                marks |= {n.id for n in g.nodes if n.module and (n.module == bp.value or
                                                                 n.module.startswith(f"{bp.value}."))}
        self.scene.set_breakpoint_nodes(marks)

    # ------------------------------------------------------------ context menu
    def node_menu(self, node_id: str) -> QMenu:
        """The graph's context menu for a node (or the background when ``node_id`` is "")."""
        menu = QMenu(self)
        menu.setObjectName("graphContextMenu")
        g = self.scene.graph
        from ..core.graph.grouping import GROUP_PREFIX, _prefixes, module_of

        if node_id.startswith(GROUP_PREFIX):
            from ..core.graph.grouping import key_path

            key = node_id[len(GROUP_PREFIX):]
            path = key_path(key)  # a run of a module's calls ("cell#0-16") belongs to "cell"
            boxes = self.scene.items_by_id.get(node_id)
            title = menu.addAction(f"module {boxes[0].label if boxes else key} (collapsed)")
            title.setEnabled(False)
            menu.addSeparator()
            menu.addAction("Expand Module", lambda: self.expand_module(key))
            if key != path:
                menu.addAction(f"Collapse All Calls of {path}", lambda: self.collapse_module(path))
            if "." in path:
                parent = path.rsplit(".", 1)[0]
                menu.addAction(f"Collapse Parent {parent}", lambda: self.collapse_module(parent))
            menu.addAction(f"Break in Module {path}", lambda: self.add_breakpoint(BP_MODULE, path))
            menu.addAction("Expand All Modules", self.act_expand_all.trigger)
            return menu
        if node_id and g is not None and node_id in g:
            node = g.node(node_id)
            title = menu.addAction(f"{node.label}  ({node.name})")
            title.setEnabled(False)
            menu.addSeparator()
            menu.addAction("Inspect", lambda: self.goto_node(node_id))
            menu.addAction("Run to Here", lambda: self.controller.run_to(node_id))
            menu.addSeparator()
            has = any(bp.kind == BP_NODE and bp.value == node_id for bp in self.controller.breakpoints)
            if has:
                menu.addAction("Remove Breakpoint at This Node", self.toggle_node_breakpoint)
            else:
                menu.addAction("Break at This Node", lambda: self.add_breakpoint(BP_NODE, node_id))
            if node.kind != LEAF:
                menu.addAction(f"Break at Every {node.name}", lambda: self.add_breakpoint(BP_TYPE, node.name))
            if node.module:
                menu.addAction(f"Break in Module {node.module}", lambda: self.add_breakpoint(BP_MODULE, node.module))
                menu.addAction(f"Select Module {node.module}", lambda: self.select_module(node.module))
            owner = module_of(node)
            if owner:
                for p in reversed(_prefixes(owner)):  # innermost first
                    menu.addAction(f"Collapse Module {p}", lambda p=p: self.collapse_module(p))
            menu.addAction("Break on NaN/Inf Gradient", lambda: self.add_breakpoint(BP_NONFINITE))
            menu.addAction("Break When Gradient Norm Above…", self.ask_norm_breakpoint)
            if node.kind == LEAF and node.grad is None:
                menu.addSeparator()
                menu.addAction("Why Is .grad None?", self.explain_missing)
            menu.addSeparator()
            menu.addAction("Zoom to Node", lambda: self.view.zoom_to([node_id]))
        else:
            menu.addAction(self.act_fit)
            menu.addAction(self.act_find)
            menu.addSeparator()
            menu.addAction("Break on NaN/Inf Gradient", lambda: self.add_breakpoint(BP_NONFINITE))
            menu.addAction("Break When Gradient Norm Above…", self.ask_norm_breakpoint)
            menu.addAction(self.act_flow)
        return menu

    def ask_norm_breakpoint(self) -> None:
        value, ok = QInputDialog.getDouble(self, "Break when the gradient norm is above", "Threshold T:",
                                           1000.0, 0.0, 1e30, 3)
        if ok:
            self.add_breakpoint(BP_NORM_ABOVE, str(value))

    @Slot(str, object)
    def on_context_menu(self, node_id: str, pos) -> None:
        menu = self.node_menu(node_id)
        menu.setAttribute(Qt.WA_DeleteOnClose)
        self.context_menu = menu
        menu.popup(pos)

    # ------------------------------------------------------------ problems
    def add_problem(self, text: str, node_id: str | None = None) -> None:
        for i in range(self.problems.count()):
            if self.problems.item(i).text() == text:
                return
        item = QListWidgetItem(text)
        item.setData(Qt.UserRole, node_id)
        item.setToolTip(text)
        self.problems.addItem(item)
        self.log_line(text)

    def _on_problem_clicked(self, item: QListWidgetItem) -> None:
        nid = item.data(Qt.UserRole)
        if nid:
            self.goto_node(nid)
            self.view.zoom_to([nid])

    def explain_missing(self) -> None:
        self.controller.explain_missing()

    def _auto_explain(self) -> None:
        """After opening: explain named tensors that will get no gradient (cheap cases only)."""
        c = self.controller
        g, session = c.graph, c.session
        if session is None or g is None or not g.live:
            return
        from ..core.graph.explain import watched_tensors

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
            self.show_info("Every named tensor is reachable from the output: each gets a .grad.")
            return
        for r in reasons:
            self.inspector.explanations[r.name] = r.message
            self.add_problem(f"{r.name}: .grad stays None — {r.message}")
        self.inspector.refresh()

    # --------------------------------------------------------------- NaN hunt
    def nan_hunt(self) -> None:
        self._nan_node = None
        self.debug_state.setText("NaN hunt: running backward until a gradient has NaN or Inf…")
        self.controller.nan_hunt()

    @Slot(str)
    def on_nan_found(self, node_id: str) -> None:
        g = self.scene.graph
        if not node_id or g is None or node_id not in g:
            self.show_info("NaN hunt: no NaN or Inf gradient — backward ran to the end with finite gradients.")
            self.debug_state.setText("NaN hunt: all gradients finite.")
            return
        self._nan_node = node_id
        node = g.node(node_id)
        inputs = []
        for edge in (e for e in g.edges if e.src == node_id):
            s = node.grad_inputs[edge.slot] if node.grad_inputs and edge.slot < len(node.grad_inputs) else None
            inputs.append(f"{g.node(edge.dst).label} ({gradflow.edge_text(s) or 'no gradient'})")
        where = f" in {node.module}" if node.module else ""
        src = f" Forward source: {node.source}." if node.source else " (forward source line not recorded)"
        text = (f"NaN hunt: first non-finite gradient at {node.label}{where}.{src}"
                + (f" Its inputs: {', '.join(inputs)}." if inputs else ""))
        self.debug_state.setText(text)
        self.add_problem(text, node_id)
        self.goto_node(node_id)
        self.view.zoom_to([node_id])

    # ------------------------------------------------------- forward stepping
    @Slot(object, object, object)
    def on_forward_paused(self, stop, graph: Graph, layout) -> None:
        self.scene.set_graph(graph, layout, chunked=True)
        outs = [n.id for n in graph.outputs()]
        if outs:
            self.scene.set_current(outs[-1])
            self.view.show_node(outs[-1])
        shapes = ", ".join("×".join(map(str, o["shape"])) or "scalar" for o in stop.output[:3])
        self.debug_state.setText(
            f"Forward paused after {stop.kind} {stop.label} (output {shapes or '—'}); graph so far: "
            f"{len(graph.nodes)} nodes. F8: next module · F11: step into (op by op) · F5: finish the forward.")
        self.status_graph.setText(f"{len(graph.nodes)} nodes (partial), {len(graph.edges)} edges")
        self._update_actions()

    @Slot(object)
    def on_forward_finished(self, result) -> None:
        if result.ok:
            self.show_info(f"Forward finished ({len(result.order)} stops). F10 now steps the backward.")
        elif result.status == "aborted":
            self.debug_state.setText("Forward aborted.")
        self._update_actions()

    # ------------------------------------------------------------- training
    def train_clicked(self) -> None:
        n = self.steps_spin.value()
        self.settings.setValue("run/train_steps", n)
        if self.controller.train(n):
            self.debug_state.setText(f"Training {n} steps… (Pause: Ctrl+Shift+P, Stop: Ctrl+Shift+T)")
            self.docks["plots"].raise_()

    @Slot(object)
    def on_training_progress(self, records) -> None:
        self.plots.add_records(records)
        if records:
            r = records[-1]
            loss = f"{r.loss:.4g}" if r.loss is not None else "—"
            self.plots.hint.setText(f"step {r.step} · loss {loss} · {r.duration_s * 1000:.1f} ms/step")

    @Slot(str)
    def on_training_state(self, state: str) -> None:
        if state == "paused":
            self.debug_state.setText("Training paused. Resume: Ctrl+Shift+R · click a loss point to see its step.")
        elif state == "running":
            self.debug_state.setText("Training…")
        elif state == "debugging":
            self.debug_state.setText("Debugging a training step: F10 steps its backward, F5 continues.")
        self._update_actions()

    @Slot(object)
    def on_training_finished(self, result) -> None:
        self.plots.loss.flush()
        self.plots.norms.flush()
        self.debug_state.setText(f"Training {result.status}: {result.steps} steps. Click a point on the loss "
                                 "curve to see that step's graph.")
        self.log_line(f"Training {result.status} after {result.steps} steps")
        self._update_actions()

    @Slot(int, int)
    def on_loss_point(self, index: int, step: int) -> None:
        if step < 0:
            self.show_info("No kept snapshot for this point (only training steps keep one).")
            return
        self.controller.show_snapshot(step)

    @Slot(int)
    def on_snapshot_shown(self, step: int) -> None:
        self.time_travel_step = step
        g = self.scene.graph
        loss = g.meta.get("loss") if g is not None else None
        self.debug_state.setText(f"Time travel: showing training step {step}"
                                 + (f" (loss {loss:.4g})" if isinstance(loss, (int, float)) else "")
                                 + ". Ctrl+R or F10 returns to the live model.")
        self._backward_done = True
        self.inspector.finished = True
        if g is not None:
            self.model_tree.update_grads(g)
        for i, s in enumerate(self.loss_plot.train_steps):
            if s == step:
                self.loss_plot.mark(i)

    # ---------------------------------------------------------------- search
    def open_search(self) -> None:
        self.search_bar.open_bar()

    def search_ids(self, text: str) -> list[str]:
        g = self.scene.graph
        text = text.strip().lower()
        if g is None or not text:
            return []
        hits = []
        for n in g.nodes:
            # A leaf is found by its variable name, not by "AccumulateGrad".
            fields = (n.label, n.module or "", n.id) if n.kind == LEAF else (n.label, n.name, n.module or "", n.id)
            if any(text in f.lower() for f in fields if f):
                hits.append(n.id)
        return hits

    def on_search(self, text: str) -> None:
        hits = self.search_ids(text)
        self._search_hits = hits
        self._search_pos = -1
        self.scene.set_matches(hits)
        self.search_bar.count.setText(f"{len(hits)} found" if text.strip() else "")

    def search_next(self, backwards: bool = False) -> None:
        if not self._search_hits:
            return
        step = -1 if backwards else 1
        self._search_pos = (self._search_pos + step) % len(self._search_hits)
        nid = self._search_hits[self._search_pos]
        self.goto_node(nid)
        self.view.zoom_to([nid])
        self.search_bar.count.setText(f"{self._search_pos + 1} of {len(self._search_hits)}")

    def _search_closed(self) -> None:
        self.scene.set_matches([])
        self._search_hits = []
        self.view.setFocus()

    # ---------------------------------------------------------------- model
    def ask_keep_snapshots(self) -> None:
        c = self.controller
        value, ok = QInputDialog.getInt(
            self, "Training history", "Keep the graphs of the last K training steps (0: none).\n"
            "Each kept graph holds its gradient summaries, not the tensors.", c.keep_snapshots, 0, 10000)
        if ok:
            self.set_keep_snapshots(value)

    def set_keep_snapshots(self, k: int) -> None:
        self.settings.setValue("training/keep_snapshots", int(k))
        self.controller.set_keep_snapshots(int(k))

    def cancel_work(self) -> None:
        if self.controller.cancel():
            self.statusBar().showMessage("Cancelling…")

    # ------------------------------------------------------------ grouping
    def _module_box_ids(self, path: str) -> list[str]:
        """Boxes on screen that show ``path``: its collapsed box, or its nodes' boxes."""
        from ..core.graph.grouping import GROUP_PREFIX, module_of

        scene = self.scene
        if GROUP_PREFIX + path in scene.items_by_id:
            return [GROUP_PREFIX + path]
        g = scene.graph
        if g is None:
            return []
        ids = {scene.box_id(n.id) for n in g.nodes
               if (module_of(n) or "") == path or (module_of(n) or "").startswith(path + ".")}
        return [i for i in ids if i in scene.items_by_id]

    def _selected_module(self) -> str | None:
        from ..core.graph.grouping import GROUP_PREFIX, module_of

        sel = self.scene.selected_ids()
        if not sel:
            return None
        if sel[0].startswith(GROUP_PREFIX):
            return sel[0][len(GROUP_PREFIX):]
        g = self.scene.graph
        return module_of(g.node(sel[0])) if g is not None and sel[0] in g else None

    def collapse_module(self, path: str) -> None:
        self._relayout_focus = path
        self.controller.collapse_module(path)

    def expand_module(self, path: str) -> None:
        self._relayout_focus = path
        self.controller.expand_module(path)

    def collapse_selected(self) -> None:
        path = self._selected_module()
        if path is None:
            self.show_info("Select a node that belongs to a module first, then Collapse Module.")
            return
        self.collapse_module(path)

    def expand_selected(self) -> None:
        from ..core.graph.grouping import GROUP_PREFIX

        sel = self.scene.selected_ids()
        if not sel or not sel[0].startswith(GROUP_PREFIX):
            self.show_info("Select a collapsed module's box first, then Expand Module.")
            return
        self.expand_module(sel[0][len(GROUP_PREFIX):])

    def collapse_overview(self) -> None:
        from ..core.graph.grouping import initial_collapse

        if self.scene.graph is not None:
            self._relayout_focus = None
            self.controller.set_collapsed(initial_collapse(self.scene.graph))

    def set_auto_collapse(self, on: bool) -> None:
        self.controller.auto_collapse = bool(on)
        self.settings.setValue("view/auto_collapse", "true" if on else "false")

    @Slot(object, object)
    def on_relayout(self, graph, layout) -> None:
        """Modules were collapsed or expanded: the same graph drawn anew; the debugger's
        state, the execution list and the inspector stay."""
        if graph is not self.scene.graph:
            return
        if getattr(self, "_relayout_focus", None) is None:
            self._relayout_focus = ""
        self.scene.set_graph(graph, layout, chunked=True)
        self._apply_breakpoint_marks()
        if self.search_bar.isVisible() and self.search_bar.edit.text():
            self.on_search(self.search_bar.edit.text())
        groups = len(self.scene.collapsed())
        self.status_graph.setText(f"{len(graph.nodes)} nodes in {len(layout.node_index)} boxes"
                                  + (f" ({groups} modules collapsed)" if groups else ""))

    def _show_group(self, gid: str) -> None:
        """The inspector for a collapsed module's box."""
        import html

        from ..core.graph.grouping import GROUP_PREFIX

        items = self.scene.items_by_id.get(gid) or []
        members = items[0].members if items else []
        path = items[0].node.label if items else gid[len(GROUP_PREFIX):]
        ran = [m for m in members if m.exec_order is not None]
        leaves = [m.label for m in members if m.kind == LEAF]
        self.inspector.clear()
        self.inspector.text.setHtml(
            f"<h3>module {html.escape(path)}</h3><p>collapsed: {len(members)} nodes, {len(ran)} ran"
            + (f"; leaves {html.escape(', '.join(leaves[:12]))}{' …' if len(leaves) > 12 else ''}" if leaves else "")
            + "</p><p>Double-click the box (or Ctrl+]) to expand it.</p>")

    def select_module(self, path: str) -> None:
        """Select every node of a module (or a parameter's leaf) and zoom to them."""
        g = self.scene.graph
        if g is None:
            return
        from ..core.graph.grouping import module_of

        if not path:
            ids = [n.id for n in g.nodes]
        else:
            ids = [n.id for n in g.nodes
                   if (module_of(n) or "") == path or (module_of(n) or "").startswith(f"{path}.")
                   or (n.variable or {}).get("name") == path]
        if not ids:
            self.show_info(f"No node of {path!r} in this graph.")
            return
        self.scene.select_nodes(ids)
        self.view.zoom_to(ids)
        self.statusBar().showMessage(f"{len(ids)} nodes in {path or 'the model'}", 4000)

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
            "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;Graphviz DOT (*.dot);;Snapshot JSON (*.json)",
        )
        if not path:
            return
        scale = None
        if path.lower().endswith(".png") or selected.startswith("PNG"):
            try:
                last = float(self.settings.value("export/png_scale", 2.0))
            except (TypeError, ValueError):
                last = 2.0
            scale, ok = QInputDialog.getDouble(self, "PNG export", "Pixels per unit (1 = 100%, 2 = sharp):",
                                               last, 0.25, 8.0, 2)
            if not ok:
                return
            self.settings.setValue("export/png_scale", scale)
        self.export_graph(path, scale=scale)

    def export_graph(self, path: str, fmt: str | None = None, scale: float | None = None) -> bool:
        """The whole graph in the format its suffix (or ``fmt``) names (PNG at ``scale``)."""
        from .render import export_graph

        graph, layout = self.scene.graph, self.scene.layout
        if graph is None:
            self.show_info("Nothing to export yet.")
            return False
        try:
            export_graph(graph, layout, path, fmt=fmt, direction=self.controller.direction, colors=self.colors,
                         scale=2.0 if scale is None else float(scale))
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
