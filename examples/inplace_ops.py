"""An in-place operation that autograd accepts: y = x + 2; y.add_(1); z = y * y.

Autograd keeps a version counter on every tensor and bumps it on each in-place
change. ``y.add_(1)`` changes y before anything has saved it, so the graph stays
valid: MulBackward0 saves y after the change and uses those values.

What to look at: x = [-1, 0, 2]. The in-place add shows as its own AddBackward0
between the first AddBackward0 and MulBackward0. The loss is z.sum();
dz/dx = 2 * (x + 3) = [4, 6, 10]. See inplace_error.py for the case autograd refuses.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor([-1.0, 0.0, 2.0], device=device, requires_grad=True)

    def forward(x):
        y = x + 2
        y.add_(1)  # in place, but nothing has saved y yet
        z = y * y
        return z.sum()

    return Scenario("in-place add", leaves={"x": x}, forward=forward, description=__doc__)
