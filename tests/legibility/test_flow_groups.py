"""Gradient-flow colouring reaches collapsed boxes: each is coloured by the worst
gradient inside it (and the legend says so)."""

from __future__ import annotations

from graphviz_app.core.graph import gradflow
from graphviz_app.core.graph.model import Node

from .scenes import graph_of, layout_of, scene_of


def _node(norm, nid="a"):
    s = None if norm is None else {"norm": norm, "shape": [2]}
    return Node(id=nid, name="X", kind="op", grad_inputs=[s] if s else None)


def test_worst_norm_picks_the_farthest_from_the_middle():
    assert gradflow.worst_norm([_node(0.1), _node(1e-9), _node(5.0)]) == 1e-9
    assert gradflow.worst_norm([_node(0.1), _node(1e5), _node(1e-6)]) == 1e5
    assert gradflow.worst_norm([_node(0.01), _node(0.5)]) == 0.5
    assert gradflow.worst_norm([_node(None)]) is None


def test_collapsed_boxes_are_coloured_by_what_they_hold(qapp):
    graph = graph_of("lstm100")
    layout = layout_of(graph)
    scene = scene_of(graph, layout, color_mode="flow")
    groups = [it for it in scene.node_items() if it.members]
    assert groups, "the 100-step LSTM opens with collapsed modules"
    for it in groups:
        want = gradflow.color_for_norm(gradflow.worst_norm(it.members))
        assert it.fill_name() == want
    assert any(it.fill_name() != gradflow.NO_GRAD_COLOR for it in groups)
