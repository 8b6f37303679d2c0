"""The graph as Qt items, its scene and its view: one import place for the window,
the exporters and the CLI.

The work lives in three modules: :mod:`.scene_items` (the boxes and curves and their
sizes), :mod:`.scene_build` (the scene: chunked build, marks and colouring) and
:mod:`.scene_view` (pan, zoom, the overview when zoomed far out).
"""

from __future__ import annotations

from .scene_build import (
    BUILD_SLICE_S,
    CHUNK,
    CHUNKED_ABOVE,
    MAX_EDGE_LABELS,
    MIN_TURNS,
    GraphScene,
)
from .scene_items import (
    EDGE_VALUES_MAX,
    FLOW_PROBLEMS,
    LINE_H,
    MATCH_COLOR,
    NONFINITE_OUTLINE,
    SELECTED_COLOR,
    TEXT_LOD,
    EdgeItem,
    NodeItem,
    box_size,
    node_detail,
    smooth_path,
)
from .scene_view import OVERVIEW_ABOVE, OVERVIEW_ZOOM, GraphView

__all__ = [
    "BUILD_SLICE_S", "CHUNK", "CHUNKED_ABOVE", "EDGE_VALUES_MAX", "FLOW_PROBLEMS", "LINE_H",
    "MATCH_COLOR", "MAX_EDGE_LABELS", "MIN_TURNS", "NONFINITE_OUTLINE", "OVERVIEW_ABOVE",
    "OVERVIEW_ZOOM", "SELECTED_COLOR", "TEXT_LOD", "EdgeItem", "GraphScene", "GraphView",
    "NodeItem", "box_size", "node_detail", "smooth_path",
]
