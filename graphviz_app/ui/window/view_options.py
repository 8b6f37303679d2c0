"""View and run options remembered in the settings: theme, direction, layout engine, shared leaves, device, colouring, minimap."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup

from ...core.graph import gradflow
from .. import theme


class ViewOptions(QObject):
    """Remembered view and run options. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def apply_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        self.w.theme_name = name
        self.w.colors = theme.apply_theme(QApplication.instance(), name)
        self.w.scene.set_colors(self.w.colors)
        self.w.plots.set_dark(name == "dark")
        self.w.run_view.set_dark(name == "dark")
        self.w.minimap.schedule()

    def set_shared_leaves(self, name: str, value: bool | None) -> None:
        """One drawn copy of a shared leaf (a weight used by every RNN step) per use, one
        box, or automatic; remembered."""
        self.w.settings.setValue("view/shared_leaves", name)
        self.w._relayout_focus = ""
        self.w.controller.set_split_leaves(value)

    def set_layout_engine(self, engine: str) -> None:
        self.w.settings.setValue("view/layout_engine", engine)
        self.w.act_engine_embedded.setChecked(engine != "dot")
        self.w.act_engine_dot.setChecked(engine == "dot")
        self.w.controller.set_layout_engine(engine)

    def set_direction(self, direction: str) -> None:
        self.w.settings.setValue("view/direction", direction)
        self.w.act_tb.setChecked(direction == "TB")
        self.w.act_bt.setChecked(direction == "BT")
        self.w.controller.set_direction(direction)

    def fill_devices(self) -> None:
        from ...core.system.devices import list_devices

        try:
            devices = list_devices()
        except Exception:
            devices = []
        self.w.device_combo.clear()
        self.w.device_menu.clear()
        group = QActionGroup(self.w)
        for d in devices:
            self.w.device_combo.addItem(f"{d.name}", d.name)
            self.w.device_combo.setItemData(self.w.device_combo.count() - 1, d.description, Qt.ToolTipRole)
            act = QAction(f"{d.name} — {d.description}", self.w, checkable=True)
            act.setChecked(d.name == self.w.controller.device)
            act.triggered.connect(lambda checked=False, n=d.name: self.set_device(n))
            group.addAction(act)
            self.w.device_menu.addAction(act)
        i = self.w.device_combo.findData(self.w.controller.device)
        if i < 0:
            self.w.device_combo.addItem(self.w.controller.device, self.w.controller.device)
            i = self.w.device_combo.count() - 1
        self.w.device_combo.setCurrentIndex(i)

    def device_chosen(self, index: int) -> None:
        name = self.w.device_combo.itemData(index)
        if name and name != self.w.controller.device:
            self.set_device(name)

    def set_device(self, name: str) -> None:
        """Switch device; the open scenario runs again there."""
        if self.w.controller.set_device(name):
            self.w.settings.setValue("run/device", name)
            self.w.log_line(f"Device: {name}")
            self.w.plots.norms.clear_series()
        i = self.w.device_combo.findData(self.w.controller.device)
        if i >= 0:
            self.w.device_combo.setCurrentIndex(i)
        for act in self.w.device_menu.actions():
            act.setChecked(act.text().split(" ")[0] == self.w.controller.device)

    def set_flow_mode(self, on: bool) -> None:
        self.w.scene.set_color_mode("flow" if on else "kind")
        self.w.legend.setVisible(on)
        self.w._place_overlays()
        self.update_legend()
        self.w.minimap.schedule()

    def set_edge_norms(self, on: bool) -> None:
        self.w.scene.set_edge_label_mode("shape_norm" if on else "value")

    def set_minimap(self, on: bool) -> None:
        self.w._place_overlays()
        if on:
            self.w.minimap.rerender()

    def set_record_sources(self, on: bool) -> None:
        self.w.controller.record_sources = on

    def update_legend(self) -> None:
        if self.w.scene.graph is None or not self.w.legend.isVisible():
            return
        rep = gradflow.flow_report(self.w.scene.graph)
        self.w.legend.set_counts({k: len(v) for k, v in rep.items()})
