"""Every example loads through the public scenario API, runs, and gives the textbook numbers."""

from __future__ import annotations

import copy
import pathlib

import pytest
import torch

from graphviz_app.core.files.loader import load_scenario
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.model import LEAF
from graphviz_app.core.run.session import Session

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
ALL_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.py"))
# The teaching examples, one (or two) per backpropagation topic, in topic order.
TOPIC_EXAMPLES = [
    "linear_regression_sgd.py",
    "two_layer_single_sample.py",
    "relu_eval_no_grad.py",
    "custom_relu_function.py",
    "square.py",
    "chain_rule.py",
    "grad_accumulation.py",
    "manual_gradient_descent.py",
    "non_scalar_backward.py",
    "retain_graph.py",
    "higher_order.py",
    "inplace_ops.py",
    "inplace_error.py",
    "detach_no_grad.py",
    "exercise_polynomial.py",
    "exercise_xor.py",
    "exercise_microbatches.py",
    "exercise_sin_third_derivative.py",
]


def load(name: str):
    return load_scenario(EXAMPLES / name)


def forward_backward(scenario):
    """Forward (captures the graph), then backward through the debugger in run mode."""
    session = Session(scenario)
    graph = session.forward()
    result = session.backward(timeout=30)
    return session, graph, result


def step(scenario):
    session, graph, result = forward_backward(scenario)
    assert result.status == "finished", result.error
    return session, graph


def leaf_names(graph) -> set[str]:
    return {n.variable["name"] for n in graph.nodes if n.kind == LEAF}


def op_names(graph) -> list[str]:
    return [n.name for n in graph.nodes if n.kind != LEAF]


def grad_value(node, slot=0):
    """The value a node sent along ``slot`` in the last backward (from its summary)."""
    return node.grad_inputs[slot]["values"]


# ------------------------------------------------------------------ every file
@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_example_loads_and_says_what_to_look_at(name):
    scenario = load(name)
    assert "What to look at" in scenario.description, f"{name}: docstring has no 'What to look at'"
    assert scenario.name != "scenario"


def test_readme_lists_every_topic_example():
    assert set(TOPIC_EXAMPLES) <= set(ALL_EXAMPLES)
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    missing = [n for n in TOPIC_EXAMPLES if f"`{n}`" not in readme]
    assert not missing, f"examples/README.md does not list {missing}"


# ------------------------------------------------------------ 1. regression SGD
def test_01_linear_regression_sgd_loss_falls():
    sc = load("linear_regression_sgd.py")
    assert isinstance(sc.model, torch.nn.Linear)
    assert (sc.model.in_features, sc.model.out_features) == (10, 1)
    assert isinstance(sc.optimizer, torch.optim.SGD)
    assert sc.optimizer.param_groups[0]["lr"] == 0.01
    assert isinstance(sc.data, torch.utils.data.DataLoader)
    per_epoch = len(sc.data)
    assert sc.steps == 30 * per_epoch

    losses = Session(sc).train(sc.steps)

    assert len(losses) == 30 * per_epoch
    first = sum(losses[:per_epoch]) / per_epoch
    last = sum(losses[-per_epoch:]) / per_epoch
    assert last < 0.25 * first, (first, last)
    assert sc.loss_history == losses


# ------------------------------------------------- 2. two layers, one sample
def test_02_two_layer_single_sample_grads_have_param_shapes():
    sc = load("two_layer_single_sample.py")
    assert sc.inputs.shape == (10,)
    session, graph = step(sc)

    params = dict(sc.model.named_parameters())
    assert {n: tuple(p.shape) for n, p in params.items()} == {
        "hidden.weight": (20, 10),
        "hidden.bias": (20,),
        "out.weight": (1, 20),
        "out.bias": (1,),
    }
    for name, p in params.items():
        assert p.grad is not None, name
        assert p.grad.shape == p.shape, name
    assert leaf_names(graph) == set(params)
    assert "ReluBackward0" in op_names(graph)

    before = {n: p.detach().clone() for n, p in params.items()}
    session.finish_step()
    assert not torch.equal(before["out.weight"], params["out.weight"].detach())


# ----------------------------------------------------------- 3. no_grad eval
def test_03_eval_under_no_grad_records_no_graph():
    sc = load("relu_eval_no_grad.py")
    session, graph = step(sc)
    loss, prediction = session.output

    assert prediction.grad_fn is None
    assert not prediction.requires_grad
    assert len(capture(prediction)) == 0
    # The training loss, computed the same way with grad enabled, does have a graph,
    # and it is all the session captured.
    assert loss.grad_fn is not None
    assert len(graph) == len(capture(loss)) > 0
    assert "ReluBackward0" in op_names(graph)
    assert all(p.grad is not None for p in sc.model.parameters())


