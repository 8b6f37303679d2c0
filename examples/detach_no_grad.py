"""Where the graph is cut: detach() and a torch.no_grad() island.

At x = 2, a = 3, b = 4, c = 5::

    kept = a * x                 # recorded
    cut = (b * x).detach()       # recorded, then cut off: a constant 8 from here on
    with torch.no_grad():
        island = c * x           # never recorded: a constant 10
    out = kept * cut + island    # 6 * 8 + 10 = 58

What to look at: the graph reaches only the leaves a and x. The second input of
the MulBackward0 (cut) and the second input of the AddBackward0 (island) have no
edge: gradients stop there, so b and c do not appear and their .grad stays None.
x gets only the gradient through ``kept``: d(out)/dx = a * cut = 24, not the 53 an
uncut graph would give; d(out)/da = x * cut = 16.
"""

import torch

from graphviz_app import Scenario, leaves_from


def build(device="cpu"):
    def forward(x, a, b, c):
        kept = a * x
        cut = (b * x).detach()
        with torch.no_grad():
            island = c * x
        return kept * cut + island

    return Scenario(
        "detach and no_grad",
        leaves=leaves_from({"x": 2.0, "a": 3.0, "b": 4.0, "c": 5.0}, device=device),
        forward=forward,
        description=__doc__,
    )
