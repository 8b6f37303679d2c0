"""Stepping the forward pass: module order is the model's call order, the partial
graph grows at each stop, op stepping, breakpoints, abort, and on to backward."""

import pytest
import torch
from torch import nn

from graphviz_app.core.run.forward_stepper import (
    MODULE,
    OPS,
    ForwardStepper,
    call_order,
)
from graphviz_app.core.run.scenario import Scenario

T = 20.0


class Shuffled(nn.Module):
    """Defined a, b, c, block; called c, block, a, b (and c again)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 2)
        self.c = nn.Linear(3, 4)
        self.block = nn.Sequential(nn.Linear(4, 4), nn.ReLU())

    def forward(self, x):
        h = self.c(x)
        h = self.block(h)
        h = torch.tanh(self.a(h))
        return self.b(h) + self.c(x)[:, :2]


def scenario():
    torch.manual_seed(0)
    return Scenario("shuffled", model=Shuffled(), inputs=torch.randn(5, 3), targets=torch.randn(5, 2),
                    loss_fn=nn.MSELoss())


def hooked_call_order(model, x):
    """The reference: module paths in the order their calls finish, from plain hooks."""
    order, handles = [], []
    for path, m in model.named_modules():
        handles.append(m.register_forward_hook(lambda mod, a, o, path=path: order.append(path)))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return order


def test_module_order_equals_the_models_call_order():
    sc = scenario()
    expected = hooked_call_order(sc.model, sc.inputs)
    assert expected == ["c", "block.0", "block.1", "block", "a", "b", "c", ""]
    assert call_order(sc) == expected


def test_stepping_pauses_after_each_module_with_a_growing_graph():
    sc = scenario()
    st = ForwardStepper(sc)
    seen = []
    st.paused.connect(lambda stop: seen.append(stop.name))
    st.start("step")
    stops = []
    while (stop := st.wait_paused(T)) is not None:
        assert st.is_paused and stop.kind == MODULE
        stops.append(stop)
        st.step()
    res = st.wait(T)
    assert res.ok
    assert [s.name for s in stops] == ["c", "block.0", "block.1", "block", "a", "b", "c", ""] == seen
    sizes = [len(s.graph) for s in stops]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert stops[-1].label == "(model)" and stops[0].output[0]["shape"] == [5, 4]
    # Only unconsumed outputs are marked as outputs in a partial graph.
    assert [n.name for n in stops[3].graph.outputs()] == ["ReluBackward0"]
    assert stops[3].graph.meta["partial"] is True
    # The finished graph is module-tagged and live; backward continues from it.
    mods = {n.module for n in st.graph if n.kind == "op"}
    assert {"c", "block.0", "block.1", "a", "b"} <= mods
    dbg = st.make_debugger()
    dbg.start("run")
    assert dbg.wait(T).ok
    assert sc.model.a.weight.grad is not None
    assert sc.loss_history and st.graph.meta["loss"] == sc.loss_history[-1]


def test_op_granularity_and_single_op_steps():
    sc = scenario()
    st = ForwardStepper(sc, granularity=OPS)
    st.start("run")
    res = st.wait(T)
    ops = res.ops()
    assert ops[:2] == ["linear", "linear"] and "relu" in ops and "tanh" in ops and ops[-1] == "mse_loss"
    # Module stops come right after the op that ended them.
    assert res.order[:2] == [(OPS, "linear"), (MODULE, "c")]

    st = ForwardStepper(scenario())  # module granularity, one op step on request
    st.start("step_op")
    stop = st.wait_paused(T)
    assert (stop.kind, stop.name, stop.module) == (OPS, "linear", "c") and stop.label == "linear in c"
    st.step()
    assert st.wait_paused(T).name == "c"
    st.set_granularity(OPS)
    st.step()
    assert st.wait_paused(T).kind == OPS
    st.run_to_end()
    assert st.wait(T).ok


def test_continue_to_breakpoints():
    st = ForwardStepper(scenario())
    st.breakpoints = {"block", "tanh"}
    st.start("continue")
    assert st.wait_paused(T).name == "block.0"  # a module breakpoint covers its children
    st.continue_()
    assert st.wait_paused(T).name == "block.1"
    st.continue_()
    assert st.wait_paused(T).name == "block"
    st.continue_()
    stop = st.wait_paused(T)
    assert (stop.kind, stop.name) == (OPS, "tanh")
    st.continue_()
    assert st.wait_paused(T) is None and st.result.ok


def test_abort_removes_hooks_and_leaves_no_graph():
    sc = scenario()
    st = ForwardStepper(sc)
    st.start("step")
    assert st.wait_paused(T).name == "c"
    st.abort()
    res = st.wait(T)
    assert res.status == "aborted" and st.graph is None
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in sc.model.modules())
    assert sc.loss_history == []
    with pytest.raises(RuntimeError, match="not finished"):
        st.make_debugger()
    with pytest.raises(RuntimeError, match="already run"):
        st.start()


def test_leaf_scenario_steps_op_by_op():
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    sc = Scenario("leaves", leaves={"x": x, "w": w}, forward=lambda x, w: (w * x + 1) ** 2)
    st = ForwardStepper(sc)  # no model: op by op
    st.start("step")
    names = []
    while (stop := st.wait_paused(T)) is not None:
        names.append(stop.name)
        st.step()
    assert names == ["mul", "add", "pow"]
    assert st.result.ok and len(st.graph.leaves()) == 2


def test_forward_error_is_reported():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return self.lin(x) @ torch.ones(5, 5)

    sc = Scenario("bad", model=Bad(), inputs=torch.randn(2, 3))
    st = ForwardStepper(sc)
    st.start("run")
    res = st.wait(T)
    assert res.status == "failed" and "RuntimeError" in res.error and "forward" in res.traceback
    assert res.modules() == ["lin"]
    assert not sc.model.lin._forward_hooks