# --------------------------------------------------------- 4. custom ReLU
def test_04_custom_relu_function_named_and_matches_builtin():
    sc = load("custom_relu_function.py")
    # Some hidden pre-activations are negative, so the ReLU really zeroes something.
    with torch.no_grad():
        assert (sc.model.fc1(sc.inputs) < 0).any()

    session, graph = step(sc)
    names = op_names(graph)
    assert "MyReLUBackward" in names
    assert "ReluBackward0" not in names
    custom = {n: p.grad.clone() for n, p in sc.model.named_parameters()}

    twin = copy.deepcopy(sc.model)
    twin.activation = torch.relu
    for p in twin.parameters():
        p.grad = None
    loss = sc.loss_fn(twin(sc.inputs), sc.targets)
    builtin_names = [n.name for n in capture(loss).nodes]
    assert "ReluBackward0" in builtin_names and "MyReLUBackward" not in builtin_names
    loss.backward()
    for n, p in twin.named_parameters():
        torch.testing.assert_close(custom[n], p.grad, rtol=0, atol=0)


# ------------------------------------------------------------- 5. y = x**2
def test_05_square():
    sc = load("square.py")
    _, graph = step(sc)
    assert sc.leaves["x"].grad.item() == 4.0
    assert op_names(graph) == ["PowBackward0"]
    assert graph.leaf("x").grad["values"] == 4.0


# ---------------------------------------------------------- 6. chain rule
def test_06_chain_rule():
    sc = load("chain_rule.py")
    _, graph = step(sc)
    grads = {k: v.grad.item() for k, v in sc.leaves.items()}
    assert grads == {"x": 20.0, "w": 10.0, "b": 10.0}
    assert sorted(n.name for n in graph.nodes) == sorted(
        ["PowBackward0", "AddBackward0", "MulBackward0"] + ["AccumulateGrad"] * 3
    )
    assert leaf_names(graph) == {"x", "w", "b"}
    assert graph.meta["loss"] == 25.0


# --------------------------------------------------------- 7. accumulation
def test_07_accumulation_without_zeroing():
    sc = load("grad_accumulation.py")
    assert sc.zero_grad is False
    x = sc.leaves["x"]
    seen = []
    for _ in range(2):
        _, graph = step(sc)
        assert grad_value(graph.outputs()[0]) == 2.0  # MulBackward0 always sends 2
        seen.append(x.grad.item())
    assert seen == [2.0, 4.0]


def test_07_accumulation_with_zeroing():
    sc = load("grad_accumulation.py")
    sc.zero_grad = True
    x = sc.leaves["x"]
    seen = []
    for _ in range(2):
        step(sc)
        seen.append(x.grad.item())
    assert seen == [2.0, 2.0]


# ------------------------------------------------- 8. gradient descent by hand
def test_08_manual_gradient_descent_fits_line():
    sc = load("manual_gradient_descent.py")
    x, y = sc.inputs, sc.targets
    assert x.shape == y.shape == (100,)
    w, b = sc.leaves["w"], sc.leaves["b"]

    losses = Session(sc).train(sc.steps)

    assert len(losses) == sc.steps == 1000  # 100 epochs of 10 mini-batches
    assert sc.loss_history == losses  # what the loss plot draws
    assert losses[-1] < losses[0] / 100
    # Gradient descent converges to the least-squares fit of this sample ...
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w_ls, b_ls = torch.linalg.lstsq(A, y[:, None]).solution.flatten().tolist()
    assert abs(w.item() - w_ls) < 0.01 and abs(b.item() - b_ls) < 0.01
    # ... which, with noise of std 0.1 on 100 points (standard error about 0.01),
    # lies within 0.05 (five standard errors) of the true 2 and 1.
    assert abs(w.item() - 2.0) < 0.05, w.item()
    assert abs(b.item() - 1.0) < 0.05, b.item()
    # The update ran under no_grad and zeroed the gradients.
    assert w.is_leaf and b.is_leaf
    assert w.grad.item() == 0.0 and b.grad.item() == 0.0


# --------------------------------------------------------- 9. non-scalar output
def test_09_non_scalar_backward():
    sc = load("non_scalar_backward.py")
    assert sc.leaves["x"].shape == (2, 2)
    _, graph = step(sc)
    assert torch.equal(sc.leaves["x"].grad, torch.full((2, 2), 2.0))
    assert graph.outputs()[0].grad_outputs[0]["values"] == [[1.0, 1.0], [1.0, 1.0]]


# --------------------------------------------------------- 10. retain_graph
def test_10_retain_graph():
    sc = load("retain_graph.py")
    x = sc.leaves["x"]
    _, graph = step(sc)

    by_exponent = {n.saved["exponent"]: n for n in graph.outputs()}
    assert set(by_exponent) == {2, 3}
    assert all(n.name == "PowBackward0" for n in by_exponent.values())
    assert grad_value(by_exponent[2]) == 4.0  # y = x**2: 2x
    assert grad_value(by_exponent[3]) == 12.0  # z = x**3: 3x**2
    assert x.grad.item() == 12.0  # zeroed in between, so not 16

    # y's graph was retained: its saved tensor is still there; z's was freed.
    assert graph.fn(by_exponent[2].id)._saved_self.item() == 2.0
    with pytest.raises(RuntimeError, match="freed|second time"):
        graph.fn(by_exponent[3].id)._saved_self


