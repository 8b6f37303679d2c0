"""The graph as a Qt scene: builds the items of a graph and its layout (big scenes in
chunks, so the window keeps painting), then keeps their marks and colours current
(the node that ran, the current node, breakpoints, search matches, gradient flow).

The scene knows nothing of torch: it reads a :class:`~graphviz_app.core.graph.model.Graph`
and a layout, and repaints a node when the controller says its data changed.
"""

from __future__ import annotations

import functools
import time
import weakref
from typing import Iterable

from PySide6.QtCore import QPoint, QRectF, QTimer, Signal
from PySide6.QtGui import (
    QColor,
)
from PySide6.QtWidgets import (
    QGraphicsScene,
)

from ..core.graph import gradflow
from ..core.graph.model import Graph, Node
from ..core.graph.summary import format_summary
from ..core.system import memory
from .edge_labels import EdgeLabel, place_labels
from .fonts import box_font
from .overview import (
    Overview,
)
from .scene_items import (
    EDGE_VALUES_MAX,
    EdgeItem,
    NodeItem,
    _numel,
)
from .theme import LIGHT, Colors

EDGE_LABEL_PX = 10.0
MAX_EDGE_LABELS = 400  # gradient values along edges only on small graphs
CHUNK = 250  # boxes/edges added at a time when a big scene is built in chunks ...
BUILD_SLICE_S = 0.025  # ... for up to this long per event-loop turn ...
MIN_TURNS = 10  # ... and at most 1/MIN_TURNS of the items in one turn (progress shows)
CHUNKED_ABOVE = 300  # scenes with more boxes than this are built in chunks


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
        self.edge_labels: dict[int, EdgeLabel] = {}
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
                label = EdgeLabel("")
                label.setBrush(QColor(self.colors.grad_text))
                label.set_backdrop(self.colors.background)
                label.setFont(box_font(EDGE_LABEL_PX))
                label.setVisible(False)  # until placed (edge_labels.place_labels)
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
            lab.set_backdrop(colors.background)
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
        norm = gradflow.box_norm(item.node, item.members)
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
                self._schedule_labels()
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

    _labels_due = False

    def _schedule_labels(self) -> None:
        """Place the edge labels again once the current batch of refreshes is done."""
        if not self._labels_due:
            self._labels_due = True
            QTimer.singleShot(0, self, self.place_edge_labels)

    def place_edge_labels(self) -> int:
        """Lay the edge labels out clear of the boxes and of each other (the ones with
        no room go into their edge's tool tip); how many were hidden."""
        self._labels_due = False
        return place_labels(self) if self.drawn is not None else 0

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

