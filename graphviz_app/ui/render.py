"""Render a graph to files: PNG through an offscreen Qt scene, the rest through core.

Works without a display: the CLI sets ``QT_QPA_PLATFORM=offscreen`` before Qt starts.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from ..core.graph import Graph
from .graph_scene import GraphScene
from .theme import LIGHT, Colors

FORMATS = ("png", "svg", "dot", "json")
MAX_PIXELS = 16000 * 16000


def render_png(graph: Graph, layout, path: str | Path, scale: float = 2.0, colors: Colors = LIGHT) -> Path:
    scene = GraphScene(colors)
    scene.set_graph(graph, layout)
    rect = scene.sceneRect()
    w, h = rect.width() * scale, rect.height() * scale
    if w * h > MAX_PIXELS:  # keep huge graphs within what a PNG viewer opens
        scale *= (MAX_PIXELS / (w * h)) ** 0.5
        w, h = rect.width() * scale, rect.height() * scale
    image = QImage(max(1, int(w)), max(1, int(h)), QImage.Format_ARGB32)
    image.fill(QColor(colors.background))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect, Qt.KeepAspectRatio)
    painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return Path(path)


def format_of(path: str | Path, fmt: str | None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def export_graph(graph: Graph, layout, path: str | Path, fmt: str | None = None, direction: str = "TB",
                 colors: Colors = LIGHT) -> Path:
    fmt = format_of(path, fmt)
    if fmt == "png":
        return render_png(graph, layout, path, colors=colors)
    if fmt == "svg":
        from ..core.export_svg import write_svg

        write_svg(graph, layout, path)
    elif fmt == "dot":
        from ..core.export_dot import write_dot

        write_dot(graph, path, direction=direction)
    else:
        from ..core import snapshot

        snapshot.save(graph, path)
    return Path(path)
