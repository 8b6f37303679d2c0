"""Module grouping in the window: a large model opens collapsed, boxes expand and
collapse from the graph (double-click, context menu, View menu) while the backward
debugger keeps its place."""

from PySide6.QtCore import Qt
from ui_helpers import Pauses, open_file, write_scenario

TRANSFORMER = """
def build(device="cpu"):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0,
                                       batch_first=True)
    net = nn.TransformerEncoder(layer, num_layers=8, enable_nested_tensor=False).to(device)
    X = torch.randn(2, 4, 16, device=device)
    return Scenario("transformer", model=net, inputs=X, targets=torch.zeros(2, 4, 16, device=device),
                    loss_fn=nn.MSELoss())
"""


def boxes(window):
    return len(window.scene.items_by_id)


def menu_action(menu, text):
    return next(a for a in menu.actions() if a.text() == text)


def relayout(qtbot, window, trigger):
    with qtbot.waitSignal(window.scene.built, timeout=30000):
        trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)


def test_large_model_opens_collapsed_and_boxes_expand(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, TRANSFORMER))
    assert len(graph.nodes) > 300
    collapsed = window.scene.collapsed()
    assert collapsed and all(p.startswith("layers.") for p in collapsed), collapsed
    assert boxes(window) <= 300 < len(graph.nodes)
    assert "boxes" in window.status_graph.text()

    # Stepping backward inside a collapsed layer highlights that layer's box.
    p = Pauses(window)
    for i in range(200):
        window.act_step.trigger()
        p.wait_next(qtbot, i)
        paused = window.controller.debugger.paused_at
        box = window.scene.box_id(paused)
        if box.startswith("group:") and i > 3:
            break
    assert box.startswith("group:layers.")
    item = window.scene.items_by_id[box][0]
    assert item.current and item.executed
    assert "ran" in item.detail and "nodes" in item.detail
    rows = window.exec_list.count()

    # Double-click the box: it expands one level, the debugger is still paused there.
    window.scene.clearSelection()
    view = window.view
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    before = boxes(window)
    relayout(qtbot, window, lambda: qtbot.mouseDClick(view.viewport(), Qt.LeftButton, pos=pos))
    path = box[len("group:"):]
    assert path not in window.scene.collapsed()
    assert boxes(window) > before
    assert window.controller.debugger.paused_at == paused
    assert window.exec_list.count() == rows
    assert window.scene.box_id(paused) != box  # now drawn in its own box (or a sub-module's)
    assert any(it.current for it in window.scene.items_for(paused))

    # The context menu of a node collapses its module again.
    window.scene.select_node(paused)
    menu = window.context_menus.node_menu(paused)
    relayout(qtbot, window, menu_action(menu, f"Collapse Module {path}").trigger)
    assert path in window.scene.collapsed()
    assert window.scene.box_id(paused) == box

    # The group's context menu expands it; View → Expand All shows every node.
    menu = window.context_menus.node_menu(box)
    relayout(qtbot, window, menu_action(menu, "Expand Module").trigger)
    assert path not in window.scene.collapsed()
    relayout(qtbot, window, window.act_expand_all.trigger)
    assert not window.scene.collapsed()
    assert len(window.scene.items_for(paused)) >= 1 and window.scene.box_id(paused) == paused

    # Continue to the end: leaf gradients are the same as without grouping.
    with qtbot.waitSignal(window.controller.backward_finished, timeout=60000) as blocker:
        window.act_continue.trigger()
    assert blocker.args[0].status == "finished"


def test_selecting_a_group_box_explains_it(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, TRANSFORMER))
    gid = sorted(i for i in window.scene.items_by_id if i.startswith("group:"))[0]
    window.scene.select_node(gid)
    text = window.inspector.toPlainText()
    assert f"module {gid[len('group:'):]}" in text and "nodes" in text and "expand" in text


def test_open_collapsed_can_be_switched_off_and_is_remembered(qtbot, window, tmp_path):
    from graphviz_app.ui.main_window import MainWindow

    path = write_scenario(tmp_path, TRANSFORMER)
    window.act_auto_collapse.trigger()  # off
    graph = open_file(qtbot, window, path)
    assert not window.scene.collapsed()
    assert boxes(window) >= len(graph.nodes)
    window.settings.sync()
    again = MainWindow()
    qtbot.addWidget(again)
    try:
        assert not again.act_auto_collapse.isChecked() and not again.controller.auto_collapse
    finally:
        again.controller.shutdown()


