"""The window's actions (menu items, shortcuts, toolbar buttons), built once;
each calls a feature object or the controller."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ...core.run.debugger import (
    BP_NONFINITE,
)
from .. import theme


def action(
    w, text: str, slot, shortcut=None, icon: str | None = None, tip: str = "", checkable: bool = False
) -> QAction:
    act = QAction(text, w)
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


def build_actions(w) -> None:
    c = w.controller
    w.act_open = action(w, "&Open…", w.opening.open_dialog, QKeySequence.Open, "open", "Open a scenario or snapshot")
    w.act_builder = action(
        w, "&Build a Model…", w.opening.open_builder, "Ctrl+B", None, "Stack layers, pick a data set, and run it"
    )
    w.act_export_png = action(w, "Export View as &PNG…", w.exporter.export_view_dialog, "Ctrl+E", "export")
    w.act_export = action(w, "Export &Graph…", w.exporter.export_graph_dialog, "Ctrl+Shift+E")
    w.act_quit = action(w, "&Quit", w.close, QKeySequence.Quit)
    live = w.step_back.live_first  # a rewound view (Step Back) goes back to the live point first
    w.act_rerun = action(
        w, "Run &Forward Again", live(c.rerun), "Ctrl+R", "forward", "Run the forward pass again (adds a loss point)"
    )
    w.act_forward_step = action(
        w, "Forward S&tep", live(c.forward_step), "F8", None, "Step the forward pass one module at a time"
    )
    w.act_train = action(
        w,
        "&Train N Steps",
        w.training_view.train_clicked,
        "Ctrl+T",
        "run",
        "Train the number of steps set in the toolbar, with live plots",
    )
    w.act_pause_train = action(
        w, "&Pause Training", c.pause_training, "Ctrl+Shift+P", None, "Pause after the current step"
    )
    w.act_resume_train = action(w, "Res&ume Training", c.resume_training, "Ctrl+Shift+R", None)
    w.act_stop_train = action(w, "St&op Training", c.stop_training, "Ctrl+Shift+T", None, "Stop after the current step")
    w.act_history_memory = action(
        w,
        "Time-Travel &Memory…",
        w.training_view.ask_memory_budget,
        None,
        None,
        "Every training step is kept for time travel; how much memory the newest use before older ones go to disk",
    )
    w.training_view.restore_memory_budget()
    w.act_cancel = action(
        w,
        "&Cancel Loading",
        w.cancel_work,
        "Ctrl+Shift+X",
        None,
        "Stop the load or layout in progress; the current graph stays",
    )
    w.act_debug_train = action(
        w,
        "&Debug Next Training Step",
        live(c.debug_training_step),
        "Ctrl+Shift+D",
        None,
        "Run the next training step's backward node by node; training pauses after it",
    )
    _debug_actions(w)
    _view_actions(w)
    _direction_and_theme(w)
    _engine_and_leaves(w)
    _debugger_buttons(w)


def _debug_actions(w) -> None:
    c = w.controller
    live = w.step_back.live_first  # a rewound view (Step Back) goes back to the live point first
    w.act_step = action(
        w, "Backward &Step", w.step_back.step, "F10", "step",
        "Run backward one node at a time (after Step Back: replay the recorded steps first)",
    )
    w.act_step_back = action(
        w, "Step &Back", w.step_back.step_back, "Shift+F10", None,
        "Show the state just before the previous node ran (recorded values, nothing recomputed)",
    )
    w.act_step_into = action(
        w, "Step &Into Module", live(c.step_into), "F11", None,
        "Forward stepping: one op. Backward: run to the next module",
    )
    w.act_step_out = action(
        w, "Step O&ut of Module", live(c.step_out), "Shift+F11", None,
        "Backward: run to the end of the paused node's module (pause at the next node outside it, or the end)",
    )
    w.act_step_into.changed.connect(lambda: w.act_step_out.setEnabled(w.act_step_into.isEnabled()))
    w.act_continue = action(
        w, "&Continue", live(c.continue_), "F5", "continue", "Continue to the next breakpoint or the end"
    )
    w.act_run_end = action(w, "Run Backward to &End", live(c.run_to_end), "Ctrl+F5", "run")
    w.act_run_to = action(w, "Run to Selected &Node", live(w.debug_view.run_to_selected), "Ctrl+F10")
    w.act_abort = action(w, "&Abort", live(c.abort), "Shift+F5", "abort", "Abort the backward pass")
    w.act_restart = action(
        w, "&Restart", live(c.restart), "Ctrl+Shift+F5", "restart", "Abort and run forward again"
    )
    w.act_toggle_bp = action(
        w, "Toggle &Breakpoint at Selected Node", w.breakpoint_actions.toggle_node_breakpoint, "F9"
    )
    w.act_break_nan = action(
        w, "Break on NaN/Inf &Gradient", lambda: w.breakpoint_actions.add_breakpoint(BP_NONFINITE, "")
    )
    w.act_nan_hunt = action(
        w,
        "&NaN Hunt",
        live(w.problems_view.nan_hunt),
        "Ctrl+Shift+N",
        None,
        "Run backward to the first NaN/Inf gradient and show where it came from",
    )
    w.act_explain = action(
        w,
        "&Why Is .grad None?",
        w.problems_view.explain_missing,
        None,
        None,
        "Explain every named tensor that gets no gradient",
    )


def _view_actions(w) -> None:
    w.act_fit = action(w, "&Fit Graph", w.view.fit_all, "Ctrl+0", "fit")
    w.act_zoom_sel = action(w, "Zoom to &Selection", w.zoom_to_selection, "Ctrl+.")
    w.act_zoom_in = action(w, "Zoom &In", lambda: w.view.zoom(1.25), QKeySequence.ZoomIn)
    w.act_zoom_out = action(w, "Zoom &Out", lambda: w.view.zoom(0.8), QKeySequence.ZoomOut)
    w.act_find = action(
        w, "&Find Node…", w.search.open_search, QKeySequence.Find, None, "Find nodes by name, module or leaf name"
    )
    w.act_flow = action(
        w,
        "&Gradient-Flow Colouring",
        w.view_options.set_flow_mode,
        "Ctrl+G",
        None,
        "Colour nodes and edges by log10 of their gradient norm",
        checkable=True,
    )
    w.act_edge_norms = action(
        w,
        "Edges Show Shape and &Norm",
        w.view_options.set_edge_norms,
        "Ctrl+L",
        None,
        "Label edges with the gradient's shape and norm",
        checkable=True,
    )
    w.act_collapse = action(
        w,
        "&Collapse Module",
        w.grouping.collapse_selected,
        "Ctrl+[",
        None,
        "Draw the selected node's module as one box",
    )
    w.act_expand = action(
        w, "&Expand Module", w.grouping.expand_selected, "Ctrl+]", None, "Open the selected module box one level"
    )
    w.act_expand_all = action(w, "Expand &All Modules", lambda: w.controller.set_collapsed(()))
    w.act_overview = action(
        w,
        "Collapse to &Overview",
        w.grouping.collapse_overview,
        None,
        None,
        "Collapse modules to a depth that shows at most about 300 boxes",
    )
    w.act_auto_collapse = action(
        w,
        "Open Large Models &Collapsed",
        w.grouping.set_auto_collapse,
        None,
        None,
        "A model with more than 300 nodes opens with its modules collapsed",
        checkable=True,
    )
    w.act_auto_collapse.blockSignals(True)
    w.act_auto_collapse.setChecked(str(w.settings.value("view/auto_collapse", "true")) == "true")
    w.act_auto_collapse.blockSignals(False)
    w.controller.auto_collapse = w.act_auto_collapse.isChecked()
    w.act_minimap = action(w, "&Minimap", w.view_options.set_minimap, "Ctrl+M", None, checkable=True)
    w.act_minimap.blockSignals(True)
    w.act_minimap.setChecked(str(w.settings.value("view/minimap", "true")) == "true")
    w.act_minimap.blockSignals(False)
    w.act_sources = action(
        w,
        "Record Forward &Source Lines",
        w.view_options.set_record_sources,
        None,
        None,
        "Run the forward under anomaly mode to know each node's source line (slower)",
        checkable=True,
    )


def _direction_and_theme(w) -> None:
    w.direction_group = QActionGroup(w)
    w.act_tb = QAction("Output at &Top (top-to-bottom)", w, checkable=True)
    w.act_bt = QAction("Output at &Bottom (bottom-to-top)", w, checkable=True)
    for act, d in ((w.act_tb, "TB"), (w.act_bt, "BT")):
        w.direction_group.addAction(act)
        act.setChecked(w.controller.direction == d)
        act.triggered.connect(lambda checked, d=d: w.view_options.set_direction(d))

    w.theme_group = QActionGroup(w)
    w.act_light = QAction("&Light Theme", w, checkable=True)
    w.act_dark = QAction("&Dark Theme", w, checkable=True)
    for act, name in ((w.act_light, "light"), (w.act_dark, "dark")):
        w.theme_group.addAction(act)
        act.setChecked(w.theme_name == name)
        act.triggered.connect(lambda checked, n=name: w.view_options.apply_theme(n))


def _engine_and_leaves(w) -> None:
    from ...core.draw.dot_layout import dot_available

    w.engine_group = QActionGroup(w)
    w.act_engine_embedded = QAction("&Embedded Layout (fast)", w, checkable=True)
    w.act_engine_dot = QAction("Graphviz &dot Layout", w, checkable=True)
    has_dot = dot_available() is not None
    w.act_engine_dot.setEnabled(has_dot)
    w.act_engine_dot.setStatusTip(
        "Lay the graph out with Graphviz dot (slow on big graphs; cancellable)"
        if has_dot
        else "Graphviz dot is not installed (not on PATH)"
    )
    engine = str(w.settings.value("view/layout_engine", "embedded"))
    engine = engine if engine == "dot" and has_dot else "embedded"
    w.controller.layout_engine = engine
    for act, name in ((w.act_engine_embedded, "embedded"), (w.act_engine_dot, "dot")):
        w.engine_group.addAction(act)
        act.setChecked(engine == name)
        act.triggered.connect(lambda checked, n=name: w.view_options.set_layout_engine(n))

    w.leaves_group = QActionGroup(w)
    w.act_leaves_auto = QAction("Shared Leaves: &Automatic (one copy per use on big graphs)", w, checkable=True)
    w.act_leaves_split = QAction("Shared Leaves: One &Copy per Use", w, checkable=True)
    w.act_leaves_once = QAction("Shared Leaves: &One Box", w, checkable=True)
    choice = str(w.settings.value("view/shared_leaves", "auto"))
    modes = ((w.act_leaves_auto, "auto", None), (w.act_leaves_split, "split", True), (w.act_leaves_once, "once", False))
    for act, name, value in modes:
        w.leaves_group.addAction(act)
        act.setChecked(choice == name)
        if choice == name:
            w.controller.split_leaves = value
        act.triggered.connect(lambda checked, n=name, v=value: w.view_options.set_shared_leaves(n, v))
    if not w.leaves_group.checkedAction():
        w.act_leaves_auto.setChecked(True)


def _debugger_buttons(w) -> None:
    # The Debugger dock's buttons.
    panel = w.debugger_panel
    from PySide6.QtWidgets import QHBoxLayout, QToolButton

    row = QHBoxLayout()
    row.setSpacing(2)
    short = {
        w.act_forward_step: "Fwd",
        w.act_step: "Step",
        w.act_step_back: "Back",
        w.act_step_into: "Into",
        w.act_step_out: "Out",
        w.act_continue: "Cont",
        w.act_run_end: "End",
        w.act_run_to: "To sel",
        w.act_abort: "Abort",
        w.act_restart: "Restart",
        w.act_nan_hunt: "NaN hunt",
    }
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
