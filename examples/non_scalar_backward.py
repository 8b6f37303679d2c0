"""Backward from a non-scalar output: x is 2x2, y = 2x, backward(gradient=ones).

``y.backward()`` only works without an argument when y is a single number. For a
tensor output you pass the gradient of some final scalar with respect to y; a
tensor of ones means "as if the final result were y.sum()".

What to look at: MulBackward0 receives the 2x2 tensor of ones (the scenario's
``grad``) and sends 2 * ones to x, so x.grad is a 2x2 tensor of 2s.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    return Scenario(
        "non-scalar backward",
        leaves={"x": x},
        forward=lambda x: 2 * x,
        grad=torch.ones(2, 2, device=device),
        description=__doc__,
    )
