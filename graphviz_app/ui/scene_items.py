"""The scene's items: one box (:class:`NodeItem`) per drawn node, one curve
(:class:`EdgeItem`) per drawn edge, and the box sizes the layout reserves for them.

Boxes are single items with their own ``paint`` (quick to build; text is skipped
when zoomed out too far to read it). They know nothing of torch: they read a
:class:`~graphviz_app.core.graph.model.Node` and its summaries.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QStyleOptionGraphicsItem,
)

from ..core.draw import box_text as bt
from ..core.draw import text_metrics as tm
from ..core.draw.box_text import (
    box_size as box_size,  # re-exported: the layout sizes boxes with it
)
from ..core.draw.box_text import node_detail
from ..core.graph.model import LEAF, OUTPUT, Node
from .fonts import box_font
from .overview import (
    ACTIVE_PREFIX,
    BREAKPOINT_COLOR,
    CURRENT_RANK,
    DIM_ALPHA,
    DIM_SUFFIX,
)
from .theme import LIGHT, Colors

LINE_H = bt.LINE_H
TEXT_LOD = 0.12  # below this zoom, boxes are drawn without text (the overview takes over)
DETAIL_LOD = 0.35  # below this, a box shows only its name, in a larger font
NAME_MIN_SCREEN_PX = 8.0  # ... as large as fits the box, aiming at this size on screen
NAME_MAX_PX = 28.0  # the largest name a 42-unit box holds
SELECTED_COLOR = "#2f6db5"
MATCH_COLOR = "#e040fb"
NONFINITE_OUTLINE = "#ff0000"
FLOW_PROBLEMS = ("vanishing", "exploding", "nonfinite")


EDGE_VALUES_MAX = 4  # edges show the values of gradients up to this size, else shape and norm


def _numel(summary: dict) -> int:
    n = 1
    for d in summary.get("shape", []):
        n *= int(d)
    return n


class NodeItem(QGraphicsRectItem):
    """One drawn box. A shared leaf drawn once per use has several items.

    State that most boxes share is kept in class attributes (an instance gets its own
    only once it differs), and the box's rect is made when it is painted: building a
    big scene then makes fewer Python objects, so the garbage collector's full passes
    (100-270 ms each at 18k boxes) come less often.
    """

    current = False
    breakpoint = False
    flow: str | None = None  # fill colour in gradient-flow mode
    flow_class = "none"
    match = False  # search hit
    dim = False
    _detail: str | None = None  # the numbers line, built when first painted
    members: list[Node] | tuple = ()  # for a collapsed module: the nodes it holds
    # Overview bookkeeping (see overview.py): the dirty set this box reports to once
    # registered, its tile, its index in the layout, its colour group and outline.
    is_edge = False
    _sink: set | None = None
    _ov_tile = None
    _ov_i = -1
    _ov_key = None
    _ov_mark = None
    _ov_bp = False

    def __init__(self, node: Node, w: float, h: float, colors: Colors) -> None:
        # The bounding box lives in C++ (a rect item's rect, 6 units around the box for
        # its outline): Qt asks for it for every item when it indexes or repaints the
        # scene, and a Python boundingRect() made that cost seconds at 100k nodes.
        super().__init__(-w / 2 - 6, -h / 2 - 6, w + 12, h + 12)
        self.node = node
        self.w, self.h = w, h
        self.colors = colors
        self.executed = node.exec_order is not None
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setZValue(1)
        self.setPen(Qt.NoPen)  # no pen: a plain rect for Qt's hit tests, not a stroked outline

    @property
    def _rect(self) -> QRectF:
        """The box around the item's position."""
        return QRectF(-self.w / 2, -self.h / 2, self.w, self.h)

    def tooltip_text(self) -> str:
        n = self.node
        if self.members:
            return (f"module {n.name}, collapsed: {len(self.members)} nodes\n"
                    "double-click or use the context menu to expand it")
        lines = [f"{n.label}  ({n.name}, {n.kind})"]
        if n.module:
            lines.append(f"module: {n.module}")
        if n.exec_order is not None:
            lines.append(f"ran #{n.exec_order + 1}")
        if self.detail:
            lines.append(self.detail)
        if self.flow_class in FLOW_PROBLEMS:
            lines.append(f"gradient {self.flow_class}")
        hidden = getattr(self.scene(), "hidden_labels_at", {}).get(n.id, 0)
        if hidden:
            lines.append(f"{hidden} edge label{'s' if hidden > 1 else ''} hidden here (too many to place): "
                         "hover an edge, or see the Inspector")
        return "\n".join(lines)

    def sceneEvent(self, event):
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.GraphicsSceneHelp:  # tooltips built on demand
            from PySide6.QtWidgets import QToolTip

            QToolTip.showText(event.screenPos(), self.tooltip_text())
            return True
        return super().sceneEvent(event)

    @property
    def label(self) -> str:
        return self.node.label

    @property
    def detail(self) -> str:
        if self._detail is None:
            if self.members:
                ran = sum(1 for m in self.members if m.exec_order is not None)
                self._detail = bt.group_detail(len(self.members), ran)
            else:
                self._detail = node_detail(self.node)
        return self._detail

    def refresh(self) -> None:
        """Re-read the node (after it ran or its gradients were summarised); cheap: the
        text is rebuilt only when the box is painted."""
        if self.members:
            executed = any(m.exec_order is not None for m in self.members)
        else:
            executed = self.node.exec_order is not None
        self._detail = None
        if executed != self.executed:
            self.executed = executed
            self.restyle()
        else:
            self.update()  # only the text changed: nothing for the overview

    def restyle(self) -> None:
        """Repaint the box, and tell the scene's overview that its look may have changed."""
        self.update()
        if self._sink is not None:
            self._sink.add(self)

    def fill_name(self) -> str:
        """The fill colour's name (the overview groups boxes by it)."""
        if self.flow is not None:
            return self.flow
        c = self.colors
        kind = self.node.kind
        if kind == LEAF:
            return c.leaf
        if kind == OUTPUT:
            return c.output
        if self.executed:
            return c.executed
        return c.group if kind == "group" else c.op

    def fill_color(self) -> QColor:
        return QColor(self.fill_name())

    def overview_fill(self) -> str:
        """The box's colour group in the overview: the fill's name, with DIM_SUFFIX when
        dimmed (a string, not a tuple: strings are not tracked by the garbage collector)."""
        return self.fill_name() + DIM_SUFFIX if self.dim else self.fill_name()

    def overview_mark(self) -> tuple | None:
        """How the overview outlines the box, if it must stand out: (rank, colour, dashed),
        the highest rank drawn last; the same precedence as ``paint``."""
        if self.current:
            return CURRENT_RANK, self.colors.current, False
        if self.isSelected():
            return 2, SELECTED_COLOR, False
        if self.match:
            return 1, MATCH_COLOR, False
        if self.flow is not None and self.flow_class in FLOW_PROBLEMS:
            return 0, (self.flow if self.flow_class != "nonfinite" else NONFINITE_OUTLINE), \
                self.flow_class == "vanishing"
        return None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self.colors
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if self.current:
            pen = QPen(QColor(c.current), 3.5)
        elif self.isSelected():
            pen = QPen(QColor(SELECTED_COLOR), 2.5)
        elif self.match:
            pen = QPen(QColor(MATCH_COLOR), 3.0)
        elif self.flow is not None and self.flow_class in FLOW_PROBLEMS:
            pen = QPen(QColor(self.flow if self.flow_class != "nonfinite" else NONFINITE_OUTLINE), 3.0)
            if self.flow_class == "vanishing":
                pen.setStyle(Qt.DashLine)
        elif self.executed:
            pen = QPen(QColor(c.current), 1.2)
        else:
            pen = QPen(QColor(c.border), 1.0)
        painter.setPen(pen)
        fill = self.fill_color()
        if self.dim:
            fill.setAlpha(DIM_ALPHA)
        painter.setBrush(QBrush(fill))
        rect = self._rect
        if lod < TEXT_LOD:
            painter.drawRect(rect)
            return
        painter.drawRoundedRect(rect, 6, 6)
        if self.breakpoint:
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(BREAKPOINT_COLOR))
            painter.drawEllipse(QPointF(rect.left() + 2, rect.top() + 2), 5.5, 5.5)
        self._paint_text(painter, fill, lod)

    def text_runs(self, lod: float = 1.0) -> list[tuple[str, QRectF, QFont, bool]]:
        """The text the box draws at zoom ``lod``: (text, slot in item coordinates,
        font, is-the-numbers-line), each centred in its slot and elided to fit it
        (legibility tests read this). From full detail down to DETAIL_LOD: the name and
        the numbers; below it, down to TEXT_LOD, the name alone in a larger font."""
        if lod < TEXT_LOD:
            return []
        (l1, t1, w1, h1), (l2, t2, w2, h2) = bt.slots(self.w, self.h)
        if lod < DETAIL_LOD:
            px = min(NAME_MAX_PX, max(tm.LABEL_PX, NAME_MIN_SCREEN_PX / lod))
            slot = QRectF(l1, -self.h / 2, w1, self.h)
            name = self.node.label
            for size in (px, px * 0.8, px * 0.65):  # a smaller font before a cut name
                text = bt.fitted_name(name, self.w, size)
                if not text.endswith(tm.ELLIPSIS):
                    return [(text, slot, box_font(size, True), False)]
            return [(bt.fitted_name(name, self.w, px), slot, box_font(px, True), False)]
        runs = [(bt.fitted(self.node.label, self.w, True, tm.LABEL_PX), QRectF(l1, t1, w1, h1),
                 box_font(tm.LABEL_PX, True), False)]
        if self.detail:
            runs.append((bt.fitted(self.detail, self.w, False, tm.DETAIL_PX), QRectF(l2, t2, w2, h2),
                         box_font(tm.DETAIL_PX, False), True))
        return runs

    def _paint_text(self, painter: QPainter, fill: QColor, lod: float) -> None:
        c = self.colors
        if self.flow is not None:
            painter.setPen(QColor("#ffffff" if fill.lightness() < 120 else "#1b1b1b"))
        else:
            painter.setPen(QColor("#1b1b1b" if c is LIGHT else c.text))
        for text, slot, font, numbers in self.text_runs(lod):
            if numbers and self.flow is None:
                has_grad = self.node.kind == LEAF and self.node.grad is not None
                quiet = "#444444" if c is LIGHT else c.border
                painter.setPen(QColor(c.grad_text) if has_grad or self.executed else QColor(quiet))
            painter.setFont(font)
            painter.drawText(slot, Qt.AlignHCenter | Qt.AlignVCenter, text)


