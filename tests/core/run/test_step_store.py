"""Kept training steps: every one holds its step's full per-node record, the newest stay
in memory within a budget and older ones come back from disk instead of being dropped."""

import os

import torch
from torch import nn

from graphviz_app.core.graph.model import LEAF
from graphviz_app.core.run.scenario import Scenario
from graphviz_app.core.run.step_store import StepStore, estimate_bytes
from graphviz_app.core.run.training import Trainer


def regression(steps=10):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    return Scenario("reg", model=net, inputs=torch.randn(16, 3), targets=torch.randn(16, 1),
                    loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.05), steps=steps)


def test_every_kept_step_holds_execution_order_and_gradients():
    tr = Trainer(regression(6), snapshot_every=1)
    assert tr.run_sync(6).status == "finished"
    assert tr.kept_steps == [1, 2, 3, 4, 5, 6]
    for step in tr.kept_steps:
        g = tr.snapshot_at(step)
        ops = [n for n in g.nodes if n.kind != LEAF]
        assert all(n.exec_order is not None for n in g.nodes), step
        assert all(n.grad_inputs is not None and n.grad_outputs is not None for n in ops), step
        assert all(n.grad is not None for n in g.nodes if n.kind == LEAF), step
    tr.close()


def test_the_kept_record_equals_that_steps_gradients():
    """A kept step's leaf .grad summary is the gradient that step computed (before the update)."""
    sc = regression(3)
    tr = Trainer(sc, snapshot_every=1)
    norms = []
    tr.progress.connect(lambda recs: norms.extend(r.grad_norms for r in recs))
    tr.run_sync(3)
    for step, by_name in zip(tr.kept_steps, norms):
        g = tr.snapshot_at(step)
        got = {n.variable["name"]: n.grad["norm"] for n in g.nodes if n.kind == LEAF}
        for name, norm in by_name.items():
            assert abs(got[name] - norm) <= 1e-6 * max(1.0, norm), (step, name)
    tr.close()


def test_older_steps_spill_to_disk_and_come_back(tmp_path):
    tr = Trainer(regression(12), snapshot_every=1, memory_budget=1, spill_dir=str(tmp_path))
    tr.run_sync(12)
    assert tr.kept_steps == list(range(1, 13))  # nothing dropped
    assert len(tr.snapshots) == 1  # the budget holds one step in memory
    spilled = list(tmp_path.glob("graphviz_app_steps_*/*.pickle"))
    assert len(spilled) == 11
    first = tr.snapshot_at(1)
    assert first.meta["step"] == 1 and first.meta["loss_history"] == tr.loss_history[:1]
    assert all(n.exec_order is not None for n in first.nodes)
    tr.close()
    assert not list(tmp_path.glob("graphviz_app_steps_*"))  # close removes the spill folder


def test_default_budget_keeps_a_hundred_steps_of_a_2000_node_graph_in_memory():
    """The default is sized from the estimate of a real 2,000-node graph's record."""
    from graphviz_app.core.run.step_store import DEFAULT_MEMORY_BUDGET

    x = torch.randn(4, 8, requires_grad=True)
    y = x
    for _ in range(1000):  # 2 nodes a step: 2,000 ops
        y = torch.tanh(y) * 1.01
    tr_graph = _observed(y.sum())
    assert len(tr_graph.nodes) >= 2000
    assert 100 * estimate_bytes(tr_graph) <= DEFAULT_MEMORY_BUDGET


def _observed(loss):
    from graphviz_app.core.graph.capture import capture
    from graphviz_app.core.run.debugger import BackwardDebugger

    g = capture(loss)
    dbg = BackwardDebugger(g, run=lambda: loss.backward())
    dbg.start("run")
    assert dbg.wait(60).status == "finished"
    g.detach()
    return g


def test_disk_budget_drops_only_the_oldest(tmp_path):
    store = StepStore(memory_budget=0, disk_budget=1, spill_dir=tmp_path)
    g = _observed((torch.ones(3, requires_grad=True) * 2).sum())
    for s in range(1, 5):
        store.add(s, g)
    assert store.steps()[-1] == 4 and store.dropped >= 1
    assert store.get(4) is not None
    store.close()
    assert not os.listdir(tmp_path)
