"""The NaN hunt's cause, before the backward: non-finite state, then the forward op."""

import torch
from torch import nn

from graphviz_app.core.run.nan_cause import first_nonfinite_forward, nonfinite_state
from graphviz_app.core.run.scenario import Scenario


def regression():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    return Scenario("r", model=net, inputs=torch.randn(16, 4), targets=torch.randn(16, 1), loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


def test_finite_state_and_forward_find_nothing():
    sc = regression()
    assert nonfinite_state(sc) is None
    assert first_nonfinite_forward(sc.output) is None


def test_a_nan_parameter_is_named_with_the_step_its_gradient_went_bad():
    sc = regression()
    with torch.no_grad():
        sc.model[2].bias.fill_(float("nan"))
    cause = nonfinite_state(sc, {"2.bias": [0.5, 0.4, float("nan"), float("nan")]})
    assert cause is not None and cause.kind == "state"
    assert cause.names == ["parameter 2.bias (its gradient was first non-finite at training step 3)"]
    assert "before the forward" in cause.message


def test_a_nan_input_is_named():
    sc = regression()
    sc.inputs[3, 1] = float("inf")
    assert nonfinite_state(sc).names == ["input"]


def test_the_first_forward_op_that_makes_a_nan_with_its_line():
    sc = regression()

    def forward():
        h = sc.model(sc.inputs)
        bad = torch.log(h - 100.0)  # negative: NaN here
        return (bad * 2).sum()

    cause = first_nonfinite_forward(forward)
    assert cause is not None and cause.kind == "forward" and cause.names == ["log"]
    assert cause.source and "test_nan_cause.py" in cause.source and "torch.log" in cause.source
