"""End to end through the GUI: open the chain-rule example, step backward with F10."""

import torch
from PySide6.QtCore import QTimer


def open_example(qtbot, window, examples_dir, name="chain_rule.py"):
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        window.open_path(str(examples_dir / name), trusted=True)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    return window.scene.graph


def expected_grads():
    x, w, b = (torch.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0))
    ((w * x + b) ** 2).backward()
    return {"x": x.grad.item(), "w": w.grad.item(), "b": b.grad.item()}


def step_to_end(qtbot, window, trigger):
    """Press step until backward finishes; returns the node ids paused at."""
    paused = []
    finished = []
    window.controller.backward_finished.connect(finished.append)
    window.controller.node_paused.connect(paused.append)
    for _ in range(20):
        n = len(paused)
        trigger()
        qtbot.waitUntil(lambda: len(paused) > n or bool(finished), timeout=10000)
        if finished:
            break
    assert finished and finished[0].status == "finished"
    return paused


def test_graph_shows_grad_fn_names_and_leaf_names(qtbot, window, examples_dir):
    graph = open_example(qtbot, window, examples_dir)
    labels = sorted(item.label for item in window.scene.node_items())
    assert labels == sorted(["PowBackward0", "AddBackward0", "MulBackward0", "x", "w", "b"])
    assert sorted(n.name for n in graph.leaves()) == ["AccumulateGrad"] * 3
    assert window.loss_plot.count == 1


def test_backward_step_action_reaches_pytorch_grads(qtbot, window, examples_dir):
    graph = open_example(qtbot, window, examples_dir)
    paused = step_to_end(qtbot, window, window.act_step.trigger)
    # One pause per node, in the order backward ran them.
    assert len(paused) == len(graph.nodes)
    assert [graph.node(p).name for p in paused][:2] == ["PowBackward0", "AddBackward0"]
    want = expected_grads()
    for name, value in want.items():
        shown = window.scene.shown_detail(graph.leaf(name).id)
        assert shown == f"grad = {value:g}", (name, shown)
    # PowBackward0 shows what it received and what it sent on.
    assert window.scene.shown_detail(graph.nodes[0].id) == "in 1 → out 10"


def test_f10_shortcut_steps(qtbot, window, examples_dir):
    from PySide6.QtCore import Qt

    graph = open_example(qtbot, window, examples_dir)
    window.activateWindow()
    window.view.setFocus()
    paused = []
    window.controller.node_paused.connect(paused.append)
    qtbot.keyClick(window.view, Qt.Key_F10)
    qtbot.waitUntil(lambda: len(paused) == 1, timeout=10000)
    assert graph.node(paused[0]).name == "PowBackward0"
    assert window.scene.current == paused[0]


def test_gui_stays_responsive_while_backward_is_paused(qtbot, window, examples_dir):
    import time

    open_example(qtbot, window, examples_dir)
    paused = []
    window.controller.node_paused.connect(paused.append)
    window.act_step.trigger()
    qtbot.waitUntil(lambda: len(paused) == 1, timeout=10000)
    assert window.controller.debugger.is_paused

    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 30, timeout=5000)
    timer.stop()
    assert window.controller.debugger.is_paused  # still paused the whole time
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.1, max(gaps)
    window.controller.abort()
    qtbot.waitUntil(lambda: not window.controller.backward_running, timeout=5000)


def test_rerun_adds_loss_point(qtbot, window, examples_dir):
    open_example(qtbot, window, examples_dir)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=10000):
        window.act_rerun.trigger()
    qtbot.waitUntil(lambda: window.loss_plot.count == 2, timeout=5000)
    assert window.loss_plot.values == [25.0, 25.0]


def test_export_png_from_file_menu(qtbot, window, examples_dir, tmp_path):
    from PySide6.QtGui import QImage

    open_example(qtbot, window, examples_dir)
    out = tmp_path / "view.png"
    assert window.exporter.export_view_png(str(out))
    img = QImage(str(out))
    assert not img.isNull() and img.width() > 50
    out2 = tmp_path / "graph.png"
    assert window.exporter.export_graph(str(out2))
    img2 = QImage(str(out2))
    # The graph's boxes are drawn: some pixels have the leaf colour.
    colors = {img2.pixelColor(x, y).name() for x in range(0, img2.width(), 4) for y in range(0, img2.height(), 4)}
    assert "#add8e6" in colors


def test_direction_choice_is_kept(qtbot, window, examples_dir):
    graph = open_example(qtbot, window, examples_dir)
    top = window.scene.items_by_id[graph.nodes[0].id][0].pos().y()
    leaf = window.scene.items_by_id[graph.leaf("x").id][0].pos().y()
    assert top < leaf  # TB: output at the top
    with qtbot.waitSignal(window.scene.built, timeout=10000):  # the same graph, laid out again
        window.act_bt.trigger()
    top = window.scene.items_by_id[graph.nodes[0].id][0].pos().y()
    leaf = window.scene.items_by_id[graph.leaf("x").id][0].pos().y()
    assert top > leaf
    window.save_settings()
    assert window.settings.value("view/direction") == "BT"
