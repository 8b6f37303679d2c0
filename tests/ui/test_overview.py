"""The zoomed-out view of a big graph and the minimap are drawn by the scene's overview
(bulk paths by colour, see ui/overview.py): they show the graph's colours, follow state
changes (a node ran, the current node, selection, search, theme) after the next paint,
and clicks still reach the boxes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor

from graphviz_app.core.draw.layout import layout_graph
from graphviz_app.core.graph.model import LEAF, OUTPUT, Edge, Graph, Node
from graphviz_app.ui.graph_scene import (
    OVERVIEW_ABOVE,
    OVERVIEW_ZOOM,
    GraphScene,
    GraphView,
    box_size,
)
from graphviz_app.ui.overlays import Minimap
from graphviz_app.ui.theme import DARK, LIGHT

CHAINS, DEPTH = 50, 30  # 50 parallel chains of 30 ops, each ending in a leaf: 1551 boxes


def wide_graph() -> Graph:
    """Many parallel chains under one output: wide enough that boxes are several pixels
    wide when the whole graph fits an 800x600 view (below the overview's zoom)."""
    nodes = [Node("out", "SumBackward0", OUTPUT)]
    edges = []
    for c in range(CHAINS):
        prev = "out"
        for d in range(DEPTH):
            nid = f"c{c}_{d}"
            nodes.append(Node(nid, "MulBackward0"))
            edges.append(Edge(prev, nid, c if prev == "out" else 0))
            prev = nid
        leaf = f"w{c}"
        nodes.append(Node(leaf, "AccumulateGrad", LEAF, variable={"name": f"w{c}", "shape": [4]}))
        edges.append(Edge(prev, leaf, 0))
    return Graph(nodes=nodes, edges=edges)


def empty_view(qtbot):
    """The wide graph, its layout, and a shown 800x600 view of a scene not built yet."""
    graph = wide_graph()
    layout = layout_graph(graph, sizes=[box_size(n) for n in graph.nodes])
    scene = GraphScene(LIGHT)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    return graph, layout, scene, view


@pytest.fixture
def big(qtbot):
    graph, layout, scene, view = empty_view(qtbot)
    assert len(layout.node_index) > OVERVIEW_ABOVE
    with qtbot.waitSignal(scene.built, timeout=20000):
        scene.set_graph(graph, layout, chunked=True)
    view.fit_all()
    assert view.transform().m11() < OVERVIEW_ZOOM
    return graph, scene, view


def grab(view):
    return view.viewport().grab().toImage()


def view_pos(view, scene, node_id) -> QPoint:
    return view.mapFromScene(scene.items_for(node_id)[0].scenePos())


def colors_near(img, pos: QPoint, radius: int) -> set[str]:
    out = set()
    for y in range(max(0, pos.y() - radius), min(img.height(), pos.y() + radius + 1)):
        for x in range(max(0, pos.x() - radius), min(img.width(), pos.x() + radius + 1)):
            out.add(img.pixelColor(x, y).name())
    return out


def count(img, color: str, step: int = 1) -> int:
    rgb = QColor(color).rgb()
    return sum(img.pixel(x, y) == rgb for y in range(0, img.height(), step) for x in range(0, img.width(), step))


def spy_overview(scene, monkeypatch) -> list:
    calls = []
    real = scene.overview.paint

    def paint(painter, rect=None):
        calls.append(rect)
        return real(painter, rect)

    monkeypatch.setattr(scene.overview, "paint", paint)
    return calls


def test_zoomed_out_big_scene_is_painted_by_the_overview(big, monkeypatch):
    graph, scene, view = big
    calls = spy_overview(scene, monkeypatch)
    assert view.uses_overview()
    img = grab(view)
    assert calls, "the zoomed-out view did not paint through the overview"
    # The boxes' own colours, unblended (no antialiasing), and the edges' colour.
    assert count(img, LIGHT.op) > 500
    assert count(img, LIGHT.leaf) > 40
    assert count(img, LIGHT.edge) > 100
    assert img.pixelColor(2, 2).name() == LIGHT.background
    # Every box's centre shows its fill.
    for nid in ("c0_5", "c17_12", "c49_29"):
        assert img.pixelColor(view_pos(view, scene, nid)).name() == LIGHT.op
    assert img.pixelColor(view_pos(view, scene, "w3")).name() == LIGHT.leaf
    # Zoomed in, the items paint themselves again.
    calls.clear()
    view.resetTransform()
    view.centerOn(scene.items_for("c5_5")[0])
    assert not view.uses_overview()
    img = grab(view)
    assert not calls
    assert count(img, LIGHT.op, 4) > 100


def test_small_scene_keeps_painting_items(qtbot):
    graph = Graph(nodes=[Node("out", "SumBackward0", OUTPUT), Node("a", "MulBackward0")],
                  edges=[Edge("out", "a", 0)])
    scene = GraphScene(LIGHT)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    scene.set_graph(graph, layout_graph(graph))
    view.scale(0.05, 0.05)
    assert not view.uses_overview()


def test_state_changes_show_in_the_overview_after_the_next_paint(big, qtbot):
    graph, scene, view = big
    grab(view)  # the overview has read every box
    ran = "c7_10"
    graph.node(ran).exec_order = 0
    scene.refresh_node(ran)
    img = grab(view)
    assert img.pixelColor(view_pos(view, scene, ran)).name() == LIGHT.executed
    assert img.pixelColor(view_pos(view, scene, "c7_12")).name() == LIGHT.op
    # The current node gets a marker in its colour, and its gradient's edges too.
    cur = "c20_15"
    assert LIGHT.current not in colors_near(img, view_pos(view, scene, cur), 6)
    scene.set_current(cur)
    img = grab(view)
    assert LIGHT.current in colors_near(img, view_pos(view, scene, cur), 6)
    scene.set_current(None)
    img = grab(view)
    assert LIGHT.current not in colors_near(img, view_pos(view, scene, cur), 6)
    # Selection (Qt changes it without the scene's code) and breakpoints stand out too.
    sel = "c30_3"
    scene.select_node(sel)
    assert "#2f6db5" in colors_near(grab(view), view_pos(view, scene, sel), 3)
    scene.set_breakpoint_nodes([sel])
    assert "#e51400" in colors_near(grab(view), view_pos(view, scene, sel), 8)
    scene.set_breakpoint_nodes([])
    scene.clearSelection()
    img = grab(view)
    near = colors_near(img, view_pos(view, scene, sel), 8)
    assert "#2f6db5" not in near and "#e51400" not in near


def test_search_dims_the_rest_and_flow_mode_recolours(big):
    graph, scene, view = big
    grab(view)
    scene.set_matches(["c1_1"])
    img = grab(view)
    other = img.pixelColor(view_pos(view, scene, "c9_9"))
    assert other.name() not in (LIGHT.op, LIGHT.background)
    assert other.lightness() > QColor(LIGHT.op).lightness()  # faded towards the white background
    assert "#e040fb" in colors_near(img, view_pos(view, scene, "c1_1"), 3)
    scene.set_matches([])
    assert grab(view).pixelColor(view_pos(view, scene, "c9_9")).name() == LIGHT.op
    # Gradient-flow colours: a node with a known gradient norm gets its ramp colour.
    node = graph.node("c4_4")
    node.exec_order = 0
    node.grad_inputs = [{"shape": [4], "norm": 1.0, "values": [0.5] * 4}]
    scene.set_color_mode("flow")
    img = grab(view)
    assert img.pixelColor(view_pos(view, scene, "c4_4")).name() == scene.fill_of("c4_4")
    assert scene.fill_of("c4_4") != LIGHT.op
    scene.set_color_mode("kind")
    assert grab(view).pixelColor(view_pos(view, scene, "c4_4")).name() == LIGHT.executed


def test_theme_change_repaints_the_overview(big):
    graph, scene, view = big
    grab(view)
    scene.set_colors(DARK)
    img = grab(view)
    assert img.pixelColor(2, 2).name() == DARK.background
    assert img.pixelColor(view_pos(view, scene, "c2_2")).name() == DARK.op
    assert count(img, LIGHT.op) == 0


def test_clicks_reach_boxes_in_the_zoomed_out_view(big, qtbot):
    graph, scene, view = big
    target = "c12_20"
    with qtbot.waitSignal(scene.node_activated, timeout=5000) as sig:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view_pos(view, scene, target))
    assert sig.args == [target]
    assert scene.selected_ids() == [target]
    assert "#2f6db5" in colors_near(grab(view), view_pos(view, scene, target), 3)


