"""The chain rule, number by number: z = (w*x + b)**2 at x=1, w=2, b=3.

What to look at: step backward (F10) from PowBackward0. It receives 1 (dz/dz) and
sends 2*(w*x+b) = 10 on. AddBackward0 passes 10 to both of its inputs, so b.grad = 10.
MulBackward0 sends 10*x = 10 to w and 10*w = 20 to x: x.grad = 20, w.grad = 10.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor(1.0, requires_grad=True, device=device)
    w = torch.tensor(2.0, requires_grad=True, device=device)
    b = torch.tensor(3.0, requires_grad=True, device=device)
    return Scenario(
        "chain rule",
        leaves={"x": x, "w": w, "b": b},
        forward=lambda x, w, b: (w * x + b) ** 2,
        description=__doc__,
    )
