"""File → Open Run Directory: the run dock follows a recorder's output; clicking a snapshot opens it."""

import torch

import graphviz_app


def make_run(tmp_path):
    run = tmp_path / "run"
    x = torch.tensor(2.0, requires_grad=True)
    with graphviz_app.Recorder(run, every=0, names={"x": x}) as rec:
        for i in range(3):
            y = x * x
            rec.step(float(10 - i))
    snaps = run / "rank0" / "snapshots"
    snaps.mkdir(parents=True, exist_ok=True)
    graphviz_app.snapshot(y, snaps / "step_000002.json", names={"x": x}, backward=True)
    return run, snaps / "step_000002.json"


def test_open_run_directory_shows_losses_and_time_travels(qtbot, window, tmp_path):
    run, snap = make_run(tmp_path)
    assert window.act_open_run.text().startswith("Open R")
    assert window.open_path(str(run))  # a directory opens as a run
    assert window.docks["run"].isVisible()
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        window.run_view.snapshot_selected.emit(str(snap))
    graph = window.scene.graph
    assert graph.leaf("x").grad["values"] == 4.0


def test_bad_run_directory_is_reported(qtbot, window, tmp_path):
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    assert not window.opening.open_run_dir(str(empty))
    assert "run directory" in window.last_error
