"""The graph as Qt items: one box per drawn node, one curve per drawn edge.

Boxes are single items with their own ``paint`` (quick to build; text is skipped
when zoomed out too far to read it). Zoomed far out on a big graph the view draws
the scene's :class:`~.overview.Overview` instead (a few bulk calls rather than a
Python ``paint`` per item). The scene knows nothing of torch: it reads a
:class:`~graphviz_app.core.graph.model.Graph` and a layout, and repaints a node when the
controller says its data changed.
"""

from __future__ import annotations

import functools
import time
import weakref
from typing import Iterable

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QRubberBand,
    QStyle,
    QStyleOptionGraphicsItem,
    QStyleOptionRubberBand,
)

from ..core.graph import gradflow
from ..core.graph.model import LEAF, OUTPUT, Graph, Node
from ..core.graph.summary import format_summary
from ..core.system import memory
from .overview import (
    ACTIVE_PREFIX,
    BREAKPOINT_COLOR,
    CURRENT_RANK,
    DIM_ALPHA,
    DIM_SUFFIX,
    Overview,
)
from .theme import LIGHT, Colors

LINE_H = 15.0
TEXT_LOD = 0.35  # below this zoom, boxes are drawn without text
MAX_EDGE_LABELS = 400  # gradient values along edges only on small graphs
CHUNK = 250  # boxes/edges added at a time when a big scene is built in chunks ...
BUILD_SLICE_S = 0.025  # ... for up to this long per event-loop turn ...
MIN_TURNS = 10  # ... and at most 1/MIN_TURNS of the items in one turn (progress shows)
CHUNKED_ABOVE = 300  # scenes with more boxes than this are built in chunks
OVERVIEW_ZOOM = 0.12  # below this zoom (text long gone) a big scene is drawn by its overview
OVERVIEW_ABOVE = 1000  # ... if it has more boxes than this
SELECTED_COLOR = "#2f6db5"
MATCH_COLOR = "#e040fb"
NONFINITE_OUTLINE = "#ff0000"
FLOW_PROBLEMS = ("vanishing", "exploding", "nonfinite")


def node_detail(node: Node) -> str:
    """The second line of a box: the numbers a learner looks for."""
    if node.kind == LEAF:
        if node.grad is not None:
            return f"grad = {format_summary(node.grad)}"
        shape = (node.variable or {}).get("shape", [])
        return "shape " + ("×".join(str(s) for s in shape) if shape else "()")
    if node.kind == "group":
        return ""  # filled by the item: how many nodes it holds and how many ran
    if node.exec_order is not None and node.grad_inputs is not None:
        got = ", ".join(format_summary(s) for s in (node.grad_outputs or []))
        sent = ", ".join(format_summary(s) for s in node.grad_inputs)
        return f"in {got} → out {sent}" if sent else f"in {got}"
    return node.module or ""


EDGE_VALUES_MAX = 4  # edges show the values of gradients up to this size, else shape and norm


def _numel(summary: dict) -> int:
    n = 1
    for d in summary.get("shape", []):
        n *= int(d)
    return n


def box_size(node: Node) -> tuple[float, float]:
    """Room for the label and a line of numbers."""
    chars = max(len(node.label), 16)
    return min(7.0 * chars + 24.0, 420.0), 42.0


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
                self._detail = f"{len(self.members)} nodes" + (f", {ran} ran" if ran else "")
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
        if self.flow is not None:
            painter.setPen(QColor("#ffffff" if fill.lightness() < 120 else "#1b1b1b"))
        else:
            painter.setPen(QColor("#1b1b1b" if c is LIGHT else c.text))
        font = painter.font()
        font.setPointSizeF(9.0)
        font.setBold(True)
        painter.setFont(font)
        top = QRectF(rect.left() + 4, rect.top() + 3, self.w - 8, LINE_H)
        painter.drawText(top, Qt.AlignHCenter | Qt.AlignVCenter, _elide(self.node.label, font, self.w - 8))
        if self.detail:
            font.setBold(False)
            font.setPointSizeF(8.0)
            painter.setFont(font)
            if self.flow is None:
                has_grad = self.node.kind == LEAF and self.node.grad is not None
                quiet = "#444444" if c is LIGHT else c.border
                painter.setPen(QColor(c.grad_text) if has_grad or self.executed else QColor(quiet))
            bottom = QRectF(rect.left() + 4, top.bottom() + 2, self.w - 8, LINE_H)
            painter.drawText(bottom, Qt.AlignHCenter | Qt.AlignVCenter, _elide(self.detail, font, self.w - 8))


