"""The graph as Qt items: one box per drawn node, one curve per drawn edge.

Boxes are single items with their own ``paint`` (quick to build; text is skipped
when zoomed out too far to read it). The scene knows nothing of torch: it reads a
:class:`~graphviz_app.core.graph.Graph` and a layout, and repaints a node when the
controller says its data changed.
"""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QStyleOptionGraphicsItem,
)

from ..core.graph import LEAF, OUTPUT, Graph, Node
from ..core.summary import format_summary
from .theme import LIGHT, Colors

LINE_H = 15.0
TEXT_LOD = 0.35  # below this zoom, boxes are drawn without text
MAX_EDGE_LABELS = 400  # gradient values along edges only on small graphs


def node_detail(node: Node) -> str:
    """The second line of a box: the numbers a learner looks for."""
    if node.kind == LEAF:
        if node.grad is not None:
            return f"grad = {format_summary(node.grad)}"
        shape = (node.variable or {}).get("shape", [])
        return "shape " + ("×".join(str(s) for s in shape) if shape else "()")
    if node.exec_order is not None and node.grad_inputs is not None:
        got = ", ".join(format_summary(s) for s in (node.grad_outputs or []))
        sent = ", ".join(format_summary(s) for s in node.grad_inputs)
        return f"in {got} → out {sent}" if sent else f"in {got}"
    return node.module or ""


def box_size(node: Node) -> tuple[float, float]:
    """Room for the label and a line of numbers."""
    chars = max(len(node.label), 16)
    return min(7.0 * chars + 24.0, 420.0), 42.0


class NodeItem(QGraphicsItem):
    """One drawn box. A shared leaf drawn once per use has several items."""

    def __init__(self, node: Node, w: float, h: float, colors: Colors) -> None:
        super().__init__()
        self.node = node
        self.w, self.h = w, h
        self.colors = colors
        self.executed = node.exec_order is not None
        self.current = False
        self.detail = node_detail(node)
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setAcceptHoverEvents(False)
        self.setZValue(1)
        self._rect = QRectF(-w / 2, -h / 2, w, h)
        self.setToolTip(self._tooltip())

    def _tooltip(self) -> str:
        n = self.node
        lines = [f"{n.label}  ({n.name}, {n.kind})"]
        if n.module:
            lines.append(f"module: {n.module}")
        if n.exec_order is not None:
            lines.append(f"ran #{n.exec_order}")
        if self.detail:
            lines.append(self.detail)
        return "\n".join(lines)

    @property
    def label(self) -> str:
        return self.node.label

    def refresh(self) -> None:
        """Re-read the node (after it ran or its gradients were summarised)."""
        self.executed = self.node.exec_order is not None
        self.detail = node_detail(self.node)
        self.setToolTip(self._tooltip())
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def fill_color(self) -> QColor:
        c = self.colors
        kind = self.node.kind
        base = {LEAF: c.leaf, OUTPUT: c.output, "group": c.group}.get(kind, c.op)
        if self.executed and kind not in (LEAF, OUTPUT):
            base = c.executed
        return QColor(base)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self.colors
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if self.current:
            pen = QPen(QColor(c.current), 3.0)
        elif self.isSelected():
            pen = QPen(QColor("#2f6db5"), 2.5)
        elif self.executed:
            pen = QPen(QColor(c.current), 1.2)
        else:
            pen = QPen(QColor(c.border), 1.0)
        painter.setPen(pen)
        painter.setBrush(QBrush(self.fill_color()))
        if lod < TEXT_LOD:
            painter.drawRect(self._rect)
            return
        painter.drawRoundedRect(self._rect, 6, 6)
        painter.setPen(QColor("#1b1b1b" if c is LIGHT or self.node.kind != "op" else c.text))
        font = painter.font()
        font.setPointSizeF(9.0)
        font.setBold(True)
        painter.setFont(font)
        top = QRectF(self._rect.left() + 4, self._rect.top() + 3, self.w - 8, LINE_H)
        painter.drawText(top, Qt.AlignHCenter | Qt.AlignVCenter, _elide(self.node.label, font, self.w - 8))
        if self.detail:
            font.setBold(False)
            font.setPointSizeF(8.0)
            painter.setFont(font)
            has_grad = self.node.kind == LEAF and self.node.grad is not None
            painter.setPen(QColor(c.grad_text) if has_grad or self.executed else QColor("#444444"))
            bottom = QRectF(self._rect.left() + 4, top.bottom() + 2, self.w - 8, LINE_H)
            painter.drawText(bottom, Qt.AlignHCenter | Qt.AlignVCenter, _elide(self.detail, font, self.w - 8))


