"""Each scenario form from the Scenario docstring, checked against hand-computed numbers."""

import math
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from graphviz_app.core.run.scenario import Scenario, leaves_from, sgd_update


def regression(**kw):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    X, Y = torch.randn(64, 4), torch.randn(64, 1)
    opts = dict(model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                optimizer=torch.optim.SGD(net.parameters(), lr=0.05), steps=30)
    opts.update(kw)
    return Scenario("regression", **opts), X, Y


def test_model_inputs_targets_loss_optimizer_trains_n_steps():
    sc, _, _ = regression()
    losses = [sc.train_step() for _ in range(sc.steps)]
    assert len(sc.loss_history) == 30 and sc.step_count == 30
    assert losses[-1] < losses[0]
    # The optimizer zeroed the gradients after its step.
    assert all(float(p.grad.abs().sum()) == 0 for p in sc.model.parameters())


def test_dataloader_is_cycled_and_epochs_set_steps():
    sc, X, Y = regression()
    sc2 = Scenario("dl", model=sc.model, data=DataLoader(TensorDataset(X, Y), batch_size=16), loss_fn=nn.MSELoss(),
                   optimizer=torch.optim.SGD(sc.model.parameters(), lr=0.05), epochs=2)
    assert sc2.steps == 8
    for _ in range(sc2.steps + 1):  # one more than the data holds: cycles
        sc2.train_step()
    assert len(sc2.loss_history) == 9


def test_batch_generator_function_restarts_and_one_shot_generator_explains():
    sc, X, Y = regression()
    gen = lambda: ((X[i:i + 32], Y[i:i + 32]) for i in range(0, 64, 32))  # noqa: E731
    sc2 = Scenario("gen", model=sc.model, data=gen, loss_fn=nn.MSELoss(), steps=5)
    for _ in range(5):
        sc2.train_step()
    assert len(sc2.loss_history) == 5
    once = Scenario("once", model=sc.model, data=((X, Y) for _ in range(1)), loss_fn=nn.MSELoss())
    once.train_step()
    with pytest.raises(RuntimeError, match="read only once"):
        once.train_step()
    with pytest.raises(ValueError, match="epochs"):
        Scenario("bad", model=sc.model, data=gen, loss_fn=nn.MSELoss(), epochs=2)


def test_named_leaves_chain_rule():
    lv = leaves_from({"x": 1.0, "w": 2.0, "b": 3.0})
    sc = Scenario("chain rule", leaves=lv, forward=lambda x, w, b: (w * x + b) ** 2)
    assert sc.train_step() == 25.0
    assert float(lv["x"].grad) == 20.0 and float(lv["w"].grad) == 10.0 and float(lv["b"].grad) == 10.0
    # No optimizer: the next step starts from zero, not accumulated gradients.
    sc.train_step()
    assert float(lv["x"].grad) == 20.0


def test_non_scalar_output_with_gradient_argument():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = torch.tensor([1.0, 0.1, 0.01])
    sc = Scenario("vector", leaves={"x": x}, forward=lambda x: x ** 2, grad=v)
    sc.train_step()
    assert torch.allclose(x.grad, 2 * x.detach() * v)
    assert sc.loss_history == [pytest.approx(14.0)]


def test_manual_update_rule():
    w = torch.tensor(1.0, requires_grad=True)
    sc = Scenario("manual", leaves={"w": w}, forward=lambda w: (w * 2.0 - 4.0) ** 2, update=sgd_update(lr=0.1))
    sc.train_step()  # d/dw = 2*(2w-4)*2 = -8 at w=1 → w = 1 + 0.8
    assert w.item() == pytest.approx(1.8)
    assert float(w.grad) == 0.0
    for _ in range(50):
        sc.train_step()
    assert w.item() == pytest.approx(2.0, abs=1e-3)


def test_custom_update_function():
    w = torch.tensor(3.0, requires_grad=True)

    def halve(scenario):
        with torch.no_grad():
            for _, p in scenario.trainable():
                p -= 0.5 * p.grad

    sc = Scenario("custom", leaves={"w": w}, forward=lambda w: w ** 2 / 2, update=halve)
    sc.train_step()
    assert w.item() == pytest.approx(1.5)


def test_several_passes_accumulate_without_zeroing():
    x = torch.tensor(2.0, requires_grad=True)
    sc = Scenario("acc", leaves={"x": x}, forward=lambda x: x ** 2, passes=3, retain_graph=True, zero_grad=False)
    sc.train_step()
    assert float(x.grad) == 12.0  # 3 passes of 2x
    sc.train_step()
    assert float(x.grad) == 24.0  # not zeroed between steps either


