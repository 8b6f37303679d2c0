"""retain_graph: y = x**2 backward with retain_graph=True gives 4; zero; z = x**3 gives 12.

Backward normally frees the tensors each node saved during forward, so a second
backward through the same graph fails. ``retain_graph=True`` keeps them.

The step here runs, at x = 2::

    y.backward(retain_graph=True)   # x.grad = 2x = 4, y's graph is kept
    x.grad.zero_()                  # without this, the next result would add to 4
    z.backward()                    # x.grad = 3x**2 = 12, z's graph is freed

What to look at: two output nodes, both PowBackward0 (exponent 2 for y, 3 for z),
feeding the one leaf x. The y node sends 4 to x, the z node sends 12, and x.grad
ends at 12. After the step, the y node's saved values can still be read; the z
node's are gone.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor(2.0, device=device, requires_grad=True)

    def forward(x):
        y = x**2
        z = x**3
        return y, z

    def backward(outputs):
        y, z = outputs
        y.backward(retain_graph=True)
        x.grad.zero_()
        z.backward()

    return Scenario(
        "retain_graph",
        leaves={"x": x},
        forward=forward,
        backward=backward,
        description=__doc__,
    )
