"""The view on a :class:`~.scene_build.GraphScene`: pan, zoom, fit, keyboard moves.
Zoomed far out on a big graph it draws the scene's :class:`~.overview.Overview`
instead (a few bulk calls rather than a Python ``paint`` per item).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import (
    QPainter,
)
from PySide6.QtWidgets import (
    QGraphicsView,
    QRubberBand,
    QStyle,
    QStyleOptionRubberBand,
)

from .scene_build import GraphScene

OVERVIEW_ZOOM = 0.12  # below this zoom (text long gone) a big scene is drawn by its overview
OVERVIEW_ABOVE = 1000  # ... if it has more boxes than this


class GraphView(QGraphicsView):
    """Pan with the mouse, zoom with the wheel (around the cursor), fit on demand.

    Keys: arrows move the selection between connected nodes (Down/Up follow the
    gradient forward/back, Left/Right go along the layer); Enter centres it.

    Zoomed out below ``OVERVIEW_ZOOM`` on a scene of more than ``OVERVIEW_ABOVE`` boxes
    it paints the scene's overview (boxes and edges in a few bulk calls) instead of
    every item: at that size no text is drawn anyway, and one Python ``paint`` per item
    cost about half a second a frame at 18k boxes. Everything else (selection, tool
    tips, clicks, menus) still goes through the items.
    """

    view_changed = Signal()
    overview_enabled = True  # the benchmark turns it off to measure the per-item drawing

    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setFocusPolicy(Qt.StrongFocus)
        self.horizontalScrollBar().valueChanged.connect(self.view_changed)
        self.verticalScrollBar().valueChanged.connect(self.view_changed)

    def uses_overview(self) -> bool:
        """Whether a frame now is drawn by the scene's overview."""
        scene = self.scene()
        return (self.overview_enabled and self.transform().m11() < OVERVIEW_ZOOM
                and isinstance(scene, GraphScene) and scene.box_count() > OVERVIEW_ABOVE)

    def paintEvent(self, event) -> None:
        if not self.uses_overview():
            super().paintEvent(event)
            return
        scene: GraphScene = self.scene()
        vp = self.viewport()
        exposed = event.rect()
        tf = self.viewportTransform()
        inverse, _ = tf.inverted()
        area = inverse.mapRect(QRectF(exposed))
        painter = QPainter(vp)  # clipped to the exposed region by Qt
        painter.setTransform(tf)
        self.drawBackground(painter, area)
        changed = scene.overview.paint(painter, area)
        self.drawForeground(painter, area)
        band = self.rubberBandRect()
        if self.dragMode() == QGraphicsView.RubberBandDrag and not band.isEmpty():
            painter.resetTransform()
            opt = QStyleOptionRubberBand()
            opt.initFrom(vp)
            opt.rect = band
            opt.shape = QRubberBand.Rectangle
            self.style().drawControl(QStyle.CE_RubberBand, opt, painter, vp)
        painter.end()
        if changed and exposed != vp.rect():
            # Qt asked for the changed items' own areas; an outline drawn at a minimum
            # size in pixels may reach beyond them, so draw the whole view once more.
            vp.update()

    def wheelEvent(self, event) -> None:
        factor = 1.2 if event.angleDelta().y() > 0 else 1 / 1.2
        self.zoom(factor)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        if not (0.005 < current * factor < 8.0):
            return
        self.scale(factor, factor)
        self.view_changed.emit()

    def initial_view(self) -> None:
        """Fit the graph; a graph too big to read when fitted opens at a readable zoom on
        its output instead (the minimap shows the rest)."""
        self.fit_all()
        scene = self.scene()
        if self.transform().m11() >= 0.2 or scene.graph is None:
            return
        self.resetTransform()
        self.scale(0.6, 0.6)
        outs = [n.id for n in scene.graph.outputs()] or [scene.graph.nodes[0].id]
        items = scene.items_for(outs[0])
        if items:
            self.centerOn(items[0])
        self.view_changed.emit()

    def fit_all(self) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.transform().m11() > 1.5:  # small graphs: do not blow up the text
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())
        self.view_changed.emit()

    def zoom_to(self, ids) -> bool:
        """Fit the boxes of ``ids`` (at most 150% zoom)."""
        rect = self.scene().items_rect(ids)
        if rect.isEmpty():
            return False
        rect = rect.adjusted(-80, -60, 80, 60)
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.transform().m11() > 1.5:
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())
        self.view_changed.emit()
        return True

    def show_node(self, node_id: str) -> None:
        items = self.scene().items_for(node_id)
        if items:
            self.ensureVisible(items[0], 60, 60)

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def keyPressEvent(self, event) -> None:
        scene: GraphScene = self.scene()
        key = event.key()
        moves = {Qt.Key_Down: "next", Qt.Key_Up: "prev", Qt.Key_Left: "left", Qt.Key_Right: "right"}
        if key in moves and scene.graph is not None:
            sel = scene.selected_ids()
            if not sel:
                start = scene.current or (scene.graph.nodes[0].id if scene.graph.nodes else None)
                if start:
                    scene.select_node(start)
                    self.show_node(start)
                return
            towards = moves[key]
            if scene.layout is not None and scene.layout.direction == "BT" and towards in ("next", "prev"):
                towards = "prev" if towards == "next" else "next"
            nxt = scene.neighbour(sel[0], towards)
            if nxt:
                scene.select_node(nxt)
                self.show_node(nxt)
            return
        if key in (Qt.Key_Return, Qt.Key_Enter):
            sel = scene.selected_ids()
            if sel:
                items = scene.items_for(sel[0])
                if items:
                    self.centerOn(items[0])
            return
        super().keyPressEvent(event)
