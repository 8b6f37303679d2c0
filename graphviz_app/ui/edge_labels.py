"""Placing the scene's edge labels so that none lies over a box or another label.

Each label tries spots along its edge (the middle first, then towards either end,
right of the curve and then left of it) and takes the first that is clear of every
box and every label already placed. A label with no clear spot, and every label of
a node with more than ``FANOUT_LABELS`` labelled out-edges, is hidden; its edge's
tool tip then carries the text (and says why), and the Inspector lists the values.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from .scene_items import NodeItem

FANOUT_LABELS = 6  # more labelled out-edges than this at one node: tool tips only
SPOTS = (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85)  # fractions of the edge's length
GAP = 3.0  # clearance from the curve and from boxes
LABEL_GAP = 6.0  # clearance between two labels side by side
CELL = 120.0  # grid cell for the overlap look-ups
HIDDEN_NOTE = "(label hidden: no room beside the edge here; the Inspector lists every value)"


class EdgeLabel(QGraphicsSimpleTextItem):
    """An edge's value, on a patch of the background so a curve under it does not
    strike it through."""

    backdrop = QColor(255, 255, 255, 210)

    def paint(self, painter, option, widget=None) -> None:
        painter.setPen(Qt.NoPen)
        painter.setBrush(self.backdrop)
        painter.drawRect(self.boundingRect())
        super().paint(painter, option, widget)

    def set_backdrop(self, color: str) -> None:
        c = QColor(color)
        c.setAlpha(210)
        self.backdrop = c
        self.update()


class _Grid:
    """Rectangles bucketed by cell, for "does this rect hit any of them" in O(local)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[QRectF]] = {}

    def _keys(self, r: QRectF):
        for cx in range(math.floor(r.left() / CELL), math.floor(r.right() / CELL) + 1):
            for cy in range(math.floor(r.top() / CELL), math.floor(r.bottom() / CELL) + 1):
                yield cx, cy

    def add(self, r: QRectF) -> None:
        for k in self._keys(r):
            self.cells.setdefault(k, []).append(r)

    def hits(self, r: QRectF) -> bool:
        return any(r.intersects(o) for k in self._keys(r) for o in self.cells.get(k, ()))


def point_at(points, t: float) -> tuple[float, float]:
    """The point a fraction ``t`` of the way along a polyline."""
    pts = points.tolist() if hasattr(points, "tolist") else [list(p) for p in points]
    seg = [math.dist(a, b) for a, b in zip(pts, pts[1:])]
    goal, run = t * sum(seg), 0.0
    for (a, b), d in zip(zip(pts, pts[1:]), seg):
        if run + d >= goal and d > 0:
            f = (goal - run) / d
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        run += d
    return tuple(pts[-1])


def _candidates(points, w: float, h: float):
    for t in SPOTS:
        x, y = point_at(points, t)
        yield QRectF(x + GAP + 2, y - h / 2, w, h)
        yield QRectF(x - GAP - 2 - w, y - h / 2, w, h)


def place_labels(scene) -> int:
    """Place or hide every edge label of ``scene``; the number hidden."""
    boxes, placed = _Grid(), _Grid()
    for items in scene.items_by_id.values():
        for it in items:
            if isinstance(it, NodeItem):
                boxes.add(it.mapRectToScene(it._rect).adjusted(-GAP, -GAP, GAP, GAP))
    crowded = _crowded(scene)
    hidden = 0
    scene.hidden_labels_at = at = {}  # node id -> how many of its out-edges lost their label
    for i, label in scene.edge_labels.items():
        text = label.text()
        edges = scene.edge_items_by_edge.get(i, ())
        if not text or not edges:
            label.setVisible(False)
            continue
        br = label.boundingRect()
        spot = None
        if scene.drawn.edges[i].src not in crowded:
            spot = next((r for r in _candidates(edges[0].points, br.width(), br.height())
                         if not boxes.hits(r) and not placed.hits(r)), None)
        for e in edges:
            e.setToolTip(f"gradient along this edge: {text}" + ("" if spot else "\n" + HIDDEN_NOTE))
        if spot is None:
            label.setVisible(False)
            hidden += 1
            src = scene.drawn.edges[i].src
            at[src] = at.get(src, 0) + 1
            continue
        label.setPos(spot.topLeft() - br.topLeft())
        label.setVisible(True)
        placed.add(spot.adjusted(-LABEL_GAP, -1, LABEL_GAP, 1))  # neighbours do not read as one
    return hidden


def _crowded(scene) -> set[str]:
    """Nodes with more labelled out-edges than FANOUT_LABELS."""
    out = set()
    for nid, idx in scene.out_edges.items():
        if sum(1 for i in idx if i in scene.edge_labels and scene.edge_labels[i].text()) > FANOUT_LABELS:
            out.add(nid)
    return out
