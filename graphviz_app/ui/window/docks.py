"""The window's docks: Debugger, Model, Inspector, Plots, Problems/log and the run directory."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QListWidget,
    QPlainTextEdit,
    QSplitter,
)

from ..debugger_panel import DebuggerPanel
from ..inspector import Inspector
from ..loss_plot import PlotsPanel
from ..model_tree import ModelTree


def build_docks(w) -> None:
    w.plots = PlotsPanel(w)
    w.loss_plot = w.plots.loss
    w.inspector = Inspector(w)
    w.model_tree = ModelTree(w)
    w.log = QPlainTextEdit(w)
    w.log.setReadOnly(True)
    w.log.setObjectName("problemsLog")
    w.problems = QListWidget(w)
    w.problems.setObjectName("problemsList")
    w.problems.setWordWrap(True)
    problems = QSplitter(Qt.Horizontal, w)
    problems.addWidget(w.problems)
    problems.addWidget(w.log)
    problems.setSizes([600, 500])
    w.debugger_panel = DebuggerPanel((), w)  # buttons are added once the actions exist
    w.exec_list = w.debugger_panel.exec_list
    w.debug_state = w.debugger_panel.state

    w.docks: dict[str, QDockWidget] = {}
    for key, title, widget, area in (
        ("debugger", "Debugger", w.debugger_panel, Qt.LeftDockWidgetArea),
        ("model", "Model", w.model_tree, Qt.LeftDockWidgetArea),
        ("inspector", "Inspector", w.inspector, Qt.RightDockWidgetArea),
        ("plots", "Plots", w.plots, Qt.RightDockWidgetArea),
        ("log", "Problems / log", problems, Qt.BottomDockWidgetArea),
    ):
        dock = QDockWidget(title, w)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        w.addDockWidget(area, dock)
        w.docks[key] = dock
    w.docks["loss"] = w.docks["plots"]  # the foundation's name
    build_run_dock(w)
    w.tabifyDockWidget(w.docks["debugger"], w.docks["model"])
    w.docks["debugger"].raise_()
    w.resizeDocks([w.docks["debugger"]], [270], Qt.Horizontal)
    w.resizeDocks([w.docks["inspector"]], [380], Qt.Horizontal)
    w.resizeDocks([w.docks["inspector"], w.docks["plots"]], [520, 300], Qt.Vertical)
    w.resizeDocks([w.docks["log"]], [110], Qt.Vertical)


def build_run_dock(w) -> None:
    """A recorder's run directory: live loss curve and snapshots (hidden until opened)."""
    from ..run_dir_view import RunDirView

    w.run_view = RunDirView(w)
    dock = QDockWidget("Run", w)
    dock.setObjectName("dock_run")
    dock.setWidget(w.run_view)
    w.addDockWidget(Qt.RightDockWidgetArea, dock)
    w.tabifyDockWidget(w.docks["plots"], dock)
    w.docks["plots"].raise_()
    dock.hide()
    w.docks["run"] = dock
    # Time travel: snapshots are .json (view only), so no trust prompt is needed.
    w.run_view.snapshot_selected.connect(lambda path: w.opening.open_path(path))
