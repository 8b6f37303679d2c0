"""Repeated blocks in the window: a 24-layer transformer opens with its layers folded
into one box "layers.0–23 × 24", which expands into its blocks."""

from pathlib import Path

from ui_helpers import open_file

SCENARIO = Path(__file__).parents[1] / "models" / "scenarios" / "transformer_24.py"


def relayout(qtbot, window, trigger):
    with qtbot.waitSignal(window.scene.built, timeout=30000):
        trigger()
    qtbot.waitUntil(lambda: not window.controller.busy and not window.scene.building, timeout=20000)


def test_folded_layers_box_opens_and_expands(qtbot, window):
    graph = open_file(qtbot, window, SCENARIO)
    assert len(graph.nodes) > 1000
    assert "layers.0-23" in window.scene.collapsed()
    items = window.scene.items_by_id.get("group:layers.0-23")
    assert items and items[0].label == "layers.0–23 × 24"
    before = len(window.scene.items_by_id)

    relayout(qtbot, window, lambda: window.grouping.expand_module("layers.0-23"))
    collapsed = window.scene.collapsed()
    assert "layers.0-23" not in collapsed
    assert {f"layers.{i}" for i in range(24)} <= collapsed
    assert "group:layers.0-23" not in window.scene.items_by_id
    assert all(f"group:layers.{i}" in window.scene.items_by_id for i in range(24))
    assert len(window.scene.items_by_id) > before

    relayout(qtbot, window, lambda: window.grouping.expand_module("layers.5"))  # one block opens further
    assert "group:layers.5" not in window.scene.items_by_id
    assert any(k.startswith("group:layers.5.") for k in window.scene.items_by_id)
