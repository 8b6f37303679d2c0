"""The whole graph in a few bulk calls: what a zoomed-out view and the minimap draw.

Zoomed out on a big graph every box is a pixel or less, yet drawing it through its
item costs one Python ``paint()`` per box and per edge (0.3-0.5 s a frame at 18k
boxes). :class:`Overview` instead keeps, per tile of the scene, one
``QPainterPath`` of rectangles per fill colour and one path of polylines per edge
colour, and draws each with a single call: no antialiasing, cosmetic pens (so a box
smaller than a pixel still leaves one). A second, small pass outlines the boxes that
must stay findable however far out the view is: the current node (with a marker of a
minimum size in pixels), the selection, search hits, gradient-flow problems and
breakpoints.

It is kept up to date incrementally. An item whose look changes adds itself to
:attr:`Overview.dirty`, a set it holds a reference to; at the next paint only those
items are read again, move between colour groups if their colour changed, and only
the paths of the groups concerned, in the tiles concerned, are rebuilt. So a
backward step that changes a few boxes costs a few small path rebuilds, not a pass
over every item. Selection is compared with the scene's at each paint, since Qt
changes it without telling the items' Python side.

Geometry comes from the layout (box centres and sizes, edge polylines), read when a
path is rebuilt; items only carry their index into it. Items are duck-typed (see
``NodeItem`` / ``EdgeItem`` in :mod:`.scene_items`): a box has ``overview_fill()``,
``overview_mark()``, ``current`` and ``breakpoint``; an edge has ``overview_pen()``.
"""

from __future__ import annotations

import math
import weakref

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

TILE_BOXES = 1024  # boxes per tile on average: bounds what one changed box costs to redraw
WARM_UP_ABOVE = 20_000  # a backlog of more changed items than this is worked off when idle
WARM_UP_ITEMS = 2000  # ... this many items per event-loop turn (a few ms)
WARM_UP_TILES = 2  # ... or this many tiles' paths
MARK_PX = 3  # cosmetic pen width of an outlined box (selection, search hit, problem)
CURRENT_PX = 11  # the current node's marker is at least this many pixels across
BREAKPOINT_PX = 3.5  # radius of a breakpoint's dot, pixels
BREAKPOINT_COLOR = "#e51400"
CURRENT_RANK = 3  # the rank in a box's outline style that marks the current node
DIM_SUFFIX = "~"  # a box's fill key ends with this when it is dimmed (a search is on, no hit)
DIM_ALPHA = 70  # opacity of a dimmed box's fill (the overview blends it with the background)
ACTIVE_PREFIX = "*"  # an edge's pen key starts with this when it is drawn wide (sorts last)


class _Tile:
    """The items whose box centre (or edge midpoint) falls in one cell of the grid."""

    __slots__ = ("overview", "nodes", "edges", "node_paths", "edge_paths", "stale_nodes", "stale_edges",
                 "bounds")

    def __init__(self, overview: Overview) -> None:
        self.overview = overview
        self.nodes: dict[str, set] = {}  # fill key -> boxes
        self.edges: dict[str, set] = {}  # pen key -> edges
        self.node_paths: dict[str, QPainterPath] = {}
        self.edge_paths: dict[str, QPainterPath] = {}
        self.stale_nodes: set[str] = set()
        self.stale_edges: set[str] = set()
        self.bounds = QRectF()  # of everything drawn from this tile (edges may reach out of the cell)

    def rebuild(self) -> None:
        for key in self.stale_nodes:
            members = self.nodes.get(key)
            if not members:
                self.nodes.pop(key, None)
                self.node_paths.pop(key, None)
                continue
            path = QPainterPath()
            add = path.addRect
            left, top, w, h = self.overview.boxes
            for it in members:
                i = it._ov_i
                add(left[i], top[i], w[i], h[i])
            self.node_paths[key] = path
        for key in self.stale_edges:
            members = self.edges.get(key)
            if not members:
                self.edges.pop(key, None)
                self.edge_paths.pop(key, None)
                continue
            path = QPainterPath()
            move, line = path.moveTo, path.lineTo
            edges = self.overview.layout.edges
            for it in members:
                pts = edges[it._ov_i].points.tolist()
                move(*pts[0])
                for p in pts[1:]:
                    line(*p)
            self.edge_paths[key] = path
        self.stale_nodes.clear()
        self.stale_edges.clear()
        bounds = QRectF()
        for path in self.node_paths.values():
            bounds = bounds.united(path.boundingRect())
        for path in self.edge_paths.values():
            bounds = bounds.united(path.boundingRect())
        self.bounds = bounds


