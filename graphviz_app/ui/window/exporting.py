"""Exports from the window: the view as PNG, the whole graph in any format."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
)

FILTERS = (("png", "PNG image (*.png)"), ("svg", "SVG vector image (*.svg)"), ("pdf", "PDF document (*.pdf)"),
           ("dot", "Graphviz DOT (*.dot)"), ("json", "Snapshot JSON (*.json)"))


def chosen_format(path: str, selected: str) -> tuple[str, str]:
    """(path, format) for what the save dialog returned: the format the file's suffix
    names, else the selected filter's (its suffix then added to the path)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    known = dict(FILTERS)
    if suffix in known:
        return path, suffix
    fmt = next((f for f, label in FILTERS if label == selected), "png")
    return f"{path}.{fmt}", fmt


class Exporter(QObject):
    """Writes the view or the graph to a file. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def export_view_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.w, "Export view as PNG", "graph.png", "PNG image (*.png)")
        if path:
            self.export_view_png(path)

    def export_view_png(self, path: str) -> bool:
        """What is on screen now, as a PNG."""
        ok = self.w.view.viewport().grab().save(path, "PNG")
        (self.w.show_info if ok else self.w.show_error)(f"{'Exported' if ok else 'Could not write'} {path}")
        return ok

    def export_graph_dialog(self) -> None:
        path, selected = QFileDialog.getSaveFileName(
            self.w, "Export graph", "graph.png", ";;".join(label for _, label in FILTERS))
        if not path:
            return
        path, fmt = chosen_format(path, selected)
        scale = None
        if fmt == "png":  # the only format with a question of its own: the resolution
            try:
                last = float(self.w.settings.value("export/png_scale", 2.0))
            except (TypeError, ValueError):
                last = 2.0
            scale, ok = QInputDialog.getDouble(self.w, "PNG export", "Pixels per unit (1 = 100%, 2 = sharp):",
                                               last, 0.25, 8.0, 2)
            if not ok:
                return
            self.w.settings.setValue("export/png_scale", scale)
        self.export_graph(path, fmt=fmt, scale=scale)

    def export_graph(self, path: str, fmt: str | None = None, scale: float | None = None) -> bool:
        """The whole graph in the format its suffix (or ``fmt``) names (PNG at ``scale``)."""
        from ..render import export_graph

        graph, layout = self.w.scene.graph, self.w.scene.layout
        if graph is None:
            self.w.show_info("Nothing to export yet.")
            return False
        try:
            export_graph(graph, layout, path, fmt=fmt, direction=self.w.controller.direction, colors=self.w.colors,
                         scale=2.0 if scale is None else float(scale))
        except Exception as exc:
            self.w.show_error(f"Could not export {Path(path).name}: {exc}")
            return False
        self.w.show_info(f"Exported {path}")
        return True
