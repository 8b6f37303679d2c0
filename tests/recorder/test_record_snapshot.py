"""graphviz_app.snapshot from a script writes what the app writes for the same scenario."""

from __future__ import annotations

import json
import math

import pytest
import torch

import graphviz_app
from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.loader import load_scenario
from graphviz_app.core.run.session import Session

# Meta fields that say where and how a snapshot was made, not what it shows.
RUN_META = {"scenario", "step", "loss_history", "source", "backward_recorded"}


def app_snapshot(path) -> dict:
    session = Session(load_scenario(path))
    session.forward()
    result = session.backward(timeout=30)
    assert result.ok, result.error
    doc = snapfmt.to_dict(session.graph)
    session.release()
    return doc


def test_script_snapshot_equals_the_apps(examples_dir, tmp_path):
    expected = app_snapshot(examples_dir / "chain_rule.py")

    # The same computation, written the way a training script would.
    x = torch.tensor(1.0, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    z = (w * x + b) ** 2
    out = graphviz_app.snapshot(z, tmp_path / "chain.json", names={"x": x, "w": w, "b": b}, backward=True)

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["nodes"] == expected["nodes"]
    assert doc["edges"] == expected["edges"]
    for key in set(expected["meta"]) - RUN_META:
        assert doc["meta"].get(key) == expected["meta"][key], key
    # The backward really ran: the leaves hold the textbook gradients.
    assert (x.grad.item(), w.grad.item(), b.grad.item()) == (20.0, 10.0, 10.0)
    grads = {n["variable"]["name"]: n["grad"]["values"] for n in doc["nodes"] if n["kind"] == "leaf"}
    assert grads == {"x": 20.0, "w": 10.0, "b": 10.0}
    assert all(n["exec_order"] is not None for n in doc["nodes"])
    # It loads back as a snapshot and passes the shipped JSON Schema.
    assert len(snapfmt.load(out)) == len(doc["nodes"])
    pytest.importorskip("jsonschema")
    snapfmt.validate(doc)


def test_scenario_leaves_through_snapshot_match_too(examples_dir, tmp_path):
    expected = app_snapshot(examples_dir / "chain_rule.py")
    sc = load_scenario(examples_dir / "chain_rule.py")
    out = graphviz_app.snapshot(sc.output(), tmp_path / "s.json", names=sc.names(), backward=True)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert (doc["nodes"], doc["edges"]) == (expected["nodes"], expected["edges"])


def test_without_backward_it_captures_only_and_leaves_backward_to_the_user(tmp_path):
    model = torch.nn.Linear(3, 1)
    loss = model(torch.ones(2, 3)).pow(2).mean()
    graphviz_app.snapshot(loss, tmp_path / "g.json", model=model)
    g = snapfmt.load(tmp_path / "g.json")
    assert model.weight.grad is None
    assert {n.variable["name"] for n in g.leaves()} == {"weight", "bias"}
    assert all(n.exec_order is None and n.grad_inputs is None for n in g.nodes)
    assert g.meta["backward_recorded"] is False
    loss.backward()  # the graph is still there for the user's own backward
    assert model.weight.grad is not None


def test_model_parameters_get_gradients_and_names(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    x = torch.randn(5, 4)
    loss = model(x).pow(2).mean()
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    ref.load_state_dict(model.state_dict())
    ref(x).pow(2).mean().backward()

    graphviz_app.snapshot(loss, tmp_path / "m.json", model=model, backward=True)
    g = snapfmt.load(tmp_path / "m.json")
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, dict(ref.named_parameters())[name].grad)
        assert math.isclose(g.leaf(name).grad["norm"], p.grad.norm().item(), rel_tol=1e-6)


def test_no_graph_is_a_plain_error(tmp_path):
    with pytest.raises(ValueError, match="no autograd graph"):
        graphviz_app.snapshot(torch.ones(2), tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_failed_backward_still_writes_what_ran(tmp_path):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.sigmoid(x)
    y.mul_(2)  # in place on a tensor sigmoid saved: backward fails
    with pytest.raises(RuntimeError, match="backward failed"):
        graphviz_app.snapshot(y.sum(), tmp_path / "f.json", names={"x": x}, backward=True)
    g = snapfmt.load(tmp_path / "f.json")
    assert "inplace" in g.meta["backward_error"]


def test_snapshot_backward_runs_on_the_calling_thread(tmp_path):
    """No backward worker: a thread of ours that ran torch ops would keep a second
    OpenMP team alive beside the script's, and slow its parallel ops for as long."""
    import threading

    from graphviz_app.core.run import workers

    seen = []
    x = torch.randn(4, 3, requires_grad=True)
    y = (x * 2).sum()
    y.grad_fn.register_hook(lambda gi, go: seen.append(threading.get_ident()))
    free_before = len(workers.POOL._free)
    graphviz_app.snapshot(y, tmp_path / "s.json", names={"x": x}, backward=True)
    assert seen == [threading.get_ident()]
    assert len(workers.POOL._free) == free_before  # no worker was handed the job
    assert torch.equal(x.grad, torch.full((4, 3), 2.0))
