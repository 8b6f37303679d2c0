"""The builder dialog: stack layers, live shape messages, run in the app, save as scenario."""

from PySide6.QtCore import Qt

from graphviz_app.core.files.loader import load_path


def _open(qtbot, window):
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key_B, Qt.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "builder", None) is not None and window.builder.isVisible(),
                    timeout=5000)
    return window.builder


def test_builder_checks_shapes_live_and_runs(qtbot, window):
    dlg = _open(qtbot, window)
    assert dlg.check.ok and "Shapes fit" in dlg.check_label.text()
    # Add a Conv2d to a two-moons model: a clear message, Run disabled.
    dlg.kind_combo.setCurrentText("Conv2d")
    qtbot.mouseClick(dlg.add_button, Qt.LeftButton)
    assert not dlg.check.ok
    assert "needs an image" in dlg.check_label.text()
    assert not dlg.run_button.isEnabled()
    dlg.remove()
    assert dlg.check.ok and dlg.run_button.isEnabled()
    # The last Linear gives 2 class scores; change it to 3: the loss needs 2.
    dlg.layer_list.setCurrentRow(len(dlg.spec.layers) - 1)
    dlg.param_spin.setValue(3)
    assert "needs 2 class scores" in dlg.check_label.text()
    dlg.param_spin.setValue(2)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        qtbot.mouseClick(dlg.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    graph = window.scene.graph
    assert any(n.name == "NllLossBackward0" for n in graph.nodes)
    assert window.controller.session.scenario.name == "two moons"


def test_builder_saves_a_scenario_that_loads_back(qtbot, window, tmp_path):
    dlg = _open(qtbot, window)
    dlg.data_combo.setCurrentText("random images")
    assert not dlg.check.ok and "needs a flat input but gets 1×8×8: add Flatten" in dlg.check.message
    while dlg.spec.layers:
        dlg.layer_list.setCurrentRow(0)
        dlg.remove()
    for kind, value in (("Conv2d", 4), ("ReLU", None), ("Flatten", None), ("Linear", 10)):
        dlg.layer_list.setCurrentRow(len(dlg.spec.layers) - 1)
        dlg.add_layer(kind, value)
    assert dlg.check.ok, dlg.check.message
    out = dlg.save_to(str(tmp_path / "images.py"))
    sc = load_path(out).scenario
    assert [type(m).__name__ for m in sc.model] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert tuple(sc.inputs.shape) == (64, 1, 8, 8)
    dlg.close()
