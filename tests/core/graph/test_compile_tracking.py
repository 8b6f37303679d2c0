"""torch.compile'd modules stay compiled under module tracking: the captured graph is
the one plain PyTorch builds (one CompiledFunctionBackward named after its module)."""

from __future__ import annotations

import collections
import shutil
import warnings

import pytest
import torch
from torch import nn

from graphviz_app import Scenario
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.run.session import Session

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="torch.compile needs a C compiler"),
]


def model() -> nn.Module:
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return nn.Sequential(nn.Linear(3, 4), torch.compile(block, backend="inductor"))


def names(graph) -> collections.Counter:
    return collections.Counter(n.name for n in graph.nodes)


def test_session_forward_keeps_the_compiled_region():
    torch._dynamo.reset()
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    plain = model()
    loss = nn.MSELoss()(plain(x), y)
    expected = names(capture(loss, model=plain))
    loss.backward()
    assert expected["CompiledFunctionBackward"] == 1

    net = model()
    session = Session(Scenario("compiled", model=net, inputs=x, targets=y, loss_fn=nn.MSELoss()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = session.forward()
    assert not [w for w in caught if "does not know how to trace" in str(w.message)]
    assert names(graph) == expected  # the graph the user's code builds, not an eager fallback
    compiled = [n for n in graph.nodes if n.name == "CompiledFunctionBackward"]
    assert [n.module for n in compiled] == ["1"]  # one opaque node, named after its module
    assert session.backward(timeout=300).ok
    for (name, p), q in zip(net.named_parameters(), plain.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6), name