def test_overview_during_a_chunked_build(qtbot):
    """Paints while the boxes pour in show what is there so far, and the finished scene
    all of it."""
    graph, layout, scene, view = empty_view(qtbot)
    seen = []
    scene.build_progress.connect(lambda done, total: seen.append(count(grab(view), LIGHT.op, 3)))
    with qtbot.waitSignal(scene.built, timeout=20000):
        scene.set_graph(graph, layout, chunked=True)
        view.fit_all()
    assert view.uses_overview()
    final = count(grab(view), LIGHT.op, 3)
    assert len(seen) > 2 and min(seen) < final and seen[-1] == final


def test_minimap_renders_through_the_overview(big, monkeypatch):
    graph, scene, view = big
    calls = spy_overview(scene, monkeypatch)
    mm = Minimap(view, view)
    mm.rerender()
    assert calls and mm.image is not None
    img = mm.image
    assert count(img, LIGHT.op) > 100
    assert count(img, LIGHT.current) == 0
    scene.set_current("c20_15")
    mm.rerender()
    assert count(mm.image, LIGHT.current) > 10  # a marker that stays visible at minimap size
    # The scene rect maps onto the image: the current node's marker is where the node is.
    s, rect = mm._scale, scene.sceneRect()
    p = scene.items_for("c20_15")[0].scenePos()
    at = QPointF((p.x() - rect.left()) * s, (p.y() - rect.top()) * s).toPoint()
    assert LIGHT.current in colors_near(mm.image, at, 6)


def test_no_full_collection_while_a_big_scene_is_built(qtbot):
    import gc

    from graphviz_app.core.system import memory

    graph, layout, scene, view = empty_view(qtbot)
    full = []

    def seen(phase, info):
        if phase == "start" and info["generation"] == 2 and scene.building:
            full.append(info)

    held = []
    scene.build_progress.connect(lambda done, total: held.append(
        (gc.get_threshold()[0], scene._gc_hold, scene._gc_hold in memory._holds)))
    gc.callbacks.append(seen)
    try:
        with qtbot.waitSignal(scene.built, timeout=20000):
            scene.set_graph(graph, layout, chunked=True)
    finally:
        gc.callbacks.remove(seen)
    # Collections made rare while the items pour in, and this scene's hold let go once built.
    assert held and all(t >= memory.HOLD_THRESHOLD and holding for t, _, holding in held)
    token = held[0][1]
    assert scene._gc_hold is None and token not in memory._holds
    assert not full


def test_a_scene_deleted_mid_build_lets_go_of_its_hold(qtbot):
    from shiboken6 import delete

    from graphviz_app.core.system import memory

    graph, layout, scene, view = empty_view(qtbot)
    scene.set_graph(graph, layout, chunked=True)
    token = scene._gc_hold
    assert scene.building and token in memory._holds
    view.setScene(None)
    delete(scene)  # the C++ scene goes (a window closed while building)
    assert token not in memory._holds