def _elide(text: str, font: QFont, width: float) -> str:
    text = text.replace("\n", " ")
    if len(text) * 5 < width:  # cheap common case
        return text
    return QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)


def smooth_path(points) -> QPainterPath:
    """A smooth curve through the polyline's points (quadratic joins at the midpoints)."""
    pts = [QPointF(float(x), float(y)) for x, y in points]
    path = QPainterPath(pts[0])
    if len(pts) == 2:
        path.lineTo(pts[1])
        return path
    for i in range(1, len(pts) - 1):
        mid = (pts[i] + pts[i + 1]) / 2 if i < len(pts) - 2 else pts[i + 1]
        path.quadTo(pts[i], mid)
    return path


class EdgeItem(QGraphicsPathItem):
    """A curve with an arrowhead, pointing the way the gradient flows."""

    def __init__(self, edge_index: int, points, colors: Colors) -> None:
        super().__init__()
        self.edge_index = edge_index
        self.colors = colors
        path = smooth_path(points)
        (x1, y1), (x2, y2) = points[-2], points[-1]
        self.setPath(path)
        self.arrow = QGraphicsPolygonItem(self._arrow(QPointF(float(x1), float(y1)), QPointF(float(x2), float(y2))), self)
        self.set_active(False)
        self.setZValue(0)
        self.end = QPointF(float(x2), float(y2))
        self.mid = QPointF(*[float(v) for v in points[len(points) // 2]]) if len(points) > 2 else (
            QPointF(float(points[0][0] + x2) / 2, float(points[0][1] + y2) / 2)
        )

    @staticmethod
    def _arrow(a: QPointF, b: QPointF) -> QPolygonF:
        d = b - a
        length = (d.x() ** 2 + d.y() ** 2) ** 0.5 or 1.0
        ux, uy = d.x() / length, d.y() / length
        size = 7.0
        left = QPointF(b.x() - ux * size - uy * size * 0.5, b.y() - uy * size + ux * size * 0.5)
        right = QPointF(b.x() - ux * size + uy * size * 0.5, b.y() - uy * size - ux * size * 0.5)
        return QPolygonF([b, left, right])

    def set_active(self, active: bool) -> None:
        color = QColor(self.colors.edge_active if active else self.colors.edge)
        self.setPen(QPen(color, 2.2 if active else 1.1))
        self.arrow.setPen(QPen(color, 1.0))
        self.arrow.setBrush(QBrush(color))


class GraphScene(QGraphicsScene):
    """Items for one graph and layout; refreshes nodes as the debugger reports."""

    node_activated = Signal(str)  # a node id was clicked/selected

    def __init__(self, colors: Colors = LIGHT, parent=None) -> None:
        super().__init__(parent)
        self.colors = colors
        self.graph: Graph | None = None
        self.layout = None
        self.items_by_id: dict[str, list[NodeItem]] = {}
        self.edge_items: list[EdgeItem] = []
        self.edge_labels: dict[int, QGraphicsSimpleTextItem] = {}
        self.current: str | None = None
        self.setBackgroundBrush(QColor(colors.background))
        self.selectionChanged.connect(self._on_selection)

    # ------------------------------------------------------------- building
    def set_graph(self, graph: Graph, layout) -> None:
        self.clear()
        self.graph, self.layout = graph, layout
        self.items_by_id = {}
        self.edge_items = []
        self.edge_labels = {}
        self.current = None
        nodes = graph.nodes
        for i in range(len(layout.node_index)):
            node = nodes[int(layout.node_index[i])]
            item = NodeItem(node, float(layout.w[i]), float(layout.h[i]), self.colors)
            item.setPos(float(layout.x[i]), float(layout.y[i]))
            self.addItem(item)
            self.items_by_id.setdefault(node.id, []).append(item)
        small = len(layout.edges) <= MAX_EDGE_LABELS
        for de in layout.edges:
            item = EdgeItem(de.edge, de.points, self.colors)
            self.addItem(item)
            self.edge_items.append(item)
            if small and de.edge >= 0:
                label = QGraphicsSimpleTextItem("")
                label.setBrush(QColor(self.colors.grad_text))
                f = label.font()
                f.setPointSizeF(8.0)
                label.setFont(f)
                label.setPos(item.mid + QPointF(4, -8))
                label.setZValue(2)
                self.addItem(label)
                self.edge_labels[de.edge] = label
        margin = 40.0
        self.setSceneRect(QRectF(-margin, -margin, layout.width + 2 * margin, layout.height + 2 * margin))
        self.refresh_all()

    def set_colors(self, colors: Colors) -> None:
        self.colors = colors
        self.setBackgroundBrush(QColor(colors.background))
        for items in self.items_by_id.values():
            for it in items:
                it.colors = colors
                it.update()
        for e in self.edge_items:
            e.colors = colors
            e.set_active(False)

    # ------------------------------------------------------------ updating
    def refresh_node(self, node_id: str) -> None:
        for item in self.items_by_id.get(node_id, ()):
            item.refresh()
        self._refresh_edges_from(node_id)

    def refresh_all(self) -> None:
        for items in self.items_by_id.values():
            for item in items:
                item.refresh()
        if self.graph is not None and self.edge_labels:
            for n in self.graph.nodes:
                self._refresh_edges_from(n.id)

    def _refresh_edges_from(self, node_id: str) -> None:
        if not self.edge_labels or self.graph is None:
            return
        node = self.graph.node(node_id)
        for i, e in enumerate(self.graph.edges):
            if e.src != node_id or i not in self.edge_labels:
                continue
            s = None
            if node.grad_inputs and e.slot < len(node.grad_inputs):
                s = node.grad_inputs[e.slot]
            self.edge_labels[i].setText(format_summary(s) if s is not None else "")

    def set_current(self, node_id: str | None) -> None:
        """Highlight the node that just ran and the edges its gradient went along."""
        if self.current is not None:
            for item in self.items_by_id.get(self.current, ()):
                item.current = False
                item.update()
        for e in self.edge_items:
            e.set_active(False)
        self.current = node_id
        if node_id is None or self.graph is None:
            return
        for item in self.items_by_id.get(node_id, ()):
            item.current = True
            item.refresh()
        for item in self.edge_items:
            if 0 <= item.edge_index < len(self.graph.edges) and self.graph.edges[item.edge_index].src == node_id:
                item.set_active(True)

    def reset_execution(self) -> None:
        self.set_current(None)
        self.refresh_all()

    def node_items(self) -> Iterable[NodeItem]:
        for items in self.items_by_id.values():
            yield from items

    def shown_detail(self, node_id: str) -> str:
        """The numbers line the user sees on a node (tests read this)."""
        items = self.items_by_id.get(node_id, [])
        return items[0].detail if items else ""

    def _on_selection(self) -> None:
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                self.node_activated.emit(item.node.id)
                return


class GraphView(QGraphicsView):
    """Pan with the mouse, zoom with the wheel (around the cursor), fit on demand."""

    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)

    def wheelEvent(self, event) -> None:
        factor = 1.2 if event.angleDelta().y() > 0 else 1 / 1.2
        self.zoom(factor)

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        if not (0.02 < current * factor < 8.0):
            return
        self.scale(factor, factor)

    def fit_all(self) -> None:
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.transform().m11() > 1.5:  # small graphs: do not blow up the text
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())

    def show_node(self, node_id: str) -> None:
        items = self.scene().items_by_id.get(node_id)
        if items:
            self.ensureVisible(items[0], 60, 60)