def test_second_pass_without_retain_graph_fails_plainly():
    x = torch.tensor(2.0, requires_grad=True)
    sc = Scenario("no retain", leaves={"x": x}, forward=lambda x: x.exp(), passes=1)
    out = sc.output()
    sc.run_backward(out)
    with pytest.raises(RuntimeError, match="second time"):
        sc.run_backward(out)


def test_higher_order_with_autograd_grad():
    x = torch.tensor(2.0, requires_grad=True)

    def backward(y):
        (dy,) = torch.autograd.grad(y, x, create_graph=True)
        dy.backward()

    sc = Scenario("second derivative", leaves={"x": x}, forward=lambda x: x ** 3, backward=backward)
    sc.train_step()
    assert float(x.grad) == pytest.approx(12.0)  # 6x


def test_create_graph_keeps_a_graph_on_grad():
    x = torch.tensor(2.0, requires_grad=True)
    sc = Scenario("create graph", leaves={"x": x}, forward=lambda x: x ** 3, create_graph=True)
    with warnings.catch_warnings():  # "reference cycle" (warned once per process)
        warnings.simplefilter("ignore", UserWarning)
        sc.train_step()
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    (g2,) = torch.autograd.grad(x.grad, x)
    assert float(g2) == 12.0  # d/dx 3x² = 6x
    x.grad = None  # break the grad ↔ graph cycle


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class CustomNet(nn.Module):
    def __init__(self, custom=True):
        super().__init__()
        self.lin = nn.Linear(3, 1)
        self.custom = custom

    def forward(self, x):
        h = self.lin(x)
        return Square.apply(h) if self.custom else h * h


def test_custom_autograd_function_in_model_matches_builtin():
    torch.manual_seed(0)
    a, b = CustomNet(True), CustomNet(False)
    b.load_state_dict(a.state_dict())
    X, Y = torch.randn(8, 3), torch.zeros(8, 1)
    for net in (a, b):
        Scenario("c", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss()).train_step()
    assert torch.allclose(a.lin.weight.grad, b.lin.weight.grad)
    from graphviz_app.core.graph.capture import capture

    sc = Scenario("c", model=a, inputs=X, targets=Y, loss_fn=nn.MSELoss())
    names = [n.name for n in capture(sc.output(), model=a)]
    assert any("Square" in n for n in names)


def test_named_tensors_and_describe():
    sc, _, _ = regression(grad=None)
    names = [n for n, _ in sc.named_tensors()]
    assert "inputs" in names and "targets" in names and "parameter 0.weight" in names
    d = sc.describe()
    assert d["kind"] == "model" and d["optimizer"] == "SGD" and d["parameters"] == 4 * 8 + 8 + 8 + 1
    lv = Scenario("l", leaves=leaves_from({"x": 1.0}), forward=lambda x: x).describe()
    assert lv["kind"] == "leaves" and lv["leaves"]["x"]["shape"] == []


def test_a_scenario_needs_forward_or_model_and_tensor_leaves():
    with pytest.raises(ValueError):
        Scenario("empty")
    with pytest.raises(TypeError):
        Scenario("bad", leaves={"x": 1.0}, forward=lambda x: x)


def test_record_loss_keeps_nan_as_nan():
    x = torch.tensor(float("nan"), requires_grad=True)
    sc = Scenario("nan", leaves={"x": x}, forward=lambda x: x * 1)
    sc.train_step()
    assert math.isnan(sc.loss_history[0])


def docstring_examples():
    """The ``build`` bodies in the Scenario module docstring (the README copies them)."""
    import re
    import textwrap

    import graphviz_app.core.run.scenario as mod

    blocks = re.findall(r"::\n\n((?:    .*\n|\n)+)", mod.__doc__)
    return [textwrap.dedent(b) for b in blocks if "return Scenario(" in b]


def test_every_docstring_example_builds_and_trains():
    examples = docstring_examples()
    assert len(examples) == 7
    built = {}
    for body in examples:
        src = "def build(device='cpu'):\n" + textwrap_indent(body)
        ns = {"torch": torch, "nn": nn, "Scenario": Scenario, "sgd_update": sgd_update}
        exec(compile(src, "<docstring example>", "exec"), ns)
        sc = ns["build"]("cpu")
        for _ in range(sc.steps):
            sc.train_step()
        built[sc.name] = sc
    assert built["manual SGD"].leaves["w"].item() == pytest.approx(3.0, abs=1e-2)
    assert built["accumulate"].leaves["x"].grad.tolist() == [6.0, 12.0]
    assert built["second derivative"].leaves["x"].grad.item() == pytest.approx(12.0)
    assert built["chain rule"].leaves["x"].grad.item() == 20.0
    reg = built["regression"].loss_history
    assert len(reg) == 30 and reg[-1] < reg[0]


def textwrap_indent(body):
    import textwrap

    return textwrap.indent(body, "    ")
