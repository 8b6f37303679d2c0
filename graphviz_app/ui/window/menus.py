"""The window's menus, toolbars and status bar, laid out from the actions."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QProgressBar,
    QSpinBox,
    QToolBar,
)

from .actions import action


def build_menus_and_toolbar(w) -> None:
    mb = w.menuBar()
    file_menu = mb.addMenu("&File")
    file_menu.addAction(w.act_open)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addAction(w.act_builder)
    w.act_open_run = action(
        w,
        "Open R&un Directory…",
        w.opening.open_run_dialog,
        "Ctrl+Shift+O",
        None,
        "Follow a training script's recorder output live",
    )
    file_menu.addAction(w.act_open_run)
    file_menu.addSeparator()
    file_menu.addAction(w.act_export_png)
    file_menu.addAction(w.act_export)
    file_menu.addSeparator()
    file_menu.addAction(w.act_quit)
    w.opening.fill_recent()

    _run_and_debug_menus(w, mb)
    _view_menu(w, mb)
    _toolbars(w)


def _run_and_debug_menus(w, mb) -> None:
    run_menu = mb.addMenu("&Run")
    run_menu.addActions([w.act_rerun, w.act_forward_step])
    run_menu.addSeparator()
    run_menu.addActions([w.act_train, w.act_pause_train, w.act_resume_train, w.act_stop_train, w.act_debug_train])
    run_menu.addAction(w.act_history_memory)
    run_menu.addSeparator()
    run_menu.addAction(w.act_cancel)
    run_menu.addSeparator()
    w.device_menu = run_menu.addMenu("&Device")
    run_menu.addAction(w.act_sources)

    debug_menu = mb.addMenu("&Debug")
    debug_menu.addActions([w.act_step, w.act_step_back, w.act_step_into, w.act_step_out, w.act_continue,
                           w.act_run_end, w.act_run_to])
    debug_menu.addSeparator()
    debug_menu.addActions([w.act_abort, w.act_restart])
    debug_menu.addSeparator()
    debug_menu.addActions([w.act_toggle_bp, w.act_break_nan, w.act_nan_hunt, w.act_explain])


def _view_menu(w, mb) -> None:
    view_menu = mb.addMenu("&View")
    view_menu.addActions([w.act_find, w.act_fit, w.act_zoom_sel, w.act_zoom_in, w.act_zoom_out, w.act_minimap])
    view_menu.addSeparator()
    view_menu.addActions([w.act_collapse, w.act_expand, w.act_expand_all, w.act_overview, w.act_auto_collapse])
    view_menu.addSeparator()
    view_menu.addActions([w.act_flow, w.act_edge_norms])
    view_menu.addSeparator()
    view_menu.addActions([w.act_tb, w.act_bt])
    engine_menu = view_menu.addMenu("Layout &Engine")
    engine_menu.addActions([w.act_engine_embedded, w.act_engine_dot])
    engine_menu.addSeparator()
    engine_menu.addActions([w.act_leaves_auto, w.act_leaves_split, w.act_leaves_once])
    view_menu.addSeparator()
    view_menu.addActions([w.act_light, w.act_dark])
    view_menu.addSeparator()
    for key, dock in w.docks.items():
        if key != "loss":
            view_menu.addAction(dock.toggleViewAction())
    w.view_menu = view_menu

    help_menu = mb.addMenu("&Help")
    from .shortcuts import show_shortcuts

    w.act_shortcuts = action(
        w, "&Keyboard Shortcuts", lambda: show_shortcuts(w), "F1", None, "Every action that has a shortcut"
    )
    help_menu.addAction(w.act_shortcuts)
    help_menu.addAction(action(w, "&About graphviz_app", w.about))


def _toolbars(w) -> None:
    tb = QToolBar("Debug", w)
    tb.setObjectName("toolbar_debug")
    tb.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    tb.addActions([w.act_open, w.act_rerun])
    tb.addSeparator()
    tb.addActions([w.act_step, w.act_continue, w.act_run_end, w.act_abort, w.act_restart])
    tb.addSeparator()
    tb.addAction(w.act_fit)
    w.addToolBar(tb)
    w.toolbar = tb

    ttb = QToolBar("Training", w)
    ttb.setObjectName("toolbar_training")
    ttb.addWidget(QLabel(" Steps: ", ttb))
    w.steps_spin = QSpinBox(ttb)
    w.steps_spin.setObjectName("trainSteps")
    w.steps_spin.setRange(1, 1_000_000)
    w.steps_spin.setValue(int(w.settings.value("run/train_steps", 100)))
    ttb.addWidget(w.steps_spin)
    ttb.addActions([w.act_train, w.act_pause_train, w.act_resume_train, w.act_stop_train, w.act_debug_train])
    ttb.addSeparator()
    ttb.addWidget(QLabel(" Device: ", ttb))
    w.device_combo = QComboBox(ttb)
    w.device_combo.setObjectName("deviceCombo")
    w.device_combo.addItem(w.controller.device)
    w.device_combo.activated.connect(w.view_options.device_chosen)
    ttb.addWidget(w.device_combo)
    ttb.addSeparator()
    ttb.addAction(w.act_flow)
    w.addToolBar(ttb)
    w.train_toolbar = ttb


def build_status(w) -> None:
    sb = w.statusBar()
    w.status_graph = QLabel("no graph", w)
    w.status_device = QLabel(f"device: {w.controller.device}", w)
    w.status_times = QLabel("", w)
    w.progress = QProgressBar(w)
    w.progress.setRange(0, 0)
    w.progress.setMaximumWidth(120)
    w.progress.hide()
    for label in (w.status_graph, w.status_device, w.status_times):
        sb.addPermanentWidget(label)
    sb.addPermanentWidget(w.progress)
    from PySide6.QtWidgets import QToolButton

    w.cancel_button = QToolButton(w)
    w.cancel_button.setObjectName("cancelButton")
    w.cancel_button.setDefaultAction(w.act_cancel)
    w.cancel_button.hide()
    sb.addPermanentWidget(w.cancel_button)
