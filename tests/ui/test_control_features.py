"""Each of the controller's feature objects (graphviz_app/ui/control/) on its own: a
bare Controller (no window) as their hub, requests made to the feature object
directly, results awaited as the controller's queued signals."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from graphviz_app import Scenario
from graphviz_app.core.run.debugger import BP_NODE
from graphviz_app.ui.control.jobs import CANCELLABLE, Cancelled
from graphviz_app.ui.control.layouts import compute_layout
from graphviz_app.ui.control.values import ValuesReader, tensor_payload
from graphviz_app.ui.controller import Controller

WAIT = 30000


def build(device="cpu"):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(device)
    x, y = torch.randn(8, 3, device=device), torch.randn(8, 1, device=device)
    return Scenario("tiny", model=net, inputs=x, targets=y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1), steps=5)


@pytest.fixture
def ctl(qtbot):
    c = Controller()
    yield c
    c.shutdown()
    c.wait_idle(10)
    qtbot.waitUntil(lambda: not c.busy, timeout=WAIT)


def idle(qtbot, c):
    qtbot.waitUntil(lambda: not c.busy, timeout=WAIT)


def opened(qtbot, c):
    """A bare controller showing the tiny scenario (through the loader)."""
    with qtbot.waitSignal(c.graph_ready, timeout=WAIT):
        assert c.loading.open_scenario(build, source="test")
    idle(qtbot, c)
    return c.graph


# ------------------------------------------------------------------ jobs
def test_job_runner_runs_on_a_worker_one_at_a_time_and_reports_errors(qtbot, ctl):
    gate, ran_on = threading.Event(), []
    infos, failures = [], []
    ctl.info.connect(infos.append)
    ctl.failed.connect(lambda msg, details: failures.append(msg))

    def work():
        ran_on.append(threading.current_thread())
        gate.wait(10)

    assert ctl.jobs.spawn("layout", work, "Working…")
    assert ctl.busy and ctl.jobs.cancellable and "layout" in CANCELLABLE
    assert not ctl.jobs.spawn("forward", lambda: None, "Again…")  # one job at a time
    qtbot.waitUntil(lambda: any("Still busy with layout" in i for i in infos), timeout=WAIT)
    gate.set()
    idle(qtbot, ctl)
    assert ran_on and ran_on[0] is not threading.main_thread()

    def broken():
        raise ValueError("no good")

    assert ctl.jobs.spawn("forward", broken, "Breaking…")
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT)
    idle(qtbot, ctl)
    assert failures[0] == "Forward failed: ValueError: no good"


def test_job_runner_cancel_drops_the_result(qtbot, ctl):
    started, infos, done = threading.Event(), [], []
    ctl.info.connect(infos.append)

    def work():
        started.set()
        while not ctl.jobs.cancel_event.wait(0.01):
            pass
        ctl.jobs.check_cancel()
        done.append(True)  # never reached: check_cancel raised

    assert ctl.jobs.spawn("loading", work, "Loading…")
    started.wait(10)
    assert ctl.jobs.cancel()
    idle(qtbot, ctl)
    assert not done and any("Loading cancelled" in i for i in infos)
    assert not ctl.jobs.cancel()  # nothing left to cancel
    with pytest.raises(Cancelled):
        ctl.jobs.cancel_event.set()
        ctl.jobs.check_cancel()


# --------------------------------------------------------------- layouts
def test_compute_layout_draws_collapsed_modules_as_one_box(qtbot, ctl):
    graph = opened(qtbot, ctl)
    full = compute_layout(graph, "TB")
    assert full.drawn is graph and full.box_of == {}
    from collections import Counter

    # The module with the most nodes (a one-node module, Tanh, draws as many boxes).
    top = Counter(n.module for n in graph.nodes if n.module).most_common(1)[0][0]
    grouped = compute_layout(graph, "TB", {top})
    assert len(grouped.drawn.nodes) < len(graph.nodes) and grouped.box_of


def test_layouts_relayout_keeps_the_graph_and_collapses(qtbot, ctl):
    graph = opened(qtbot, ctl)
    with qtbot.waitSignal(ctl.relayout_ready, timeout=WAIT) as sig:
        ctl.layouts.set_direction("BT")
    assert sig.args[0] is graph and ctl.direction == "BT" and ctl.layout is sig.args[1]
    idle(qtbot, ctl)
    path = next(n.module for n in graph.nodes if n.module)
    with qtbot.waitSignal(ctl.relayout_ready, timeout=WAIT):
        assert ctl.layouts.collapse_module(path)
    idle(qtbot, ctl)
    assert ctl.collapsed
    with qtbot.waitSignal(ctl.relayout_ready, timeout=WAIT):
        assert ctl.layouts.set_collapsed(())
    idle(qtbot, ctl)
    assert ctl.collapsed == set()


# ---------------------------------------------------------- current graph
def test_current_graph_forward_publish_and_loss(qtbot, ctl):
    from graphviz_app.core.run.session import Session

    session = Session(build(), source="test")
    losses = []
    ctl.loss_added.connect(lambda step, loss: losses.append(loss))
    graph = ctl.current.forward(session)
    assert graph.live and ctl.last_forward_s > 0 and graph.meta["device"] == "cpu"
    with qtbot.waitSignal(ctl.graph_ready, timeout=WAIT) as sig:
        ctl.current.publish(graph, compute_layout(graph, "TB"))
    assert sig.args[0] is graph and ctl.graph is graph
    ctl.current.emit_loss(session)
    qtbot.waitUntil(lambda: bool(losses), timeout=WAIT)
    ctl.session = session
    ctl.current.replace_session(None)  # releases the old session
    assert session.graph is None or not session.graph.live


# ---------------------------------------------------------------- loading
def test_loader_opens_a_scenario_then_a_snapshot_file(qtbot, ctl, tmp_path):
    from graphviz_app.core.files import snapshot

    sources = []
    ctl.source_changed.connect(lambda src, kind: sources.append((src, kind)))
    graph = opened(qtbot, ctl)
    assert ctl.kind == "scenario" and ctl.session is not None and ctl.path is None
    path = snapshot.save(graph, tmp_path / "tiny.json")
    with qtbot.waitSignal(ctl.graph_ready, timeout=WAIT):
        assert ctl.loading.open(path)
    idle(qtbot, ctl)
    assert ctl.kind == "snapshot" and ctl.session is None and ctl.path == path
    assert sources == [("test", "scenario"), (str(path), "snapshot")]


def test_loader_refuses_an_unknown_device(qtbot, ctl):
    failures = []
    ctl.failed.connect(lambda msg, details: failures.append(msg))
    assert not ctl.loading.set_device("no-such-device")
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT)
    assert ctl.device == "cpu"


# ---------------------------------------------------------------- forward
def test_forward_rerun_and_stepping(qtbot, ctl):
    first = opened(qtbot, ctl)
    with qtbot.waitSignal(ctl.graph_ready, timeout=WAIT) as sig:
        assert ctl.forward.rerun()
    idle(qtbot, ctl)
    assert sig.args[0] is not first and ctl.last_run_s > 0
    with qtbot.waitSignal(ctl.forward_paused, timeout=WAIT):
        assert ctl.forward.forward_step()
    with qtbot.waitSignal(ctl.forward_finished, timeout=WAIT):
        assert ctl.forward.resume("continue")
    qtbot.waitUntil(lambda: ctl.debugger is not None, timeout=WAIT)
    assert not ctl.forward.resume("step")  # nothing left to step


# --------------------------------------------------------------- backward
def test_backward_driver_steps_runs_and_keeps_breakpoints(qtbot, ctl):
    graph = opened(qtbot, ctl)
    bp = ctl.backward.add_breakpoint(BP_NODE, "x")
    assert ctl.backward.add_breakpoint(BP_NODE, "x") is bp and ctl.breakpoints == [bp]
    ctl.backward.remove_breakpoint(bp)
    assert ctl.breakpoints == []
    paused, finished = [], []
    ctl.node_paused.connect(paused.append)
    ctl.backward_finished.connect(finished.append)
    ctl.backward.step()
    qtbot.waitUntil(lambda: bool(paused), timeout=WAIT)
    assert paused[0] in ctl.graph and ctl.paused_at == paused[0]
    ctl.backward.run_to_end()
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT)
    idle(qtbot, ctl)
    assert finished[0].ok and ctl.last_run_s > 0
    assert len(graph.nodes) == len(ctl.graph.nodes)


def test_backward_driver_nan_hunt_reports_none_on_a_finite_model(qtbot, ctl):
    opened(qtbot, ctl)
    with qtbot.waitSignal(ctl.nan_found, timeout=WAIT) as sig:
        assert ctl.backward.nan_hunt()
    assert sig.args == [""]
    qtbot.waitUntil(lambda: not ctl.backward_running, timeout=WAIT)
    idle(qtbot, ctl)
    assert ctl.debugger is not None and ctl.debugger.result is not None


# --------------------------------------------------------------- training
def test_training_control_trains_keeps_snapshots_and_time_travels(qtbot, ctl):
    opened(qtbot, ctl)
    ctl.training_control.set_memory_budget(0)  # nothing in memory: every kept step on disk
    assert ctl.memory_budget == 0
    with qtbot.waitSignal(ctl.training_finished, timeout=WAIT) as sig:
        assert ctl.training_control.train(4)
    assert sig.args[0].status == "finished"
    idle(qtbot, ctl)
    qtbot.waitUntil(lambda: not ctl.busy, timeout=WAIT)
    assert [g.meta["step"] for g in ctl.trainer.snapshots] == [4]  # only the newest in memory
    kept = ctl.trainer.kept_steps
    assert kept == [1, 2, 3, 4]  # every step, read back from disk when shown
    with qtbot.waitSignal(ctl.snapshot_shown, timeout=WAIT) as shown:
        assert ctl.training_control.show_snapshot(kept[0])  # spilled to disk
    idle(qtbot, ctl)
    assert shown.args == [kept[0]] and ctl.graph.meta["time_travel"] == kept[0]
    assert not ctl.training_control.show_snapshot(10_000)


# ----------------------------------------------------------------- values
class FakeDebugger:
    def __init__(self, graph, t):
        self.graph, self.result = graph, None
        self.grads_out = {"n": (t,)}
        self.grads_in = {}


def test_values_reader_reads_on_its_worker():
    got, threads, done = [], [], threading.Event()

    def emit(node_id, which, slot, payload):
        got.append((node_id, which, slot, payload))
        threads.append(threading.current_thread())
        done.set()

    reader = ValuesReader(emit)
    graph = object()
    reader.request("n", "in", 0, FakeDebugger(graph, torch.arange(6.0).reshape(2, 3)), graph)
    assert done.wait(10)
    node_id, which, slot, payload = got[0]
    assert (node_id, which, slot) == ("n", "in", 0) and payload["kind"] == "table"
    assert threads[0] is not threading.main_thread()
    done.clear()
    reader.request("n", "in", 0, FakeDebugger(object(), torch.ones(3)), graph)  # another graph
    assert done.wait(10) and got[1][3]["kind"] == "none"
    reader.stop()


def test_tensor_payload_kinds():
    assert tensor_payload(None) == {"kind": "none"}
    assert tensor_payload(torch.ones(300, 300))["kind"] == "heatmap"
    big = tensor_payload(torch.randn(5000))
    assert big["kind"] == "hist" and big["hist"][0].sum() == 5000


# -------------------------------------------------------------- explaining
def test_explainer_lists_parameters_and_explains(qtbot, ctl):
    assert ctl.explainer.module_params() == []
    assert not ctl.explainer.explain_missing()
    opened(qtbot, ctl)
    names = [p[0] for p in ctl.explainer.module_params()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with qtbot.waitSignal(ctl.explanations, timeout=WAIT) as sig:
        assert ctl.explainer.explain_missing(["0.weight"])
    idle(qtbot, ctl)
    assert isinstance(sig.args[0], list)


# ------------------------------------------------------------------ facade
WINDOW_API = [
    "abort", "add_breakpoint", "cancel", "collapse_module", "continue_", "debug_training_step",
    "expand_module", "explain_missing", "forward_step", "nan_hunt", "open", "open_model",
    "open_program", "open_scenario", "pause_training", "remove_breakpoint", "request_values",
    "rerun", "restart", "resume_training", "run_to", "run_to_end", "set_breakpoint_enabled",
    "set_collapsed", "set_device", "set_direction", "set_memory_budget", "set_layout_engine",
    "set_split_leaves", "show_snapshot", "shutdown", "step", "step_into", "stop_training", "train",
    "wait_idle", "module_params", "clear_breakpoints",
]


def test_the_facade_keeps_the_window_api_and_forwards_it(qtbot, ctl):
    for name in WINDOW_API:
        assert callable(getattr(ctl, name)), name
    for prop in ("busy", "training", "has_model", "paused_at", "backward_running", "forward_stepping",
                 "cancellable", "debugging_training"):
        getattr(ctl, prop)
    bp = ctl.add_breakpoint(BP_NODE, "y")  # through the facade to the backward driver
    assert ctl.breakpoints == [bp]
    ctl.clear_breakpoints()
    assert ctl.breakpoints == [] and not ctl.has_model and not ctl.cancel()
