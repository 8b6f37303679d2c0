"""The training loop on its worker: histories, throttled progress, pause/resume/stop,
debugging a step, bounded snapshots, and the headless export path."""

import threading

import pytest
import torch
from torch import nn

from graphviz_app.core.files import snapshot
from graphviz_app.core.files.headless import train_and_snapshot
from graphviz_app.core.files.loader import LoadError
from graphviz_app.core.run.scenario import Scenario, sgd_update
from graphviz_app.core.run.training import FINISHED, PAUSED, RUNNING, STOPPED, Trainer

T = 20.0  # generous timeouts: the CI machine is small and shared


def regression(steps=40):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    X, Y = torch.randn(32, 4), torch.randn(32, 1)
    return Scenario("regression", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1), steps=steps)


def test_runs_n_steps_with_loss_and_grad_norm_histories():
    sc = regression(40)
    tr = Trainer(sc, keep=3)
    batches, states, done = [], [], threading.Event()
    tr.progress.connect(batches.append)
    tr.state_changed.connect(states.append)
    tr.finished.connect(lambda r: done.set())
    tr.start()
    res = tr.wait(T)
    assert done.wait(T)
    assert res.status == FINISHED and res.steps == 40 and res.ok
    assert len(tr.loss_history) == 40 and tr.loss_history[-1] < tr.loss_history[0]
    assert set(tr.grad_norm_history) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(len(v) == 40 for v in tr.grad_norm_history.values())
    records = [r for b in batches for r in b]
    assert [r.step for r in records] == list(range(1, 41))  # every step reported once, in order
    assert [r.loss for r in records] == tr.loss_history
    assert states[0] == RUNNING and states[-1] == FINISHED
    assert sc.step_count == 40


def test_progress_is_batched():
    tr = Trainer(regression(30), keep=0, emit_interval=3600)
    batches = []
    tr.progress.connect(batches.append)
    tr.start()
    tr.wait(T)
    # The first step emits, the rest wait for the interval or the end.
    assert len(batches) <= 2 and sum(len(b) for b in batches) == 30


def test_snapshots_are_bounded_detached_and_carry_their_history():
    tr = Trainer(regression(12), keep=3)
    tr.start()
    tr.wait(T)
    snaps = tr.snapshots
    assert [g.meta["step"] for g in snaps] == [10, 11, 12]
    for g in snaps:
        assert not g.live and len(g.meta["loss_history"]) == g.meta["step"]
        assert set(g.meta["grad_norms"]) == set(tr.grad_norm_history)
        leaf = g.leaf("0.bias")
        assert leaf.grad is not None and leaf.grad["shape"] == [8]
        snapshot.validate(snapshot.to_dict(g))
    assert tr.snapshot_at(11) is snaps[1]
    assert tr.snapshot_at(3).meta["step"] == 3  # older steps are read back from disk, not dropped
    tr.keep = 1
    assert [g.meta["step"] for g in tr.snapshots] == [12]


def test_kept_steps_name_their_modules_as_the_live_graph_does():
    from graphviz_app.core.run.session import Session

    live = Session(regression(3)).forward()
    tr = Trainer(regression(3))
    tr.start()
    tr.wait(T)
    kept = tr.snapshot_at(2)
    modules = {(n.name, n.module) for n in live.nodes if n.kind != "leaf"}
    assert {(n.name, n.module) for n in kept.nodes if n.kind != "leaf"} == modules
    assert {"0", "2"} <= {m for _, m in modules}


def test_snapshot_every_and_keep_zero():
    tr = Trainer(regression(9), keep=10, snapshot_every=3)
    tr.start()
    tr.wait(T)
    assert [g.meta["step"] for g in tr.snapshots] == [3, 6, 9]
    tr = Trainer(regression(5), keep=0)
    tr.start()
    tr.wait(T)
    assert tr.snapshots == []


def test_pause_resume_stop():
    tr = Trainer(regression(10**6), keep=2)
    tr.start()
    assert tr.wait_steps(3, T)
    tr.pause()
    assert tr.wait_paused(T) and tr.state == PAUSED
    n = len(tr.loss_history)
    assert not tr.wait_steps(n + 1, timeout=0.3)  # nothing moves while paused
    assert len(tr.loss_history) == n
    tr.resume()
    assert tr.wait_steps(n + 3, T)
    tr.stop()
    res = tr.wait(T)
    assert res.status == STOPPED and res.ok and 3 <= res.steps < 10**6
    assert not tr.running
    # A stopped trainer can run more steps.
    before = len(tr.loss_history)
    tr.start(2)
    assert tr.wait(T).status == FINISHED and len(tr.loss_history) == before + 2


def test_stop_while_paused():
    tr = Trainer(regression(10**6), keep=0)
    tr.start()
    tr.pause()
    assert tr.wait_paused(T)
    tr.stop()
    assert tr.wait(T).status == STOPPED


