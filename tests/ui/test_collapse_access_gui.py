"""Collapsing is easy to find: View → Collapse to Overview works on a mid-sized model,
Ctrl+[ on a collapsed box goes one level up, the Model tree collapses and expands, and a
weight shared by every call of a cell is drawn once in a collapsed view."""

from test_grouping_gui import LONG_RNN, TRANSFORMER, relayout
from ui_helpers import open_file, write_scenario

SMALL_TRANSFORMER = TRANSFORMER.replace("num_layers=8", "num_layers=2")  # about 100 nodes


def test_overview_collapses_a_model_under_300_nodes(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, SMALL_TRANSFORMER))
    n = len(graph.nodes)
    assert 40 < n <= 300 and not window.scene.collapsed()  # opens expanded
    relayout(qtbot, window, window.act_overview.trigger)
    assert window.scene.collapsed()
    assert len(window.scene.items_by_id) <= n // 2
    assert "boxes" in window.status_graph.text()


def test_ctrl_bracket_on_a_collapsed_box_collapses_its_parent(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, SMALL_TRANSFORMER))
    relayout(qtbot, window, lambda: window.grouping.collapse_module("layers.0.self_attn"))
    assert "layers.0.self_attn" in window.scene.collapsed()
    window.scene.select_node("group:layers.0.self_attn")
    relayout(qtbot, window, window.act_collapse.trigger)
    assert "layers.0" in window.scene.collapsed()
    assert "group:layers.0" in window.scene.items_by_id


def test_model_tree_collapses_and_expands_a_module(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, SMALL_TRANSFORMER))
    tree = window.model_tree
    item = tree.items["layers.1"]
    menu = tree.module_menu(item)
    texts = [a.text() for a in menu.actions()]
    assert "Collapse layers.1 to One Box" in texts and "Expand layers.1" in texts
    relayout(qtbot, window, next(a for a in menu.actions() if a.text().startswith("Collapse")).trigger)
    assert "layers.1" in window.scene.collapsed()
    menu = tree.module_menu(item)
    relayout(qtbot, window, next(a for a in menu.actions() if a.text().startswith("Expand")).trigger)
    assert "layers.1" not in window.scene.collapsed()
    assert tree.module_menu(tree.param_items[next(iter(tree.param_items))]) is None  # a parameter row


def test_a_collapsed_view_draws_a_shared_weight_once(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, LONG_RNN))
    assert any(k.startswith("cell#") for k in window.scene.collapsed())  # opens as runs of calls
    weight = graph.leaf("cell.weight_hh").id
    assert len(window.scene.items_for(weight)) == 1  # one box with its fan-out
