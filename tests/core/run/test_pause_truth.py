"""Paused at a breakpoint, every node that already ran holds what it received and sent,
and every leaf written so far its .grad: not only the node paused on."""

import torch
from torch import nn

from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.modules import track_modules
from graphviz_app.core.run.debugger import (
    BP_NODE,
    BP_TYPE,
    BackwardDebugger,
    Breakpoint,
)

T = 20


def mlp_with_l2_on_a_zero_bias():
    """The two-layer MLP of the report: loss = MSE + sqrt(sum(b**2)) with b = 0."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    with torch.no_grad():
        net[0].bias.zero_()
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    with track_modules(net) as mods:
        out = net(x)
    loss = nn.functional.mse_loss(out, y) + torch.sqrt((net[0].bias ** 2).sum())
    names = {f"{k}": p for k, p in net.named_parameters()}
    return loss, capture(loss, names=names, model=net, modules=mods)


def ran(g):
    return sorted((n for n in g.nodes if n.exec_order is not None), key=lambda n: n.exec_order)


def check_everything_that_ran_has_values(g, paused):
    for n in ran(g):
        if n.kind == "leaf":
            assert n.grad is not None, f"{n.label} was written but shows no .grad"
        else:
            assert n.grad_outputs is not None, f"{n.label} ran but shows nothing received"
            assert n.grad_inputs is not None, f"{n.label} ran but shows nothing sent"
    assert g.node(paused).exec_order is not None


def test_continue_to_a_breakpoint_summarises_every_node_that_ran():
    loss, g = mlp_with_l2_on_a_zero_bias()
    last_mm = max((n for n in g.nodes if n.name == "AddmmBackward0"), key=lambda n: n.module == "0")
    dbg = BackwardDebugger(g, loss)
    dbg.breakpoints.append(Breakpoint(BP_NODE, last_mm.id))
    dbg.start("continue")
    assert dbg.wait_paused(T) == last_mm.id
    sqrt = next(n for n in g.nodes if n.name == "SqrtBackward0")
    assert sqrt.exec_order is not None and sqrt.exec_order < last_mm.exec_order
    assert sqrt.grad_outputs is not None and sqrt.grad_inputs is not None
    check_everything_that_ran_has_values(g, last_mm.id)
    dbg.run_to_end()
    assert dbg.wait(T).status == "finished"


def test_every_mode_keeps_what_ran_summarised():
    for mode, extra in (("step", None), ("run_to", "mm"), ("continue", "type")):
        loss, g = mlp_with_l2_on_a_zero_bias()
        mms = [n for n in g.nodes if n.name == "AddmmBackward0"]
        target = max(mms, key=lambda n: n.module == "0")
        dbg = BackwardDebugger(g, loss)
        if extra == "type":
            dbg.breakpoints.append(Breakpoint(BP_TYPE, "TBackward0"))
        if mode == "run_to":
            dbg.start("run_to", target.id)
        else:
            dbg.start(mode)
        for _ in range(3):
            nid = dbg.wait_paused(T)
            if nid is None:
                break
            check_everything_that_ran_has_values(g, nid)
            dbg.step()
        dbg.run_to_end()
        assert dbg.wait(T).status == "finished"


def test_node_keys_survive_another_capture_and_miss_other_models():
    from graphviz_app.core.run.breakpoints import (
        find_node_key,
        node_key,
        rebind_node_breakpoints,
    )

    _, g1 = mlp_with_l2_on_a_zero_bias()
    _, g2 = mlp_with_l2_on_a_zero_bias()
    for n in g1.nodes:
        assert find_node_key(g2, node_key(g1, n.id)) == n.id
    mm = next(n for n in g1.nodes if n.name == "AddmmBackward0" and n.module == "2")
    bp = Breakpoint(BP_NODE, mm.id, key=node_key(g1, mm.id), label="mm")
    x = torch.ones(2, requires_grad=True)
    other = capture((x * 3).sum())
    bps = [bp, Breakpoint(BP_TYPE, "MulBackward0")]
    moved, dropped = rebind_node_breakpoints(bps, other)
    assert dropped == [bp] and moved == [] and [b.kind for b in bps] == [BP_TYPE]
