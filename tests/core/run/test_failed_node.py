"""Which node raised, in a run with post-hooks only (``next_to_run``) and with pre-hooks.

A plain run to the end installs no pre-hooks (they cost a few µs per node), so the
node that raised is worked out from the order the engine ran the others in. These
graphs put the failure at a root, on a branch, after a fan-in, at a leaf and
inside a repeated block; each must name the same node a step-by-step run names.
"""

from __future__ import annotations

import pytest
import torch

from graphviz_app.core.graph.capture import capture
from graphviz_app.core.run.debugger import BackwardDebugger, next_to_run

T = 30


class Boom(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        raise ValueError("boom")


def _graph(where: str):
    torch.manual_seed(0)
    w = torch.randn(4, 4, requires_grad=True)
    b = torch.randn(4, requires_grad=True)
    x = torch.randn(3, 4)
    if where == "root":
        return Boom.apply(x @ w + b).sum(), {"w": w, "b": b}
    if where == "branch":
        h = x @ w
        left = h.tanh()
        right = Boom.apply(h.sigmoid())
        return (left * 2 + right.exp()).sum(), {"w": w, "b": b}
    if where == "fan_in":
        h = x @ w
        s = Boom.apply(h.relu() + h.exp() + h.sin())
        return (s + b).pow(2).mean(), {"w": w, "b": b}
    if where == "leaf":
        b.register_hook(lambda g: 1 / 0)
        return (torch.tanh(x @ w) + b).sum(), {"w": w, "b": b}
    if where == "inplace":
        h = (x @ w).sigmoid()
        y = h * 3
        h.mul_(2)  # changes the result SigmoidBackward0 saved
        return (y + h).sum() + b.sum(), {"w": w, "b": b}
    if where == "repeated":
        h = x
        for i in range(6):
            h = torch.tanh(h @ w + b)
            if i == 3:
                h = Boom.apply(h)
        return h.sum(), {"w": w, "b": b}
    raise KeyError(where)


def _failed(where: str, mode: str, listen: bool = False):
    loss, names = _graph(where)
    g = capture(loss, names=names)
    dbg = BackwardDebugger(g, loss, summarize_after=False)
    if listen:
        dbg.node_reached.connect(lambda nid: None)
    dbg.start(mode)
    if mode == "step":
        while dbg.wait_paused(T) is not None:
            dbg.step()
    result = dbg.wait(T)
    assert result is not None and result.status == "failed", result
    hooked = dbg._pre_hooks
    node = g.node(result.failed_node).name
    dbg.release()
    return node, result.order, hooked, g


@pytest.mark.parametrize("where", ["root", "branch", "fan_in", "leaf", "inplace", "repeated"])
def test_run_without_pre_hooks_names_the_node_a_stepped_run_names(where):
    run_node, run_order, run_hooked, _ = _failed(where, "run")
    step_node, step_order, step_hooked, _ = _failed(where, "step")
    assert not run_hooked and step_hooked
    assert run_node == step_node
    assert run_order and len(run_order) == len(step_order)
    expected = {"root": "BoomBackward", "branch": "BoomBackward", "fan_in": "BoomBackward",
                "leaf": "AccumulateGrad", "inplace": "SigmoidBackward0", "repeated": "BoomBackward"}
    assert run_node == expected[where]


def test_a_node_reached_listener_or_a_custom_run_keeps_pre_hooks():
    node, _, hooked, _ = _failed("branch", "run", listen=True)
    assert hooked and node == "BoomBackward"
    loss, names = _graph("branch")
    g = capture(loss, names=names)
    dbg = BackwardDebugger(g, loss, run=lambda: torch.autograd.grad(loss, [names["w"]]))
    dbg.start("run")
    result = dbg.wait(T)
    assert result.status == "failed" and dbg._pre_hooks
    assert g.node(result.failed_node).name == "BoomBackward"
    dbg.release()


def _transformer():
    layer = torch.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0)
    return layer, layer(torch.randn(5, 2, 16)).pow(2).mean()


def _lstm():
    cell = torch.nn.LSTMCell(4, 4)
    h = c = torch.zeros(2, 4)
    for x in torch.randn(6, 2, 4):
        h, c = cell(x, (h, c))
    return cell, (h.sum() + c.pow(2).sum())


@pytest.mark.parametrize("build", [_transformer, _lstm])
def test_next_to_run_follows_the_engine_order_on_a_full_run(build):
    """Replaying a finished run: after each prefix of the order, the next node is predicted."""
    torch.manual_seed(1)
    model, out = build()
    g = capture(out, model=model)
    dbg = BackwardDebugger(g, out, summarize_after=False)
    dbg.start("run")
    result = dbg.wait(T)
    assert result.status == "finished" and len(result.order) > 50
    for i in range(len(result.order)):
        assert next_to_run(g, result.order[:i]) == result.order[i], i
    assert next_to_run(g, result.order) is None
    dbg.release()
