"""Capture: walking grad_fn.next_functions into a Graph."""

import sys

import networkx as nx
import pytest
import torch
from torch import nn

from graphviz_app.core.graph import capture as capture_mod
from graphviz_app.core.graph.anomaly import record_sources, source_of
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.model import LEAF, OP, OUTPUT
from graphviz_app.core.system.stacks import on_big_stack


def chain_rule():
    x = torch.tensor(1.0, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    z = (w * x + b) ** 2
    return z, {"x": x, "w": w, "b": b}


def by_name(g, name):
    return [n for n in g.nodes if n.name == name]


def test_chain_rule_nodes_edges_and_names():
    z, leaves = chain_rule()
    g = capture(z, names=leaves)
    assert sorted(n.name for n in g.nodes) == sorted(
        ["PowBackward0", "AddBackward0", "MulBackward0", "AccumulateGrad", "AccumulateGrad", "AccumulateGrad"]
    )
    out = g.outputs()
    assert [n.name for n in out] == ["PowBackward0"]
    assert {n.variable["name"] for n in g.leaves()} == {"x", "w", "b"}
    for n in g.leaves():
        assert n.kind == LEAF and n.variable["shape"] == [] and n.variable["dtype"] == "float32"
        assert n.variable["device"] == "cpu"
    # Edges go the way gradients flow, slot = index in next_functions.
    mul = by_name(g, "MulBackward0")[0]
    add = by_name(g, "AddBackward0")[0]
    assert {(e.dst, e.slot) for e in g.successors(add.id)} == {(mul.id, 0), (g.leaf("b").id, 1)}
    assert {(g.node(e.dst).label, e.slot) for e in g.successors(mul.id)} == {("w", 0), ("x", 1)}
    assert len(g.fns) == len(g.nodes) and g.live
    assert g.fn(out[0].id) is z.grad_fn


def test_saved_tensors_and_attribute_cache():
    x = torch.randn(3, 4, requires_grad=True)
    y = torch.randn(4, 5, requires_grad=True)
    out = (x @ y).sum()
    g = capture(out, names={"x": x, "y": y})
    mm = by_name(g, "MmBackward0")[0]
    assert mm.saved["self"] == {"shape": [3, 4], "dtype": "float32"}
    assert mm.saved["mat2"] == {"shape": [4, 5], "dtype": "float32"}
    assert type(g.fn(mm.id)) in capture_mod._SAVED_ATTRS  # cached per node type
    assert "_saved_self" in capture_mod._SAVED_ATTRS[type(g.fn(mm.id))]
    assert capture(out, saved=False).node(mm.id).saved == {}


def test_saved_tensors_after_backward_are_reported_not_raised():
    x = torch.randn(3, requires_grad=True)
    out = (x.exp() * x).sum()
    out.backward()
    g = capture(out)  # buffers freed: still a graph, saved values say so
    mul = by_name(g, "MulBackward0")[0]
    assert all(str(v).startswith("<unavailable") for v in mul.saved.values())


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


def test_custom_function_name_and_saved():
    x = torch.randn(5, requires_grad=True)
    g = capture(MyReLU.apply(x).sum(), names={"x": x})
    node = by_name(g, "MyReLUBackward")[0]
    assert node.kind == OP
    assert node.saved == {"saved_tensors": [{"shape": [5], "dtype": "float32"}]}


def test_none_edges_and_tensors_that_do_not_require_grad():
    x = torch.randn(3, requires_grad=True)
    c = torch.randn(3)  # no grad: MulBackward0 has a None entry
    y = (x * c).sum()
    g = capture(y, names={"x": x})
    mul = by_name(g, "MulBackward0")[0]
    assert any(f is None for f, _ in g.fn(mul.id).next_functions)
    assert [g.node(e.dst).label for e in g.successors(mul.id)] == ["x"]
    assert len(g.nodes) == 3 and len(g.edges) == 2

    assert len(capture(c * 2)) == 0  # nothing requires grad: an empty graph
    with torch.no_grad():
        assert len(capture(x * 2)) == 0
    g2 = capture([c, y, x.detach()])  # mixed: only y counts
    assert len(g2) == 3 and len(g2.outputs()) == 1


def test_output_that_is_a_leaf():
    x = torch.randn(2, requires_grad=True)
    g = capture(x, names={"x": x})
    assert len(g) == 1 and g.nodes[0].kind == LEAF and g.nodes[0].variable["name"] == "x"


def test_several_outputs_share_nodes():
    x = torch.randn(3, requires_grad=True)
    h = x.exp()
    a, b = h.sum(), (h * 2).sum()
    g = capture([a, b], names={"x": x})
    assert len(g.outputs()) == 2
    assert len(by_name(g, "ExpBackward0")) == 1
    assert len(by_name(g, "AccumulateGrad")) == 1


def test_shared_parameters_have_one_leaf():
    lin = nn.Linear(4, 4)
    x = torch.randn(2, 4)
    out = lin(torch.tanh(lin(x))).sum()  # the same weight twice

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lin

    g = capture(out, model=Wrap())
    w = g.leaf("lin.weight")
    assert len(by_name(g, "AccumulateGrad")) == 2  # weight, bias
    assert len(g.predecessors(w.id)) == 2  # used by both layers
    assert w.module == "lin"  # a parameter's leaf belongs to its module


def test_leaf_names_from_model_and_fallback():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    free = torch.randn(1, requires_grad=True)
    anon = torch.randn(2, 1, requires_grad=True)
    out = (net(torch.randn(4, 3)) * free + anon.sum()).sum()
    g = capture(out, model=net, names={"scale": free})
    names = {n.variable["name"] for n in g.leaves()}
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "scale"} <= names
    (unnamed,) = [n for n in g.leaves() if n.variable.get("unnamed")]
    assert unnamed.variable["name"] == "tensor[2×1]"
    assert g.leaf("scale").module is None


