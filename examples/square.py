"""The smallest graph there is: y = x**2 at x = 2, so dy/dx = 2x = 4.

What to look at: two nodes. PowBackward0 (its saved values show self = x and
exponent 2) receives dy/dy = 1 and sends 2 * x * 1 = 4 to the leaf x, whose
AccumulateGrad writes x.grad = 4.
"""

from graphviz_app import Scenario, leaves_from


def build(device="cpu"):
    return Scenario(
        "y = x**2",
        leaves=leaves_from({"x": 2.0}, device=device),
        forward=lambda x: x**2,
        description=__doc__,
    )
