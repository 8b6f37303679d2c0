"""No text runs past its box or over other text, in the scene (three zooms) and in
SVG exports, on every example, a 6-layer Transformer encoder and a 100-step LSTM."""

from __future__ import annotations

import pytest

from graphviz_app.core.draw.export_svg import to_svg

from .scenes import BIG, EXAMPLE_NAMES, ZOOMS, graph_of, layout_of, scene_of
from .texts import assert_legible, scene_texts, svg_texts

ALL = EXAMPLE_NAMES + list(BIG)


@pytest.mark.parametrize("name", ALL)
def test_scene_text_fits_and_never_overlaps(qapp, name):
    graph = graph_of(name)
    scene = scene_of(graph, layout_of(graph))
    for lod in ZOOMS:
        texts, boxes = scene_texts(scene, lod)
        assert texts, f"{name}: nothing drawn at zoom {lod}"
        assert_legible(texts, boxes, f"{name} at zoom {lod}")


@pytest.mark.parametrize("name", ALL)
def test_svg_text_fits_and_never_overlaps(qapp, name):
    graph = graph_of(name)
    layout = layout_of(graph)
    texts, boxes = svg_texts(to_svg(layout.drawn, layout))
    assert texts
    assert_legible(texts, boxes, f"{name} (SVG)")


@pytest.mark.parametrize("name", ["transformer6", "lstm100", "two_layer_single_sample.py"])
def test_expanded_scene_is_legible(qapp, name):
    """Every module expanded: the densest picture (fan-outs, long op names)."""
    graph = graph_of(name)
    scene = scene_of(graph, layout_of(graph, collapsed=set()))
    texts, boxes = scene_texts(scene, 1.0)
    assert_legible(texts, boxes, f"{name} expanded")


@pytest.mark.parametrize("name", ["two_layer_single_sample.py", "transformer6", "scale_cnn.py"])
def test_boxes_are_sized_for_their_text(qapp, name):
    """Long op names (LogSoftmaxBackward0, NativeLayerNormBackward0, ...) are never cut."""
    from graphviz_app.core.draw import text_metrics as tm
    from graphviz_app.ui.scene_items import NodeItem

    graph = graph_of(name)
    scene = scene_of(graph, layout_of(graph, collapsed=set()))
    for item in scene.items():
        if isinstance(item, NodeItem) and tm.text_width(item.node.label, tm.LABEL_PX, True) < tm.MAX_W - 20:
            assert item.text_runs(1.0)[0][0] == item.node.label


def test_svg_names_the_font_it_was_measured_with(qapp):
    from .texts import font_of_svg

    graph = graph_of("chain_rule.py")
    layout = layout_of(graph)
    measured, family = font_of_svg(to_svg(layout.drawn, layout))
    assert measured.startswith("DejaVu Sans") and family.startswith("DejaVu Sans")


@pytest.mark.parametrize("name", ["two_layer_single_sample.py", "exercise_xor.py", "inplace_ops.py"])
def test_edge_labels_are_placed_or_moved_to_tooltips(qapp, name):
    from graphviz_app.ui.edge_labels import HIDDEN_NOTE

    graph = graph_of(name)
    scene = scene_of(graph, layout_of(graph, collapsed=set()))
    labelled = [i for i, lab in scene.edge_labels.items() if lab.text()]
    shown = [i for i in labelled if scene.edge_labels[i].isVisible()]
    assert labelled and len(shown) >= len(labelled) / 2, (len(shown), len(labelled))
    for i in labelled:
        tip = scene.edge_items_by_edge[i][0].toolTip()
        assert scene.edge_labels[i].text() in tip
        assert (HIDDEN_NOTE in tip) == (i not in shown)
        if i not in shown:
            src = scene.drawn.edges[i].src
            assert "hidden here" in scene.items_for(src)[0].tooltip_text()


@pytest.mark.parametrize("name", ["transformer6", "lstm100", "two_layer_single_sample.py"])
def test_names_show_between_full_detail_and_overview(qapp, name):
    from graphviz_app.ui.scene_items import NodeItem

    graph = graph_of(name)
    scene = scene_of(graph, layout_of(graph))
    for lod in (0.3, 0.2, 0.13):
        for item in scene.items():
            if isinstance(item, NodeItem):
                runs = item.text_runs(lod)
                assert runs, f"{item.node.label} shows nothing at zoom {lod}"
                label, shown = item.node.label, runs[0][0].strip("…")
                assert len(shown) >= min(3, len(label)), (label, runs[0][0])
                assert label.startswith(shown) or label.endswith("." + shown), (label, runs[0][0])


def test_a_dense_fan_out_moves_its_labels_to_tooltips(qapp):
    """A node feeding ten consumers: its ten labels would crowd it, so all go to tool tips."""
    from graphviz_app.core.graph.model import LEAF, Edge, Graph, Node
    from graphviz_app.ui.edge_labels import FANOUT_LABELS, HIDDEN_NOTE

    s = {"shape": [4, 4, 16, 16], "norm": 0.00166}
    n = 10
    nodes = [Node(id="src", name="ScaledDotProductFlashAttentionForCpuBackward0", exec_order=0,
                  grad_inputs=[s] * n, grad_outputs=[s])]
    nodes += [Node(id=f"c{i}", name="AccumulateGrad", kind=LEAF, variable={"name": f"w{i}", "shape": [4]})
              for i in range(n)]
    graph = Graph(nodes=nodes, edges=[Edge("src", f"c{i}", i) for i in range(n)])
    scene = scene_of(graph, layout_of(graph, collapsed=set()))
    assert n > FANOUT_LABELS
    for i in range(n):
        assert not scene.edge_labels[i].isVisible()
        assert HIDDEN_NOTE in scene.edge_items_by_edge[i][0].toolTip()
    assert "10 edge labels hidden here" in scene.items_for("src")[0].tooltip_text()
    texts, boxes = scene_texts(scene, 1.0)
    assert_legible(texts, boxes, "dense fan-out")
