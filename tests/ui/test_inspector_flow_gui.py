"""Inspector values views, gradient-flow colouring, edge labels, NaN hunt, missing .grad."""

from PySide6.QtCore import Qt
from ui_helpers import Pauses, open_file, write_scenario

from graphviz_app.core.graph import gradflow

VALUES = """
def build(device="cpu"):
    torch.manual_seed(0)
    small = torch.randn(3, requires_grad=True, device=device)
    W = torch.randn(40, 30, requires_grad=True, device=device)
    v = torch.randn(5000, requires_grad=True, device=device)
    return Scenario("values", leaves={"small": small, "W": W, "v": v},
                    forward=lambda small, W, v: (small * 2).sum() + (W * 3).sum() + (v * v).sum())
"""

FLOW = """
def build(device="cpu"):
    big = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    tiny = torch.tensor([1.0, 1.0], requires_grad=True, device=device)
    return Scenario("flow", leaves={"big": big, "tiny": tiny},
                    forward=lambda big, tiny: (big * 1e5).sum() + (tiny * 1e-9).sum())
"""

NAN = """
def build(device="cpu"):
    x = torch.tensor([4.0, 0.0], requires_grad=True, device=device)  # sqrt(0): finite, its gradient is not
    w = torch.tensor(2.0, requires_grad=True, device=device)
    def forward(x, w):
        y = x * w
        r = torch.sqrt(y)
        return r.sum()
    return Scenario("nan", leaves={"x": x, "w": w}, forward=forward)
"""


def _run_to_end(qtbot, window):
    p = Pauses(window)
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.finished[0].status == "finished"


def _choose(qtbot, window, text_start):
    combo = window.inspector.tensor_choice
    idx = next(i for i in range(combo.count()) if combo.itemText(i).startswith(text_start))
    combo.setCurrentIndex(idx)


def test_values_view_table_heatmap_histogram(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, VALUES))
    _run_to_end(qtbot, window)
    ins = window.inspector
    window.goto_node(graph.leaf("small").id)
    qtbot.waitUntil(lambda: ins.values.kind == "table", timeout=10000)
    assert ins.values.table.columnCount() == 3
    assert ins.values.table.item(0, 0).text() == "2"
    window.goto_node(graph.leaf("W").id)
    qtbot.waitUntil(lambda: ins.values.kind == "heatmap", timeout=10000)
    assert "40×30" in ins.values.caption.text()
    window.goto_node(graph.leaf("v").id)
    qtbot.waitUntil(lambda: ins.values.kind == "hist", timeout=10000)
    assert "histogram of 5000 values" in ins.values.caption.text()
    # The inspector lists the leaf's .grad summary.
    assert ".grad" in ins.toPlainText()


def test_gradient_flow_colouring_and_legend(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, FLOW))
    _run_to_end(qtbot, window)
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_G, Qt.ControlModifier)
    assert window.act_flow.isChecked()
    assert window.legend.isVisible()
    big, tiny = graph.leaf("big").id, graph.leaf("tiny").id
    assert window.scene.fill_of(big) == gradflow.EXPLODING_COLOR
    assert window.scene.fill_of(tiny) == gradflow.VANISHING_COLOR
    assert window.legend.counts["exploding"] >= 1 and window.legend.counts["vanishing"] >= 1
    # Edges show shape and norm.
    qtbot.keyClick(window.view, Qt.Key_L, Qt.ControlModifier)
    texts = [lab.text() for lab in window.scene.edge_labels.values()]
    assert any("‖g‖=" in t for t in texts), texts
    qtbot.keyClick(window.view, Qt.Key_G, Qt.ControlModifier)
    assert not window.legend.isVisible()
    assert window.scene.fill_of(big) == "#add8e6"


def test_nan_hunt_shows_node_inputs_and_source(qtbot, window, tmp_path):
    path = write_scenario(tmp_path, NAN)
    graph = open_file(qtbot, window, path)
    found = []
    window.controller.nan_found.connect(found.append)
    window.act_nan_hunt.trigger()
    qtbot.waitUntil(lambda: bool(found), timeout=20000)
    graph = window.scene.graph
    node = graph.node(found[0])
    assert node.name == "SqrtBackward0"
    text = window.debug_state.text()
    assert "first non-finite gradient at SqrtBackward0" in text
    assert f"{path.name}:" in text  # the forward source line
    assert "MulBackward0" in text  # its input
    assert window.inspector.node_id == node.id
    assert any("SqrtBackward0" in window.problems.item(i).text() for i in range(window.problems.count()))
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: not window.controller.backward_running, timeout=10000)


def test_missing_grad_explained(qtbot, window, examples_dir):
    open_file(qtbot, window, examples_dir / "detach_no_grad.py")
    qtbot.waitUntil(lambda: window.problems.count() >= 2, timeout=20000)
    texts = [window.problems.item(i).text() for i in range(window.problems.count())]
    b = next(t for t in texts if t.startswith("b:"))
    c = next(t for t in texts if t.startswith("c:"))
    assert "detach" in b and "no_grad" in c


def test_chain_rule_in_inspector_after_step(qtbot, window, examples_dir):
    open_file(qtbot, window, examples_dir / "chain_rule.py")
    p = Pauses(window)
    window.act_step.trigger()
    p.wait_next(qtbot, 0)
    text = window.inspector.toPlainText()
    assert "Chain rule" in text and "1 × 2·5 = 10" in text
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


def test_edge_labels_stay_short_on_non_scalar_gradients(qtbot, window, tmp_path):
    from ui_helpers import MODEL

    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    _run_to_end(qtbot, window)
    texts = [lab.text() for lab in window.scene.edge_labels.values() if lab.text()]
    assert texts and all(len(t) <= 40 for t in texts), texts  # no lists of 32 values over the picture
    assert any("‖g‖=" in t for t in texts)


def test_inspector_lists_the_first_hundred_gradients_of_a_very_wide_node():
    from graphviz_app.core.graph.model import Edge, Graph, Node
    from graphviz_app.ui.inspector import MAX_SLOTS_SHOWN, node_html

    summary = {"shape": [1], "dtype": "float32", "device": "cpu", "norm": 1.0, "min": 1.0, "max": 1.0,
               "mean": 1.0, "nonfinite": 0, "values": [1.0]}
    cat = Node("cat", "CatBackward0", exec_order=0, grad_inputs=[summary] * 2000, grad_outputs=[summary])
    nodes = [cat] + [Node(f"m{i}", "MulBackward0") for i in range(2000)]
    g = Graph(nodes=nodes, edges=[Edge("cat", f"m{i}", i) for i in range(2000)])
    text = node_html(g, cat)
    assert text.count("→ MulBackward0") == MAX_SLOTS_SHOWN
    assert f"… and {2000 - MAX_SLOTS_SHOWN} more" in text
    assert "[99] →" in text and "[100] →" not in text
