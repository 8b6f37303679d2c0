"""Checkpointed blocks: the recomputed subgraph of a reentrant checkpoint is shown under
its checkpoint node, with gradients; non-reentrant checkpoints are captured directly."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from graphviz_app import Scenario
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.modules import track_modules
from graphviz_app.core.graph.recompute import checkpoint_function
from graphviz_app.core.run.session import Session


class Net(nn.Module):
    def __init__(self, reentrant: bool = True, nested: bool = False) -> None:
        super().__init__()
        self.reentrant, self.nested = reentrant, nested
        self.inp = nn.Linear(4, 8)
        self.block = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8))
        self.inner = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def _block(self, h):
        h = self.block(h)
        if self.nested:
            h = checkpoint(self.inner, h, use_reentrant=self.reentrant)
        else:
            h = self.inner(h)
        return h

    def forward(self, x):
        return self.out(checkpoint(self._block, self.inp(x), use_reentrant=self.reentrant))


def scenario(**kw) -> Scenario:
    torch.manual_seed(0)
    net = Net(**kw)
    return Scenario("ck", model=net, inputs=torch.randn(5, 4), targets=torch.randn(5, 1), loss_fn=nn.MSELoss())


def plain_grads(**kw) -> dict[str, torch.Tensor]:
    sc = scenario(**kw)
    sc.loss_fn(sc.model(sc.inputs), sc.targets).backward()
    return {n: p.grad.clone() for n, p in sc.model.named_parameters()}


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")
@pytest.mark.parametrize("nested", [False, True])
def test_reentrant_checkpoint_shows_recomputed_subgraph(nested):
    original = checkpoint_function().backward
    sc = scenario(nested=nested)
    session = Session(sc)
    graph = session.forward()
    cks = [n for n in graph.nodes if n.name == "CheckpointFunctionBackward"]
    assert len(cks) == 1
    before = {n.variable["name"] for n in graph.leaves()}
    assert "block.0.weight" not in before  # the forward kept no graph inside the block
    result = session.backward(timeout=60)
    assert result.ok, result.error

    leaves = {n.variable["name"]: n for n in graph.leaves()}
    expected = plain_grads(nested=nested)
    for name, p in sc.model.named_parameters():
        assert torch.equal(p.grad, expected[name]), name
        assert name in leaves, name  # every parameter backward wrote has its leaf
        assert leaves[name].grad is not None and leaves[name].grad["shape"] == list(p.shape)
        assert abs(leaves[name].grad["norm"] - p.grad.norm().item()) < 1e-5
    recomputed = graph.meta["recomputed"]
    ck = cks[0].id
    assert recomputed[leaves["block.0.weight"].id] == ck
    # Attached under the checkpoint node: an edge from it to the recomputed output's node.
    roots = [e.dst for e in graph.successors(ck) if e.dst in recomputed]
    assert len(roots) == 1
    root = graph.node(roots[0])
    if nested:
        assert root.name == "CheckpointFunctionBackward"
    else:
        assert (root.name, root.module) == ("AddmmBackward0", "inner")
    mods = {graph.node(i).module for i in recomputed}
    assert {"block.0", "block.1", "block.2"} <= mods
    if nested:  # the inner checkpoint was recomputed inside the outer one's recomputation
        inner_cks = [i for i in recomputed if graph.node(i).name == "CheckpointFunctionBackward"]
        assert len(inner_cks) == 1
        assert any(recomputed.get(i) == inner_cks[0] for i in recomputed)
        assert recomputed[leaves["inner.weight"].id] == inner_cks[0]
    for i in recomputed:  # with gradients: every recomputed op has its summaries
        node = graph.node(i)
        assert node.exec_order is not None
        if node.kind != "leaf":
            assert node.grad_inputs is not None and node.grad_outputs is not None
    assert all(e.src in graph and e.dst in graph for e in graph.edges)
    assert checkpoint_function().backward is original  # the wrapper is gone after backward
    session.release()


def test_inspector_says_a_node_was_recomputed():
    pytest.importorskip("PySide6")
    from graphviz_app.ui.inspector import node_html

    session = Session(scenario())
    graph = session.forward()
    assert session.backward(timeout=60).ok
    some = next(iter(graph.meta["recomputed"]))
    assert "recomputed during backward by checkpoint" in node_html(graph, graph.node(some), finished=True)
    plain = next(n for n in graph.nodes if n.id not in graph.meta["recomputed"])
    assert "recomputed" not in node_html(graph, plain, finished=True)


def test_reentrant_checkpoint_outside_a_recorder_is_untouched():
    sc = scenario()
    out = sc.loss_fn(sc.model(sc.inputs), sc.targets)
    out.backward()
    expected = plain_grads()
    assert all(torch.equal(p.grad, expected[n]) for n, p in sc.model.named_parameters())


def test_non_reentrant_checkpoint_is_captured_in_the_forward():
    sc = scenario(reentrant=False, nested=True)
    with track_modules(sc.model) as mods:
        loss = sc.loss_fn(sc.model(sc.inputs), sc.targets)
    graph = capture(loss, model=sc.model, modules=mods)
    names = {n.variable["name"] for n in graph.leaves()}
    assert {n for n, _ in sc.model.named_parameters()} <= names
    assert "CheckpointFunctionBackward" not in {n.name for n in graph.nodes}
    session = Session(scenario(reentrant=False))
    g = session.forward()
    assert session.backward(timeout=60).ok
    assert "recomputed" not in g.meta
    expected = plain_grads(reentrant=False)
    assert all(torch.equal(p.grad, expected[n]) for n, p in session.scenario.model.named_parameters())


def test_every_path_attaches_the_recomputed_subgraph(tmp_path):
    """``export`` and ``export --steps 1`` (the trainer's observed last step) agree."""
    from graphviz_app.cli import build_graph

    path = tmp_path / "ck.py"
    path.write_text(
        "import torch\nfrom torch import nn\nfrom torch.utils.checkpoint import checkpoint\n"
        "from graphviz_app import Scenario\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.inp, self.block, self.out = nn.Linear(4, 8), nn.Sequential(nn.Linear(8, 8), nn.Tanh()), nn.Linear(8, 1)\n"
        "    def forward(self, x):\n"
        "        return self.out(checkpoint(self.block, self.inp(x), use_reentrant=True))\n"
        "def build(device='cpu'):\n"
        "    torch.manual_seed(0)\n"
        "    return Scenario('ck', model=Net(), inputs=torch.randn(5, 4), targets=torch.zeros(5, 1), loss_fn=nn.MSELoss())\n")
    graphs = [build_graph(path), build_graph(path, steps=1)]
    for g in graphs:
        assert {n.variable["name"] for n in g.leaves()} >= {"block.0.weight", "block.0.bias"}
        assert len(g.meta["recomputed"]) == 6  # Addmm, T, Tanh, two parameters, the input
    assert [n.name for n in graphs[0].nodes] == [n.name for n in graphs[1].nodes]