def test_small_graphs_open_expanded(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "two_layer_single_sample.py")
    assert not window.scene.collapsed()
    assert window.scene.box_id(graph.nodes[0].id) == graph.nodes[0].id


def test_graphviz_dot_engine_from_the_view_menu(qtbot, window, examples_dir):
    import pytest

    from graphviz_app.core.draw.dot_layout import dot_available

    if dot_available() is None:
        assert not window.act_engine_dot.isEnabled()  # offered only when installed
        pytest.skip("Graphviz dot is not installed")
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    with qtbot.waitSignal(window.scene.built, timeout=60000):
        window.act_engine_dot.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    assert window.scene.graph is graph and window.scene.layout.engine == "dot"
    assert "layout (dot)" in window.status_times.text()
    assert str(window.settings.value("view/layout_engine")) == "dot"
    # Backward stepping works the same on dot's drawing.
    with qtbot.waitSignal(window.controller.backward_finished, timeout=30000):
        window.act_run_end.trigger()
    qtbot.waitUntil(lambda: "20" in window.scene.shown_detail(graph.leaf("x").id), timeout=10000)
    with qtbot.waitSignal(window.scene.built, timeout=60000):
        window.act_engine_embedded.trigger()
    assert window.scene.layout.engine == "embedded"


RNN = """
class Unrolled(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(3, 3)

    def forward(self, xs):
        h = torch.zeros(1, 3)
        for x in xs:
            h = self.cell(x, h)
        return h


def build(device="cpu"):
    torch.manual_seed(0)
    return Scenario("rnn", model=Unrolled(), inputs=torch.randn(6, 1, 3), targets=torch.zeros(1, 3),
                    loss_fn=nn.MSELoss())
"""


def test_shared_leaves_once_or_one_copy_per_use(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, RNN))
    weight = graph.leaf("cell.weight_hh").id
    relayout(qtbot, window, window.act_leaves_split.trigger)
    assert len(window.scene.items_for(weight)) == 6  # one box per step that uses it
    assert str(window.settings.value("view/shared_leaves")) == "split"
    relayout(qtbot, window, window.act_leaves_once.trigger)
    assert len(window.scene.items_for(weight)) == 1
    assert window.scene.graph is graph


def test_exports_of_a_collapsed_view(qtbot, window, tmp_path):
    import json
    import xml.etree.ElementTree as ET

    graph = open_file(qtbot, window, write_scenario(tmp_path, TRANSFORMER))
    groups = window.scene.collapsed()
    assert groups
    for fmt in ("png", "svg", "pdf", "dot", "json"):
        out = tmp_path / f"view.{fmt}"
        assert window.exporter.export_graph(str(out)), window.last_error
        assert out.stat().st_size > 100
    svg = (tmp_path / "view.svg").read_text(encoding="utf-8")
    ET.fromstring(svg)
    some = sorted(groups)[0]
    assert some in svg and some in (tmp_path / "view.dot").read_text(encoding="utf-8")
    doc = json.loads((tmp_path / "view.json").read_text(encoding="utf-8"))
    assert len(doc["nodes"]) == len(graph.nodes)  # the snapshot keeps every node


LONG_RNN = RNN.replace("torch.randn(6, 1, 3)", "torch.randn(60, 1, 3)")


def test_an_unrolled_rnn_opens_as_runs_of_time_steps(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, LONG_RNN))
    assert len(graph.nodes) > 300
    keys = window.scene.collapsed()
    runs = sorted(k for k in keys if k.startswith("cell#"))
    assert runs and "cell" not in keys
    assert 8 <= boxes(window) <= 300
    first = next(k for k in runs if k.startswith("cell#0-"))
    box = window.scene.items_for("group:" + first)[0]
    assert box.label.startswith("cell  calls 1–")
    menu = window.context_menus.node_menu("group:" + first)
    assert menu_action(menu, "Collapse All Calls of cell") is not None
    assert menu_action(menu, "Break in Module cell") is not None
    relayout(qtbot, window, lambda: window.grouping.expand_module(first))
    after = window.scene.collapsed()
    assert first not in after and {k for k in after if k.startswith("cell#0")} - {first}
    relayout(qtbot, window, lambda: window.grouping.collapse_module("cell"))
    assert "cell" in window.scene.collapsed() and not any(k.startswith("cell#") for k in window.scene.collapsed())
    assert window.scene.graph is graph