class Overview:
    """Bulk drawing of a :class:`~.scene_build.GraphScene`'s boxes and edges."""

    def __init__(self, scene) -> None:
        # A weak reference: the scene holds its overview, and a cycle would leave every
        # replaced scene to the cyclic collector (which the app keeps away from what it holds).
        self._scene = weakref.ref(scene)
        self._warm_timer = QTimer(scene)  # goes with the scene, pending or not
        self._warm_timer.setSingleShot(True)
        self._warm_timer.setInterval(0)
        self._warm_timer.timeout.connect(self._warm_step)
        self._warm_dirty: set | None = None
        self.reset(QRectF(), None)

    @property
    def scene(self):
        return self._scene()

    def __len__(self) -> int:
        """How many boxes are registered."""
        return self._boxes

    # -------------------------------------------------------------- content
    def reset(self, rect: QRectF, layout) -> None:
        """Forget every item: a new graph with this scene rect and layout (or none)."""
        # A new set: items of the previous graph that linger in Python keep the old one.
        self.dirty: set = set()
        self._tiles: dict[tuple[int, int], _Tile] = {}
        self._boxes = 0
        self.layout = layout
        if layout is not None:  # box corners and sizes as plain floats, read by index
            self.boxes = ((layout.x - layout.w / 2).tolist(), (layout.y - layout.h / 2).tolist(),
                          layout.w.tolist(), layout.h.tolist())
            self._centres = (layout.x.tolist(), layout.y.tolist())
        else:
            self.boxes = self._centres = ((), (), (), ())
        boxes = len(self.boxes[0])
        self._origin = (rect.left(), rect.top())
        w, h = max(rect.width(), 1.0), max(rect.height(), 1.0)
        cell = w * h * TILE_BOXES / max(boxes, 1)  # scene area per tile
        tw = min(w, math.sqrt(cell))  # square tiles, unless the graph is narrower than one
        self._tile_size = (tw, min(h, cell / tw))
        self._stale_tiles: set[_Tile] = set()
        self._warming = False
        self._marks: dict[tuple, set] = {}  # mark style -> boxes
        self._mark_paths: dict[tuple, QPainterPath] = {}
        self._stale_marks: set[tuple] = set()
        self._current: set = set()
        self._breakpoints: set = set()
        self._selected: set = set()
        self._brushes: dict[str, tuple[QPen, QColor]] = {}
        self._pens: dict = {}

    def recolor(self) -> None:
        """The theme changed: drop the cached pens and colours (the items restyle themselves)."""
        self._brushes.clear()
        self._pens.clear()

    def _tile(self, x: float, y: float) -> _Tile:
        ox, oy = self._origin
        tw, th = self._tile_size
        key = (int((x - ox) // tw), int((y - oy) // th))
        tile = self._tiles.get(key)
        if tile is None:
            tile = self._tiles[key] = _Tile(self)
        return tile

    def add_nodes(self, items, first: int) -> None:
        """Register the items drawing the layout's boxes ``first``, ``first + 1``, ..."""
        dirty, tile = self.dirty, self._tile
        xs, ys = self._centres
        for i, it in enumerate(items, first):
            it._ov_i = i
            it._ov_tile = tile(xs[i], ys[i])
            it._sink = dirty
        dirty.update(items)
        self._boxes += len(items)

    def add_edges(self, items, first: int) -> None:
        """Register the items drawing the layout's edges ``first``, ``first + 1``, ...
        (each filed under the tile of the midpoint of its ends)."""
        dirty, tile = self.dirty, self._tile
        edges = self.layout.edges
        for i, it in enumerate(items, first):
            (x0, y0), (x1, y1) = edges[i].points[[0, -1]].tolist()
            it._ov_i = i
            it._ov_tile = tile((x0 + x1) / 2, (y0 + y1) / 2)
            it._sink = dirty
        dirty.update(items)

    # -------------------------------------------------------------- updating
    def sync(self, limit: int | None = None) -> bool:
        """Apply the pending changes; whether there were any. With ``limit``, read at most
        that many changed items and leave the paths for later (see :meth:`warm_up`)."""
        dirty = self.dirty
        if limit is None:
            selected = {it for it in self.scene.selectedItems() if getattr(it, "_sink", None) is dirty}
            if selected != self._selected:
                dirty.update(selected ^ self._selected)
                self._selected = selected
        changed = bool(dirty or self._stale_tiles or self._stale_marks)
        if limit is None or len(dirty) <= limit:
            items = list(dirty)
            dirty.clear()
        else:
            items = [dirty.pop() for _ in range(limit)]
        stale_tiles = self._stale_tiles
        remark = self._remark
        for it in items:
            tile = it._ov_tile
            if tile is None or it._sink is not dirty:
                continue  # not (or no longer) drawn by this overview
            if it.is_edge:
                key = it.overview_pen()
                old = it._ov_key
                if key == old:
                    continue
                groups, stale = tile.edges, tile.stale_edges
            else:
                mark, bp = it.overview_mark(), it.breakpoint
                if mark != it._ov_mark or bp != it._ov_bp:
                    remark(it, mark, bp)
                key = it.overview_fill()
                old = it._ov_key
                if key == old:
                    continue
                groups, stale = tile.nodes, tile.stale_nodes
            if old is not None:
                groups[old].discard(it)
                stale.add(old)
            members = groups.get(key)
            if members is None:
                members = groups[key] = set()
            members.add(it)
            stale.add(key)
            it._ov_key = key
            stale_tiles.add(tile)
        if limit is None:
            self._rebuild_paths()
        return changed

    def _rebuild_paths(self, tiles: int | None = None) -> None:
        """Rebuild the stale paths: every one, or those of at most ``tiles`` tiles."""
        stale = self._stale_tiles
        if tiles is None:
            for tile in stale:
                tile.rebuild()
            stale.clear()
        else:
            for _ in range(min(tiles, len(stale))):
                stale.pop().rebuild()
        if stale:
            return
        marks = self._marks
        for style in self._stale_marks:
            members = marks.get(style)
            if not members:
                marks.pop(style, None)
                self._mark_paths.pop(style, None)
                continue
            path = QPainterPath()
            for it in members:
                path.addRect(*self._box(it))
            self._mark_paths[style] = path
        self._stale_marks.clear()

    def warm_up(self) -> None:
        """Work through a big backlog (every item after a build, most after a whole backward
        pass) in slices of a few milliseconds on idle event-loop turns, so the first
        zoomed-out frame or minimap after it does not do it all at once. A paint before
        it is done simply finishes the rest."""
        if self._warming or len(self.dirty) + len(self._stale_tiles) * TILE_BOXES < WARM_UP_ABOVE:
            return
        self._warming = True
        self._warm_dirty = self.dirty
        self._warm_timer.start()

    def _warm_step(self) -> None:
        dirty = self._warm_dirty
        if self.dirty is not dirty or self.scene is None:  # reset since (a new graph), or gone
            self._warming = False
            return
        if dirty:
            self.sync(WARM_UP_ITEMS)
        elif self._stale_tiles or self._stale_marks:
            self._rebuild_paths(WARM_UP_TILES)
        else:
            self._warming = False
            self._warm_dirty = None
            return
        self._warm_timer.start()

    def _remark(self, it, mark: tuple | None, bp: bool) -> None:
        """Move a box between outline styles (rare: the current node, selection, hits...)."""
        old = it._ov_mark
        if mark != old:
            if old is not None:
                self._marks[old].discard(it)
                self._stale_marks.add(old)
            if mark is not None:
                self._marks.setdefault(mark, set()).add(it)
                self._stale_marks.add(mark)
            it._ov_mark = mark
        if mark is not None and mark[0] == CURRENT_RANK:
            self._current.add(it)
        else:
            self._current.discard(it)
        if bp:
            self._breakpoints.add(it)
        else:
            self._breakpoints.discard(it)
        it._ov_bp = bp

    # -------------------------------------------------------------- painting
    def paint(self, painter: QPainter, rect: QRectF | None = None) -> bool:
        """Draw what lies in ``rect`` (scene coordinates; everything if None) with the
        painter's current transform. Applies pending changes first and returns whether
        there were any (a caller that painted only part of its surface then repaints
        the rest: an outline may have moved out of the part Qt asked for)."""
        changed = self.sync()
        tiles = [t for t in self._tiles.values() if rect is None or t.bounds.intersects(rect)]
        painter.setRenderHint(QPainter.Antialiasing, False)
        edges: dict[str, list] = {}
        nodes: dict[str, list] = {}
        for t in tiles:
            for key, path in t.edge_paths.items():
                edges.setdefault(key, []).append(path)
            for key, path in t.node_paths.items():
                nodes.setdefault(key, []).append(path)
        painter.setBrush(Qt.NoBrush)
        for key in sorted(edges):  # thin edges first, the current node's (wider) on top
            painter.setPen(self._edge_pen(key))
            for path in edges[key]:
                painter.drawPath(path)
        # Where boxes overlap on screen (a pixel holds many when zoomed far out), what stands
        # out wins: dimmed boxes first, then unexecuted ops, then leaves, executed, flow colours.
        plain = {self.scene.colors.op, self.scene.colors.group}
        for key in sorted(nodes, key=lambda k: (not k.endswith(DIM_SUFFIX), k not in plain)):
            paths = nodes[key]
            pen, color = self._fill(key)
            painter.setPen(pen)  # same colour as the fill: a sub-pixel box still leaves a pixel
            painter.setBrush(color)
            for path in paths:
                painter.drawPath(path)
        painter.setBrush(Qt.NoBrush)
        for style in sorted(self._mark_paths):  # flow problems, search hits, selection, current
            painter.setPen(self._mark_pen(style))
            painter.drawPath(self._mark_paths[style])
        if self._current or self._breakpoints:
            self._paint_markers(painter)
        return changed

    def _paint_markers(self, painter: QPainter) -> None:
        """The current node and breakpoints at a fixed size in pixels, however small their box."""
        tf = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        colors = self.scene.colors
        pen = QPen(QColor(colors.current), 2)
        painter.setBrush(Qt.NoBrush)
        painter.setPen(pen)
        for it in self._current:  # a ring around the box's outline, never smaller than CURRENT_PX
            r = tf.mapRect(QRectF(*self._box(it))).adjusted(-4, -4, 4, 4)
            w, h = max(r.width(), CURRENT_PX), max(r.height(), CURRENT_PX)
            painter.drawRect(QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(BREAKPOINT_COLOR))
        for it in self._breakpoints:
            x, y = self._box(it)[:2]
            painter.drawEllipse(tf.map(QPointF(x, y)), BREAKPOINT_PX, BREAKPOINT_PX)
        painter.restore()

    def _box(self, it) -> tuple[float, float, float, float]:
        left, top, w, h = self.boxes
        i = it._ov_i
        return left[i], top[i], w[i], h[i]

    def _fill(self, key: str) -> tuple[QPen, QColor]:
        got = self._brushes.get(key)
        if got is None:
            color = QColor(key.removesuffix(DIM_SUFFIX))
            if key.endswith(DIM_SUFFIX):  # blend with the background now (opaque paths draw faster)
                back = self.scene.backgroundBrush().color()
                a = DIM_ALPHA / 255.0
                color = QColor.fromRgbF(color.redF() * a + back.redF() * (1 - a),
                                        color.greenF() * a + back.greenF() * (1 - a),
                                        color.blueF() * a + back.blueF() * (1 - a))
            got = self._brushes[key] = (_cosmetic(color, 0), color)
        return got

    def _edge_pen(self, key: str) -> QPen:
        pen = self._pens.get(key)
        if pen is None:
            wide = key.startswith(ACTIVE_PREFIX)
            pen = self._pens[key] = _cosmetic(QColor(key.removeprefix(ACTIVE_PREFIX)), 2 if wide else 0)
        return pen

    def _mark_pen(self, style: tuple) -> QPen:
        _, name, dashed = style
        pen = self._pens.get(style)
        if pen is None:
            pen = self._pens[style] = _cosmetic(QColor(name), MARK_PX)
            if dashed:
                pen.setStyle(Qt.DashLine)
        return pen


def _cosmetic(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen

