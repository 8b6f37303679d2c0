"""Training with live plots, pause/resume/stop, time travel, devices; search, navigation, model dock."""

from PySide6.QtCore import Qt
from ui_helpers import MODEL, node_named, open_file, write_scenario


def test_train_plots_and_time_travel(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    window.steps_spin.setValue(30)
    done = []
    window.controller.training_finished.connect(done.append)
    window.act_train.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    assert done[0].status == "finished" and done[0].steps == 30
    plot = window.loss_plot
    assert plot.count == 31  # the first forward, then 30 training steps
    assert plot.values[1] > plot.values[-1]  # it learns
    assert window.plots.norms.series and all(len(s) == 30 for s in window.plots.norms.series.values())
    # Log scale and smoothing switches.
    window.plots.log_box.setChecked(True)
    window.plots.smooth_box.setChecked(True)
    plot.flush()
    assert plot.log_scale and plot.smoothing > 0
    window.plots.log_box.setChecked(False)
    plot.flush()
    # Click the point of training step 20: its kept graph is shown.
    i = plot.train_steps.index(20)
    shown = []
    window.controller.snapshot_shown.connect(shown.append)

    def click_point() -> bool:
        # The view range settles a paint after a scale switch: aim again until the click lands.
        if not shown and not window.controller.busy:
            qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=plot.point_pos(i))
        return bool(shown)

    qtbot.waitUntil(click_point, timeout=20000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    assert set(shown) == {20} and window.time_travel_step == 20
    assert window.scene.graph.meta["step"] == 20
    assert "training step 20" in window.debug_state.text()


def test_pause_resume_stop(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    window.steps_spin.setValue(100000)
    states, done = [], []
    window.controller.training_state.connect(states.append)
    window.controller.training_finished.connect(done.append)
    window.act_train.trigger()
    qtbot.waitUntil(lambda: "running" in states, timeout=20000)
    qtbot.waitUntil(lambda: window.act_pause_train.isEnabled(), timeout=10000)
    window.act_pause_train.trigger()
    qtbot.waitUntil(lambda: states[-1] == "paused", timeout=10000)
    n = window.loss_plot.count
    qtbot.wait(200)
    assert window.loss_plot.count == n  # nothing moves while paused
    window.act_resume_train.trigger()
    qtbot.waitUntil(lambda: window.loss_plot.count > n + 5, timeout=10000)
    window.act_stop_train.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert done[0].status == "stopped"


def test_device_selector_lists_cpu(qtbot, window):
    qtbot.waitUntil(lambda: window.device_combo.findData("cpu") >= 0, timeout=5000)
    texts = [a.text() for a in window.device_menu.actions()]
    assert any(t.startswith("cpu") for t in texts)


def test_search_zoom_and_keyboard_navigation(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_F, Qt.ControlModifier)
    assert window.search_bar.isVisible()
    qtbot.keyClicks(window.search_bar.edit, "mul")
    assert window.search_bar.count.text() == "1 found"
    mul = node_named(graph, "MulBackward0")
    assert window.scene.matches == {mul.id}
    qtbot.keyClick(window.search_bar.edit, Qt.Key_Return)
    assert window.scene.selected_ids() == [mul.id]
    assert window.inspector.node_id == mul.id
    qtbot.keyClick(window.search_bar.edit, Qt.Key_Escape)
    assert not window.search_bar.isVisible() and not window.scene.matches
    # Leaf names are searched too.
    window.search.open_search()
    qtbot.keyClicks(window.search_bar.edit, "w")
    assert graph.leaf("w").id in window.scene.matches
    window.search_bar.close_bar()
    # Arrow keys walk the graph: Down follows the gradient, Up goes back.
    pow_id = node_named(graph, "PowBackward0").id
    window.scene.select_node(pow_id)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_Down)
    assert window.scene.selected_ids() == [node_named(graph, "AddBackward0").id]
    qtbot.keyClick(window.view, Qt.Key_Up)
    assert window.scene.selected_ids() == [pow_id]
    # Zoom to selection, fit.
    window.act_zoom_sel.trigger()
    assert window.view.visible_scene_rect().contains(window.scene.items_by_id[pow_id][0].sceneBoundingRect())
    window.act_fit.trigger()
    assert window.view.visible_scene_rect().contains(window.scene.itemsBoundingRect())


def test_model_dock_selects_module_nodes(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    tree = window.model_tree
    assert set(tree.items) >= {"", "0", "1", "2"}
    assert tree.items["0"].text(2) == "40"  # Linear(4, 8): 32 + 8 parameters
    assert tree.param_items["0.weight"].text(3) == "8×4"
    assert tree.select_path("0")
    sel = set(window.scene.selected_ids())
    want = {n.id for n in graph.nodes if n.module == "0" or (n.variable or {}).get("name", "").startswith("0.")}
    assert sel == want and len(sel) >= 3


def test_debug_next_training_step(qtbot, window, tmp_path):
    """Run → Debug Next Training Step: the next step's backward pauses node by node in the
    window; F5 finishes it, training pauses after that step and resumes on request."""
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    c = window.controller
    window.steps_spin.setValue(100000)
    states, done, paused, finished = [], [], [], []
    c.training_state.connect(states.append)
    c.training_finished.connect(done.append)
    c.node_paused.connect(paused.append)
    c.backward_finished.connect(finished.append)
    assert not window.act_debug_train.isEnabled()  # nothing is training yet
    window.act_train.trigger()
    qtbot.waitUntil(lambda: window.act_debug_train.isEnabled(), timeout=20000)
    window.act_debug_train.trigger()
    qtbot.waitUntil(lambda: bool(paused), timeout=20000)
    qtbot.waitUntil(lambda: window.act_step.isEnabled(), timeout=10000)
    graph = window.scene.graph
    assert graph is c.debugger.graph and graph.meta.get("step", 0) >= 1  # that step's own graph
    assert paused[0] in graph and graph.node(paused[0]).exec_order == 0
    assert "Paused after" in window.debug_state.text()
    steps_before = len(c.trainer.loss_history)

    # F10 steps that backward by one node; the loop waits meanwhile.
    window.act_step.trigger()
    qtbot.waitUntil(lambda: len(paused) >= 2 and paused[-1] != paused[0], timeout=10000)
    assert window.exec_list.count() >= 2
    assert len(c.trainer.loss_history) == steps_before

    # F5: the step's backward ends; its update is made; training pauses after it.
    window.act_continue.trigger()
    qtbot.waitUntil(lambda: bool(finished), timeout=20000)
    assert finished[-1].status == "finished"
    qtbot.waitUntil(lambda: states and states[-1] == "paused", timeout=10000)
    assert len(c.trainer.loss_history) == steps_before + 1
    leaves = [n for n in graph.leaves() if n.grad is not None]
    assert leaves  # the debugged step's gradients are on its leaves
    qtbot.waitUntil(lambda: window.act_resume_train.isEnabled(), timeout=10000)
    window.act_resume_train.trigger()
    qtbot.waitUntil(lambda: len(c.trainer.loss_history) > steps_before + 5, timeout=10000)
    window.act_stop_train.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert done[0].status == "stopped"


def test_time_travel_memory_is_configured_and_remembered(qtbot, window, tmp_path, monkeypatch):
    """The budget decides what stays in memory; every step stays reachable (older ones on disk)."""
    from PySide6.QtWidgets import QInputDialog

    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    assert window.controller.memory_budget == 1 << 30  # the default: 1 GiB
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (0, True))
    window.act_history_memory.trigger()
    assert window.controller.memory_budget == 0
    assert int(window.settings.value("training/memory_budget_mib")) == 0
    window.steps_spin.setValue(12)
    done = []
    window.controller.training_finished.connect(done.append)
    window.act_train.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    assert done[0].status == "finished"
    tr = window.controller.trainer
    assert [g.meta["step"] for g in tr.snapshots] == [12]  # only the newest in memory at 0 ...
    assert tr.kept_steps == list(range(1, 13))  # ... and yet every step is kept, the rest on disk
    g = tr.snapshot_at(2)
    assert g is not None and g.meta["step"] == 2
    assert all(n.exec_order is not None for n in g.nodes if n.kind != "leaf" and n.kind != "output")
