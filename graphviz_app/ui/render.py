"""Render a graph to files: PNG and PDF through an offscreen Qt scene, the rest through core.

Works without a display: the CLI sets ``QT_QPA_PLATFORM=offscreen`` before Qt starts.
PDF is vector (boxes, curves and text stay paths and text, not pixels).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter

from ..core.graph.model import Graph
from .graph_scene import GraphScene
from .theme import LIGHT, Colors

FORMATS = ("png", "svg", "pdf", "dot", "json")
MAX_PIXELS = 40_000_000  # ~160 MB of ARGB; more makes PNG export slow and viewers choke
MAX_SIDE = 32767  # the longest side image viewers (and QPainter) handle
PNG_QUALITY = 70  # zlib level 2: within a few percent of the default size, much faster
MAX_PDF_POINTS = 14400.0  # 200 inches: the largest page PDF readers accept


def _scene(graph: Graph, layout, colors: Colors, color_mode: str = "kind") -> GraphScene:
    scene = GraphScene(colors)
    scene.set_graph(graph, layout)
    if color_mode != "kind":
        scene.set_color_mode(color_mode)
    scene.place_edge_labels()  # now: no event loop turn comes before the picture is taken
    return scene


def render_png(graph: Graph, layout, path: str | Path, scale: float = 2.0, colors: Colors = LIGHT,
               color_mode: str = "kind") -> Path:
    """The whole graph as a PNG, ``scale`` pixels per scene unit (reduced for huge graphs);
    ``color_mode`` "flow" colours it by gradient norm."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    scene = _scene(graph, layout, colors, color_mode)
    rect = scene.sceneRect()
    w, h = rect.width() * scale, rect.height() * scale
    if w * h > MAX_PIXELS:  # keep huge graphs within what a PNG viewer opens
        scale *= (MAX_PIXELS / (w * h)) ** 0.5
        w, h = rect.width() * scale, rect.height() * scale
    if max(w, h) > MAX_SIDE:
        scale *= MAX_SIDE / max(w, h)
        w, h = rect.width() * scale, rect.height() * scale
    image = QImage(max(1, int(w)), max(1, int(h)), QImage.Format_RGB32)
    image.fill(QColor(colors.background))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect, Qt.KeepAspectRatio)
    painter.end()
    if not image.save(str(path), "PNG", PNG_QUALITY):
        raise OSError(f"could not write {path}")
    return Path(path)


def render_pdf(graph: Graph, layout, path: str | Path, colors: Colors = LIGHT) -> Path:
    """The whole graph on one vector PDF page (1 scene unit = 1 pt, shrunk to fit 200 inches)."""
    scene = _scene(graph, layout, colors)
    rect = scene.sceneRect()
    shrink = min(1.0, MAX_PDF_POINTS / max(rect.width(), 1.0), MAX_PDF_POINTS / max(rect.height(), 1.0))
    page_w, page_h = max(1.0, rect.width() * shrink), max(1.0, rect.height() * shrink)
    writer = QPdfWriter(str(path))
    writer.setCreator("graphviz-app")
    writer.setTitle(str(graph.meta.get("scenario") or Path(path).stem))
    writer.setResolution(72)  # 1 device pixel = 1 pt
    writer.setPageSize(QPageSize(QSizeF(page_w, page_h), QPageSize.Point, "graph", QPageSize.ExactMatch))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"could not write {path}")
    painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, page_w, page_h), QColor(colors.background))
    scene.render(painter, QRectF(0, 0, page_w, page_h), rect, Qt.KeepAspectRatio)
    if not painter.end():
        raise OSError(f"could not write {path}")
    if not Path(path).exists() or Path(path).stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return Path(path)


def format_of(path: str | Path, fmt: str | None) -> str:
    fmt = (fmt or Path(path).suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def export_graph(graph: Graph, layout, path: str | Path, fmt: str | None = None, direction: str = "TB",
                 colors: Colors = LIGHT, scale: float = 2.0) -> Path:
    """Write ``graph`` (drawn with ``layout``) as png/svg/pdf/dot/json, by ``fmt`` or the suffix.

    Pictures and DOT show what the layout drew (collapsed modules as one box each); the
    JSON snapshot always holds every node."""
    fmt = format_of(path, fmt)
    drawn = getattr(layout, "drawn", None) or graph  # with collapsed modules: the boxes on screen
    if fmt == "png":
        return render_png(graph, layout, path, scale=scale, colors=colors)
    if fmt == "pdf":
        return render_pdf(graph, layout, path, colors=colors)
    if fmt == "svg":
        from ..core.draw.export_svg import write_svg

        write_svg(drawn, layout, path)
    elif fmt == "dot":
        from ..core.draw.export_dot import write_dot

        write_dot(drawn, path, direction=direction)
    else:
        from ..core.files import snapshot

        snapshot.save(graph, path)
    return Path(path)
