"""What the window shows of recorded state must be true: any kept training step, a
reopened snapshot, and nothing left over from the previous model or from a pause."""

import time

from PySide6.QtCore import Qt
from ui_helpers import MODEL, Pauses, node_named, open_file, write_scenario

from graphviz_app.core.run.debugger import BP_TYPE


def train(qtbot, window, steps):
    window.steps_spin.setValue(steps)
    done = []
    window.controller.training_finished.connect(done.append)
    window.act_train.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    assert done[0].status == "finished"


def values_kind(qtbot, window, node_id):
    """Select ``node_id`` and wait for the values view to show its first gradient."""
    got = []
    window.controller.values_ready.connect(lambda nid, *rest: got.append(nid))
    window.goto_node(node_id)
    qtbot.waitUntil(lambda: node_id in got, timeout=10000)
    return window.inspector.values.kind


def test_an_early_training_step_opens_with_its_whole_record(qtbot, window, tmp_path):
    """Point 4: a kept step (spilled to disk by a small budget) shows execution order,
    gradients in and out and leaf values, not "has not run yet" / "No tensor here"."""
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    window.training_view.set_memory_budget(0)  # every step but the newest goes to disk
    train(qtbot, window, 20)
    assert window.controller.trainer.kept_steps == list(range(1, 21))
    shown = []
    window.controller.snapshot_shown.connect(shown.append)
    plot = window.loss_plot
    i = plot.train_steps.index(2)

    def click_point() -> bool:
        if not shown and not window.controller.busy:
            qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=plot.point_pos(i))
        return bool(shown)

    qtbot.waitUntil(click_point, timeout=20000)
    qtbot.waitUntil(lambda: not window.controller.busy and not window.scene.building, timeout=20000)
    assert shown == [2] and window.scene.graph.meta["step"] == 2
    graph = window.scene.graph
    ops = [n for n in graph.nodes if n.kind != "leaf"]
    assert all(n.exec_order is not None for n in ops)
    assert window.exec_list.count() == sum(1 for n in graph.nodes if n.exec_order is not None)
    mm = node_named(graph, "AddmmBackward0")
    window.goto_node(mm.id)
    qtbot.waitUntil(lambda: window.inspector.node_id == mm.id, timeout=5000)
    text = window.inspector.toPlainText()
    assert "has not run yet" not in text and "ran as step #" in text
    assert "Gradient received" in text and "Gradient sent on" in text
    bias = next(n for n in graph.leaves() if n.variable["name"].endswith("2.bias"))
    assert bias.grad is not None
    assert values_kind(qtbot, window, bias.id) == "table"  # one value: recorded whole
    weight = next(n for n in graph.leaves() if n.variable["name"].endswith("0.weight"))
    assert values_kind(qtbot, window, weight.id) == "table"  # 32 values: recorded whole
    assert "No tensor here" not in window.inspector.values.caption.text()


def test_a_reopened_snapshot_restores_the_execution_list_and_values(qtbot, window, tmp_path):
    """Point 5."""
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    p = Pauses(window)
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    ran = window.exec_list.count()
    assert ran > 0
    out = tmp_path / "snap.json"
    assert window.exporter.export_graph(str(out)), window.last_error
    open_file(qtbot, window, out)
    graph = window.scene.graph
    assert not graph.live
    assert window.exec_list.count() == ran
    first = window.exec_list.item(0).text()
    assert first.startswith("#1  ")
    assert "Snapshot (view only)" in window.debug_state.text()
    mm = node_named(graph, "AddmmBackward0")
    assert values_kind(qtbot, window, mm.id) in ("table", "summary")
    assert "has not run yet" not in window.inspector.toPlainText()


def test_no_state_from_the_previous_model_and_no_paused_time(qtbot, window, tmp_path, examples_dir):
    """Point 6: the Plots header and status timings belong to the model on screen; a
    backward's time leaves out the time it was paused; the state line names the node step."""
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    train(qtbot, window, 5)
    assert "step 5" in window.plots.hint.text()
    open_file(qtbot, window, examples_dir / "chain_rule.py")
    assert window.plots.hint.text() == ""
    assert "backward" not in window.status_times.text()
    # Pause at a breakpoint for over a second, then finish: the backward took milliseconds.
    mul = node_named(window.scene.graph, "MulBackward0").name
    window.breakpoint_actions.add_breakpoint(BP_TYPE, mul)
    p = Pauses(window)
    window.act_continue.trigger()
    p.wait_next(qtbot, 0)
    assert p.paused and "(node step" in window.debug_state.text()
    t0 = time.perf_counter()
    qtbot.waitUntil(lambda: time.perf_counter() - t0 > 1.2, timeout=5000)
    window.controller.breakpoints.clear()
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert window.controller.last_run_s < 1.0
    shown = window.status_times.text()
    assert shown.startswith("backward ") and int(shown.split()[1]) < 1000


def test_spilled_steps_are_removed_when_another_model_opens(qtbot, window, tmp_path, examples_dir):
    open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    window.training_view.set_memory_budget(0)
    train(qtbot, window, 4)
    spill = window.controller.trainer.store._dir
    assert spill is not None and spill.is_dir() and any(spill.iterdir())
    open_file(qtbot, window, examples_dir / "chain_rule.py")
    assert window.controller.trainer is None and not spill.exists()
