"""Complex gradients are shown as complex numbers (real and imaginary parts), not as
magnitudes: in the Inspector's text, in the values table, and in a reopened snapshot;
pictures of big complex tensors say that they show magnitudes."""

import numpy as np
import torch
from ui_helpers import Pauses, open_file, write_scenario

from graphviz_app.core.files import snapshot
from graphviz_app.ui.control.values import tensor_payload

COMPLEX = """
def build(device="cpu"):
    z = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64, requires_grad=True, device=device)
    W = torch.zeros(40, 30, dtype=torch.complex64, requires_grad=True, device=device)
    c = torch.tensor([1.5 - 0.25j, -2 + 0.5j], dtype=torch.complex64, device=device)
    return Scenario("complex", leaves={"z": z, "W": W},
                    forward=lambda z, W: (z * c).real.sum() + (W * (1 - 2j)).real.sum())
"""


def _run_to_end(qtbot, window):
    p = Pauses(window)
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.finished[0].status == "finished"


def _table_texts(view):
    t = view.table
    return [[t.item(i, j).text() for j in range(t.columnCount())] for i in range(t.rowCount())]


def test_tensor_payload_keeps_complex_values():
    p = tensor_payload(torch.tensor([1.5 + 0.25j, -2 - 0.5j], dtype=torch.complex64))
    assert p["kind"] == "table" and np.iscomplexobj(p["array"])
    assert p["array"].tolist() == [[1.5 + 0.25j, -2 - 0.5j]]
    big = tensor_payload(torch.full((40, 30), 3 + 4j, dtype=torch.complex64))
    assert big["kind"] == "heatmap" and big["magnitude"] is True
    assert np.allclose(big["array"], 5.0)
    assert "magnitude" not in tensor_payload(torch.ones(40, 30))


def test_complex_leaf_grad_in_inspector_and_values_table(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, COMPLEX))
    _run_to_end(qtbot, window)
    ins = window.inspector
    # d/dz of Re(c·z) is conj(c): plain PyTorch's gradient, shown with its imaginary part.
    window.goto_node(graph.leaf("z").id)
    qtbot.waitUntil(lambda: ins.values.kind == "table", timeout=10000)
    assert _table_texts(ins.values) == [["1.5+0.25j", "-2-0.5j"]]
    assert "complex" in ins.values.caption.text()
    assert "[1.5+0.25j, -2-0.5j]" in ins.toPlainText()
    # A big complex gradient is pictured by its magnitudes, and the caption says so.
    window.goto_node(graph.leaf("W").id)
    qtbot.waitUntil(lambda: ins.values.kind == "heatmap", timeout=10000)
    assert "magnitudes" in ins.values.caption.text()
    assert "of the magnitudes" in ins.toPlainText()  # its norm/min/max/mean are |·|



def test_reopened_snapshot_shows_complex_values(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, COMPLEX))
    _run_to_end(qtbot, window)
    path = snapshot.save(window.scene.graph, tmp_path / "complex.json")
    graph = open_file(qtbot, window, path)
    ins = window.inspector
    window.goto_node(graph.leaf("z").id)
    qtbot.waitUntil(lambda: ins.values.kind == "table", timeout=10000)
    assert _table_texts(ins.values) == [["1.5+0.25j", "-2-0.5j"]]
    assert "[1.5+0.25j, -2-0.5j]" in ins.toPlainText()
