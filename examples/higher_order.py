"""Second derivatives: y = x**3 at x = 2; dy/dx = 3x**2 = 12, d2y/dx2 = 6x = 12.

``torch.autograd.grad(y, x, create_graph=True)`` returns dy/dx as a tensor that
has its own graph, so it can be differentiated again.

What to look at: the output of this scenario is dy/dx itself (its value, 12, is the
"loss" shown for the step), and the graph you see is the graph of the derivative:
the nodes autograd built while computing 3 * x**2 * 1. Running backward through
it gives the second derivative: x.grad = 12.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor(2.0, device=device, requires_grad=True)

    def forward(x):
        y = x**3
        (dy_dx,) = torch.autograd.grad(y, x, create_graph=True)
        return dy_dx

    return Scenario(
        "second derivative",
        leaves={"x": x},
        forward=forward,
        description=__doc__,
    )