def _elide(text: str, font: QFont, width: float) -> str:
    text = text.replace("\n", " ")
    if len(text) * 7.5 < width:  # cheap common case
        return text
    return QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)


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


class GraphScene(QGraphicsScene):
    """Items for one graph and layout; refreshes nodes as the debugger reports.

    Big scenes can be built in chunks (``set_graph(..., chunked=True)``): a few
    hundred items per event-loop turn, with ``build_progress`` reported, so the
    window never freezes. ``built`` is emitted when every item is in place.
    """

    node_activated = Signal(str)  # a node id was clicked/selected
    context_requested = Signal(str, QPoint)  # node id ("" for the background), screen position
    build_progress = Signal(int, int)  # done, total
    built = Signal()
    group_activated = Signal(str)  # a collapsed module's box was double-clicked (module path)

    def __init__(self, colors: Colors = LIGHT, parent=None) -> None:
        super().__init__(parent)
        self.colors = colors
        self.graph: Graph | None = None  # the captured graph (every node)
        self.drawn: Graph | None = None  # what is drawn: ``graph``, or it with modules collapsed
        self.box_of: dict[str, str] = {}  # node id -> id of the box showing it (when collapsed)
        self.layout = None
        self.items_by_id: dict[str, list[NodeItem]] = {}  # drawn box id -> items
        self.edge_items: list[EdgeItem] = []
        self.edge_items_by_edge: dict[int, list[EdgeItem]] = {}
        self.edge_labels: dict[int, QGraphicsSimpleTextItem] = {}
        self.out_edges: dict[str, list[int]] = {}  # node id -> indices into graph.edges
        self.in_edges: dict[str, list[int]] = {}
        self.current: str | None = None
        self.color_mode = "kind"  # "kind" | "flow"
        self.edge_label_mode = "value"  # "value" | "shape_norm" | "none"
        self.breakpoint_nodes: set[str] = set()
        self.matches: set[str] = set()
        self.building = False
        self._generation = 0
        self.overview = Overview(self)
        self.setBackgroundBrush(QColor(colors.background))
        # No spatial index: Qt's BSP tree was slower than scanning every item for the
        # lookups the view does (hit tests, the items in view), measured on these tall
        # layouts (18k boxes: 6-20 ms a hit test against 1.5 ms; 100k: 150 ms against
        # 27 ms; a fixed tree depth did not help) and on a square grid of boxes alike,
        # and building it stalled the first click after a big scene was loaded.
        self.setItemIndexMethod(QGraphicsScene.NoIndex)
        self.selectionChanged.connect(self._on_selection)

    def clear(self) -> None:
        """Remove every item (and let the overview forget them)."""
        self.overview.reset(QRectF(), None)
        super().clear()

    # ------------------------------------------------------------- building
    def set_graph(self, graph: Graph, layout, chunked: bool = False) -> None:
        self._generation += 1
        if self._gc_hold is None:  # no full collection in the middle of a build (core.memory)
            token = self._gc_hold = memory.hold_collections()
            # A scene gone mid-build (its window closed) lets go too.
            self.destroyed.connect(functools.partial(memory.release_collections, token))
            weakref.finalize(self, memory.release_collections, token)
        self.clear()
        self.graph, self.layout = graph, layout
        self.drawn = getattr(layout, "drawn", None) or graph
        self.box_of = getattr(layout, "box_of", None) or {}
        self.items_by_id = {}
        self.edge_items = []
        self.edge_items_by_edge = {}
        self.edge_labels = {}
        self.current = None
        self.matches = set()
        self.out_edges, self.in_edges = out_edges, in_edges = {}, {}
        for i, e in enumerate(self.drawn.edges):
            src, dst = e.src, e.dst
            if src in out_edges:
                out_edges[src].append(i)
            else:
                out_edges[src] = [i]
            if dst in in_edges:
                in_edges[dst].append(i)
            else:
                in_edges[dst] = [i]
        margin = 40.0
        self.setSceneRect(QRectF(-margin, -margin, layout.width + 2 * margin, layout.height + 2 * margin))
        self.overview.reset(self.sceneRect(), layout)
        total = len(layout.node_index) + len(layout.edges)
        if not chunked or len(layout.node_index) <= CHUNKED_ABOVE:
            self.building = True
            self._add_nodes(0, len(layout.node_index))
            self._add_edges(0, len(layout.edges))
            self._finish_build()
            return
        self.building = True
        gen = self._generation
        state = {"n": 0, "e": 0}

        def tick() -> None:
            if gen != self._generation:
                return  # a newer graph replaced this one
            n_total, e_total = len(layout.node_index), len(layout.edges)
            # Chunks until the turn's time is up: after every turn Qt walks all the scene's
            # items for dirty ones, so 250 items a turn spent 3 of 7 s of a 100k build there.
            deadline = time.perf_counter() + BUILD_SLICE_S
            budget = max(CHUNK, total // MIN_TURNS)
            added = 0
            while added < budget and (state["n"] < n_total or state["e"] < e_total):
                if state["n"] < n_total:
                    j = min(state["n"] + CHUNK, n_total)
                    self._add_nodes(state["n"], j)
                    added += j - state["n"]
                    state["n"] = j
                else:
                    j = min(state["e"] + CHUNK, e_total)
                    self._add_edges(state["e"], j)
                    added += j - state["e"]
                    state["e"] = j
                if time.perf_counter() >= deadline:
                    break
            self.build_progress.emit(state["n"] + state["e"], total)
            if state["n"] >= n_total and state["e"] >= e_total:
                self._finish_build()
            else:
                QTimer.singleShot(0, self, tick)

        QTimer.singleShot(0, self, tick)

    def _add_nodes(self, a: int, b: int) -> None:
        layout, nodes, colors = self.layout, self.drawn.nodes, self.colors
        ni, xs, ys, ws, hs = layout.node_index, layout.x, layout.y, layout.w, layout.h
        members = self._members() if self.box_of and a == 0 else getattr(self, "_member_map", {})
        self._member_map = members
        by_id, breakpoints, add = self.items_by_id, self.breakpoint_nodes, self.addItem
        X, Y, W, H = (v[a:b].tolist() for v in (xs, ys, ws, hs))
        batch = []
        for i, k in enumerate(ni[a:b].tolist()):
            node = nodes[k]
            item = NodeItem(node, W[i], H[i], colors)
            if node.kind == "group":
                item.members = members.get(node.id, [])
            item.setPos(X[i], Y[i])
            if node.id in breakpoints:
                item.breakpoint = True
            add(item)
            batch.append(item)
            by_id.setdefault(node.id, []).append(item)
        self.overview.add_nodes(batch, a)

    def _members(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for n in self.graph.nodes:
            box = self.box_of.get(n.id, n.id)
            if box != n.id:
                out.setdefault(box, []).append(n)
        return out

    def items_for(self, node_id: str) -> list[NodeItem]:
        """The items showing a node: its own box(es), or its collapsed module's box."""
        items = self.items_by_id.get(node_id)
        if items is None and self.box_of:
            items = self.items_by_id.get(self.box_of.get(node_id, ""))
        return items or []

    def box_id(self, node_id: str) -> str:
        return self.box_of.get(node_id, node_id) if self.box_of else node_id

    def collapsed(self) -> set[str]:
        """Module paths drawn as one box each."""
        return {n.name for n in self.drawn.nodes if n.kind == "group"} if self.drawn is not None else set()

    def _add_edges(self, a: int, b: int) -> None:
        edges = self.layout.edges
        small = len(edges) <= MAX_EDGE_LABELS
        colors, add, by_edge = self.colors, self.addItem, self.edge_items_by_edge
        batch = []
        for de in edges[a:b]:
            item = EdgeItem(de.edge, de.points, colors)
            add(item)
            batch.append(item)
            by_edge.setdefault(de.edge, []).append(item)
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
        self.edge_items.extend(batch)
        self.overview.add_edges(batch, a)

    _gc_hold: int | None = None

    def _finish_build(self) -> None:
        self.building = False
        if self._gc_hold is not None:
            memory.release_collections(self._gc_hold)
            self._gc_hold = None
            memory.keep()  # the new items stay out of later full collections
        self.refresh_all()  # (and the overview reads the new items on idle turns)
        self.built.emit()

    def set_colors(self, colors: Colors) -> None:
        self.colors = colors
        self.setBackgroundBrush(QColor(colors.background))
        self.overview.recolor()
        for items in self.items_by_id.values():
            for it in items:
                it.colors = colors
                it.restyle()
        for e in self.edge_items:
            e.colors = colors
            e.set_active(False)
        for lab in self.edge_labels.values():
            lab.setBrush(QColor(colors.grad_text))
        if self.current is not None:
            self.set_current(self.current)
        self.overview.warm_up()

    # ------------------------------------------------------------ updating
    def refresh_node(self, node_id: str) -> None:
        for item in self.items_for(node_id):
            item.refresh()
            if self.color_mode == "flow":
                self._apply_flow(item)
        self._refresh_edges_from(node_id)

    def refresh_nodes(self, node_ids) -> None:
        for nid in node_ids:
            self.refresh_node(nid)

    def refresh_all(self) -> None:
        flow = self.color_mode == "flow"
        for items in self.items_by_id.values():
            for item in items:
                item.refresh()
                if flow:
                    self._apply_flow(item)
                elif item.flow is not None:
                    item.flow, item.flow_class = None, "none"
                    item.restyle()
        if self.graph is not None and (self.edge_labels or flow or self._edges_flowed):
            for nid in self.out_edges:
                self._refresh_edges_from(nid)
        self._edges_flowed = flow
        if not self.building:
            self.overview.warm_up()

    _edges_flowed = False

    def _apply_flow(self, item: NodeItem) -> None:
        norm = gradflow.node_norm(item.node)
        item.flow_class = gradflow.classify(norm)
        item.flow = gradflow.color_for_norm(norm)
        item.restyle()

    def _edge_summary(self, node: Node, slot: int):
        if node.grad_inputs and slot < len(node.grad_inputs):
            return node.grad_inputs[slot]
        return None

    def _refresh_edges_from(self, node_id: str) -> None:
        if self.drawn is None:
            return
        flow = self.color_mode == "flow"
        if not self.edge_labels and not flow and not self._edges_flowed:
            return
        if node_id not in self.out_edges:
            return
        node = self.drawn.node(node_id)
        for i in self.out_edges.get(node_id, ()):
            e = self.drawn.edges[i]
            s = self._edge_summary(node, e.slot)
            label = self.edge_labels.get(i)
            if label is not None:
                if self.edge_label_mode == "none" or s is None:
                    label.setText("")
                elif self.edge_label_mode == "shape_norm" or _numel(s) > EDGE_VALUES_MAX:
                    label.setText(gradflow.edge_text(s))  # a list of values would run over its neighbours
                else:
                    label.setText(format_summary(s))
            color = None
            if flow and s is not None:
                n = s.get("norm")
                color = gradflow.color_for_norm(float("nan") if s.get("nonfinite") else n)
            for item in self.edge_items_by_edge.get(i, ()):
                if item.flow != color:
                    item.set_flow(color)

    def set_color_mode(self, mode: str) -> None:
        """"kind" (torchviz colours, executed nodes tinted) or "flow" (log gradient norm)."""
        self.color_mode = mode
        self.refresh_all()

    def set_edge_label_mode(self, mode: str) -> None:
        self.edge_label_mode = mode
        if self.graph is not None:
            for nid in self.out_edges:
                self._refresh_edges_from(nid)

    def set_current(self, node_id: str | None) -> None:
        """Highlight the node that just ran and the edges its gradient went along."""
        if self.current is not None:
            for item in self.items_for(self.current):
                item.current = False
                item.restyle()
            for i in self.out_edges.get(self.current, ()):
                for e in self.edge_items_by_edge.get(i, ()):
                    e.set_active(False)
        self.current = node_id
        if node_id is None or self.graph is None:
            return
        for item in self.items_for(node_id):
            item.current = True
            item.refresh()
            item.restyle()
        for i in self.out_edges.get(node_id, ()):
            for e in self.edge_items_by_edge.get(i, ()):
                e.set_active(True)

    def set_breakpoint_nodes(self, ids) -> None:
        ids = set(ids)
        for nid in self.breakpoint_nodes | ids:
            on = nid in ids
            for item in self.items_for(nid):
                if item.breakpoint != on:
                    item.breakpoint = on
                    item.restyle()
        self.breakpoint_nodes = ids

    def set_matches(self, ids) -> None:
        """Mark search hits (and dim the rest while a search is active)."""
        ids = set(ids)
        searching = bool(ids)
        if self.box_of:
            ids = {self.box_of.get(i, i) for i in ids}
        for nid, items in self.items_by_id.items():
            hit = nid in ids
            for item in items:
                if item.match != hit or item.dim != (searching and not hit):
                    item.match = hit
                    item.dim = searching and not hit
                    item.restyle()
        self.matches = ids

    def reset_execution(self) -> None:
        self.set_current(None)
        self.refresh_all()

    def box_count(self) -> int:
        """How many boxes the scene draws (registered so far, while it is being built)."""
        return len(self.overview)

    def node_items(self) -> Iterable[NodeItem]:
        for items in self.items_by_id.values():
            yield from items

    def shown_detail(self, node_id: str) -> str:
        """The numbers line the user sees on a node (tests read this)."""
        items = self.items_for(node_id)
        return items[0].detail if items else ""

    def fill_of(self, node_id: str) -> str:
        """The fill colour a node is drawn with now (tests read this)."""
        items = self.items_for(node_id)
        return items[0].fill_color().name() if items else ""

    def select_node(self, node_id: str) -> None:
        """Select a node's box (as a click would)."""
        self.select_nodes([node_id])

    def select_nodes(self, ids) -> None:
        ids = list(ids)
        self.blockSignals(True)
        self.clearSelection()
        for nid in ids:
            for item in self.items_for(nid):
                item.setSelected(True)
        self.blockSignals(False)
        if ids:
            self.node_activated.emit(ids[0])

    def selected_ids(self) -> list[str]:
        return list(dict.fromkeys(i.node.id for i in self.selectedItems() if isinstance(i, NodeItem)))

    def items_rect(self, ids) -> QRectF:
        rect = QRectF()
        for nid in ids:
            for item in self.items_for(nid):
                rect = rect.united(item.sceneBoundingRect())
        return rect

    def neighbour(self, node_id: str, towards: str) -> str | None:
        """Keyboard navigation: "next" (where the gradient goes), "prev" (where it came
        from), "left"/"right" (the box beside it on the same layer)."""
        g = self.drawn
        node_id = self.box_id(node_id)
        if g is None or node_id not in g:
            return None
        if towards == "next":
            idx = self.out_edges.get(node_id, [])
            return g.edges[idx[0]].dst if idx else None
        if towards == "prev":
            idx = self.in_edges.get(node_id, [])
            return g.edges[idx[0]].src if idx else None
        items = self.items_for(node_id)
        if not items:
            return None
        me = items[0].pos()
        row = [it for its in self.items_by_id.values() for it in its if abs(it.pos().y() - me.y()) < 1.0]
        row.sort(key=lambda it: it.pos().x())
        xs = [it.node.id for it in row]
        k = next((i for i, it in enumerate(row) if it is items[0]), 0)
        k += 1 if towards == "right" else -1
        return xs[k] if 0 <= k < len(xs) else None

    def _on_selection(self) -> None:
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                self.node_activated.emit(item.node.id)
                return

    def mouseDoubleClickEvent(self, event) -> None:
        item = self.itemAt(event.scenePos(), self.views()[0].transform() if self.views() else None)
        if isinstance(item, NodeItem) and item.members:
            self.group_activated.emit(item.node.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:
        item = self.itemAt(event.scenePos(), self.views()[0].transform() if self.views() else None)
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        nid = item.node.id if isinstance(item, NodeItem) else ""
        if nid:
            self.select_node(nid)
        self.context_requested.emit(nid, event.screenPos())
        event.accept()


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