# ------------------------------------------------------ 11. second derivative
def test_11_higher_order():
    sc = load("higher_order.py")
    session, graph = step(sc)
    assert session.output.item() == 12.0  # dy/dx = 3x**2, from autograd.grad(create_graph=True)
    assert graph.meta["loss"] == 12.0
    assert sc.leaves["x"].grad.item() == 12.0  # d2y/dx2 = 6x


# --------------------------------------------------------------- 12. in-place
def test_12_inplace_that_works():
    sc = load("inplace_ops.py")
    x = sc.leaves["x"]
    _, graph = step(sc)
    torch.testing.assert_close(x.grad, 2 * (x.detach() + 3))
    assert x.grad.tolist() == [4.0, 6.0, 10.0]
    assert op_names(graph).count("AddBackward0") == 2


def test_12_inplace_on_saved_tensor_fails_clearly():
    sc = load("inplace_error.py")
    _, graph, result = forward_backward(sc)
    assert result.status == "failed"
    assert "modified by an inplace operation" in result.error
    assert result.failed_node is not None
    assert graph.node(result.failed_node).name == "SigmoidBackward0"
    assert sc.leaves["x"].grad is None


# ------------------------------------------------------ 13. detach / no_grad
def test_13_detach_and_no_grad_cut_the_graph():
    sc = load("detach_no_grad.py")
    session, graph = step(sc)
    assert session.output.item() == 58.0
    assert leaf_names(graph) == {"x", "a"}  # no path to b (detached) or c (no_grad)
    g = sc.leaves
    assert g["b"].grad is None and g["c"].grad is None
    assert g["a"].grad.item() == 16.0
    assert g["x"].grad.item() == 24.0
    # The cut inputs have no edge: AddBackward0 and the outer MulBackward0 keep one each.
    out = graph.outputs()[0]
    assert out.name == "AddBackward0"
    assert [e.slot for e in graph.successors(out.id)] == [0]


# --------------------------------------------------------------- 14. exercises
def test_14_exercise_polynomial_gradient():
    sc = load("exercise_polynomial.py")
    step(sc)
    assert sc.leaves["x"].grad.item() == 3.0


def test_14_exercise_xor_without_module():
    sc = load("exercise_xor.py")
    assert sc.model is None
    assert set(sc.leaves) == {"W1", "b1", "W2", "b2"}

    losses = Session(sc).train(sc.steps)

    assert losses[-1] < 0.1 < losses[0]
    _, predictions = sc.output()
    p = predictions.flatten().tolist()
    assert p[0] < 0.5 and p[1] > 0.5 and p[2] > 0.5 and p[3] < 0.5, p
    assert ((predictions > 0.5).float() == sc.targets).all()


def test_14_exercise_microbatches_equal_full_batch():
    sc = load("exercise_microbatches.py")
    session, graph, result = forward_backward(sc)
    assert result.status == "finished", result.error
    assert len(session.output) == 4
    weight_leaf = graph.leaf("weight").id
    assert result.order.count(weight_leaf) == 4  # one accumulation per micro-batch

    params = list(sc.model.parameters())
    accumulated = [p.grad.clone() for p in params]
    full = torch.autograd.grad(sc.loss_fn(sc.model(sc.inputs), sc.targets), params)
    for acc, ref in zip(accumulated, full):
        torch.testing.assert_close(acc, ref)
    # One micro-batch alone (even unscaled) is not the answer.
    xb, yb = sc.inputs[:2], sc.targets[:2]
    one = torch.autograd.grad(sc.loss_fn(sc.model(xb), yb), params)
    assert not torch.allclose(one[0], full[0])


def test_14_exercise_third_derivative_of_sin():
    sc = load("exercise_sin_third_derivative.py")
    session, _ = step(sc)
    assert session.output.item() == 0.0  # sin''(0) = -sin(0)
    assert sc.leaves["x"].grad.item() == -1.0  # sin'''(0) = -cos(0)


@pytest.mark.parametrize("name,min_nodes,module", [
    ("scale_cnn.py", 15, "0"),  # an nn.Sequential: modules "0", "1", …
    ("scale_transformer.py", 200, "layers"),
    ("scale_lstm.py", 2500, "cell"),
])
def test_15_scale_demos_match_a_plain_backward(name, min_nodes, module):
    """The big demos: a real graph size, module names on the nodes, and the debugger's
    gradients equal to a plain backward of the same forward."""
    sc = load(name)
    torch.manual_seed(0)
    session, graph = step(sc)
    assert len(graph.nodes) >= min_nodes
    assert any((n.module or "").startswith(module) for n in graph.nodes)
    params = [p for _, p in sc.model.named_parameters()]
    stepped = [p.grad.clone() for p in params]
    assert all(torch.isfinite(g).all() for g in stepped)
    assert any(g.abs().sum() > 0 for g in stepped)
    sc.model.zero_grad(set_to_none=True)
    torch.manual_seed(0)
    out = sc.output()
    loss = out[0] if isinstance(out, tuple) else out
    loss.backward()
    for name_, p, g in zip([n for n, _ in sc.model.named_parameters()], params, stepped):
        torch.testing.assert_close(p.grad, g, msg=name_)