def test_debug_the_next_step_hands_out_a_debugger():
    sc = regression(10**6)
    tr = Trainer(sc, keep=5)
    ready = []
    got = threading.Event()
    tr.debug_ready.connect(lambda d: (ready.append(d), got.set()))
    tr.start()
    assert tr.wait_steps(2, T)
    tr.debug_next_step("step")
    assert got.wait(T)
    dbg = ready[0]
    first = dbg.wait_paused(T)
    assert first is not None and tr.state == "debugging"
    w_before = sc.model[0].weight.detach().clone()
    dbg.step()
    assert dbg.wait_paused(T) is not None
    dbg.run_to_end()
    assert dbg.wait(T).ok
    assert tr.wait_paused(T)  # pauses after the debugged step
    assert not torch.equal(sc.model[0].weight, w_before)  # the update ran after the debugged backward
    debugged = [g for g in tr.snapshots if g.meta["step"] == sc.step_count]
    assert debugged and any(n.exec_order is not None for n in debugged[0])  # the debugged graph was kept
    tr.stop()
    assert tr.wait(T).status == STOPPED


def test_aborting_a_debugged_step_skips_its_update():
    sc = regression(10**6)
    tr = Trainer(sc, keep=0)
    ready = []
    got = threading.Event()
    tr.debug_ready.connect(lambda d: (ready.append(d), got.set()))
    tr.debug_next_step("step")  # idle: starts the trainer on a debugged step
    assert got.wait(T)
    dbg = ready[0]
    assert dbg.wait_paused(T) is not None
    w_before = sc.model[0].weight.detach().clone()
    dbg.abort()
    assert tr.wait_paused(T)
    assert torch.equal(sc.model[0].weight, w_before) and sc.step_count == 0
    assert tr.loss_history == [] and sc.loss_history == []
    assert tr.last_debug_result.status == "aborted"
    tr.debug_next_step("run", pause_after=False)
    assert tr.wait_steps(3, T)
    tr.stop()
    assert tr.wait(T).steps >= 3


def test_stop_aborts_a_paused_debugger():
    tr = Trainer(regression(10), keep=0)
    got = threading.Event()
    box = []
    tr.debug_ready.connect(lambda d: (box.append(d), got.set()))
    tr.debug_next_step("step")
    assert got.wait(T) and box[0].wait_paused(T) is not None
    tr.stop()
    assert tr.wait(T).status == STOPPED
    assert box[0].wait(T).status == "aborted"


def test_manual_update_and_leaf_scenario():
    w = torch.tensor(1.0, requires_grad=True)
    sc = Scenario("manual", leaves={"w": w}, forward=lambda w: (w * 2.0 - 4.0) ** 2, update=sgd_update(0.05), steps=60)
    tr = Trainer(sc)
    tr.start()
    assert tr.wait(T).ok
    assert w.item() == pytest.approx(2.0, abs=1e-3)
    assert len(tr.grad_norm_history["w"]) == 60


def test_a_failing_step_reports_the_users_traceback():
    calls = []

    def forward(x):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("bad batch")
        return x * 2

    sc = Scenario("fails", leaves={"x": torch.tensor(1.0, requires_grad=True)}, forward=forward, steps=10)
    tr = Trainer(sc)
    tr.start()
    res = tr.wait(T)
    assert res.status == "failed" and res.steps == 2 and not res.ok
    assert "ValueError: bad batch" in res.error and "def forward" not in res.traceback
    assert "forward" in res.traceback and "bad batch" in res.traceback


def test_train_and_snapshot_headless(examples_dir, tmp_path):
    g = train_and_snapshot(examples_dir / "chain_rule.py", 30, "cpu")
    assert len(g.meta["loss_history"]) == 30 and g.meta["step"] == 30 and not g.live
    assert all(n.exec_order is not None for n in g)  # the last step's backward was observed
    assert g.leaf("x").grad["values"] == 20.0
    doc = snapshot.to_dict(g)
    snapshot.validate(doc)
    back = snapshot.loads(snapshot.dumps(g))
    assert len(back.meta["loss_history"]) == 30


def test_train_and_snapshot_trains(tmp_path):
    p = tmp_path / "reg.py"
    p.write_text(
        "import torch\nfrom torch import nn\nfrom graphviz_app import Scenario\n"
        "def build(device='cpu'):\n"
        "    torch.manual_seed(0)\n"
        "    net = nn.Linear(3, 1).to(device)\n"
        "    X = torch.randn(16, 3, device=device)\n"
        "    return Scenario('reg', model=net, inputs=X, targets=X.sum(1, keepdim=True), loss_fn=nn.MSELoss(),\n"
        "                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1))\n",
        encoding="utf-8",
    )
    g = train_and_snapshot(p, 25, "cpu")
    lh = g.meta["loss_history"]
    assert len(lh) == 25 and lh[-1] < lh[0] / 4
    assert g.meta["scenario"] == "reg" and set(g.meta["grad_norms"]) == {"weight", "bias"}
    with pytest.raises(ValueError):
        train_and_snapshot(p, 0)
    with pytest.raises(LoadError, match="not available"):
        train_and_snapshot(p, 1, "cuda:99")