def smooth_path(points) -> QPainterPath:
    """A smooth curve through the polyline's points (quadratic joins at the midpoints)."""
    if hasattr(points, "tolist"):
        points = points.tolist()  # plain floats: iterating a numpy array row by row is slow
    pts = [QPointF(x, y) for x, y in points]
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

    flow: str | None = None
    active = False
    # Overview bookkeeping, as on NodeItem.
    is_edge = True
    _sink: set | None = None
    _ov_tile = None
    _ov_i = -1
    _ov_key = None
    _pens: dict = {}  # (colour name, width) -> (QPen, QColor), shared by all edges
    _shapes: tuple | None = None  # (curve, arrowhead), made when first painted

    def __init__(self, edge_index: int, points, colors: Colors) -> None:
        super().__init__()
        self.edge_index = edge_index
        self.colors = colors
        # The layout's (k, 2) array: not a Python container, so the garbage collector does
        # not walk it (lists of points for every edge made its full passes longer and more often).
        self.points = points
        pts = points.tolist() if hasattr(points, "tolist") else [list(p) for p in points]
        (x1, y1), (x2, y2) = pts[-2], pts[-1]
        # The item's path (what Qt's C++ bounding box and hit test use) is the curve plus
        # its arrowhead; paint() draws the curve itself. No Python boundingRect(): see NodeItem.
        # Its z stays 0, under the boxes.
        outline = smooth_path(pts)
        outline.addPolygon(self._arrow(x1, y1, x2, y2))
        self.setPath(outline)
        self.set_active(False)

    def shapes(self) -> tuple[QPainterPath, QPolygonF]:
        """The curve and the arrowhead paint() draws (kept once made: only edges in view get them)."""
        if self._shapes is None:
            pts = self.points.tolist() if hasattr(self.points, "tolist") else [list(p) for p in self.points]
            (x1, y1), (x2, y2) = pts[-2], pts[-1]
            self._shapes = (smooth_path(pts), self._arrow(x1, y1, x2, y2))
        return self._shapes

    @property
    def arrow_polygon(self) -> QPolygonF:
        return self.shapes()[1]

    @property
    def end(self) -> QPointF:
        x, y = self.points[-1]
        return QPointF(float(x), float(y))

    @property
    def mid(self) -> QPointF:
        pts = self.points
        if len(pts) > 2:
            x, y = pts[len(pts) // 2]
        else:
            x, y = (pts[0][0] + pts[-1][0]) / 2, (pts[0][1] + pts[-1][1]) / 2
        return QPointF(float(x), float(y))

    @staticmethod
    def _arrow(x1: float, y1: float, x2: float, y2: float) -> QPolygonF:
        dx, dy = x2 - x1, y2 - y1
        length = (dx * dx + dy * dy) ** 0.5 or 1.0
        ux, uy = dx / length * 7.0, dy / length * 7.0  # 7 units long, 7 wide
        return QPolygonF([QPointF(x2, y2), QPointF(x2 - ux - uy * 0.5, y2 - uy + ux * 0.5),
                          QPointF(x2 - ux + uy * 0.5, y2 - uy - ux * 0.5)])

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            name, width = self.colors.edge_active, 2.2
        elif self.flow is not None:
            name, width = self.flow, 2.0
        else:
            name, width = self.colors.edge, 1.1
        got = self._pens.get((name, width))
        if got is None:  # one QPen and QColor per look, not per edge
            color = QColor(name)
            got = EdgeItem._pens[(name, width)] = (QPen(color, width), color)
        self.setPen(got[0])
        self._color = got[1]
        self._color_name = name
        if self._sink is not None:
            self._sink.add(self)

    def overview_pen(self) -> str:
        """The edge's group in the overview: the colour's name, with ACTIVE_PREFIX when it
        is drawn wider (the current node's edges)."""
        return ACTIVE_PREFIX + self._color_name if self.active else self._color_name

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setPen(self.pen())
        painter.setBrush(Qt.NoBrush)
        curve, arrow = self.shapes()
        painter.drawPath(curve)
        if lod >= 0.15:  # arrowheads only when they are big enough to see
            painter.setPen(QPen(self._color, 1.0))
            painter.setBrush(QBrush(self._color))
            painter.drawPolygon(arrow)

    def set_flow(self, color: str | None) -> None:
        self.flow = color
        self.set_active(self.active)


