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
