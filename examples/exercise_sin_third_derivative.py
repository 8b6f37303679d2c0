"""Exercise: the third derivative of sin at 0 is -cos(0) = -1.

sin' = cos, sin'' = -sin, sin''' = -cos. Two calls to
``torch.autograd.grad(..., create_graph=True)`` build the graph of sin''(x) = -sin(x);
a normal backward through that graph gives the third derivative in x.grad.

What to look at: the output is sin''(0) = 0 (shown as the step's loss), and the
graph is the one autograd built while differentiating twice, the graph of
-sin(x): SinBackward0, NegBackward0 and a MulBackward0 (by the incoming gradient
1). After backward, x.grad = -1.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor(0.0, device=device, requires_grad=True)

    def forward(x):
        y = torch.sin(x)
        (d1,) = torch.autograd.grad(y, x, create_graph=True)  # cos(x)
        (d2,) = torch.autograd.grad(d1, x, create_graph=True)  # -sin(x)
        return d2

    return Scenario(
        "exercise: third derivative of sin",
        leaves={"x": x},
        forward=forward,
        description=__doc__,
    )
