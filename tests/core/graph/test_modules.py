"""Module attribution: which nn.Module produced each grad_fn."""

import collections
import threading

import torch
from torch import nn

from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.modules import track_modules


def small_transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0)
    model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    return model.train(), torch.randn(4, 2, 16)


def test_transformer_paths_are_innermost_modules():
    model, x = small_transformer()
    with track_modules(model) as mods:
        out = model(x)
        loss = nn.MSELoss()(out, torch.zeros_like(out))
    g = capture(loss, model=model, modules=mods)
    count = collections.Counter(n.module for n in g.nodes if n.kind != "leaf")
    for layer in ("layers.0", "layers.1"):
        for sub in ("self_attn", "linear1", "linear2", "norm1", "norm2"):
            assert count[f"{layer}.{sub}"] > 0, (layer, sub, count)
        assert count[layer] > 0  # residual adds and the activation run in the layer's own forward
    assert count["MSELoss"] == 1  # a loss module beside the model is named by its class
    # Linear layers of 3-d inputs produce addmm (+ views); they are tagged with the linear's path.
    lin = [n for n in g.nodes if n.module == "layers.1.linear1"]
    assert "AddmmBackward0" in {n.name for n in lin}
    # Parameters' leaves belong to the module that owns them.
    assert g.leaf("layers.0.linear1.weight").module == "layers.0.linear1"
    # Nothing is tagged twice or outside the graph: every tag is a non-leaf grad_fn.
    assert all(type(fn).__name__ != "AccumulateGrad" for fn in mods)


def test_without_model_paths_are_relative_to_the_called_module():
    model, x = small_transformer()
    with track_modules(model) as with_model:
        out1 = model(x).sum()
    with track_modules() as without:
        out2 = model(x).sum()
    g1 = capture(out1, model=model, modules=with_model)
    g2 = capture(out2, model=model, modules=without)
    assert [n.module for n in g1.nodes] == [n.module for n in g2.nodes]


def test_shared_module_called_twice_and_sequential_paths():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
            self.head = nn.Linear(3, 1)

        def forward(self, x):
            h = self.enc(self.enc(x))  # the same module twice
            return self.head(h * 2)

    net = Net()
    with track_modules(net) as mods:
        out = net(torch.randn(2, 3)).sum()
    g = capture(out, model=net, modules=mods)
    by = collections.defaultdict(list)
    for n in g.nodes:
        by[n.name].append(n.module)
    assert by["TanhBackward0"] == ["enc.1", "enc.1"]
    assert sorted(by["AddmmBackward0"]) == ["enc.0", "enc.0", "head"]
    assert by["MulBackward0"] == [None]  # in Net.forward itself
    assert by["SumBackward0"] == [None]


def test_nodes_made_before_the_context_or_on_other_threads_are_not_tagged():
    lin = nn.Linear(3, 3)
    x = torch.randn(2, 3, requires_grad=True)
    pre = x * 3  # made before tracking, then fed into a module
    other = {}
    with track_modules(lin) as mods:
        out = lin(pre)

        def elsewhere():
            other["out"] = lin(x)

        t = threading.Thread(target=elsewhere)
        t.start()
        t.join(10)
    assert mods.get(pre.grad_fn) is None
    assert mods.get(out.grad_fn) is None  # the root module's own ops have no path
    assert "out" in other and other["out"].grad_fn not in mods
    assert len(mods) >= 1


def test_hooks_are_removed_on_exit():
    from torch.nn.modules import module as m

    before = (len(m._global_forward_pre_hooks), len(m._global_forward_hooks))
    lin = nn.Linear(2, 2)
    with track_modules(lin) as mods:
        lin(torch.randn(1, 2, requires_grad=True))
    n = len(mods)
    assert (len(m._global_forward_pre_hooks), len(m._global_forward_hooks)) == before
    lin(torch.randn(1, 2, requires_grad=True))
    assert len(mods) == n
    mods.clear()
    assert len(mods) == 0


def test_exception_in_forward_leaves_no_hooks():
    from torch.nn.modules import module as m

    before = len(m._global_forward_hooks)

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    try:
        with track_modules(Boom()) as mods:
            Boom()(torch.randn(1))
    except ValueError:
        pass
    assert len(m._global_forward_hooks) == before
    assert len(mods) == 0