def test_ten_thousand_step_chain_without_recursion():
    h = torch.zeros(4, requires_grad=True)
    w = torch.full((4,), 0.5, requires_grad=True)
    for _ in range(10_000):
        h = torch.tanh(h * w + 1.0)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # any recursion over the chain would fail now
    try:
        g = capture(h.sum(), names={"h0": h, "w": w}, saved=False)
    finally:
        sys.setrecursionlimit(limit)
    assert len(g) >= 30_000
    assert len(g.leaves()) == 2


def test_hundred_thousand_nodes():
    def run():
        x = torch.ones(1, requires_grad=True)
        y = x
        for _ in range(100_000):
            y = y + 1.0
        g = capture(y, saved=False)
        n, m = len(g), len(g.edges)
        g.detach()
        return n, m, g.live

    assert on_big_stack(run) == (100_001, 100_000, False)


def test_networkx_view_ancestors_and_paths():
    z, leaves = chain_rule()
    g = capture(z, names=leaves)
    nxg = g.to_networkx()
    assert isinstance(nxg, nx.MultiDiGraph)
    assert nxg.number_of_nodes() == 6 and nxg.number_of_edges() == 5
    out = g.outputs()[0].id
    x = g.leaf("x").id
    assert nx.has_path(nxg, out, x)
    assert out in g.ancestors(x)
    path = g.path_to_output(x)
    assert path[0] == out and path[-1] == x
    assert [g.node(i).name for i in path] == ["PowBackward0", "AddBackward0", "MulBackward0", "AccumulateGrad"]


def test_create_graph_gradient_graph_shares_forward_nodes():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    fwd = capture(y, names={"x": x})
    (gx,) = torch.autograd.grad(y, x, create_graph=True)  # 3x^2, itself differentiable
    g2 = capture(gx.sum(), names={"x": x})
    fwd_fns = {id(f) for f in fwd.fns}
    shared = [f for f in g2.fns if id(f) in fwd_fns]
    assert shared, "the gradient graph reuses forward nodes"
    assert g2.leaf("x").kind == LEAF
    assert len(g2.outputs()) == 1 and g2.outputs()[0].kind == OUTPUT


def test_module_attribution_passed_through():
    from graphviz_app.core.graph.modules import track_modules

    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with track_modules(net) as mods:
        out = net(torch.randn(2, 3)).sum()
    g = capture(out, model=net, modules=mods)
    relu = by_name(g, "ReluBackward0")[0]
    assert relu.module == "1"
    assert by_name(g, "AddmmBackward0")[0].module in ("0", "2")
    assert by_name(g, "SumBackward0")[0].module is None  # ran outside any module


def test_anomaly_sources():
    x = torch.randn(3, requires_grad=True)
    with record_sources() as sources:
        y = x.exp()  # line A
        z = (y * 2).sum()
    line_a = test_anomaly_sources.__code__.co_firstlineno + 3
    g = capture(z, names={"x": x}, sources=sources)
    exp = by_name(g, "ExpBackward0")[0]
    assert exp.source == f"{__file__}:{line_a}"
    assert by_name(g, "SumBackward0")[0].source.startswith(__file__ + ":")
    assert g.leaf("x").source is None or g.leaf("x").source.startswith(__file__)
    # sources=True reads what anomaly mode recorded; without anomaly mode: nothing.
    assert capture(z, sources=True).node(exp.id).source == exp.source
    assert source_of((x * 2).grad_fn) is None
    assert not torch.is_anomaly_enabled()


def test_capture_is_not_slowed_by_gc(monkeypatch):
    import gc

    assert gc.isenabled()
    z, leaves = chain_rule()
    capture(z, names=leaves)
    assert gc.isenabled()  # restored after the walk


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_leaf_dtypes(dtype):
    x = torch.ones(2, dtype=dtype, requires_grad=True)
    g = capture((x * 2).sum(), names={"x": x})
    assert g.leaf("x").variable["dtype"] == str(dtype).replace("torch.", "")
